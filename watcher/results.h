/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * results.h — the run as test results, for CI: one model built from the
 * event stream (the sink ui.c feeds, the same events --json prints), read by
 * the writers of --junit (junit.c), --ktap (ktap.c), --kcidb (kcidb.c) and
 * --lava (lava.c). The run is one suite (its directory and its guest), with a
 * case per build, per module load, per unload, per --expect, per --run and
 * per kernel report. A --once run that ended before some of them happened
 * still has them: as errors when there was no guest, skipped otherwise.
 * A matrix (--target, matrix.h) is a suite per target, chained by `next`
 * from the first: its events say their target, and its own exit ends them all.
 *
 * Each case is passed, failed (the module's doing: the kernel refused it, an
 * --expect did not match, the kernel reported a problem, the compiler said
 * no) or an error (the harness's: no guest, a lost connection). The writers
 * are told after every event that adds a case, and once more, final, at exit.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "crashsig.h"

enum kw_res_status { KW_RES_PASS, KW_RES_FAIL, KW_RES_ERROR, KW_RES_SKIP };

struct kw_res_case {
        char *kind;     /* "build", "load", "unload", "expect", "run", "kernel", "guest" */
        char *name;     /* "load hello": the JUnit name */
        char *path;     /* "kmod.hello.load": dotted, [A-Za-z0-9_-] between the dots */
        enum kw_res_status status;
        char *message;  /* one line; "" when passed */
        char *body;     /* compiler messages, the kernel report, --run output; "" */
        char fingerprint[KW_CRASHSIG_LEN]; /* a kernel report's; "" otherwise */
        char *title;    /* a kernel report's title; "" otherwise */
        char oops_kind[16]; /* a kernel report's kind: "oops", "panic", "bug", "warning" */
        bool missed;    /* never ran: the --once run ended before it */
        double seconds;
        char time[40];  /* when it ended, RFC 3339 UTC */
};

struct kw_results_cfg {
        const char *dir;
        const char *const *expect;
        size_t n_expect;
        const char *run;
        const char *guest;     /* "managed", "connect" or "ssh" */
        bool once;
};

struct kw_results {
        struct kw_results_cfg cfg;
        char target[72];        /* a matrix's target ("x86_64/6.1"): one suite each; "" for a run of one */
        struct kw_results *next; /* the matrix's next target's suite, NULL */
        char unit[64];          /* the first module of the last build, else DIR's name: path roots */
        struct kw_res_case *v;
        size_t n, cap;
        char start_time[40];
        char arch[32], kernel_release[128], transport[32], recipe[32];
        bool ready_seen;
        bool build_seen, build_ok;
        double build_seconds;
        char *build_log;        /* the compiler's messages of a failed build */
        char build_time[40];
        char **modules;         /* of the last good build */
        size_t n_modules;
        size_t n_expect_seen;
        bool exited;
        int exit_status;
        char *exit_error;       /* the line that said why, "" */
        char *run_out;          /* --run output since the last run event */
};

/* A writer: told after each change (final: the run is over, the last call). */
typedef void (*kw_res_write_fn)(const struct kw_results *r, bool final, void *userdata);

/* Starts listening to the events (kw_ev_set_sink); cfg's strings must outlive the run. */
int kw_results_open(const struct kw_results_cfg *cfg);
/* 0, -ENOSPC past 8 writers. */
int kw_results_add_writer(kw_res_write_fn fn, void *userdata);
/* The model (for the writers' tests). */
const struct kw_results *kw_results_get(void);
/* Forgets the model and its writers (the unit tests run several). */
void kw_results_reset(void);

/* Counts by status; a writer's summary. */
void kw_results_count(const struct kw_results *r, size_t count[4]);
/* "name" made safe for a dotted path part: [A-Za-z0-9_-], others '_'. */
void kw_results_path_part(const char *name, char *buf, size_t size);
/* Writes a file whole: the writer fills a temp file, then it is renamed over PATH. */
int kw_results_write_file(const char *path, int (*fill)(FILE *f, const struct kw_results *r),
                          const struct kw_results *r);
