/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest.h — which guest we talk to and how we reach it, under the controller:
 * a managed QEMU booted from the kit (or --kernel), a QEMU the user started
 * (--connect unix:PATH), or a board or VM over SSH (--ssh). It hands the
 * controller a connected channel fd whenever one appears, and says when the
 * guest is lost (and, for a managed guest, brings it back). Each way is a
 * backend behind one table of operations (guest-int.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "loop.h"
#include "opts.h"

struct kw_guest_ctl;


struct kw_guest_ops {
        /* A new byte channel to the agent (the controller owns fd). */
        void (*channel)(void *userdata, int fd);
        /* The guest went away. fatal: it will not come back by itself. */
        void (*lost)(void *userdata, const char *why, bool fatal);
        /* A line of the managed guest's console (no newline; NULL: not wanted). */
        void (*console)(void *userdata, const char *line);
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
/* The 9p mount tag the agent mounts: ours for a managed guest, the user's
 * (--tag, QEMU_9P_TAG, hostshare) with --connect. */
const char *kw_guest_tag(const struct kw_guest_ctl *g);
/* DIR relative to the share root, without slashes at either end: "" for a
 * managed guest (it shares DIR itself). The guest sees DIR at
 * <mount point>/<subdir>. */
const char *kw_guest_subdir(const struct kw_guest_ctl *g);
/* Stop the managed QEMU and boot it again (the agent greets anew; lost() is
 * not called). -EOPNOTSUPP: a guest kmod-watch did not start (--connect);
 * -EAGAIN: it was restarted too often lately; else start errors. */
int kw_guest_restart(struct kw_guest_ctl *g, const char *reason);
/* true: kw_guest_restart() can reboot it (managed QEMU); false: --connect / --ssh */
bool kw_guest_can_restart(const struct kw_guest_ctl *g);
/* Makes DIR/relpath (a built .ko) loadable in the guest: fills ret_guest_path
 * with the path the agent should load, and calls done(ud, 0 or -errno) once
 * the file is there: at once, before returning, over 9p (the share has it)
 * or when the target already has this content; after an SFTP upload with
 * --ssh. Returns <0, and never calls done, when it cannot start. */
int kw_guest_deliver(struct kw_guest_ctl *g, const char *relpath, char *ret_guest_path, size_t size,
                     void (*done)(void *ud, int err), void *ud);
