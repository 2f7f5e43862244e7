/* SPDX-License-Identifier: MIT */
/*
 * verdict.h — the exit status of `kmod-watch --once` (pure). The cycle
 * reports what happened; the rules that turn it into one number are here,
 * as doc/contract.md states them.
 */
#pragma once

#include <stdbool.h>

enum kw_status {
        KW_EXIT_OK = 0,
        KW_EXIT_EXPECT = 1, /* an --expect did not appear, or --run failed */
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
