/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * verdict.h — the exit status of `kmod-watch --once` (pure). The cycle
 * reports what happened; the rules that turn it into one number are here,
 * as doc/contract.md states them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kw_status {
        KW_EXIT_OK = 0,
        KW_EXIT_EXPECT = 1, /* an --expect did not appear, --run failed, or --repeat found a leak */
        KW_EXIT_BUILD = 2,  /* the build failed or produced no usable module */
        KW_EXIT_LOAD = 3,   /* a load or unload failed or hung */
        KW_EXIT_OOPS = 4,   /* the kernel reported an oops, panic, BUG or WARNING */
        KW_EXIT_GUEST = 5,  /* the guest could not be started or reached, or was lost */
};

/* What a --once run saw, as far as the status is concerned. */
struct kw_verdict {
        bool once;        /* a --once run (otherwise statuses pass through) */
        bool oopsed;      /* the kernel reported something during the run */
        bool load_failed; /* a load or unload failed */
        bool leaked;      /* --repeat: a counter grew every cycle, or an unload left an entry behind */
};

/* The status to exit with when the run ends with STATUS: a kernel report
 * decides over an --expect, a load and a guest failure (4 beats 1, 3 and 5);
 * a failed unload on the way out turns a success into 3. */
int kw_verdict_final(const struct kw_verdict *v, int status);

/* --once with --run: the status after the command ran (a failing command
 * turns success into 1). */
int kw_verdict_after_run(int status_before, int run_status);

/* A signal ends a --once run with 128 + its number, a watching run with 0. */
int kw_verdict_signal(bool once, int signo);

/* --repeat: is this counter leaking? samples[i] is its value after the unload of
 * cycle i + 2: the first cycle is a warm-up (caches the kernel fills once) and is
 * left out. It leaks when the least-squares line through the samples climbs by
 * min_per_cycle or more per cycle, fits them (R² >= KW_LEAK_MIN_FIT: a steady climb,
 * not noise that happens to end higher), and the climb is sustained: each half of
 * the run climbs by a quarter of the total or more, so one step (something
 * allocated once, a slab filled) is not a leak. It needs 3 samples or more.
 * *ret_per_cycle: the slope (may be NULL). */
bool kw_verdict_leak(const uint64_t *samples, size_t n, double min_per_cycle, double *ret_per_cycle);

/* The least growth per cycle that --repeat calls a leak: slab objects, and kB of vmalloc. */
#define KW_LEAK_MIN_OBJECTS 0.5
#define KW_LEAK_MIN_KB 4.0
#define KW_LEAK_MIN_FIT 0.8
