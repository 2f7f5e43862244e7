/* SPDX-License-Identifier: MIT */
/*
 * guest.h — which guest we talk to and how we reach it, under the controller:
 * a managed QEMU booted from the kit (or --kernel), or a QEMU the user
 * started (--connect unix:PATH). It hands the controller a connected channel
 * fd whenever one appears, and says when the guest is lost (and, for a
 * managed guest, brings it back).
 */
#pragma once

#include <stdbool.h>

#include "loop.h"
#include "opts.h"

struct kw_guest_ctl;

struct kw_guest_ops {
        /* A new byte channel to the agent (the controller owns fd). */
        void (*channel)(void *userdata, int fd);
        /* The guest went away. fatal: it will not come back by itself. */
        void (*lost)(void *userdata, const char *why, bool fatal);
};

/* -EINVAL: bad options (already reported); other -errno: reported too. */
int kw_guest_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                 const struct kw_guest_ops *ops, void *userdata, struct kw_guest_ctl **ret);
int kw_guest_start(struct kw_guest_ctl *g);
/* The agent greeted: the boot is over (stops the boot timer). */
void kw_guest_ready(struct kw_guest_ctl *g);
void kw_guest_free(struct kw_guest_ctl *g);

const char *kw_guest_kdir(const struct kw_guest_ctl *g);
const char *kw_guest_cross_compile(const struct kw_guest_ctl *g);
const char *kw_guest_transport(const struct kw_guest_ctl *g);
