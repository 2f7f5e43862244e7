/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * run.c — the RUN request (see run.h).
 *
 * The child's end is known from SIGCHLD (main.c's signalfd), not from
 * pipe EOF: a command that leaves a background process behind keeps the
 * pipes open forever, and the host still deserves its RESULT. What the
 * child wrote before exiting is already in the pipes, so they are drained
 * then and closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

#define OUTPUT_CHUNK (16 * 1024)
#define DRAIN_MAX (256 * 1024) /* per pipe, at exit: a pipe holds 64 KiB by default */

void run_init(struct run *r)
{
        memset(r, 0, sizeof(*r));
        r->fd[0] = r->fd[1] = -1;
}

bool run_busy(const struct run *r)
{
        return r->pid > 0;
}

static void child(const char *cmd, int out, int err)
{
        sigset_t none;
        int null = open("/dev/null", O_RDONLY);

        /* The agent blocks SIGIO/SIGCHLD and ignores SIGPIPE; a shell
         * command should start with the ordinary defaults. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(127);
        if (null > 2)
                close(null);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
}

int run_start(struct run *r, uint32_t id, const char *cmd)
{
        int out[2], err[2];
        pid_t pid;

        if (run_busy(r))
                return -EBUSY;
        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                int e = -errno;

                close(out[0]);
                close(out[1]);
                return e;
        }
        pid = fork();
        if (pid == 0)
                child(cmd, out[1], err[1]);
        close(out[1]);
        close(err[1]);
        if (pid < 0) {
                int e = -errno;

                close(out[0]);
                close(err[0]);
                return e;
        }
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        fcntl(err[0], F_SETFL, O_NONBLOCK);
        r->pid = pid;
        r->id = id;
        r->fd[0] = out[0];
        r->fd[1] = err[0];
        r->start_usec = now_usec();
        return 0;
}

/* Reads one chunk from pipe i into an OUTPUT frame. >0 bytes, 0 EOF (pipe
 * closed), -EAGAIN, -errno. */
static int pump_once(struct run *r, int i, struct chan *c)
{
        static struct kw_msg m;
        static char buf[OUTPUT_CHUNK];
        ssize_t n;

        do
                n = read(r->fd[i], buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0) {
                close(r->fd[i]);
                r->fd[i] = -1;
                return 0;
        }
        kw_msg_init(&m, KW_OUTPUT, r->id);
        kw_msg_put_u64(&m, KW_F_STREAM, (uint64_t)i + 1);
        kw_msg_put_bytes(&m, KW_F_TEXT, buf, (size_t)n);
        (void)chan_send(c, &m);
        return (int)n;
}

void run_pump(struct run *r, int i, struct chan *c)
{
        int n;

        if (r->fd[i] < 0)
                return;
        n = pump_once(r, i, c);
        if (n < 0 && n != -EAGAIN) {
                close(r->fd[i]);
                r->fd[i] = -1;
        }
}

static void finish(struct run *r, int status, struct chan *c)
{
        static struct kw_msg m;
        uint64_t code;

        for (int i = 0; i < 2; i++) {
                for (size_t total = 0; r->fd[i] >= 0 && total < DRAIN_MAX;) {
                        int n = pump_once(r, i, c);

                        if (n <= 0)
                                break;
                        total += (size_t)n;
                }
                if (r->fd[i] >= 0)
                        close(r->fd[i]);
                r->fd[i] = -1;
        }
        code = WIFEXITED(status) ? (uint64_t)WEXITSTATUS(status) : 128u + (uint64_t)WTERMSIG(status);
        kw_msg_init(&m, KW_RESULT, r->id);
        kw_msg_put_u64(&m, KW_F_ERRNO, 0);
        kw_msg_put_u64(&m, KW_F_STATUS, code);
        kw_msg_put_u64(&m, KW_F_USEC, now_usec() - r->start_usec);
        (void)chan_send(c, &m);
        r->pid = 0;
}

bool run_exited(struct run *r, pid_t pid, int status, struct chan *c)
{
        if (r->pid <= 0 || pid != r->pid)
                return false;
        finish(r, status, c);
        return true;
}
