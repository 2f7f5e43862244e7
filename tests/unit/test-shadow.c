/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-shadow.c — the matrix's build trees kept and pruned (shadow.c:
 * kw_shadow_keep) in a scratch directory: this DIR's trees stamped, other
 * DIRs' trees unused for the given days removed whole (their links removed,
 * never followed), recent ones kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shadow.h"
#include "test.h"

static char root[256];

static void path(char *buf, const char *rel)
{
        snprintf(buf, PATH_MAX, "%s/%s", root, rel);
}

static void mk(const char *rel)
{
        char p[PATH_MAX];

        path(p, rel);
        CHECK(mkdir(p, 0755) == 0);
}

static void touch(const char *rel, time_t when)
{
        char p[PATH_MAX];

        path(p, rel);
        struct stat st;
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) { /* a file, made; a directory's time only */
                int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                CHECK(fd >= 0);
                if (fd >= 0)
                        close(fd);
        }
        struct timespec t[2] = { { .tv_sec = when }, { .tv_sec = when } };
        CHECK(utimensat(AT_FDCWD, p, t, AT_SYMLINK_NOFOLLOW) == 0);
}

static int there(const char *rel)
{
        char p[PATH_MAX];
        struct stat st;

        path(p, rel);
        return lstat(p, &st) == 0;
}

static void test_keep(void)
{
        time_t now = time(NULL), old = now - 40 * 86400;
        char p[PATH_MAX], self[PATH_MAX];

        mk("outside");
        touch("outside/source.c", now);
        mk("matrix");
        mk("matrix/self-1");
        mk("matrix/old-2");
        mk("matrix/old-2/x86_64-6.1");
        touch("matrix/old-2/x86_64-6.1/hello.o", old);
        path(p, "matrix/old-2/x86_64-6.1/hello.c");
        char target[PATH_MAX];
        path(target, "outside/source.c");
        CHECK(symlink(target, p) == 0);
        touch("matrix/old-2/.used", old);
        mk("matrix/nostamp-3");
        touch("matrix/nostamp-3", old); /* an older kmod-watch's tree: its own time */
        mk("matrix/recent-4");
        touch("matrix/recent-4/.used", now - 86400);
        touch("matrix/a-file", old); /* not a tree: left alone */

        path(self, "matrix/self-1");
        CHECK_EQ(kw_shadow_keep(self, 30), 2);
        CHECK(there("matrix/self-1/.used"));
        CHECK(!there("matrix/old-2") && !there("matrix/nostamp-3"));
        CHECK(there("matrix/recent-4") && there("matrix/a-file"));
        CHECK(there("outside/source.c")); /* the link went, not what it named */

        CHECK_EQ(kw_shadow_keep(self, 30), 0); /* nothing more to remove */
        CHECK_EQ(kw_shadow_keep("no-slash", 30), -EINVAL);
        path(p, "missing/self");
        CHECK_EQ(kw_shadow_keep(p, 30), -ENOENT);
}

int main(void)
{
        snprintf(root, sizeof(root), "%s/kw-test-shadow-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(root)) {
                perror("mkdtemp");
                return 1;
        }
        RUN(test_keep);
        char cmd[sizeof(root) + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        (void)!system(cmd);
        TEST_DONE();
}
