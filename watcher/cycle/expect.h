/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * expect.h — --expect: extended regular expressions that kernel log lines
 * must match during a --once run. It says what matched; whether that ends
 * the run is the cycle's decision.
 */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

struct kw_expect {
        const char *const *pattern;
        size_t n;
        regex_t re[KW_MAX_LIST];
        bool matched[KW_MAX_LIST];
        size_t n_matched;
        size_t n_compiled;
        bool told;
};

/* -EINVAL after one line on stderr naming the bad pattern. */
int kw_expect_init(struct kw_expect *e, const char *const *pattern, size_t n);
void kw_expect_free(struct kw_expect *e);
/* Matches one kernel log line; true when this line made every pattern match. */
bool kw_expect_feed(struct kw_expect *e, const char *text);
bool kw_expect_all(const struct kw_expect *e);
/* One error line per pattern that did not match within TIMEOUT_S. */
void kw_expect_report_missing(const struct kw_expect *e, unsigned timeout_s);
/* One expect event per pattern (JUnit makes a test case of each); once. */
void kw_expect_tell(struct kw_expect *e);
