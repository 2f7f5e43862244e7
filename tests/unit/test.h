/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test.h — the unit tests' few macros. A test program runs its cases, prints
 * TAP ("ok N - name" / "not ok N - name"), and exits non-zero if any failed.
 * Each CHECK reports the file, line and expression that failed.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>

static int test_failed_, test_count_, test_case_failed_;

#define CHECK(expr)                                                                  \
        do {                                                                         \
                if (!(expr)) {                                                       \
                        printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #expr); \
                        test_case_failed_ = 1;                                       \
                }                                                                    \
        } while (0)

#define CHECK_EQ(a, b)                                                                         \
        do {                                                                                   \
                long long a_ = (long long)(a), b_ = (long long)(b);                            \
                if (a_ != b_) {                                                                \
                        printf("# %s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                               #a, #b, a_, b_);                                                \
                        test_case_failed_ = 1;                                                 \
                }                                                                              \
        } while (0)

#define RUN(fn)                                                                            \
        do {                                                                               \
                test_case_failed_ = 0;                                                     \
                fn();                                                                      \
                test_count_++;                                                             \
                printf("%sok %d - %s\n", test_case_failed_ ? "not " : "", test_count_, #fn); \
                test_failed_ |= test_case_failed_;                                         \
        } while (0)

#define TEST_DONE()                                    \
        do {                                           \
                printf("1..%d\n", test_count_);        \
                return test_failed_ ? EXIT_FAILURE : 0; \
        } while (0)
