/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reappear.c — an inotify watch on a directory's parent, for its name.
 */
#include "reappear.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct kw_reappear {
        int fd;
        char dir[PATH_MAX];
        const char *name; /* DIR's last component, in dir */
};

static bool is_dir(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int kw_reappear_start(const char *dir, struct kw_reappear **ret)
{
        char parent[PATH_MAX];
        struct kw_reappear *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        snprintf(r->dir, sizeof(r->dir), "%s", dir);
        snprintf(parent, sizeof(parent), "%s", dir);
        char *slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                snprintf(parent, sizeof(parent), "/");
        else
                *slash = 0;
        const char *last = strrchr(r->dir, '/');
        r->name = last ? last + 1 : r->dir;
        r->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (r->fd < 0 || inotify_add_watch(r->fd, parent, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM |
                                                                  IN_ONLYDIR) < 0) {
                int e = -errno;
                kw_reappear_stop(r);
                return e;
        }
        *ret = r;
        return 0;
}

int kw_reappear_fd(const struct kw_reappear *r)
{
        return r->fd;
}

bool kw_reappear_back(struct kw_reappear *r)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        while (read(r->fd, buf, sizeof(buf)) > 0)
                ; /* what happened does not matter: whether DIR is there does */
        return is_dir(r->dir);
}

bool kw_reappear_named(struct kw_reappear *r)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        bool named = false;
        ssize_t n;

        while ((n = read(r->fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *)p;
                        named |= (ev->mask & IN_Q_OVERFLOW) || (ev->len && strcmp(ev->name, r->name) == 0);
                        p += sizeof(*ev) + ev->len;
                }
        return named;
}

bool kw_reappear_here(const struct kw_reappear *r)
{
        return is_dir(r->dir);
}

void kw_reappear_stop(struct kw_reappear *r)
{
        if (!r)
                return;
        if (r->fd >= 0)
                close(r->fd);
        free(r);
}
