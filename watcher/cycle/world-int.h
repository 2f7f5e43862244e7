/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * world-int.h — the real world's state (world.c), shared with its one
 * helper file: world-dir.c, the watch of DIR (deleted and made again).
 * Private to those two.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch.h"
#include "cycle.h"
#include "filter.h"
#include "port.h"
#include "recipe.h"

struct world {
        const struct kw_opts *o;
        const struct kw_arch *arch;
        struct kw_loop *loop;
        char dir[PATH_MAX];
        char bdir[PATH_MAX];    /* where it is built: DIR, or a matrix child's shadow of it (--build-dir) */
        struct kw_cycle *cycle;
        struct kw_guest_ctl *guest;
        struct kw_session *session;
        struct kw_shellsrv *shells; /* kmod-watch shell DIR: a service beside the session */
        struct kw_symbolizer *sym;
        struct kw_filter filter;
        struct kw_watch *watch;
        struct kw_build *build;
        struct kw_replay *replay;         /* what the last make taught (replay.h) */
        struct kw_replay_run *replaying; /* a replay running instead of make */
        size_t replayed;                 /* this build: objects replayed, 0: make */
        char why_make[256];              /* this build is make: why */
        struct kw_recipe recipe; /* how DIR is built (recipe.h) */
        char alias[PATH_MAX];     /* DIR as make can take it (srcalias.h), or "" */
        char alias_tmp[PATH_MAX];
        char release[64];        /* KDIR's kernel release: what the modules must say they are for */
        kw_port_built_fn built;
        void *built_core;
        struct kw_timer *build_tick;     /* a build past a second: its status line */
        struct kw_timer *compdb;         /* compile_commands.json 300 ms after a good build, */
        bool compdb_due;                 /* or sooner (world.c: write_compdb) */
        uint64_t build_start_ms;
        int sig_fd;
        int lock_fd; /* DIR is ours (dirlock.h) */
        struct kw_reappear *parent; /* DIR's name in its parent: deleted, made again */
        bool away;                  /* DIR went away: waiting for it */
        dev_t dir_dev;                /* the directory being watched (a new one at the path is another) */
        ino_t dir_ino;
        bool rescan;                  /* DIR came back: everything in it is new */
};

/* world-dir.c: watches DIR (--include/--exclude, and its name in its parent). */
int kw_world_setup_watch(struct world *w);
/* DIR itself went away: wait for it to come back. */
void kw_world_dir_gone(struct world *w);
