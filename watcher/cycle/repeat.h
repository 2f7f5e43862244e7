/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * repeat.h — --repeat N: the guest's counters after each unload (a STATS
 * request: slab caches, vmalloc, the listings a module adds to), kept as one
 * series per counter; at the end, the caches that grew every cycle (the rule
 * is verdict.c's kw_verdict_leak()) and the entries left behind, said in
 * lines and a `repeat` event. The sequence of loads and unloads is the
 * cycle's (cycle.c); this piece counts, reports, and tells the cycle when a
 * snapshot is in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modules.h"
#include "port.h"

struct kw_repeat_hooks {
        /* a snapshot came in (ok), or could not be taken (already said) */
        void (*snapped)(void *core, bool ok);
};

struct kw_repeat_series {
        char name[64];
        uint64_t size;  /* slab: object size in bytes */
        uint64_t *v;    /* v[k]: the value in snapshot k (0: before the first load) */
};

struct kw_repeat {
        const struct kw_cycle_port *port;
        void *impl;
        const struct kw_repeat_hooks *hooks;
        void *core;
        unsigned cycles;         /* N */
        unsigned timeout_ms;
        unsigned taken;          /* snapshots so far: 1 + the cycles measured */
        bool asking;
        bool kmemleak;           /* the guest kernel has it */
        struct kw_repeat_series *caches;
        size_t n_caches;
        struct kw_repeat_series vmalloc; /* /proc/meminfo VmallocUsed, kB */
        char **first, **after_first, **last; /* the listings: before the first load, after its unload, now */
        size_t n_first, n_after_first, n_last;
        uint64_t left_out;       /* entries the agent could not fit */
        char *kmemleak_report;
        uint64_t start_ms;
};

int kw_repeat_init(struct kw_repeat *r, const struct kw_cycle_port *port, void *impl, unsigned cycles,
                   unsigned timeout_ms, const struct kw_repeat_hooks *hooks, void *core);
void kw_repeat_fini(struct kw_repeat *r);
/* Asks for the next snapshot (the last one with kmemleak's report, where there is one);
 * hooks->snapped follows. <0: it could not be asked (said). */
int kw_repeat_snap(struct kw_repeat *r);
/* A snapshot, as the agent gave it (what kw_repeat_snap's answer does; tests feed it). */
int kw_repeat_add(struct kw_repeat *r, const struct kw_stats *st);
/* After the last cycle: says what grew and what was left behind (lines and the repeat
 * event); mods are the modules loaded each cycle. true: something leaked. */
bool kw_repeat_report(struct kw_repeat *r, const struct kw_module *mods, size_t n, uint64_t elapsed_ms);
