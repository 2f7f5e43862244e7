/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rdinit.c — see rdinit.h. It mounts nothing: the agent retries until the
 * user's init has mounted /proc, /sys and devtmpfs and loaded virtio_console,
 * 9pnet_virtio and 9p (mounting sysfs or devtmpfs here would make their own
 * mount commands fail with EBUSY). The console it writes to exists before
 * anything is mounted: the kernel's built-in initramfs has /dev/console, and
 * the injected segment adds dev/kmsg.
 */
#include "rdinit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define RESTART_PAUSE_S 1 /* between an agent's exit and the next start */
#define WHY_MAX 1024

/* One line on the console, in words: through /dev/kmsg (every console and
 * the kernel log, at level crit), else straight to /dev/console. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        char line[WHY_MAX + 256];
        va_list ap;
        int n = snprintf(line, sizeof(line), "<2>kmod-watch: ");

        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        n = (int)strlen(line);
        line[n++] = '\n';
        int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, line, (size_t)n) == n) {
                close(fd);
                return;
        }
        if (fd >= 0)
                close(fd);
        fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
        (void)!write(fd >= 0 ? fd : STDERR_FILENO, line + 3, (size_t)n - 3);
        if (fd >= 0)
                close(fd);
}

/* In the forked child: keeps one agent running. Returns in each new agent
 * process; the supervisor itself never returns. */
static void supervise(void)
{
        (void)setsid(); /* no part of the user's console session or job control */
        for (;;) {
                pid_t pid = fork();
                if (pid == 0)
                        return;
                if (pid < 0) {
                        log_msg("cannot start: fork: %s", strerror(errno));
                } else {
                        int st;
                        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                                ;
                        if (WIFSIGNALED(st))
                                log_msg("killed by signal %d; starting it again", WTERMSIG(st));
                        else
                                log_msg("exited with status %d; starting it again", WEXITSTATUS(st));
                }
                sleep(RESTART_PAUSE_S);
        }
}

static void append(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void append(char *why, const char *fmt, ...)
{
        size_t len = strlen(why);
        va_list ap;

        if (len >= WHY_MAX - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(why + len, WHY_MAX - len, fmt, ap);
        va_end(ap);
}

/* Why exec of path failed with err, in words, appended to why. */
static void explain_exec(char *why, const char *path, int err)
{
        char head[256] = "";
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, head, sizeof(head) - 1) : -1;

        if (fd >= 0)
                close(fd);
        head[n > 0 ? n : 0] = 0;
        if (err == ENOENT && head[0] == '#' && head[1] == '!') {
                char *interp = head + 2 + strspn(head + 2, " \t");
                interp[strcspn(interp, " \t\r\n")] = 0;
                append(why, "%s: its interpreter %s is missing", path, interp);
        } else if (err == ENOENT) {
                append(why, "%s: its program loader (ELF interpreter) or a library is missing", path);
        } else if (err == ENOEXEC) {
                append(why, "%s: not a program this kernel runs (no #! line, or built for another architecture)",
                       path);
        } else {
                append(why, "%s: %s", path, strerror(err));
        }
}

/* execs path in PID 1 when it can run; else appends why not to why. */
static void try_init(const char *path, char **argv, char *why)
{
        struct stat st;

        if (why[0])
                append(why, "; ");
        if (lstat(path, &st) < 0) {
                append(why, "%s: missing", path);
                return;
        }
        if (stat(path, &st) < 0) {
                append(why, "%s: a symbolic link to nothing", path);
                return;
        }
        if (!S_ISREG(st.st_mode)) {
                append(why, "%s: not a regular file", path);
                return;
        }
        if (access(path, X_OK) < 0) {
                append(why, "%s: not executable (mode %04o)", path, (unsigned)(st.st_mode & 07777));
                return;
        }
        argv[0] = (char *)path;
        execv(path, argv);
        explain_exec(why, path, errno);
}

/* Without a /dev/console the kernel starts init with fds 0-2 closed; the
 * agent's port must never become fd 2, where its log lines go. */
static void ensure_std_fds(void)
{
        for (int fd = 0; fd <= 2; fd++) {
                if (fcntl(fd, F_GETFD) >= 0)
                        continue;
                int n = open("/dev/console", O_RDWR | O_NOCTTY);
                if (n < 0)
                        n = open("/dev/kmsg", O_WRONLY);
                if (n >= 0 && n != fd) {
                        dup2(n, fd);
                        close(n);
                }
        }
}

bool rdinit_start(int argc, char **argv)
{
        char why[WHY_MAX] = "";
        const char *kw_init = getenv("kw_init"); /* the kernel hands kw_init=PATH to init's environment */

        if (getpid() != 1)
                return false;
        ensure_std_fds();
        pid_t pid = fork();
        if (pid == 0) {
                supervise();
                return true;
        }
        if (pid < 0)
                say("cannot start kmod-agent (fork: %s); running your init without it", strerror(errno));

        /* argv[0] is ours; the rest is what the kernel passes to init. */
        char **init_argv = calloc((size_t)argc + 1, sizeof(*init_argv));
        if (!init_argv) {
                say("out of memory before running your init; the kernel will panic next");
                exit(EXIT_FAILURE);
        }
        for (int i = 1; i < argc; i++)
                init_argv[i] = argv[i];
        if (kw_init && kw_init[0]) {
                try_init(kw_init, init_argv, why);
                say("kw_init=%s cannot run (%s); trying /init, then /sbin/init", kw_init, why);
        }
        try_init("/init", init_argv, why);
        try_init("/sbin/init", init_argv, why);
        if (access("/bin/sh", X_OK) == 0) {
                say("no init to run (%s); starting /bin/sh", why);
                char *sh[] = { "/bin/sh", NULL };
                execv(sh[0], sh);
        }
        say("the initramfs has no init that can run (%s%s); the kernel will panic next", why,
            kw_init && kw_init[0] ? "" : "; kw_init= is not set");
        exit(EXIT_FAILURE);
}
