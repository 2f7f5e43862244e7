/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.h — reaching the agent in a QEMU the user started (--connect
 * unix:PATH, QEMU being the chardev's server): connect with a backoff while
 * the socket is missing or refuses (QEMU not up yet), reconnect with a fresh
 * socket when no greeting follows (a connection made the instant the socket
 * appears can be dead), notice QEMU closing the channel, and keep trying
 * when the user restarts their QEMU. QEMU itself is never touched.
 */
#pragma once

#include <stdbool.h>

#include "loop.h"

struct kw_attach;

struct kw_attach_ops {
        /* A new connection to the chardev (the callee owns fd). */
        void (*channel)(void *userdata, int fd);
        /* Giving up (boot timeout, or the channel closed with once set). */
        void (*lost)(void *userdata, const char *why, bool fatal);
};

struct kw_attach_opts {
        const char *path;         /* the chardev's unix socket */
        unsigned boot_timeout_ms; /* until the first greeting */
        bool once;                /* a closed channel is fatal */
};

int kw_attach_new(struct kw_loop *l, const struct kw_attach_opts *o, const struct kw_attach_ops *ops,
                  void *userdata, struct kw_attach **ret);
int kw_attach_start(struct kw_attach *a);
/* The agent greeted and the session is set up. */
void kw_attach_ready(struct kw_attach *a);
void kw_attach_free(struct kw_attach *a);

/* The retry delay after n failed connects (0-based): 100 ms doubling to 2 s. Pure. */
unsigned kw_attach_backoff_ms(unsigned n);
