/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest-int.h — the guest backends behind guest.h's dispatcher: one small
 * table of operations per way of reaching a guest. guest.c picks one from
 * the options and forwards to it; nothing else knows which it is.
 *   kw_guest_managed  a QEMU kmod-watch boots from the kit (guest-managed.c)
 *   kw_guest_connect  the user's own QEMU, --connect unix:PATH (guest-connect.c)
 *   kw_guest_ssh      a board or VM over SSH, --ssh (ssh.c)
 */
#pragma once

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>

#include "guest.h"
#include "loop.h"
#include "opts.h"

struct kw_guest_backend {
        const char *name;      /* "managed", "connect", "ssh" */
        const char *transport; /* what the controller reports: "virtio-serial", "ssh" */
        /* As kw_guest_new(); *ret is set even on failure (free it). */
        int (*new)(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                   const struct kw_guest_ops *ops, void *userdata, void **ret);
        int (*start)(void *b);
        void (*ready)(void *b);
        /* NULL: not kmod-watch's guest to reboot (kw_guest_restart: -EOPNOTSUPP). */
        int (*restart)(void *b, const char *reason);
        /* NULL: the guest sees DIR over the 9p share (kw_guest_deliver). */
        int (*deliver)(void *b, const char *relpath, char *ret_guest_path, size_t size,
                       void (*done)(void *ud, int err), void *ud);
        const char *(*kdir)(const void *b);
        const char *(*cross_compile)(const void *b); /* NULL: native */
        const char *(*tag)(const void *b);           /* NULL op: "" (no share) */
        const char *(*subdir)(const void *b);        /* NULL op: "" */
        void (*free)(void *b);                       /* accepts NULL */
};

extern const struct kw_guest_backend kw_guest_managed;
extern const struct kw_guest_backend kw_guest_connect;
extern const struct kw_guest_backend kw_guest_ssh;

/* The first member of a backend that builds against a tree it picks and
 * whose guest sees DIR over a 9p share (managed, --connect): the
 * kw_guest_base_* operations read it. */
struct kw_guest_base {
        char kdir[PATH_MAX];
        char cross[128];       /* "" when native */
        char tag[64];
        char subdir[PATH_MAX]; /* DIR under the share root; "" when DIR is the root */
};

/* kdir (the kit's unless --kdir) resolved into base->kdir, CROSS_COMPILE
 * into base->cross. -EINVAL after a message. */
int kw_guest_build_tree(const struct kw_opts *o, const char *kit_kdir, struct kw_guest_base *base);
const char *kw_guest_base_kdir(const void *b);
const char *kw_guest_base_cross_compile(const void *b);
const char *kw_guest_base_tag(const void *b);
const char *kw_guest_base_subdir(const void *b);
