/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * share.c — see share.h.
 */
#include "share.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kw_share_subdir(const char *root, const char *dir, char *buf, size_t size)
{
        size_t n = strlen(root);

        while (n > 1 && root[n - 1] == '/')
                n--;
        if (n == 1 && root[0] == '/')
                n = 0; /* the root directory shares everything */
        if (strncmp(dir, root, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
                return -EXDEV;
        const char *rest = dir + n;
        while (*rest == '/')
                rest++;
        size_t len = strlen(rest);
        while (len && rest[len - 1] == '/')
                len--;
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(buf, rest, len);
        buf[len] = 0;
        return 0;
}

bool kw_share_tag_valid(const char *tag)
{
        size_t n = strlen(tag);

        if (n == 0 || n > KW_SHARE_TAG_MAX)
                return false;
        for (const unsigned char *p = (const unsigned char *)tag; *p; p++)
                if (*p == ',' || isspace(*p) || !isprint(*p))
                        return false;
        return true;
}

bool kw_share_sec_valid(const char *sec)
{
        static const char *const models[] = { "none", "mapped-xattr", "mapped-file", "passthrough" };

        for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
                if (strcmp(sec, models[i]) == 0)
                        return true;
        return false;
}

static const char *env(const char *name)
{
        const char *v = getenv(name);

        return v && v[0] ? v : NULL;
}

int kw_share_resolve(const struct kw_opts *o, const char *dir, struct kw_share *s, char *err, size_t errsize)
{
        const char *root = o->share, *tag = o->tag, *sec = env("QEMU_9P_SEC");

        *s = (struct kw_share){ .root_from = "--share", .tag_from = "--tag" };
        if (!root && (root = env("QEMU_9P_PATH")))
                s->root_from = "QEMU_9P_PATH";
        if (!root) {
                root = dir;
                s->root_from = "DIR";
        }
        if (!tag && (tag = env("QEMU_9P_TAG")))
                s->tag_from = "QEMU_9P_TAG";
        if (!tag) {
                tag = KW_SHARE_TAG_DEFAULT;
                s->tag_from = "default";
        }
        if (!kw_share_tag_valid(tag)) {
                snprintf(err, errsize,
                         "%s '%s' is not a usable 9p mount tag (1 to %d characters, no comma or space)",
                         s->tag_from, tag, KW_SHARE_TAG_MAX);
                return -EINVAL;
        }
        snprintf(s->tag, sizeof(s->tag), "%s", tag);
        if (!sec)
                sec = KW_SHARE_SEC_DEFAULT;
        if (!kw_share_sec_valid(sec)) {
                snprintf(err, errsize,
                         "QEMU_9P_SEC='%s' is not a 9p security model (none, mapped-xattr, mapped-file, passthrough)",
                         sec);
                return -EINVAL;
        }
        snprintf(s->sec, sizeof(s->sec), "%s", sec);
        if (!realpath(root, s->root)) {
                int r = -errno;
                snprintf(err, errsize, "%s %s: %s (the directory your QEMU shares over 9p)", s->root_from, root,
                         strerror(-r));
                return r == -ENOENT ? -ENOENT : -EINVAL;
        }
        return 0;
}
