/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chan.h — the agent's byte channel to the host: a bounded output queue of
 * whole frames written without ever blocking, and a frame decoder fed from
 * the input fd. The same code serves the virtio-serial port (one fd, which
 * comes and goes with the host) and --stdio (two fds, there for good).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* Bounded so a host that stops reading costs at most this much guest memory;
 * past that the kernel's own ring buffer holds the log (see kmsgstream.c). */
#define CHAN_QUEUE_SIZE (1024 * 1024)
/* Room a request needs before it is decoded and handled: its RESULT plus a
 * PROTO_ERROR for garbage before it. */
#define CHAN_REQUEST_ROOM (2 * KW_MAX_FRAME)
/* Room bulk producers (kmsg records, RUN output) leave free, so replies to
 * requests always fit even when the log is flooding. */
#define CHAN_BULK_ROOM (256 * 1024)
/* virtio_console.c caps one write() at 32 KiB. */
#define CHAN_WRITE_MAX (32 * 1024)

struct chan {
        int in_fd;             /* -1 while there is no channel */
        int out_fd;            /* == in_fd for a port */
        bool connected;        /* host there: read and write the fds */
        struct kw_decoder dec;
        uint8_t *q;            /* CHAN_QUEUE_SIZE bytes */
        size_t q_head;         /* always at a frame boundary */
        size_t q_tail;
        size_t head_written;   /* bytes of the head frame already written */
        uint64_t sync_bytes;   /* 0xFF sync bytes dropped (not garbage) */
};

/* -ENOMEM if the queue cannot be allocated. */
int chan_init(struct chan *c);
void chan_attach(struct chan *c, int in_fd, int out_fd);
/* The host went away: forget half-received input and the unsent rest of a
 * half-written frame (the next host could not parse it), keep whole frames. */
void chan_hangup(struct chan *c);
/* The fds are gone (port unplugged): hang up and drop them. */
void chan_detach(struct chan *c);

size_t chan_room(const struct chan *c);
bool chan_has_output(const struct chan *c);
/* kw_msg_finish() + queue. -EMSGSIZE, or -ENOBUFS when the queue is full
 * (the frame is dropped; callers keep CHAN_*_ROOM free so replies fit). */
int chan_send(struct chan *c, struct kw_msg *m);
/* As chan_send() but ahead of everything queued: the greeting on a
 * reconnect must be the first frame the new host sees. */
int chan_send_first(struct chan *c, struct kw_msg *m);

/* Writes what it can. 0 (all written, or the fd would block), -errno. */
int chan_flush(struct chan *c);
/* One read() into the decoder. >0 bytes read, 0 end of input (stdio EOF, or
 * the port's host side closed), -EAGAIN, -errno. */
int chan_read(struct chan *c);
/* The next whole frame received: 1 (*ret valid until the next call), 0 need
 * more input. Garbage is skipped and counted by the decoder. */
int chan_next(struct chan *c, struct kw_frame *ret);
/* Can the decoder take more input? */
bool chan_can_read(struct chan *c);
