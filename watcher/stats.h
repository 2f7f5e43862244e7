/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stats.h — the guest's counters from a STATS RESULT (doc/protocol.md), as
 * plain data: slab caches, /proc/meminfo, the entries of the directories a
 * module adds to, and whether the kernel has kmemleak. session.c fills one
 * per STATS request; --repeat (cycle/repeat.c) compares them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct kw_stat {
        char name[64];
        uint64_t value; /* slab: active objects; meminfo: kB */
        uint64_t size;  /* slab: object size in bytes; meminfo: 0 */
};

struct kw_stats {
        struct kw_stat *slab;
        size_t n_slab;
        struct kw_stat *mem;
        size_t n_mem;
        char **entries; /* sorted (strcmp) */
        size_t n_entries;
        bool kmemleak;          /* the guest kernel has kmemleak */
        char *kmemleak_report;  /* its report when asked for, else NULL */
        uint64_t left_out;      /* entries that did not fit the answer */
        uint64_t usec;          /* how long the agent took */
};

/* 0, -ENOMEM or -EBADMSG; *ret is empty on failure. */
int kw_stats_parse(const struct kw_frame *f, struct kw_stats *ret);
void kw_stats_free(struct kw_stats *st);
/* Is path among the entries? */
bool kw_stats_has_entry(const struct kw_stats *st, const char *path);
