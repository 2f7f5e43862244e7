/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kcidb.h — --kcidb FILE: the run's results (results.h) as KernelCI's KCIDB
 * I/O JSON, schema version 5.3 (the kcidb-io project; the schema is in
 * tests/fixtures/kcidb/): one checkout (DIR's git commit and branch when DIR
 * is in a git tree), a build per build (status, duration, the compiler's log
 * excerpt), a test per load, unload, --expect, --run and kernel report with
 * a dotted path (kmod.hello.load, kmod.hello.expect.1, kmod.hello.run), the
 * harness's failures as ERROR (it ran) or MISS (it never ran), and each
 * kernel report as an issue keyed by its crash fingerprint (the same across
 * runs and machines) with an incident for this run. Objects are named
 * ORIGIN:… (--kcidb-origin, default kmod_watch). Rewritten whole after each
 * new case.
 */
#pragma once

#include <stdio.h>

struct kw_results;

/* 0 or -errno (the file is checked writable now). */
int kw_kcidb_open(const char *path, const char *origin);
/* The KCIDB JSON of r into f; 0 or -errno. */
int kw_kcidb_write(FILE *f, const struct kw_results *r, const char *origin);
