/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * junit.h — --junit FILE: the run's results (results.h) as JUnit XML for CI
 * (GitLab's artifacts:reports:junit, Jenkins): one <testsuite> for the run
 * with the guest's kernel release, arch and kind as properties; a case per
 * build, load, unload, --expect, --run and kernel report. A failure's body
 * is the compiler's messages or the whole kernel report; harness problems
 * (no guest, a lost connection) are <error>, the module's are <failure>.
 * The file is rewritten whole (temp file + rename) after each new case and
 * at exit, so it is always current and never half written.
 */
#pragma once

#include <stdio.h>

struct kw_results;

/* Starts writing PATH from the results (kw_results_open() first); 0 or -errno
 * (the file is checked writable now). */
int kw_junit_open(const char *path);
/* The XML of r into f (the writer's body; for tests); 0 or -errno. */
int kw_junit_write(FILE *f, const struct kw_results *r);
