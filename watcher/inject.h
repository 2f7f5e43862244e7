/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inject.h — `kmod-watch inject-agent IN.cpio[.gz] OUT.cpio.gz`: the user's
 * initramfs, byte for byte, followed by one more archive segment holding
 * kmod-agent and /kmod-watch-init (a symbolic link to it), the starter to
 * boot with rdinit=/kmod-watch-init: as PID 1 the agent forks itself and
 * execs the user's own init (guest-agent/rdinit.c).
 * Linux unpacks concatenated segments in order, so nothing of theirs is
 * unpacked or changed.
 */
#pragma once

#include <stddef.h>

#include "opts.h"

#define KW_INJECT_INIT "kmod-watch-init"           /* in the archive, no leading '/' */
#define KW_INJECT_AGENT "kmod-watch/kmod-agent"

enum kw_initrd_kind {
        KW_INITRD_CPIO,       /* newc (070701/070702) */
        KW_INITRD_GZIP,
        KW_INITRD_COMPRESSED, /* xz, zstd, lz4, bzip2, lzma, lzo */
        KW_INITRD_UNKNOWN,
};

/* What the first bytes of an initramfs say it is. Pure. */
enum kw_initrd_kind kw_initrd_kind(const unsigned char *p, size_t n);

/* The subcommand (o->args[0] IN, o->args[1] OUT); returns the exit status. */
int kw_inject_main(const struct kw_opts *o);
