/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-dirlock.c — one kmod-watch per directory (watcher/dirlock.c): the
 * second taker is refused with the first one's pid, from a real flock() and
 * the real /proc/locks; the lock goes with the holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirlock.h"
#include "test.h"

static char dir[] = "/tmp/kw-test-dirlock-XXXXXX";

static void second_taker_refused(void)
{
        pid_t holder = -1;
        int fd = kw_dirlock_take(dir, &holder);

        CHECK(fd >= 0);
        /* another open file description, as another process would have */
        CHECK_EQ(kw_dirlock_take(dir, &holder), -EBUSY);
        CHECK_EQ(holder, getpid());
        close(fd);
        fd = kw_dirlock_take(dir, &holder); /* released: free again */
        CHECK(fd >= 0);
        close(fd);
}

static void lock_not_inherited(void)
{
        pid_t holder = 0;
        int fd = kw_dirlock_take(dir, &holder);

        CHECK(fd >= 0);
        int p[2];
        char c;
        CHECK(pipe2(p, O_CLOEXEC) == 0);
        pid_t child = fork();
        if (child == 0) {
                /* a child that execs and lives on (make, QEMU) must not keep it */
                execl("/bin/sleep", "sleep", "10", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        CHECK(read(p[0], &c, 1) == 0); /* EOF: the child has exec'd */
        close(p[0]);
        close(fd);
        fd = kw_dirlock_take(dir, &holder); /* the child still runs */
        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
}

static void missing_dir(void)
{
        pid_t holder = 0;

        CHECK_EQ(kw_dirlock_take("/nonexistent-kmod-watch-dir", &holder), -ENOENT);
}

int main(void)
{
        if (!mkdtemp(dir))
                return 1;
        RUN(second_taker_refused);
        RUN(lock_not_inherited);
        RUN(missing_dir);
        rmdir(dir);
        TEST_DONE();
}
