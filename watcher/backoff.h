/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * backoff.h — the delay before the next reconnect: min_ms, doubling with
 * each failure in a row, capped at max_ms. Used by --connect (attach.c) and
 * --ssh (ssh.c). Pure: it only counts; the caller arms its own timer.
 */
#pragma once

struct kw_backoff {
        unsigned min_ms;
        unsigned max_ms;
        unsigned n; /* failures in a row */
};

/* min_ms · 2^n, capped at max_ms. */
unsigned kw_backoff_ms(unsigned min_ms, unsigned max_ms, unsigned n);
/* The delay for this try (kw_backoff_ms of the failures so far), then one
 * more failure. */
unsigned kw_backoff_next(struct kw_backoff *b);
/* A success: the next delay is min_ms again. */
void kw_backoff_reset(struct kw_backoff *b);
