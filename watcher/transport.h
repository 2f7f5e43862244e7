/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * transport.h — a framed byte channel to the agent over a stream fd (the
 * virtio-serial chardev's unix socket): frames in through the shared decoder,
 * frames out through a queue that never blocks the loop. Also the unix socket
 * plumbing: listen (managed QEMU connects to us) and connect (--connect).
 */
#pragma once

#include <stdint.h>

#include "loop.h"
#include "proto.h"

struct kw_chan;

struct kw_chan_ops {
        void (*frame)(void *userdata, const struct kw_frame *f);
        /* Garbage skipped by the decoder (the peer is told by the session). */
        void (*garbage)(void *userdata, uint64_t bytes);
        /* EOF or error; the channel is unusable (free it). err is -errno or 0. */
        void (*closed)(void *userdata, int err);
};

int kw_chan_new(struct kw_loop *l, int fd, const struct kw_chan_ops *ops, void *userdata, struct kw_chan **ret);
/* Finishes m and queues it. -EMSGSIZE, -ENOBUFS (queue over its cap), -EPIPE. */
int kw_chan_send(struct kw_chan *c, struct kw_msg *m);
int kw_chan_send_raw(struct kw_chan *c, const void *p, size_t n);
/* Closes the fd; safe from inside a callback. */
void kw_chan_free(struct kw_chan *c);

/* A listening unix socket at path (mode 0600); -errno. */
int kw_unix_listen(const char *path);
/* A non-blocking connected unix socket; -errno (ENOENT, ECONNREFUSED, …). */
int kw_unix_connect(const char *path);
