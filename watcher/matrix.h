/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * matrix.h — the target matrix (--target ARCH[/RELEASE], repeatable): a
 * supervisor above the single-target run. `kmod-watch --target A --target B
 * DIR` starts one child kmod-watch per target (--json, that target's --arch
 * and --release, --build-dir: its own shadow tree of DIR, shadow.h), reads
 * their event streams in the one poll loop, and speaks for them: human lines
 * prefixed "[ARCH/RELEASE] ", the events again with a `target` field, one
 * results file with a suite per target (results.h), a one-line table when
 * every target has finished the same save, and with --once the worst status.
 * The controller (watcher/cycle/) stays single-target: a child is an
 * ordinary run.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

/* Runs the matrix of o->target; argv is the command line as given (the
 * children get it again, less the options the parent keeps). The exit status. */
int kw_matrix_run(const struct kw_opts *o, int argc, char **argv);

/* Where the targets of a matrix for DIR (its real path) have their build
 * trees, one directory each (ARCH-RELEASE): ~/.cache/kmod-watch/matrix/NAME-HASH.
 * `kmod-watch shell DIR` looks there for a matrix's guests. 0 or -errno. */
int kw_matrix_trees(const char *dir, char *buf, size_t size);

/* (pure, matrix-plan.c) "arm64/6.1" → "arm64", "6.1"; "x86_64" → "x86_64", "". */
void kw_matrix_split(const char *target, char *arch, size_t arch_size, char *release, size_t release_size);
/* (pure) The worse of two exit statuses: 0 < 1 < 2 < 3 < 5 < 4 < 64 < killed by a signal. */
int kw_matrix_worst(int a, int b);
/* (pure) What a --once status says in the table: "ok", "expect failed", "build failed", … */
const char *kw_matrix_status_words(int status);
/* (pure) A child's command line: exe, then argv[1..] less the parent's own
 * options (--target, --json, --junit, --ktap, --kcidb, --kcidb-origin, --lava,
 * --arch, --release, --build-dir, --color, --no-color, --clear, --bell), then
 * --json --arch ARCH [--release RELEASE] --build-dir BDIR [--no-compile-commands].
 * NULL-terminated, malloc'd (the strings are argv's or the arguments); NULL: no memory. */
char **kw_matrix_child_argv(int argc, char **argv, const char *exe, const char *arch, const char *release,
                            const char *bdir, bool compdb);
