/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qemu.h — the managed guest: a QEMU child sharing the module directory over
 * 9p, with the agent's virtio-serial port wired to our unix socket (QEMU
 * connects to us), its console captured (shown with -v, kept for errors),
 * and always reaped: on quit, on signals, and when kmod-watch itself dies
 * (PR_SET_PDEATHSIG).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "loop.h"

#define KW_QEMU_LOG_BUF "4M" /* the managed guest's kernel log ring (log_buf_len=) */

struct kw_qemu_opts {
        const char *binary;    /* qemu-system-x86_64, qemu-system-aarch64 */
        const char *machine;   /* "" for the default, "virt" … */
        const char *cpu;       /* "max" */
        const char *console;   /* ttyS0, ttyAMA0 */
        const char *kernel;
        const char *initrd;
        const char *append;    /* extra kernel command line, or NULL */
        const char *share_dir; /* absolute */
        const char *tag;
        const char *modules_dir; /* the kernel's module tree, shared read-only as KW_MODULES_TAG; NULL: none */
        const char *sock_path; /* the agent channel: a unix socket we listen on */
        bool kvm;
        unsigned mem_mb;
        unsigned cpus;         /* 0: two with KVM where the host has them, else one */
        unsigned gdb_port;     /* QEMU's gdbstub on 127.0.0.1:PORT (and nokaslr); 0: none */
        const char *const *extra; /* --qemu-opt values, each split at spaces; n_extra of them */
        size_t n_extra;
};

struct kw_qemu;

/* The guest is gone: wstatus from waitpid; console_tail: its last output. */
typedef void (*kw_qemu_exit_fn)(void *userdata, int wstatus, const char *console_tail);
/* One console line (no newline), as it arrives. */
typedef void (*kw_qemu_line_fn)(void *userdata, const char *line);

int kw_qemu_start(struct kw_loop *l, const struct kw_qemu_opts *o, kw_qemu_exit_fn on_exit,
                  kw_qemu_line_fn on_line, void *userdata, struct kw_qemu **ret);
/* SIGTERM, a bounded wait on its pidfd, then SIGKILL; reaped on return. */
void kw_qemu_stop(struct kw_qemu *q);
pid_t kw_qemu_pid(const struct kw_qemu *q);
const char *kw_qemu_console_tail(const struct kw_qemu *q);

/* The guest's two ways to us, as QEMU arguments — the 9p share (-virtfs)
 * and the agent's virtio-serial port on a unix socket — written only here:
 * for the managed guest (kw_qemu_argv) and for the user's own QEMU
 * (`kmod-watch qemu-args`). Commas in paths are doubled (QEMU's syntax). */
struct kw_qemu_io {
        const char *share_dir;      /* absolute; NULL: no -virtfs */
        const char *tag;
        const char *security_model; /* "none", "mapped-xattr", … */
        const char *sock_path;
        bool sock_server;           /* QEMU serves the socket (--connect); else it connects to ours */
        const char *chardev_id;     /* "kw0" */
        const char *serial_id;      /* the virtio-serial-pci's id (its port names the bus); NULL: none */
};
/* Calls emit(ctx, arg) for each argument, in order. 0, or -ENAMETOOLONG. */
int kw_qemu_io_args(const struct kw_qemu_io *io, void (*emit)(void *ctx, const char *arg), void *ctx);

/* The argv kw_qemu_start() runs (NULL-terminated, strings owned by buf). */
int kw_qemu_argv(const struct kw_qemu_opts *o, char *buf, size_t size, char **argv, size_t max);
