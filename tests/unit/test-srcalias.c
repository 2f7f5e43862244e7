/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-srcalias.c — the symlink kbuild builds through when the module's
 * path has characters make cannot take (watcher/srcalias.c): which paths
 * need it, that it points at the directory, that it goes away.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srcalias.h"
#include "test.h"

static void which_paths(void)
{
        CHECK(!kw_srcalias_needed("/home/me/src/hello"));
        CHECK(!kw_srcalias_needed("/home/me/src/hello-2_x.y+z"));
        CHECK(kw_srcalias_needed("/home/me/my module"));
        CHECK(kw_srcalias_needed("/home/me/a,b"));
        CHECK(kw_srcalias_needed("/home/me/a:b"));
        CHECK(kw_srcalias_needed("/home/me/#1"));
        CHECK(kw_srcalias_needed("/home/me/$x"));
}

static void alias_points_there(void)
{
        char dir[] = "/tmp/kw-test-srcalias-XXXXXX", sub[PATH_MAX], alias[PATH_MAX], tmp[PATH_MAX], real[PATH_MAX];

        if (!mkdtemp(dir))
                return;
        snprintf(sub, sizeof(sub), "%s/my module,1", dir);
        CHECK_EQ(mkdir(sub, 0755), 0);
        CHECK_EQ(kw_srcalias_make(sub, alias, sizeof(alias), tmp, sizeof(tmp)), 0);
        CHECK(!kw_srcalias_needed(alias));
        CHECK(realpath(alias, real) && strcmp(real, sub) == 0);
        kw_srcalias_remove(tmp);
        struct stat st;
        CHECK(lstat(alias, &st) < 0 && lstat(tmp, &st) < 0);
        rmdir(sub);
        rmdir(dir);
}

int main(void)
{
        RUN(which_paths);
        RUN(alias_points_there);
        TEST_DONE();
}
