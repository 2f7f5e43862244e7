/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch-internal.h — what the three parts of the file watcher share, and
 * nothing outside them sees: struct kw_watch itself and the calls between
 *   watch.c         start and stop, the library's inotify fd, messages;
 *   watch-thread.c  the watch thread: wd table, walking, inotify events;
 *   watch-pipe.c    the records from the thread to the main loop, both ends.
 */
#pragma once

#include <inotifytools/inotify.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "watch.h"

/* What every watched directory reports. */
#define WATCH_MASK                                                                             \
        (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |   \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

/* One record on the pipe: this header, then len payload bytes (see watch-pipe.c). */
struct rec_hdr {
        uint8_t kind;
        uint8_t zero;
        uint16_t len;
};

#define REC_MAX (sizeof(struct rec_hdr) + PATH_MAX)
#define RBUF_SIZE (64 * 1024)

struct wd_entry {
        int wd;
        char *rel; /* "" for DIR itself */
};

struct kw_watch {
        const struct kw_filter *filter;
        int ino_fd; /* libinotifytools' fd: not ours to close */
        int pipe_r, pipe_w;
        int stop_fd;
        pthread_t thread;
        bool thread_started;
        bool lib_initialized;

        /* The watching side: the caller's thread during kw_watch_start(),
         * then only the watch thread. */
        struct wd_entry *wds; /* sorted by wd */
        size_t n_wds, cap_wds;
        int root_wd;
        char path[PATH_MAX]; /* absolute path being walked; starts with DIR */
        size_t root_len;
        unsigned char rec[REC_MAX];
        _Atomic unsigned n_dirs;

        /* The main loop's side. */
        size_t rlen;
        int error; /* last reported problem, -errno, taken by kw_watch_error() */
        int fatal; /* once the thread is gone: why */
        bool eof;
        unsigned char rbuf[RBUF_SIZE];
};

/* watch-thread.c — the thread's side; before the thread starts, the caller's. */
void *watch_thread(void *arg);
/* Walks REL (relative to DIR): watches it and the directories below it that
 * the filter keeps; with emit, forwards the source files found as MOVED_IN.
 * 0, or -errno for what makes going on pointless (-ENOSPC, -ENOMEM, -ECANCELED). */
int watch_rel(struct kw_watch *w, const char *rel, bool emit);
/* Forgets every wd (at the end; the library's cleanup drops the watches). */
void watch_forget_all(struct kw_watch *w);

/* watch-pipe.c — the thread's end: each returns 0, or -ECANCELED when a stop
 * came while the pipe was full, or -errno. */
int watch_forward_change(struct kw_watch *w, enum kw_change kind, const char *rel);
int watch_forward_error(struct kw_watch *w, int err);
