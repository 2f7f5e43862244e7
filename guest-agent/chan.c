/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * chan.c — output queue and input decoding over the host channel (see chan.h).
 *
 * The queue holds whole frames only, so a hang-up can drop exactly the
 * unsent tail of the frame that was being written and nothing else: the next
 * host then starts reading at a frame boundary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "util.h"

int chan_init(struct chan *c)
{
        memset(c, 0, sizeof(*c));
        c->in_fd = c->out_fd = -1;
        c->q = malloc(CHAN_QUEUE_SIZE);
        if (!c->q)
                return -ENOMEM;
        kw_decoder_init(&c->dec);
        return 0;
}

void chan_attach(struct chan *c, int in_fd, int out_fd)
{
        c->in_fd = in_fd;
        c->out_fd = out_fd;
        c->connected = false;
        kw_decoder_reset(&c->dec);
}

static size_t frame_len_at(const struct chan *c, size_t off)
{
        struct kw_frame_hdr h;

        /* Only whole frames we finished ourselves are queued: cannot fail. */
        if (kw_frame_header(c->q + off, c->q_tail - off, &h) < 0)
                return c->q_tail - off;
        return h.total;
}

void chan_hangup(struct chan *c)
{
        c->connected = false;
        kw_decoder_reset(&c->dec);
        if (c->head_written > 0) {
                c->q_head += frame_len_at(c, c->q_head);
                c->head_written = 0;
        }
        if (c->q_head == c->q_tail)
                c->q_head = c->q_tail = 0;
}

void chan_detach(struct chan *c)
{
        chan_hangup(c);
        c->in_fd = c->out_fd = -1;
}

size_t chan_room(const struct chan *c)
{
        return CHAN_QUEUE_SIZE - (c->q_tail - c->q_head);
}

bool chan_has_output(const struct chan *c)
{
        return c->q_tail > c->q_head;
}

/* Moves the queued bytes to the front so the free space is contiguous. */
static void compact(struct chan *c)
{
        if (c->q_head == 0)
                return;
        memmove(c->q, c->q + c->q_head, c->q_tail - c->q_head);
        c->q_tail -= c->q_head;
        c->q_head = 0;
}

static int finish(struct kw_msg *m, const struct chan *c)
{
        int n = kw_msg_finish(m);

        if (n < 0) {
                log_msg("dropped a %s frame: %s", kw_type_name(kw_msg_type(m)), strerror(-n));
                return n;
        }
        if ((size_t)n > chan_room(c)) {
                log_msg("output queue full: dropped a %s frame", kw_type_name(kw_msg_type(m)));
                return -ENOBUFS;
        }
        return n;
}

int chan_send(struct chan *c, struct kw_msg *m)
{
        int n = finish(m, c);

        if (n < 0)
                return n;
        if (CHAN_QUEUE_SIZE - c->q_tail < (size_t)n)
                compact(c);
        memcpy(c->q + c->q_tail, m->buf, (size_t)n);
        c->q_tail += (size_t)n;
        return 0;
}

int chan_send_first(struct chan *c, struct kw_msg *m)
{
        int n;

        /* Half a frame already went out: inserting before its rest would cut
         * it in two. Only happens if called while connected; append then. */
        if (c->head_written > 0)
                return chan_send(c, m);
        n = finish(m, c);
        if (n < 0)
                return n;
        compact(c);
        memmove(c->q + n, c->q, c->q_tail);
        memcpy(c->q, m->buf, (size_t)n);
        c->q_tail += (size_t)n;
        return 0;
}

int chan_flush(struct chan *c)
{
        while (c->connected && chan_has_output(c)) {
                size_t off = c->q_head + c->head_written;
                size_t len = c->q_tail - off;
                ssize_t n;

                if (len > CHAN_WRITE_MAX)
                        len = CHAN_WRITE_MAX;
                n = write(c->out_fd, c->q + off, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                c->head_written += (size_t)n;
                while (c->head_written > 0 && c->head_written >= frame_len_at(c, c->q_head)) {
                        size_t flen = frame_len_at(c, c->q_head);

                        c->head_written -= flen;
                        c->q_head += flen;
                }
        }
        if (c->q_head == c->q_tail)
                c->q_head = c->q_tail = 0;
        return 0;
}

bool chan_can_read(struct chan *c)
{
        size_t room;

        (void)kw_decoder_space(&c->dec, &room);
        return room > 0;
}

int chan_read(struct chan *c)
{
        static uint8_t buf[KW_MAX_FRAME];
        size_t room;
        ssize_t n;

        (void)kw_decoder_space(&c->dec, &room);
        if (room == 0)
                return -EAGAIN;
        if (room > sizeof(buf))
                room = sizeof(buf);
        do
                n = read(c->in_fd, buf, room);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return 0;

        if (kw_decoder_feed(&c->dec, buf, (size_t)n) != (size_t)n)
                log_msg("decoder took less than its free space; input lost");
        return (int)n;
}

int chan_next(struct chan *c, struct kw_frame *ret)
{
        struct kw_decoder *d = &c->dec;

        /* The host sends 0xFF before a SYNC. 0xFF can never start a frame,
         * so where a frame could start it is dropped here, uncounted, rather
         * than reported back as garbage on every resync. */
        c->sync_bytes += kw_decoder_skip_sync(d);
        return kw_decoder_next(d, ret);
}
