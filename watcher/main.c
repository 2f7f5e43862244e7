/* SPDX-License-Identifier: MIT */
/*
 * main.c — kmod-watch's entry: parse the command line, set up output, and
 * hand over to the subcommand. Exit statuses are PRODUCT.md's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kit.h"
#include "opts.h"
#include "reload.h"
#include "ui.h"

static bool want_color(const struct kw_opts *o, int fd)
{
        const char *nc = getenv("NO_COLOR");

        if (o->no_color || o->json || (nc && nc[0]))
                return false;
        const char *term = getenv("TERM");
        return isatty(fd) && !(term && strcmp(term, "dumb") == 0);
}

int main(int argc, char **argv)
{
        struct kw_opts o;

        if (kw_opts_parse(argc, argv, &o) < 0)
                return KW_EXIT_USAGE;
        struct kw_ui_opts ui = {
                .json = o.json,
                .color = want_color(&o, STDOUT_FILENO) && want_color(&o, STDERR_FILENO),
                .verbosity = o.verbosity,
        };
        kw_ui_setup(&ui);

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
                return kw_run(&o);
        case KW_CMD_DOCTOR:
        case KW_CMD_INJECT:
        case KW_CMD_QEMU_ARGS:
                fprintf(stderr, "kmod-watch: '%s' is not in this build yet\n", argv[1]);
                return KW_EXIT_USAGE;
        }
        return KW_EXIT_USAGE;
}
