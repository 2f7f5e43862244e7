/* SPDX-License-Identifier: MIT */
/*
 * reload.h — the cycle: a change → one build → unload the old modules → load
 * the new ones → their kernel log; and --once, which runs the cycle once and
 * turns what happened into an exit status (PRODUCT.md). This is where a
 * reload is decided.
 */
#pragma once

#include "opts.h"

/* Runs kmod-watch [--once] DIR; returns the process exit status. */
int kw_run(const struct kw_opts *o);

enum kw_status {
        KW_EXIT_OK = 0,
        KW_EXIT_EXPECT = 1,
        KW_EXIT_BUILD = 2,
        KW_EXIT_LOAD = 3,
        KW_EXIT_OOPS = 4,
        KW_EXIT_GUEST = 5,
};
