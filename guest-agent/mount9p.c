/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mount9p.c — mounting the host's 9p share in the guest (see mount9p.h).
 *
 * Options: trans=virtio,version=9p2000.L is what Debian's 6.1 kernel mounts;
 * msize=512000 (the virtio transport's maximum) speeds up reading a .ko, and
 * is dropped again if a kernel refuses it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "mount9p.h"
#include "util.h"

#define OPTS_FAST "trans=virtio,version=9p2000.L,msize=512000"
#define OPTS_PLAIN "trans=virtio,version=9p2000.L"

/* /proc/mounts escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
        char *w = s;

        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
                    r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') << 6 | (r[2] - '0') << 3 | (r[3] - '0'));
                        r += 3;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

/* Calls fn(tag, path, arg) for each 9p mount; stops when fn returns nonzero
 * and returns that. */
static int each_9p_mount(int (*fn)(const char *tag, const char *path, void *arg), void *arg)
{
        FILE *f = fopen("/proc/mounts", "re");
        char line[4096];
        int r = 0;

        if (!f)
                return 0;
        while (r == 0 && fgets(line, sizeof(line), f)) {
                char *save = NULL;
                char *src = strtok_r(line, " ", &save);
                char *dst = strtok_r(NULL, " ", &save);
                char *type = strtok_r(NULL, " ", &save);

                if (!src || !dst || !type || strcmp(type, "9p") != 0)
                        continue;
                unescape(src);
                unescape(dst);
                r = fn(src, dst, arg);
        }
        fclose(f);
        return r;
}

static int put_one(const char *tag, const char *path, void *arg)
{
        struct kw_msg *m = arg;
        char field[4200];
        int n = snprintf(field, sizeof(field), "%s %s", tag, path);

        if (n < 0 || (size_t)n >= sizeof(field) || !kw_msg_fits(m, (size_t)n + 256))
                return 0;
        kw_msg_put_str(m, KW_F_MOUNT, field);
        return 0;
}

void mount9p_put_mounts(struct kw_msg *m)
{
        (void)each_9p_mount(put_one, m);
}

struct lookup {
        const char *path;
        const char *tag;
        char other[256]; /* tag mounted at path when not ours */
};

static int match(const char *tag, const char *path, void *arg)
{
        struct lookup *l = arg;

        if (strcmp(path, l->path) != 0)
                return 0;
        if (strcmp(tag, l->tag) == 0)
                return 1;
        snprintf(l->other, sizeof(l->other), "%s", tag);
        return 0;
}

struct by_tag {
        const char *tag;
        char path[4096]; /* where the tag is mounted already */
};

static int find_tag(const char *tag, const char *path, void *arg)
{
        struct by_tag *b = arg;

        if (strcmp(tag, b->tag) != 0)
                return 0;
        snprintf(b->path, sizeof(b->path), "%s", path);
        return 1;
}

/* "a//b/" → "a/b": /proc/mounts shows the normalised form. */
static void normalise(char *path)
{
        char *w = path;

        for (char *r = path; *r; r++)
                if (!(r[0] == '/' && (r[1] == '/' || (r[1] == '\0' && w != path))))
                        *w++ = *r;
        *w = '\0';
}

static int mkdir_p(char *path)
{
        for (char *p = path + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char c = *p;

                *p = '\0';
                if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                        int r = -errno;

                        *p = c;
                        return r;
                }
                *p = c;
                if (c == '\0')
                        return 0;
        }
}

void mount9p_request(const struct kw_frame *req, struct kw_msg *reply)
{
        char tag[256], path[4096];
        struct lookup l = { .path = path, .tag = tag };
        uint64_t t0 = now_usec();
        int r;

        r = frame_string(req, KW_F_TAG, tag, sizeof(tag));
        if (r == 0 && (tag[0] == '\0' || strpbrk(tag, " ,\t\n")))
                r = -EINVAL;
        if (r < 0) {
                result_error(reply, r == -ENOENT ? EBADMSG : -r, "MOUNT needs a TAG (%s)",
                             r == -ENOENT ? "missing" : strerror(-r));
                return;
        }
        r = frame_string(req, KW_F_PATH, path, sizeof(path));
        if (r == 0 && (path[0] != '/' || strchr(path, '\n')))
                r = -EINVAL;
        if (r < 0) {
                result_error(reply, r == -ENOENT ? EBADMSG : -r, "MOUNT needs an absolute PATH (%s)",
                             r == -ENOENT ? "missing" : strerror(-r));
                return;
        }
        normalise(path);

        if (each_9p_mount(match, &l)) {
                kw_msg_put_u64(reply, KW_F_USEC, now_usec() - t0);
                return; /* already there: a reconnecting host asks again */
        }
        if (l.other[0]) {
                result_error(reply, EBUSY, "%s already has 9p share %s mounted", path, l.other);
                return;
        }
        r = mkdir_p(path);
        if (r < 0) {
                result_error(reply, -r, "cannot create %s: %s", path, strerror(-r));
                return;
        }
        /* A virtio 9p tag mounts once (EBUSY again): if the user's init
         * mounted it elsewhere (the tutorial's /mnt/share), bind that. */
        struct by_tag b = { .tag = tag };
        bool retried = false;
again:
        if (each_9p_mount(find_tag, &b)) {
                if (mount(b.path, path, NULL, MS_BIND, NULL) < 0) {
                        r = errno;
                        result_error(reply, r, "%s is mounted at %s; binding it at %s failed: %s", tag, b.path,
                                     path, strerror(r));
                        return;
                }
                kw_msg_put_u64(reply, KW_F_USEC, now_usec() - t0);
                log_msg("9p %s is mounted at %s: bound it at %s", tag, b.path, path);
                return;
        }
        r = mount(tag, path, "9p", 0, OPTS_FAST);
        if (r < 0 && errno == EINVAL)
                r = mount(tag, path, "9p", 0, OPTS_PLAIN);
        if (r < 0 && errno == EBUSY && !retried) {
                /* the user's init mounted the tag just now, between our look and our mount */
                retried = true;
                goto again;
        }
        if (r < 0) {
                r = errno;
                if (r == ENODEV)
                        result_error(reply, r, "cannot mount %s: no 9p filesystem in this kernel (load 9p, 9pnet_virtio)",
                                     tag);
                else if (r == ENOENT)
                        result_error(reply, r, "cannot mount %s at %s: no such 9p tag (QEMU -virtfs mount_tag=)",
                                     tag, path);
                else
                        result_error(reply, r, "cannot mount %s at %s: %s", tag, path, strerror(r));
                log_msg("mounting %s at %s failed: %s", tag, path, strerror(r));
                return;
        }
        kw_msg_put_u64(reply, KW_F_USEC, now_usec() - t0);
        log_msg("mounted 9p %s at %s", tag, path);
}
