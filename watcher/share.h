/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * share.h — the 9p share as the user's own QEMU exports it (--connect,
 * qemu-args, doctor): its root directory, mount tag and security model, taken
 * from --share/--tag or from the seed tutorial's QEMU_9P_PATH, QEMU_9P_TAG
 * (default hostshare) and QEMU_9P_SEC (default none), and where the module
 * directory sits under the root — which is where the guest finds it under
 * its mount point. The checks encode the tutorial's pitfalls.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

#define KW_SHARE_TAG_DEFAULT "hostshare"
#define KW_SHARE_SEC_DEFAULT "none"
#define KW_SHARE_TAG_MAX 31 /* QEMU: "mount tag … is longer than maximum (31 bytes)" */

struct kw_share {
        char root[PATH_MAX];  /* absolute and resolved */
        char tag[KW_SHARE_TAG_MAX + 1];
        char sec[32];         /* security_model */
        const char *root_from; /* "--share", "QEMU_9P_PATH" or "DIR" (neither given) */
        const char *tag_from;  /* "--tag", "QEMU_9P_TAG" or "default" */
};

/* dir relative to root ("" when they are the same directory), both absolute
 * and without "." or ".." parts. -EXDEV: dir is not root or under it;
 * -ENAMETOOLONG. Pure. */
int kw_share_subdir(const char *root, const char *dir, char *buf, size_t size);

/* A tag QEMU and mount(2) accept: 1 to 31 bytes, printable, no comma or
 * whitespace. Pure. */
bool kw_share_tag_valid(const char *tag);

/* none, mapped-xattr, mapped-file or passthrough. Pure. */
bool kw_share_sec_valid(const char *sec);

/* Fills ret from the options, then the environment; root falls back to dir
 * (an absolute path). On error, writes one line (without "kmod-watch: ") to
 * err and returns -EINVAL (bad value) or -ENOENT (the root does not exist). */
int kw_share_resolve(const struct kw_opts *o, const char *dir, struct kw_share *ret, char *err, size_t errsize);
