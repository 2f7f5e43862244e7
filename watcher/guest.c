/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest.c — which guest: the dispatcher behind guest.h. It picks the
 * backend from the options (guest-int.h: a managed QEMU, --connect or
 * --ssh) and forwards every call to it; the 9p delivery, common to the
 * backends that share DIR, is here too.
 */
#include "guest.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest-int.h"
#include "proto.h"
#include "ui.h"

struct kw_guest_ctl {
        const struct kw_guest_backend *be;
        void *b; /* the backend's own */
};

int kw_guest_build_tree(const struct kw_opts *o, const char *kit_kdir, struct kw_guest_base *base)
{
        const char *kdir = o->kdir ? o->kdir : kit_kdir;

        if (!realpath(kdir, base->kdir)) {
                kw_err("--kdir %s: %s", kdir, strerror(errno));
                return -EINVAL;
        }
        const char *cc = kw_opts_cross_compile(o);
        snprintf(base->cross, sizeof(base->cross), "%s", cc ? cc : "");
        return 0;
}

const char *kw_guest_base_kdir(const void *b)
{
        return ((const struct kw_guest_base *)b)->kdir;
}

const char *kw_guest_base_cross_compile(const void *b)
{
        const struct kw_guest_base *base = b;

        return base->cross[0] ? base->cross : NULL;
}

const char *kw_guest_base_tag(const void *b)
{
        return ((const struct kw_guest_base *)b)->tag;
}

const char *kw_guest_base_subdir(const void *b)
{
        return ((const struct kw_guest_base *)b)->subdir;
}

int kw_guest_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                 const struct kw_guest_ops *ops, void *userdata, struct kw_guest_ctl **ret)
{
        struct kw_guest_ctl *g = calloc(1, sizeof(*g));

        *ret = g;
        if (!g)
                return -ENOMEM;
        g->be = o->ssh ? &kw_guest_ssh : o->connect ? &kw_guest_connect : &kw_guest_managed;
        return g->be->new(l, o, dir, tag, ops, userdata, &g->b);
}

int kw_guest_start(struct kw_guest_ctl *g)
{
        return g->be->start(g->b);
}

void kw_guest_ready(struct kw_guest_ctl *g)
{
        g->be->ready(g->b);
}

void kw_guest_free(struct kw_guest_ctl *g)
{
        if (!g)
                return;
        g->be->free(g->b);
        free(g);
}

const char *kw_guest_kdir(const struct kw_guest_ctl *g)
{
        return g->be->kdir(g->b);
}

const char *kw_guest_cross_compile(const struct kw_guest_ctl *g)
{
        return g->be->cross_compile(g->b);
}

const char *kw_guest_transport(const struct kw_guest_ctl *g)
{
        return g->be->transport;
}

const char *kw_guest_tag(const struct kw_guest_ctl *g)
{
        return g->be->tag ? g->be->tag(g->b) : "";
}

const char *kw_guest_subdir(const struct kw_guest_ctl *g)
{
        return g->be->subdir ? g->be->subdir(g->b) : "";
}

int kw_guest_deliver(struct kw_guest_ctl *g, const char *relpath, char *ret_guest_path, size_t size,
                     void (*done)(void *ud, int err), void *ud)
{
        if (g->be->deliver)
                return g->be->deliver(g->b, relpath, ret_guest_path, size, done, ud);
        /* 9p: the guest sees DIR through the share already */
        const char *sub = kw_guest_subdir(g);
        if ((size_t)snprintf(ret_guest_path, size, KW_GUEST_MOUNT "/%s%s%s", sub, sub[0] ? "/" : "", relpath) >= size)
                return -ENAMETOOLONG;
        done(ud, 0);
        return 0;
}

int kw_guest_restart(struct kw_guest_ctl *g, const char *reason)
{
        if (!g->be->restart)
                return -EOPNOTSUPP;
        return g->be->restart(g->b, reason);
}

bool kw_guest_can_restart(const struct kw_guest_ctl *g)
{
        return g->be->restart != NULL;
}
