/* SPDX-License-Identifier: MIT */
/*
 * spawn.h — starting a child the way kmod-watch needs every child started:
 * stdin from /dev/null, stdout and stderr into one non-blocking pipe for the
 * loop, no inherited fds (libinotifytools' fd and our sockets must not leak),
 * signals unblocked, its own process group or session (so the terminal's
 * Ctrl-C reaches kmod-watch first, which decides what to stop), and killed
 * if kmod-watch dies (PR_SET_PDEATHSIG).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct kw_spawn_opts {
        bool new_session; /* setsid() (QEMU); otherwise setpgid(0, 0) (make) */
        int death_signal; /* sent to the child when kmod-watch dies */
};

/* 0 with *ret_pid and *ret_out (the read end, O_NONBLOCK|O_CLOEXEC), or -errno.
 * If exec fails, the child prints "kmod-watch: cannot run ARGV0: …" into the
 * pipe and exits 127. */
int kw_spawn(char *const argv[], const struct kw_spawn_opts *o, pid_t *ret_pid, int *ret_out);
