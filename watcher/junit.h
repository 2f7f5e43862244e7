/* SPDX-License-Identifier: MIT */
/*
 * junit.h — --junit FILE: the run as JUnit XML for CI, built from the same
 * events --json prints: one test case per module load and unload, per
 * --expect, per --run, plus a failing case for each oops and a failed build.
 * The file is written when the `exit` event comes (and rewritten after each
 * reload while watching, so it is always current).
 */
#pragma once

/* Starts listening to events; 0 or -errno (the file is checked writable now). */
int kw_junit_open(const char *path);
