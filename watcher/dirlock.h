/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dirlock.h — one kmod-watch per module directory: two builds in one kbuild
 * tree break each other (fixdep parse errors, half-written .o files). The
 * lock is an flock() on the directory itself, so nothing is written into it,
 * and the holder's pid is read back from /proc/locks for the message.
 */
#pragma once

#include <sys/types.h>

/* Locks DIR for this process (the fd stays open, close-on-exec, until exit).
 * Returns the fd; -EBUSY when another process holds it (*ret_holder: its
 * pid, or 0 when it cannot be told); other -errno. */
int kw_dirlock_take(const char *dir, pid_t *ret_holder);
