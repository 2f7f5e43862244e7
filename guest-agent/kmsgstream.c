/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmsgstream.c — /dev/kmsg → KMSG / KMSG_GAP frames (see kmsgstream.h).
 *
 * /dev/kmsg gives one record per read() (the buffer must hold a whole record,
 * else EINVAL), EAGAIN when drained (O_NONBLOCK), and EPIPE once when our
 * position was overwritten; the seq numbers then jump. Gaps are reported from
 * the seq jump, which also catches losses EPIPE does not announce.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"
#include "kmsgstream.h"
#include "util.h"

#define KMSG_BATCH 256 /* records per pump before going back to poll() */

void kmsgstream_init(struct kmsgstream *k)
{
        memset(k, 0, sizeof(*k));
        k->fd = -1;
}

bool kmsgstream_active(const struct kmsgstream *k)
{
        return k->fd >= 0;
}

int kmsgstream_start(struct kmsgstream *k, bool from_seq, uint64_t seq)
{
        int fd;

        if (k->fd >= 0)
                return 0;
        fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* /dev/kmsg cannot seek to a seq: start at the oldest record kept and
         * skip up to seq; without a seq, start at the tail. */
        if (lseek(fd, 0, from_seq ? SEEK_SET : SEEK_END) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        k->fd = fd;
        k->next_known = from_seq;
        k->next_seq = seq;
        k->skip_below = from_seq ? seq : 0;
        return 0;
}

static void send_gap(struct chan *c, uint64_t seq, uint64_t count)
{
        static struct kw_msg m;

        kw_msg_init(&m, KW_KMSG_GAP, 0);
        kw_msg_put_u64(&m, KW_F_SEQ, seq);
        kw_msg_put_u64(&m, KW_F_COUNT, count);
        (void)chan_send(c, &m);
}

static void send_record(struct chan *c, const struct kw_kmsg_rec *rec)
{
        static struct kw_msg m;

        kw_msg_init(&m, KW_KMSG, 0);
        kw_msg_put_u64(&m, KW_F_SEQ, rec->seq);
        kw_msg_put_u64(&m, KW_F_LEVEL, rec->level);
        kw_msg_put_u64(&m, KW_F_FACILITY, rec->facility);
        kw_msg_put_u64(&m, KW_F_TS, rec->ts_usec);
        /* A record is at most ~8 KiB; a frame holds 60. Trunc is a guard. */
        if (kw_msg_fits(&m, rec->text_len))
                kw_msg_put_bytes(&m, KW_F_TEXT, rec->text, rec->text_len);
        else
                kw_msg_put_bytes(&m, KW_F_TEXT, rec->text, 4096);
        (void)chan_send(c, &m);
}

bool kmsgstream_pump(struct kmsgstream *k, struct chan *c)
{
        /* The kernel's record limit is ~1 KiB of text plus dictionary; 8 KiB
         * is what util-linux and systemd use, twice that to be safe. */
        static char buf[16384];

        for (int i = 0; i < KMSG_BATCH && k->fd >= 0; i++) {
                struct kw_kmsg_rec rec;
                ssize_t n;

                if (chan_room(c) < CHAN_BULK_ROOM)
                        return false;
                n = read(k->fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                if (n < 0 && errno == EPIPE) {
                        /* Overrun: the seq jump on the next record says how
                         * much, unless we had read nothing yet to jump from. */
                        k->lost_unknown = !k->next_known;
                        continue;
                }
                if (n < 0) {
                        log_msg("reading /dev/kmsg: %s; kernel log stream stopped", strerror(errno));
                        close(k->fd);
                        k->fd = -1;
                        return true;
                }
                if (kw_kmsg_parse(buf, (size_t)n, &rec) < 0)
                        continue;
                if (rec.seq < k->skip_below)
                        continue;
                if (k->next_known && rec.seq > k->next_seq)
                        send_gap(c, rec.seq, rec.seq - k->next_seq);
                else if (k->lost_unknown)
                        send_gap(c, rec.seq, 0); /* COUNT 0: lost, number unknown */
                k->lost_unknown = false;
                k->next_known = true;
                k->next_seq = rec.seq + 1;
                send_record(c, &rec);
        }
        return k->fd < 0;
}

uint64_t kmsgstream_next_seq(const struct kmsgstream *k)
{
        return k->next_known ? k->next_seq : 0;
}
