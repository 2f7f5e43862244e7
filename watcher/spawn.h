/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spawn.h — starting a child the way kmod-watch needs every child started:
 * no inherited fds (libinotifytools' fd and our sockets must not leak),
 * signals unblocked and ignored ones back to their defaults, its own process
 * group or session (so the terminal's Ctrl-C reaches kmod-watch first, which
 * decides what to stop) unless it is a foreground helper, and killed if
 * kmod-watch dies (PR_SET_PDEATHSIG). Every child kmod-watch starts goes
 * through here: make and QEMU (kw_spawn, output into the loop), addr2line
 * (kw_spawn_capture), gzip and the kit script (kw_spawn_run).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kw_spawn_opts {
        bool new_session; /* setsid() (QEMU); otherwise setpgid(0, 0) (make) … */
        bool same_group;  /* … or neither: a foreground helper in our group (^C stops it too) */
        int death_signal; /* sent to the child when kmod-watch dies; 0: none */
        const char *cwd;  /* its working directory (NULL: ours) */
        char *const *envp; /* its whole environment (NULL: ours) */
};

/* What kw_spawn_run() gives the child as stdin, stdout, stderr and fd 3:
 * an fd of ours, or one of these. */
#define KW_SPAWN_NULL (-1) /* /dev/null (fd 3: nothing) */
#define KW_SPAWN_KEEP (-2) /* ours, as it is (fd 3: nothing) */

struct kw_spawn_fds {
        int in, out, err, fd3;
};

/* Starts argv[0] (searched in PATH) with the given fds. 0 with *ret_pid, or
 * -errno. If exec fails, the child prints "kmod-watch: cannot run ARGV0: …"
 * on its stderr and exits 127 (not found) or 126. */
int kw_spawn_run(char *const argv[], const struct kw_spawn_opts *o, const struct kw_spawn_fds *fds,
                 pid_t *ret_pid);
/* Waits for it: its exit status, 128+N if killed by signal N, or -errno. */
int kw_spawn_wait(pid_t pid);

/* stdin from /dev/null, stdout and stderr into one non-blocking pipe for the
 * loop: 0 with *ret_pid and *ret_out (the read end, O_NONBLOCK|O_CLOEXEC), or
 * -errno. */
int kw_spawn(char *const argv[], const struct kw_spawn_opts *o, pid_t *ret_pid, int *ret_out);

/* Runs argv to the end, synchronously: stdin and stderr /dev/null, fd3 (or
 * KW_SPAWN_NULL) as its fd 3, its stdout into out (NUL-terminated, truncated
 * to size). Killed after timeout_ms (-ETIMEDOUT). Returns the exit status as
 * kw_spawn_wait() does, or -errno. */
int kw_spawn_capture(char *const argv[], int fd3, unsigned timeout_ms, char *out, size_t size);
