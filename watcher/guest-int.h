/* SPDX-License-Identifier: MIT */
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

/* For backends that build against a tree of their own choosing: kdir (the
 * kit's unless --kdir) resolved into kdir_buf, CROSS_COMPILE into cross_buf
 * ("" when native). -EINVAL after a message. */
int kw_guest_build_tree(const struct kw_opts *o, const char *kit_kdir, char *kdir_buf, size_t kdir_size,
                        char *cross_buf, size_t cross_size);
