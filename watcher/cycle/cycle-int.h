/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cycle-int.h — the cycle's state, shared by the two files of its core:
 * cycle.c (the run: changes, builds, loads, --once, keys, signals) and
 * health.c (the guest's health: greetings, losses, crashes, restarts,
 * holds). Private to watcher/cycle/.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "changes.h"
#include "crash.h"
#include "cycle.h"
#include "expect.h"
#include "loader.h"
#include "modules.h"
#include "recovery.h"
#include "repeat.h"
#include "runcmd.h"

struct kw_cycle {
        const struct kw_opts *o;
        struct kw_loop *loop;
        const struct kw_cycle_port *port;
        void *impl;
        char dir[PATH_MAX];
        bool quitting;
        struct kw_timer *quit_timer; /* the unload on the way out is over its deadline */
        bool log_syncing;            /* the run ends when the kernel log has caught up */
        uint64_t kmsg_records;       /* kernel log records seen */
        uint64_t log_sync_records;   /* ... when the barrier was last asked */
        unsigned log_sync_renewed;   /* asked again, as records still flowed */
        int status;

        /* the guest */
        bool guest_seen_ready;
        bool expect_reboot; /* the next greeting is a restart already reported */

        struct kw_changes changes;
        uint64_t change_ms; /* first change of the batch being built */

        /* building */
        bool building;
        bool have_build; /* a successful build not yet loaded */
        bool hold_build; /* the last build crashed or hung the guest: wait for the next one */
        uint64_t build_ms, build_change_ms;
        struct kw_modlist built; /* the last good build, in dependency order */
        bool force_reload; /* the r key: reload even an unchanged build */

        struct kw_loader loader;
        struct kw_crash crash;
        struct kw_recovery rec;
        struct kw_runcmd run;
        struct kw_expect expect;

        /* crashes in this boot */
        bool crashed;         /* a crash the build is blamed for */
        char crash_what[400]; /* "oops in oops_null_init at oops-null.c:19" */
        char panic_text[256]; /* the panic of this boot: why QEMU went away */

        /* --once */
        struct kw_timer *once_timer;
        bool collecting;    /* the kernel log is being matched against --expect */
        bool oopsed;
        bool run_done;      /* --run has run */
        int run_final;      /* the status to end with after --run */
        int finish_pending; /* ends when the open report is complete (-1: not ending) */
        bool oops_grace;    /* ends with 4 once the kernel log has caught up */

        /* --repeat N: after the first cycle, N - 1 more unloads and loads, counted */
        struct kw_repeat rep;
        bool repeating;
        bool leaked;        /* the counters grew, or an unload left something behind */
        uint64_t repeat_start_ms;
};

/* cycle.c */
void kw_cycle_once_finish(struct kw_cycle *c, int status);
void kw_cycle_start_load(struct kw_cycle *c);
bool kw_cycle_channel_up(const struct kw_cycle *c);

/* health.c */
extern const struct kw_crash_hooks kw_cycle_crash_hooks;
extern const struct kw_recovery_hooks kw_cycle_recovery_hooks;
/* Is a crash now the fault of the build being loaded, or loaded? */
bool kw_cycle_blame_build(const struct kw_cycle *c);
/* A restart of the guest, by the recovery timer (none while quitting; one at a time). */
void kw_cycle_schedule_restart(struct kw_cycle *c, const char *reason, bool hold_it, uint64_t delay_ms);
