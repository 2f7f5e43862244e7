/* SPDX-License-Identifier: MIT */
/*
 * main.c — kmod-watch's entry: parse the command line, set up output, and
 * hand over to the subcommand. Exit statuses are doc/contract.md's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "doctor.h"
#include "inject.h"
#include "junit.h"
#include "kcidb.h"
#include "ktap.h"
#include "lava.h"
#include "results.h"
#include "kit.h"
#include "opts.h"
#include "qemuargs.h"
#include "cycle.h"
#include "settings.h"
#include "ui.h"

static bool want_color(const struct kw_opts *o, int fd)
{
        const char *nc = getenv("NO_COLOR");

        if (o->no_color || o->json || (nc && nc[0]))
                return false;
        const char *term = getenv("TERM");
        return isatty(fd) && !(term && strcmp(term, "dumb") == 0);
}

/* The results for CI (--junit, --ktap, --kcidb, --lava): one model, a writer each. */
static int open_results(const struct kw_opts *o)
{
        bool lava = o->lava || kw_lava_detect();
        int r;

        if (!o->junit && !o->ktap && !o->kcidb && !lava)
                return 0;
        const struct kw_results_cfg cfg = {
                .dir = o->dir,
                .expect = o->expect,
                .n_expect = o->n_expect,
                .run = o->run,
                .guest = o->ssh ? "ssh" : o->connect ? "connect" : "managed",
                .once = o->once,
        };
        kw_results_open(&cfg);
        if (o->junit && (r = kw_junit_open(o->junit)) < 0) {
                kw_err("--junit %s: %s", o->junit, strerror(-r));
                return r;
        }
        if (o->ktap && (r = kw_ktap_open(o->ktap)) < 0) {
                kw_err("--ktap %s: %s", o->ktap, strerror(-r));
                return r;
        }
        if (o->kcidb && (r = kw_kcidb_open(o->kcidb, o->kcidb_origin)) < 0) {
                kw_err("--kcidb %s: %s", o->kcidb, strerror(-r));
                return r;
        }
        if (lava && (r = kw_lava_open()) < 0)
                return r;
        return 0;
}

int main(int argc, char **argv)
{
        struct kw_opts o;

        if (kw_opts_parse(argc, argv, &o) < 0)
                return KW_EXIT_USAGE;
        if (o.cmd == KW_CMD_WATCH || o.cmd == KW_CMD_DOCTOR) {
                /* The project's .kmod-watch comes first, so the command line wins. */
                char **set;
                size_t n;
                if (kw_settings_load(o.config, o.dir, &set, &n) < 0)
                        return KW_EXIT_USAGE;
                if (n) {
                        int first = o.cmd == KW_CMD_WATCH ? 1 : 2;
                        char **v = calloc((size_t)argc + n + 1, sizeof(*v));
                        if (!v)
                                return KW_EXIT_USAGE;
                        int k = 0;
                        for (int i = 0; i < first; i++)
                                v[k++] = argv[i];
                        for (size_t i = 0; i < n; i++)
                                v[k++] = set[i];
                        for (int i = first; i < argc; i++)
                                v[k++] = argv[i];
                        if (kw_opts_parse(k, v, &o) < 0) {
                                /* not kw_err: the output is not set up yet, these options decide how */
                                fprintf(stderr, "kmod-watch: (options from %s%s included)\n",
                                        o.config ? o.config : o.dir, o.config ? "" : "/.kmod-watch");
                                return KW_EXIT_USAGE;
                        }
                        /* set and v stay: o points into them until exit */
                }
        }
        struct kw_ui_opts ui = {
                .json = o.json,
                .color = want_color(&o, STDOUT_FILENO) && want_color(&o, STDERR_FILENO),
                .verbosity = o.verbosity,
        };
        kw_ui_setup(&ui);
        if (o.cmd == KW_CMD_WATCH && open_results(&o) < 0)
                return KW_EXIT_USAGE;

        switch (o.cmd) {
        case KW_CMD_HELP:
                kw_opts_help(stdout);
                return 0;
        case KW_CMD_VERSION:
                printf("kmod-watch %s\n", KW_VERSION);
                return 0;
        case KW_CMD_KIT:
                return kw_kit_run_script(o.args[0], o.arch);
        case KW_CMD_WATCH:
                return kw_cycle_run(&o);
        case KW_CMD_DOCTOR:
                return kw_doctor_main(&o);
        case KW_CMD_INJECT:
                return kw_inject_main(&o);
        case KW_CMD_QEMU_ARGS:
                return kw_qemu_args_main(&o);
        }
        return KW_EXIT_USAGE;
}
