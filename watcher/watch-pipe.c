/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch-pipe.c — the file watcher's pipe from its thread to the main loop
 * (see watch.h): the thread forwards changes and errors as records, the loop
 * reads them into the debounce.
 *
 * The pipe carries records {u8 kind, u8 0, u16 len, len bytes}: kind is an
 * enum kw_change (payload: the path relative to DIR) or REC_ERROR (payload:
 * a positive errno as int32). One writer, so records never interleave; the
 * reader keeps a partial record for the next drain.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "watch-internal.h"

enum { REC_ERROR = 0x80 }; /* any other kind is an enum kw_change */

/* ---- the thread's end ---- */

/* Blocks only while the pipe is full, and then still wakes for a stop. */
static int write_all(struct kw_watch *w, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        while (len > 0) {
                ssize_t n = write(w->pipe_w, p, len);

                if (n >= 0) {
                        p += n;
                        len -= (size_t)n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;

                struct pollfd pfd[2] = {
                        { .fd = w->pipe_w, .events = POLLOUT },
                        { .fd = w->stop_fd, .events = POLLIN },
                };
                if (poll(pfd, 2, -1) < 0 && errno != EINTR)
                        return -errno;
                if (pfd[1].revents)
                        return -ECANCELED;
        }
        return 0;
}

static int forward(struct kw_watch *w, unsigned kind, const void *payload, size_t len)
{
        struct rec_hdr h = { .kind = (uint8_t)kind, .len = (uint16_t)len };

        if (len > PATH_MAX)
                return 0; /* cannot be a path we could build anyway */
        memcpy(w->rec, &h, sizeof(h));
        memcpy(w->rec + sizeof(h), payload, len);
        return write_all(w, w->rec, sizeof(h) + len);
}

int watch_forward_change(struct kw_watch *w, enum kw_change kind, const char *rel)
{
        return forward(w, kind, rel, strlen(rel));
}

int watch_forward_error(struct kw_watch *w, int err)
{
        int32_t e = err < 0 ? -err : err;

        return forward(w, REC_ERROR, &e, sizeof(e));
}

/* ---- the main loop's end ---- */

static int parse_records(struct kw_watch *w, struct kw_debounce *d, uint64_t now_ms, int *count)
{
        size_t off = 0;
        int r = 0;

        while (w->rlen - off >= sizeof(struct rec_hdr)) {
                struct rec_hdr h;
                char path[PATH_MAX + 1];

                memcpy(&h, w->rbuf + off, sizeof(h));
                if (w->rlen - off < sizeof(h) + h.len)
                        break;
                if (h.kind == REC_ERROR) {
                        int32_t e = 0;

                        if (h.len == sizeof(e))
                                memcpy(&e, w->rbuf + off + sizeof(h), sizeof(e));
                        w->error = -(int)e;
                } else if (h.kind <= KW_CHANGE_GONE && h.len <= PATH_MAX) {
                        memcpy(path, w->rbuf + off + sizeof(h), h.len);
                        path[h.len] = '\0';
                        r = kw_debounce_add(d, path, (enum kw_change)h.kind, now_ms);
                        if (r < 0)
                                break;
                        (*count)++;
                }
                off += sizeof(h) + h.len;
        }
        memmove(w->rbuf, w->rbuf + off, w->rlen - off);
        w->rlen -= off;
        return r;
}

int kw_watch_drain(struct kw_watch *w, struct kw_debounce *d, uint64_t now_ms)
{
        int count = 0;

        while (!w->eof) {
                ssize_t n = read(w->pipe_r, w->rbuf + w->rlen, sizeof(w->rbuf) - w->rlen);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                if (n == 0) {
                        /* the thread died; its last record said why */
                        w->eof = true;
                        w->fatal = w->error < 0 ? w->error : -EPIPE;
                        break;
                }
                w->rlen += (size_t)n;
                r = parse_records(w, d, now_ms, &count);
                if (r < 0)
                        return r;
        }
        if (w->eof)
                return w->fatal;
        return count;
}
