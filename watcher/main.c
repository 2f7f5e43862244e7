/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * main.c — kmod-watch's entry: parse the command line, set up output, and
 * hand over to the subcommand. Exit statuses are doc/contract.md's.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "doctor.h"
#include "git-version.h"
#include "inject.h"
#include "junit.h"
#include "kcidb.h"
#include "ktap.h"
#include "lava.h"
#include "results.h"
#include "kit.h"
#include "matrix.h"
#include "opts.h"
#include "qemuargs.h"
#include "cycle.h"
#include "settings.h"
#include "shell.h"
#include "ui.h"

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
                /* The user's settings, then the project's .kmod-watch, then the command
                 * line: the later wins. */
                char user[PATH_MAX], project[PATH_MAX + 16];
                char **set = NULL;
                size_t n = 0, un = 0, pn = 0;
                snprintf(project, sizeof(project), "%s%s", o.config ? o.config : o.dir,
                         o.config ? "" : "/.kmod-watch");
                if (kw_settings_user_path(user, sizeof(user)) < 0)
                        user[0] = 0;
                if (kw_settings_gather(user, project, o.config != NULL, o.once, &set, &n, &un, &pn) < 0)
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
                                fprintf(stderr, "kmod-watch: (options from %s%s%s included)\n", un ? user : "",
                                        un && pn ? " and " : "", pn ? project : "");
                                return KW_EXIT_USAGE;
                        }
                        /* set and v stay: o points into them until exit */
                }
        }
        struct kw_ui_opts ui = {
                .json = o.json,
                .color = kw_opts_want_color(&o, STDERR_FILENO, isatty(STDERR_FILENO), getenv("NO_COLOR"), getenv("TERM")),
                .color_out = kw_opts_want_color(&o, STDOUT_FILENO, isatty(STDOUT_FILENO), getenv("NO_COLOR"), getenv("TERM")),
                .status = isatty(STDERR_FILENO) && !o.json && o.verbosity == 0 &&
                          !(getenv("TERM") && strcmp(getenv("TERM"), "dumb") == 0),
                .verbosity = o.verbosity,
        };
        kw_ui_setup(&ui);
        /* a matrix child's results are its parent's to write */
        if (o.cmd == KW_CMD_WATCH && !o.build_dir && open_results(&o) < 0)
                return KW_EXIT_USAGE;

        switch (o.cmd) {
        case KW_CMD_HELP:
                kw_opts_help(stdout);
                return 0;
        case KW_CMD_VERSION:
                if (KW_GIT_COMMIT[0] && strcmp(KW_GIT_COMMIT, KW_VERSION) != 0) /* vcs_tag's fallback */
                        printf("kmod-watch %s (git %s)\n", KW_VERSION, KW_GIT_COMMIT);
                else
                        printf("kmod-watch %s\n", KW_VERSION);
                return 0;
        case KW_CMD_KIT:
                return kw_kit_command(o.args[0], o.arch, o.release);
        case KW_CMD_WATCH:
                if (o.n_target && !o.build_dir)
                        return kw_matrix_run(&o, argc, argv);
                return kw_cycle_run(&o);
        case KW_CMD_DOCTOR:
                return kw_doctor_main(&o);
        case KW_CMD_INJECT:
                return kw_inject_main(&o);
        case KW_CMD_QEMU_ARGS:
                return kw_qemu_args_main(&o);
        case KW_CMD_SHELL:
                return kw_shell_main(&o);
        }
        return KW_EXIT_USAGE;
}
