/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-backoff.c — watcher/backoff.c: doubling from the minimum, the cap,
 * and a reset after a success.
 */
#include "backoff.h"
#include "test.h"

static void test_ms(void)
{
        CHECK_EQ(kw_backoff_ms(100, 2000, 0), 100);
        CHECK_EQ(kw_backoff_ms(100, 2000, 3), 800);
        CHECK_EQ(kw_backoff_ms(100, 2000, 5), 2000);
        CHECK_EQ(kw_backoff_ms(1000, 30000, 4), 16000);
        CHECK_EQ(kw_backoff_ms(1000, 30000, 5), 30000);
        CHECK_EQ(kw_backoff_ms(1000, 30000, ~0u), 30000);
}

static void test_next(void)
{
        struct kw_backoff b = { .min_ms = 1000, .max_ms = 30000 };

        CHECK_EQ(kw_backoff_next(&b), 1000);
        CHECK_EQ(kw_backoff_next(&b), 2000);
        CHECK_EQ(kw_backoff_next(&b), 4000);
        CHECK_EQ(kw_backoff_next(&b), 8000);
        CHECK_EQ(kw_backoff_next(&b), 16000);
        CHECK_EQ(kw_backoff_next(&b), 30000);
        for (int i = 0; i < 100; i++)
                kw_backoff_next(&b);
        CHECK_EQ(kw_backoff_next(&b), 30000);
        kw_backoff_reset(&b);
        CHECK_EQ(kw_backoff_next(&b), 1000);
}

int main(void)
{
        RUN(test_ms);
        RUN(test_next);
        TEST_DONE();
}
