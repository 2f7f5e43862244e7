/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ktap.h — --ktap FILE|-: the run's results (results.h) in KTAP version 1,
 * the kernel's own test output format (Documentation/dev-tools/ktap.rst),
 * as kunit_tool's parser reads it: one subtest for the run, a result line
 * per case named by its dotted path (kmod.hello.load), and before each
 * failed case its message, the compiler's messages or the kernel report as
 * diagnostic lines ("# …"). Skipped cases carry "# SKIP"; the harness's
 * errors are "not ok" with "# error:" diagnostics (KTAP has no error result).
 * A FILE is rewritten whole after each new case; "-" prints once, at the
 * end of the run, on stdout (stderr with --json).
 */
#pragma once

#include <stdio.h>

struct kw_results;

/* 0 or -errno (a FILE is checked writable now). */
int kw_ktap_open(const char *path);
/* The KTAP text of r into f; 0 or -errno. */
int kw_ktap_write(FILE *f, const struct kw_results *r);
