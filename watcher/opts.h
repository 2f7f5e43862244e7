/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * opts.h — kmod-watch's command line (doc/contract.md is the contract). Parsing is
 * pure: it fills struct kw_opts or says, in one line, what is wrong.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum kw_cmd {
        KW_CMD_WATCH,     /* kmod-watch [--once] [DIR] */
        KW_CMD_DOCTOR,
        KW_CMD_KIT,
        KW_CMD_INJECT,
        KW_CMD_QEMU_ARGS,
        KW_CMD_SHELL,     /* kmod-watch shell [DIR] */
        KW_CMD_HELP,
        KW_CMD_VERSION,
};

enum kw_accel { KW_ACCEL_AUTO, KW_ACCEL_KVM, KW_ACCEL_TCG };

#define KW_MAX_LIST 32
#define KW_EXIT_USAGE 64

struct kw_opts {
        enum kw_cmd cmd;
        bool once;
        bool postpone;
        const char *dir;                 /* DIR, default "." */
        const char *arch;                /* "x86_64" | "arm64"; default: host */
        const char *release;             /* --release: the kit's kernel release ("6.12"); NULL: Debian's default */
        enum kw_accel accel;
        const char *expect[KW_MAX_LIST];
        size_t n_expect;
        unsigned timeout_s;              /* --once: wait for expectations; default 30 */
        unsigned repeat;                 /* --once --repeat N: load/unload cycles; 0: none */
        unsigned boot_timeout_s;         /* guest boot until the agent greets; default 120 */
        unsigned load_timeout_s;         /* a LOAD/UNLOAD (or a ping) unanswered this long: the guest hangs; default 10 */
        bool clear;                      /* --clear: clear the screen before each build */
        bool bell;                       /* --bell: ring on failure */
        bool force_unload;               /* UNLOAD with KW_UNLOAD_FORCE */
        bool json;
        const char *param[KW_MAX_LIST];
        size_t n_param;
        const char *run;
        unsigned debounce_ms;
        const char *include[KW_MAX_LIST];
        size_t n_include;
        const char *exclude[KW_MAX_LIST];
        size_t n_exclude;
        unsigned jobs;                   /* 0: make's default */
        bool no_replay;                  /* --no-replay: every build is make (replay.h) */
        bool no_compile_commands;        /* --no-compile-commands: no DIR/compile_commands.json */
        bool no_color;                   /* --no-color, --color=never */
        bool force_color;                /* --color=always */
        int verbosity;
        const char *connect;             /* unix:PATH */
        const char *share;
        const char *tag;
        const char *socket;              /* qemu-args: the agent channel's socket */
        const char *ssh;                 /* [USER@]HOST[:PORT] */
        const char *identity;            /* --ssh: a private key file */
        const char *known_hosts;         /* --ssh: instead of ~/.ssh/known_hosts */
        bool accept_new_host_key;        /* --ssh: record an unknown (never a changed) host key */
        unsigned gdb_port;               /* --gdb PORT: QEMU's gdbstub on 127.0.0.1:PORT; 0: none */
        unsigned cpus;                   /* --cpus: guest CPUs; 0: the default (qemu.c) */
        const char *append;              /* --append: added to the guest kernel's command line */
        const char *qemu_opt[KW_MAX_LIST]; /* --qemu-opt: extra QEMU arguments */
        size_t n_qemu_opt;
        const char *password_file;       /* --ssh: the password is its first line */
        const char *kernel;
        const char *initrd;
        const char *kdir;
        const char *kernel_root;         /* --kernel-root ROOT: boot and build against ROOT's installed kernel */
        const char *kernel_release;      /* --kernel-release R: which of ROOT's kernels */
        bool host_kernel;                /* --host-kernel: the host's own (ROOT /, R uname -r) */
        const char *make;                /* --make CMD: the build, run by /bin/sh -c in DIR */
        const char *cross_compile;
        unsigned mem_mb;
        const char *config;              /* --config FILE (default DIR/.kmod-watch) */
        const char *junit;               /* --junit FILE */
        const char *ktap;                /* --ktap FILE, "-": stdout */
        const char *kcidb;               /* --kcidb FILE */
        const char *kcidb_origin;        /* --kcidb-origin NAME, default "kmod_watch" */
        bool lava;                       /* --lava: LAVA test-case signals on stdout */
        const char *target[KW_MAX_LIST]; /* --target ARCH[/RELEASE]: the matrix (matrix.h) */
        size_t n_target;
        const char *build_dir;           /* --build-dir (internal): a matrix child builds there, not in DIR */
        const char *args[4];             /* subcommand operands (kit verb, inject IN OUT) */
        size_t n_args;
};

/* 0, or -EINVAL after printing one line to stderr (exit with KW_EXIT_USAGE). */
int kw_opts_parse(int argc, char **argv, struct kw_opts *ret);
/* (pure) Colours on stream fd (STDOUT_FILENO: the kernel log, STDERR_FILENO:
 * kmod-watch's lines)? --color=always wins over NO_COLOR and a pipe; never
 * colours on stdout with --json; auto: a terminal, not NO_COLOR, not TERM=dumb. */
bool kw_opts_want_color(const struct kw_opts *o, int fd, bool isatty_fd, const char *no_color_env,
                        const char *term);
void kw_opts_help(FILE *f);
/* (pure) Does the long option NAME (n bytes, no "--") take a value? */
bool kw_opts_takes_value(const char *name, size_t n);
/* The host's arch in our naming ("x86_64", "arm64"): kw_arch_host()->name. */
const char *kw_host_arch(void);
/* CROSS_COMPILE for o->arch: --cross-compile, else $CROSS_COMPILE, else the
 * arch's default cross prefix when it is not the host's; NULL: native. */
const char *kw_opts_cross_compile(const struct kw_opts *o);
