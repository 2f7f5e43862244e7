/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest-connect.c — the --connect backend (guest-int.h): a QEMU the user
 * started. Its share and tag come from share.c, the channel from attach.c
 * (which knocks until the agent greets); QEMU itself is never touched, so
 * kmod-watch cannot restart it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "guest-int.h"
#include "kit.h"
#include "share.h"
#include "ui.h"

struct connect {
        struct kw_guest_base base; /* first: kdir, cross, tag, subdir */
        const struct kw_guest_ops *ops;
        void *userdata;
        struct kw_attach *attach;
};

static void on_channel(void *userdata, int fd)
{
        struct connect *c = userdata;

        c->ops->channel(c->userdata, fd);
}

static void on_lost(void *userdata, const char *why, bool fatal)
{
        struct connect *c = userdata;

        c->ops->lost(c->userdata, why, fatal);
}

static const struct kw_attach_ops attach_ops = {
        .channel = on_channel,
        .lost = on_lost,
};

static int connect_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                       const struct kw_guest_ops *ops, void *userdata, void **ret)
{
        struct connect *c = calloc(1, sizeof(*c));
        struct kw_share share;
        char err[PATH_MAX + 256];

        (void)tag; /* the user's QEMU decides the tag */
        *ret = c;
        if (!c)
                return -ENOMEM;
        c->ops = ops;
        c->userdata = userdata;
        int r = kw_share_resolve(o, dir, &share, err, sizeof(err));
        if (r < 0) {
                kw_err("%s", err);
                return -EINVAL;
        }
        r = kw_share_subdir(share.root, dir, c->base.subdir, sizeof(c->base.subdir));
        if (r < 0) {
                kw_err("%s is not inside the 9p share %s (from %s), so the guest cannot see it: share a "
                       "directory that contains it (--share or QEMU_9P_PATH)",
                       dir, share.root, share.root_from);
                return -EINVAL;
        }
        if (strcmp(share.root_from, "DIR") == 0)
                kw_info("no --share and no QEMU_9P_PATH: taking it that your QEMU shares %s itself", dir);
        snprintf(c->base.tag, sizeof(c->base.tag), "%s", share.tag);
        struct kw_kit kit = { 0 };
        if (!o->kdir) {
                r = kw_kit_load(o->arch, o->release, &kit);
                if (r < 0) {
                        kw_err("--connect needs --kdir, the build tree or headers of the kernel your QEMU boots "
                               "(or 'kmod-watch kit fetch' to build against the kit's kernel)");
                        return -EINVAL;
                }
        }
        r = kw_guest_build_tree(o, kit.kdir, &c->base);
        if (r < 0)
                return r;
        const struct kw_attach_opts ao = {
                .path = o->connect + strlen("unix:"),
                .boot_timeout_ms = o->boot_timeout_s * 1000u,
                .once = o->once,
        };
        r = kw_attach_new(l, &ao, &attach_ops, c, &c->attach);
        if (r < 0) {
                kw_err("--connect %s: %s", o->connect, strerror(-r));
                return r == -ENAMETOOLONG ? -EINVAL : r;
        }
        return 0;
}

static int connect_start(void *b)
{
        struct connect *c = b;

        return kw_attach_start(c->attach);
}

static void connect_ready(void *b)
{
        struct connect *c = b;

        kw_attach_ready(c->attach);
}

static void connect_free(void *b)
{
        struct connect *c = b;

        if (!c)
                return;
        kw_attach_free(c->attach); /* the user's QEMU keeps running */
        free(c);
}

const struct kw_guest_backend kw_guest_connect = {
        .name = "connect",
        .transport = "virtio-serial",
        .new = connect_new,
        .start = connect_start,
        .ready = connect_ready,
        .kdir = kw_guest_base_kdir,
        .cross_compile = kw_guest_base_cross_compile,
        .tag = kw_guest_base_tag,
        .subdir = kw_guest_base_subdir,
        .free = connect_free,
};
