/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qemuargs.h — `kmod-watch qemu-args`: the arguments a user adds to their own
 * QEMU command line so kmod-watch --connect can reach it — the 9p share
 * (-virtfs, with the tutorial's pitfalls handled: absolute path, an id that
 * starts with a letter) and the agent's virtio-serial port on a unix socket
 * that QEMU serves — printed on one line, shell-quoted, for $(…).
 */
#pragma once

#include <stddef.h>

#include "opts.h"


struct kw_qemu_args_in {
        const char *share; /* absolute; NULL: no -virtfs (the user's script adds it) */
        const char *tag;
        const char *sec;   /* security_model */
        const char *sock;  /* absolute */
};

/* s quoted for a POSIX shell: as is when it only holds safe characters,
 * else in single quotes. -ENAMETOOLONG if it does not fit. Pure. */
int kw_shell_quote(const char *s, char *buf, size_t size);

/* The arguments on one line, each shell-quoted, separated by spaces
 * (commas in paths doubled, as QEMU's option syntax wants). Pure. */
int kw_qemu_args_line(const struct kw_qemu_args_in *in, char *buf, size_t size);

/* The default socket: $XDG_RUNTIME_DIR/kmod-watch.sock, else
 * /tmp/kmod-watch-UID.sock. */
int kw_qemu_args_default_socket(char *buf, size_t size);

/* The subcommand; returns the exit status. */
int kw_qemu_args_main(const struct kw_opts *o);
