/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shell.h — `kmod-watch shell [DIR]`: a root shell in the guest of the
 * kmod-watch running for DIR, in this terminal (shell.c; the server side is
 * shellsrv.c in that kmod-watch).
 */
#pragma once

#include "opts.h"

/* The shell's exit status; 69 when no kmod-watch runs for DIR; 64 usage. */
int kw_shell_main(const struct kw_opts *o);
