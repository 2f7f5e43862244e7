/* SPDX-License-Identifier: MIT */
/*
 * test-reappear.c — waiting for a deleted directory to come back
 * (watcher/reappear.c), with real inotify on real directories: made again,
 * moved back in, back before the watch existed; other names do not count.
 */
#include <errno.h>
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
        RUN(parent_gone);
        rmdir(dir);
        rmdir(parent);
        TEST_DONE();
}
