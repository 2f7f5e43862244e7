/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dirlock.c — flock() on the module directory, and who holds it.
 */
#include "dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 08:02:56789 0 EOF" (a blocked
 * waiter's line has "->" after the number). */
static pid_t holder_of(const struct stat *st)
{
        char line[256];
        pid_t pid = 0;
        FILE *f = fopen("/proc/locks", "re");

        if (!f)
                return 0;
        while (!pid && fgets(line, sizeof(line), f)) {
                char type[16], mode[16], access[16];
                unsigned maj, min;
                unsigned long long ino;
                int p;

                if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu", type, mode, access, &p, &maj, &min, &ino) != 7)
                        continue;
                if (ino == (unsigned long long)st->st_ino && makedev(maj, min) == st->st_dev)
                        pid = p;
        }
        fclose(f);
        return pid;
}

int kw_dirlock_take(const char *dir, pid_t *ret_holder)
{
        struct stat st;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                return fd;
        int r = -errno;
        if (r == -EWOULDBLOCK) {
                r = -EBUSY;
                *ret_holder = fstat(fd, &st) == 0 ? holder_of(&st) : 0;
        }
        close(fd);
        return r;
}
