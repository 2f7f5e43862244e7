/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crash.h — kernel reports (oops, panic, BUG, WARNING) read from the kernel
 * log and the console, made into one oops event and one human block each,
 * with the faulting function's source line (symbolize.c). What a report
 * means for the run — restart, hold the build, the --once status — is the
 * cycle's decision: crash.c reports each one up and decides nothing.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "crashsig.h"
#include "loop.h"
#include "oops.h"

#define KW_CRASH_SEEN 64 /* fingerprints counted per session */

struct kw_symbolizer;

struct kw_crash_hooks {
        /* A complete report; WHAT says it in one line ("oops in f at x.c:19", or its first line). */
        void (*report)(void *core, const struct kw_oops *o, const char *what);
        /* No report is open any more (after a report, or when none was). */
        void (*quiet)(void *core);
        /* Is the agent's channel up (so the kernel log's copy of a console report will come)? */
        bool (*channel_up)(void *core);
};

/* A frame's source position, as shown. */
struct kw_crash_src {
        char src[PATH_MAX + 16]; /* "oops-null.c:19", "" */
        char path[PATH_MAX];
        unsigned line;
};

struct kw_crash {
        const struct kw_crash_hooks *hooks;
        void *core;
        struct kw_loop *loop;
        struct kw_symbolizer *sym; /* NULL: frames are not resolved */
        struct kw_oops_scanner scanner;
        struct kw_timer *quiet_timer;
        uint64_t open_ms;
        /* the human block of a report read from the console waits for the kernel log to catch up */
        struct kw_timer *show_timer;
        bool show_pending;
        struct kw_oops shown;
        struct kw_crash_src shown_where, shown_res[KW_OOPS_MAX_FRAMES];
        unsigned shown_count;           /* how often its fingerprint came this session */
        struct {
                char fingerprint[KW_CRASHSIG_LEN];
                unsigned n;
        } seen[KW_CRASH_SEEN];
        size_t n_seen;
        /* the last report: its oops event waits for the run of the same one in a row to end */
        struct kw_timer *settle_timer;
        bool event_pending;
        bool closed;         /* the run is over (kw_crash_close) */
        uint64_t repeats;    /* the same report again, in a row, since */
        unsigned last_count; /* its fingerprint's count this session, the repeats included */
        struct kw_oops last;
        struct kw_crashsig last_sig;
        struct kw_crash_src last_where, last_res[KW_OOPS_MAX_FRAMES];
};

int kw_crash_init(struct kw_crash *c, struct kw_loop *l, struct kw_symbolizer *sym,
                  const struct kw_crash_hooks *hooks, void *core);
void kw_crash_fini(struct kw_crash *c);
void kw_crash_feed(struct kw_crash *c, enum kw_oops_src src, const char *line);
/* Ends the open report now (the guest is going away). */
void kw_crash_flush(struct kw_crash *c);
/* Shows a human block still waiting for the kernel log, now. */
void kw_crash_show_now(struct kw_crash *c);
/* Everything about the reports so far out: the pending block, the last report's oops event
 * and how often it repeated (the end of a run). */
void kw_crash_settle(struct kw_crash *c);
/* The run ends: settles, and reports that complete after this are not said. */
void kw_crash_close(struct kw_crash *c);
/* A report is being gathered. */
bool kw_crash_open(const struct kw_crash *c);
