/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-spawn.c — watcher/spawn.c's synchronous helpers: output captured,
 * exit statuses (127: not found), fd 3 passed on, the timeout, and
 * kw_spawn_run() with our fds, kw_spawn() in a directory with an environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "test.h"

static void test_capture(void)
{
        char out[64];
        char *echo[] = { "sh", "-c", "echo hello; echo oops >&2", NULL };

        CHECK_EQ(kw_spawn_capture(echo, KW_SPAWN_NULL, 5000, out, sizeof(out)), 0);
        CHECK(strcmp(out, "hello\n") == 0);
        char *fail[] = { "sh", "-c", "exit 3", NULL };
        CHECK_EQ(kw_spawn_capture(fail, KW_SPAWN_NULL, 5000, out, sizeof(out)), 3);
        char *none[] = { "kw-no-such-program-here", NULL };
        CHECK_EQ(kw_spawn_capture(none, KW_SPAWN_NULL, 5000, out, sizeof(out)), 127);
        char *small[] = { "sh", "-c", "echo 0123456789", NULL };
        CHECK_EQ(kw_spawn_capture(small, KW_SPAWN_NULL, 5000, out, 5), 0);
        CHECK(strcmp(out, "0123") == 0);
}

static void test_fd3(void)
{
        char path[] = "/tmp/kw-test-spawn-XXXXXX", out[64];
        int fd = mkstemp(path);

        CHECK(fd >= 0);
        unlink(path);
        CHECK_EQ(write(fd, "from fd 3", 9), 9);
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 20);
        close(fd);
        char *cat[] = { "cat", "/dev/fd/3", NULL };
        CHECK_EQ(kw_spawn_capture(cat, high, 5000, out, sizeof(out)), 0);
        CHECK(strcmp(out, "from fd 3") == 0);
        close(high);
}

static void test_timeout(void)
{
        char out[16];
        char *slow[] = { "sleep", "10", NULL };

        CHECK_EQ(kw_spawn_capture(slow, KW_SPAWN_NULL, 200, out, sizeof(out)), -ETIMEDOUT);
}

static void test_run(void)
{
        const struct kw_spawn_opts so = { .same_group = true };
        int p[2], q[2];
        pid_t pid;
        char buf[32] = "";

        CHECK(pipe2(p, O_CLOEXEC) == 0 && pipe2(q, O_CLOEXEC) == 0);
        const struct kw_spawn_fds fds = { .in = p[0], .out = q[1], .err = KW_SPAWN_NULL, .fd3 = KW_SPAWN_NULL };
        char *tr[] = { "tr", "a-z", "A-Z", NULL };
        CHECK_EQ(kw_spawn_run(tr, &so, &fds, &pid), 0);
        close(p[0]);
        close(q[1]);
        CHECK_EQ(write(p[1], "abc", 3), 3);
        close(p[1]);
        CHECK_EQ(read(q[0], buf, sizeof(buf) - 1), 3);
        close(q[0]);
        CHECK(strcmp(buf, "ABC") == 0);
        CHECK_EQ(kw_spawn_wait(pid), 0);
}

/* kw_spawn() (make's way): its working directory and its whole environment given */
static void test_cwd_env(void)
{
        char *env[] = { "KW_TEST=yes", "PWD=/tmp", NULL };
        const struct kw_spawn_opts so = { .cwd = "/tmp", .envp = env };
        char *sh[] = { "/bin/sh", "-c", "echo \"$(pwd -P) $PWD $KW_TEST ${HOME:-nohome}\"", NULL };
        pid_t pid;
        int out;
        char buf[128] = "";
        size_t n = 0;

        CHECK_EQ(kw_spawn(sh, &so, &pid, &out), 0);
        CHECK_EQ(kw_spawn_wait(pid), 0);
        ssize_t r;
        while (n < sizeof(buf) - 1 && (r = read(out, buf + n, sizeof(buf) - 1 - n)) > 0)
                n += (size_t)r;
        close(out);
        CHECK(strcmp(buf, "/tmp /tmp yes nohome\n") == 0);

        const struct kw_spawn_opts bad = { .cwd = "/no/such/dir/kw" };
        CHECK_EQ(kw_spawn(sh, &bad, &pid, &out), 0);
        CHECK_EQ(kw_spawn_wait(pid), 126);
        close(out);
}

int main(void)
{
        RUN(test_capture);
        RUN(test_fd3);
        RUN(test_timeout);
        RUN(test_run);
        RUN(test_cwd_env);
        TEST_DONE();
}
