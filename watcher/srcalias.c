/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * srcalias.c — a symlink to the module directory for kbuild's sake.
 */
#include "srcalias.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool kw_srcalias_needed(const char *path)
{
        return strpbrk(path, " \t,:#$\"'\\%=") != NULL;
}

int kw_srcalias_make(const char *dir, char *ret, size_t size, char *ret_tmp, size_t tmp_size)
{
        const char *base = getenv("TMPDIR");
        char tmp[PATH_MAX];

        if (!base || !base[0] || kw_srcalias_needed(base))
                base = "/tmp";
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s/kmod-watch-src.XXXXXX", base) >= sizeof(tmp))
                return -ENAMETOOLONG;
        if (!mkdtemp(tmp))
                return -errno;
        if ((size_t)snprintf(ret, size, "%s/module", tmp) >= size ||
            (size_t)snprintf(ret_tmp, tmp_size, "%s", tmp) >= tmp_size) {
                rmdir(tmp);
                return -ENAMETOOLONG;
        }
        if (symlink(dir, ret) < 0) {
                int r = -errno;
                rmdir(tmp);
                return r;
        }
        return 0;
}

void kw_srcalias_remove(const char *tmp)
{
        char link[PATH_MAX];

        if (!tmp || !tmp[0])
                return;
        if ((size_t)snprintf(link, sizeof(link), "%s/module", tmp) < sizeof(link))
                unlink(link);
        rmdir(tmp);
}
