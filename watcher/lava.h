/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lava.h — --lava: each case of the run's results (results.h), as it comes,
 * as a LAVA test case signal, the line LAVA's lava-test-case helper prints
 * and the LAVA dispatcher reads from the test shell's output:
 *   <LAVA_SIGNAL_TESTCASE TEST_CASE_ID=kmod.hello.load RESULT=pass>
 * RESULT is pass, fail (a failure or a harness error) or skip. So
 * `kmod-watch --once --ssh BOARD` is a LAVA test definition's step. On when
 * --lava is given or lava-test-case is on PATH (inside a LAVA job).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kw_res_case;

/* Is LAVA's lava-test-case helper on PATH (so we run inside a LAVA job)? */
bool kw_lava_detect(void);
/* Starts printing the signals; 0 or -errno. */
int kw_lava_open(void);
/* The signal line of one case, "\n" included, into buf. */
void kw_lava_line(const struct kw_res_case *c, char *buf, size_t size);
