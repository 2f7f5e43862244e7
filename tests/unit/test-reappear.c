/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-reappear.c — waiting for a deleted directory to come back
 * (watcher/reappear.c), with real inotify on real directories: made again,
 * moved back in, back before the watch existed; other names do not count.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reappear.h"
#include "test.h"

static char parent[] = "/tmp/kw-test-reappear-XXXXXX";
static char dir[256], other[256], away[256];

static bool readable(int fd)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };

        return poll(&p, 1, 2000) == 1;
}

static void made_again(void)
{
        struct kw_reappear *r = NULL;

        CHECK_EQ(kw_reappear_start(dir, &r), 0);
        CHECK(!kw_reappear_back(r));
        CHECK_EQ(mkdir(other, 0755), 0); /* another name: seen, but not DIR */
        CHECK(readable(kw_reappear_fd(r)));
        CHECK(!kw_reappear_back(r));
        CHECK_EQ(mkdir(dir, 0755), 0);
        CHECK(readable(kw_reappear_fd(r)));
        CHECK(kw_reappear_back(r));
        kw_reappear_stop(r);
        rmdir(other);
}

static void moved_back(void)
{
        struct kw_reappear *r = NULL;

        CHECK_EQ(rename(dir, away), 0);
        CHECK_EQ(kw_reappear_start(dir, &r), 0);
        CHECK_EQ(rename(away, dir), 0);
        CHECK(readable(kw_reappear_fd(r)));
        CHECK(kw_reappear_back(r));
        kw_reappear_stop(r);
}

static void already_back(void)
{
        struct kw_reappear *r = NULL;

        CHECK_EQ(kw_reappear_start(dir, &r), 0); /* it exists: back at once */
        CHECK(kw_reappear_back(r));
        kw_reappear_stop(r);
}

/* The watch for the whole run: DIR deleted while something holds it open (no
 * DELETE_SELF for it then), the parent names it; other names are not news. */
static void named_while_held(void)
{
        struct kw_reappear *r = NULL;
        char file[300];

        CHECK_EQ(kw_reappear_start(dir, &r), 0);
        CHECK(kw_reappear_here(r));
        int held = open(dir, O_RDONLY | O_DIRECTORY);
        CHECK(held >= 0);
        CHECK_EQ(mkdir(other, 0755), 0);
        CHECK(readable(kw_reappear_fd(r)));
        CHECK(!kw_reappear_named(r));
        snprintf(file, sizeof(file), "%s/hello.c", dir);
        int f = open(file, O_CREAT | O_WRONLY, 0644);
        CHECK(f >= 0);
        close(f);
        CHECK_EQ(unlink(file), 0); /* inside DIR: not the parent's news */
        CHECK(!kw_reappear_named(r));
        CHECK_EQ(rmdir(dir), 0);
        CHECK(readable(kw_reappear_fd(r)));
        CHECK(kw_reappear_named(r));
        CHECK(!kw_reappear_here(r));
        CHECK_EQ(mkdir(dir, 0755), 0);
        CHECK(readable(kw_reappear_fd(r)));
        CHECK(kw_reappear_named(r));
        CHECK(kw_reappear_here(r));
        close(held);
        kw_reappear_stop(r);
        rmdir(other);
}

static void parent_gone(void)
{
        struct kw_reappear *r = NULL;

        CHECK_EQ(kw_reappear_start("/nonexistent-kmod-watch/dir", &r), -ENOENT);
}

int main(void)
{
        if (!mkdtemp(parent))
                return 1;
        snprintf(dir, sizeof(dir), "%s/module", parent);
        snprintf(other, sizeof(other), "%s/other", parent);
        snprintf(away, sizeof(away), "%s/away", parent);
        RUN(made_again);
        RUN(moved_back);
        RUN(already_back);
        RUN(named_while_held);
        RUN(parent_gone);
        rmdir(dir);
        rmdir(parent);
        TEST_DONE();
}
