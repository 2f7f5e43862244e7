/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * spawn.c — see spawn.h.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* In the child, between fork and exec: only async-signal-safe calls, and
 * no ui (its stdio state belongs to the parent), so exec failures are
 * written raw. */
static void child(char *const argv[], const struct kw_spawn_opts *o, const struct kw_spawn_fds *fds, pid_t parent)
{
        const int want[4] = { fds->in, fds->out, fds->err, fds->fd3 };
        int have[4];
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* exec keeps ignored signals ignored: give the child the defaults */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        if (o->new_session)
                setsid();
        else if (!o->same_group)
                setpgid(0, 0);
        if (o->death_signal) {
                prctl(PR_SET_PDEATHSIG, o->death_signal);
                if (getppid() != parent) /* died before prctl: nobody to serve */
                        _exit(127);
        }
        /* out of the way of 0..3 first, so no dup2 overwrites a source */
        for (int i = 0; i < 4; i++) {
                int src = want[i] == KW_SPAWN_NULL && i < 3 ? open("/dev/null", O_RDWR | O_CLOEXEC) : want[i];
                have[i] = src >= 0 ? fcntl(src, F_DUPFD_CLOEXEC, 10) : src;
        }
        for (int i = 0; i < 4; i++)
                if (have[i] >= 0)
                        dup2(have[i], i); /* dup2 clears FD_CLOEXEC on the copy */
        syscall(SYS_close_range, have[3] >= 0 ? 4u : 3u, ~0u, 0u);
        if (o->cwd && chdir(o->cwd) < 0) {
                int err = errno;
                fprintf(stderr, "kmod-watch: cannot enter %s: %s\n", o->cwd, strerror(err));
                _exit(126);
        }
        if (o->envp)
                execvpe(argv[0], argv, o->envp);
        else
                execvp(argv[0], argv);
        int err = errno;
        fprintf(stderr, "kmod-watch: cannot run %s: %s\n", argv[0], strerror(err));
        _exit(err == ENOENT ? 127 : 126);
}

int kw_spawn_run(char *const argv[], const struct kw_spawn_opts *o, const struct kw_spawn_fds *fds, pid_t *ret_pid)
{
        pid_t parent = getpid();

        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child(argv, o, fds, parent);
        *ret_pid = pid;
        return 0;
}

int kw_spawn_wait(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}

int kw_spawn(char *const argv[], const struct kw_spawn_opts *o, pid_t *ret_pid, int *ret_out)
{
        int pipefd[2];

        /* the child's end blocks, as programs expect of stdout */
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
        const struct kw_spawn_fds fds = { KW_SPAWN_NULL, pipefd[1], pipefd[1], KW_SPAWN_NULL };
        int r = kw_spawn_run(argv, o, &fds, ret_pid);
        close(pipefd[1]);
        if (r < 0) {
                close(pipefd[0]);
                return r;
        }
        *ret_out = pipefd[0];
        return 0;
}

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int kw_spawn_capture(char *const argv[], int fd3, unsigned timeout_ms, char *out, size_t size)
{
        const struct kw_spawn_opts o = { .death_signal = SIGKILL };
        int pipefd[2];
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        const struct kw_spawn_fds fds = { KW_SPAWN_NULL, pipefd[1], KW_SPAWN_NULL, fd3 };
        int r = kw_spawn_run(argv, &o, &fds, &pid);
        close(pipefd[1]);
        if (r < 0) {
                close(pipefd[0]);
                return r;
        }
        size_t used = 0;
        uint64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                uint64_t now = now_ms();
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
                int n = poll(&pfd, 1, (int)(deadline - now));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -ETIMEDOUT;
                        break;
                }
                ssize_t got = read(pipefd[0], out + used, size - 1 - used);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        break;
                used += (size_t)got;
                if (used == size - 1)
                        break;
        }
        close(pipefd[0]);
        out[used] = 0;
        if (r < 0)
                kill(pid, SIGKILL);
        int status = kw_spawn_wait(pid);
        return r < 0 ? r : status;
}
