/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backoff.c — see backoff.h.
 */
#include "backoff.h"

unsigned kw_backoff_ms(unsigned min_ms, unsigned max_ms, unsigned n)
{
        unsigned ms = min_ms;

        while (n-- && ms < max_ms)
                ms *= 2;
        return ms < max_ms ? ms : max_ms;
}

unsigned kw_backoff_next(struct kw_backoff *b)
{
        unsigned ms = kw_backoff_ms(b->min_ms, b->max_ms, b->n);

        if (ms < b->max_ms)
                b->n++; /* beyond the cap there is nothing left to count */
        return ms;
}

void kw_backoff_reset(struct kw_backoff *b)
{
        b->n = 0;
}
