/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmsgstream.h — streaming /dev/kmsg to the host as KMSG frames, with
 * KMSG_GAP where records were lost (ring buffer overrun while the host was
 * slow or away, or records older than the SEQ the host asked for).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "chan.h"

struct kmsgstream {
        int fd;             /* -1 until KMSG_START */
        bool next_known;    /* next_seq is the seq we expect to read next */
        uint64_t next_seq;
        uint64_t skip_below; /* records older than this were asked away */
        bool lost_unknown;  /* EPIPE before any record: gap of unknown size */
};

void kmsgstream_init(struct kmsgstream *k);
/* Starts streaming: at the tail, or (from_seq) from record seq on as far as
 * the ring still has it. Already streaming: keeps its position, so a host
 * that reconnects and starts again misses nothing. 0 or -errno. */
int kmsgstream_start(struct kmsgstream *k, bool from_seq, uint64_t seq);
bool kmsgstream_active(const struct kmsgstream *k);
/* Reads records into the channel while it has CHAN_BULK_ROOM; returns after
 * a bounded batch so the loop stays responsive. true: /dev/kmsg is drained
 * (or not streaming): every record logged so far has been sent. */
bool kmsgstream_pump(struct kmsgstream *k, struct chan *c);
/* The seq after the last record sent (0: none was sent). */
uint64_t kmsgstream_next_seq(const struct kmsgstream *k);
