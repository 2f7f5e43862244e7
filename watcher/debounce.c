/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * debounce.c — when a burst of file changes is over (see debounce.h for the
 * rule and why). A sorted array of paths with the last event of each: a save
 * touches one to a handful of files, a git checkout a few hundred, so binary
 * search plus memmove beats anything cleverer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "debounce.h"

void kw_debounce_init(struct kw_debounce *d, unsigned quiet_ms, unsigned hold_ms, unsigned gone_ms)
{
        *d = (struct kw_debounce){
                .quiet_ms = quiet_ms,
                .hold_ms = hold_ms ? hold_ms : KW_DEBOUNCE_HOLD_MS,
                .gone_ms = gone_ms ? gone_ms : KW_DEBOUNCE_GONE_MS,
        };
}

static void entries_clear(struct kw_debounce *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->v[i].path);
        d->n = 0;
}

void kw_debounce_free(struct kw_debounce *d)
{
        if (!d)
                return;
        entries_clear(d);
        free(d->v);
        d->v = NULL;
        d->cap = 0;
}

/* Index of PATH, or of where it would go (*found = false). */
static size_t lookup(const struct kw_debounce *d, const char *path, bool *found)
{
        size_t lo = 0, hi = d->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(d->v[mid].path, path);

                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

int kw_debounce_add(struct kw_debounce *d, const char *path, enum kw_change kind, uint64_t now_ms)
{
        bool was_empty = d->n == 0;
        bool found;
        size_t i = lookup(d, path, &found);

        if (!found) {
                char *copy;

                if (d->n == d->cap) {
                        size_t cap = d->cap ? d->cap * 2 : 8;
                        struct kw_debounce_entry *v = realloc(d->v, cap * sizeof(*v));

                        if (!v)
                                return -ENOMEM;
                        d->v = v;
                        d->cap = cap;
                }
                copy = strdup(path);
                if (!copy)
                        return -ENOMEM;
                memmove(&d->v[i + 1], &d->v[i], (d->n - i) * sizeof(d->v[0]));
                d->v[i] = (struct kw_debounce_entry){ .path = copy };
                d->n++;
        }
        /* Times come from one monotonic clock, but drains may hand us events
         * of one read with one "now": never let a path's time go backwards. */
        if (now_ms > d->v[i].last_ms || !found)
                d->v[i].last_ms = now_ms;
        d->v[i].last = kind;
        if (now_ms > d->last_ms || was_empty)
                d->last_ms = now_ms;
        return 0;
}

bool kw_debounce_pending(const struct kw_debounce *d)
{
        return d->n > 0;
}

bool kw_debounce_settled(const struct kw_debounce *d)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].last != KW_CHANGE_WRITE_DONE && d->v[i].last != KW_CHANGE_MOVED_IN)
                        return false;
        return d->n > 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
        return a > b ? a : b;
}

uint64_t kw_debounce_deadline(const struct kw_debounce *d)
{
        uint64_t deadline;
        bool all_gone = true;

        if (d->n == 0)
                return KW_DEBOUNCE_NEVER;

        deadline = d->last_ms + d->quiet_ms;
        for (size_t i = 0; i < d->n; i++) {
                const struct kw_debounce_entry *e = &d->v[i];

                if (e->last != KW_CHANGE_GONE)
                        all_gone = false;
                /* still being written: wait for the close, up to the cap */
                if (e->last == KW_CHANGE_WRITE_OPEN)
                        deadline = max_u64(deadline, e->last_ms + d->hold_ms);
        }
        if (all_gone)
                deadline = max_u64(deadline, d->last_ms + d->gone_ms);
        return deadline;
}

int kw_debounce_take(struct kw_debounce *d, uint64_t now_ms, struct kw_batch *ret)
{
        char **paths;

        *ret = (struct kw_batch){ 0 };
        if (d->n == 0 || now_ms < kw_debounce_deadline(d))
                return 0;

        paths = malloc(d->n * sizeof(*paths));
        if (!paths)
                return -ENOMEM;
        /* the entries are already sorted and unique: hand the strings over */
        for (size_t i = 0; i < d->n; i++)
                paths[i] = d->v[i].path;
        ret->paths = paths;
        ret->n = d->n;
        d->n = 0;
        d->last_ms = 0;
        return (int)ret->n;
}

void kw_batch_free(struct kw_batch *b)
{
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                free(b->paths[i]);
        free(b->paths);
        *b = (struct kw_batch){ 0 };
}
