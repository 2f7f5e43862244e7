/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * transport.c — framed channel over a non-blocking fd. Reads go straight into
 * the decoder's buffer; writes are queued and flushed on POLLOUT, so a guest
 * that stops reading never stalls the host loop (the queue is capped instead).
 */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define KW_CHAN_QUEUE_MAX (8u << 20)

struct kw_chan {
        struct kw_loop *loop;
        int fd;
        const struct kw_chan_ops *ops;
        void *userdata;
        struct kw_decoder dec;
        uint8_t *out;
        size_t out_len, out_cap;
        bool dead;
        bool in_callback;
        bool free_pending;
};

static void chan_destroy(struct kw_chan *c)
{
        if (c->fd >= 0) {
                kw_loop_del(c->loop, c->fd);
                close(c->fd);
        }
        free(c->out);
        free(c);
}

static void fail(struct kw_chan *c, int err)
{
        if (c->dead)
                return;
        c->dead = true;
        kw_loop_del(c->loop, c->fd);
        c->ops->closed(c->userdata, err);
}

static int flush(struct kw_chan *c)
{
        while (c->out_len) {
                ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        break;
                if (n < 0)
                        return -errno;
                memmove(c->out, c->out + n, c->out_len - (size_t)n);
                c->out_len -= (size_t)n;
        }
        (void)kw_loop_set_events(c->loop, c->fd, POLLIN | (c->out_len ? POLLOUT : 0));
        return 0;
}

static int on_io(void *userdata, int fd, short revents)
{
        struct kw_chan *c = userdata;
        int err = 0;

        c->in_callback = true;
        if (revents & POLLOUT) {
                err = flush(c);
                if (err < 0)
                        goto dead;
        }
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
                for (;;) {
                        size_t room;
                        uint8_t *p = kw_decoder_space(&c->dec, &room);
                        ssize_t n = read(fd, p, room);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                                break;
                        if (n <= 0) {
                                err = n < 0 ? -errno : 0;
                                goto dead;
                        }
                        kw_decoder_commit(&c->dec, (size_t)n);
                        struct kw_frame f;
                        while (!c->dead && !c->free_pending && kw_decoder_next(&c->dec, &f) > 0) {
                                uint64_t skipped = kw_decoder_take_skipped(&c->dec);
                                if (skipped && c->ops->garbage)
                                        c->ops->garbage(c->userdata, skipped);
                                c->ops->frame(c->userdata, &f);
                        }
                        uint64_t skipped = kw_decoder_take_skipped(&c->dec);
                        if (skipped && c->ops->garbage && !c->dead && !c->free_pending)
                                c->ops->garbage(c->userdata, skipped);
                        if (c->dead || c->free_pending)
                                break;
                }
        }
        c->in_callback = false;
        if (c->free_pending)
                chan_destroy(c);
        return 0;
dead:
        fail(c, err);
        c->in_callback = false;
        if (c->free_pending)
                chan_destroy(c);
        return 0;
}

int kw_chan_new(struct kw_loop *l, int fd, const struct kw_chan_ops *ops, void *userdata, struct kw_chan **ret)
{
        struct kw_chan *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->loop = l;
        c->fd = fd;
        c->ops = ops;
        c->userdata = userdata;
        kw_decoder_init(&c->dec);
        int flags = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        int r = kw_loop_add(l, fd, POLLIN, on_io, c);
        if (r < 0) {
                free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int kw_chan_send_raw(struct kw_chan *c, const void *p, size_t n)
{
        if (c->dead)
                return -EPIPE;
        if (c->out_len + n > KW_CHAN_QUEUE_MAX)
                return -ENOBUFS;
        if (c->out_cap < c->out_len + n) {
                size_t cap = c->out_cap ? c->out_cap : 65536;
                while (cap < c->out_len + n)
                        cap *= 2;
                uint8_t *q = realloc(c->out, cap);
                if (!q)
                        return -ENOMEM;
                c->out = q;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, p, n);
        c->out_len += n;
        int r = flush(c);
        if (r < 0 && !c->in_callback) {
                /* report the loss from the loop, not from inside the caller */
                (void)kw_loop_set_events(c->loop, c->fd, POLLIN | POLLOUT);
        }
        return r < 0 ? r : 0;
}

int kw_chan_send(struct kw_chan *c, struct kw_msg *m)
{
        int len = kw_msg_finish(m);

        if (len < 0)
                return len;
        return kw_chan_send_raw(c, m->buf, (size_t)len);
}

void kw_chan_free(struct kw_chan *c)
{
        if (!c)
                return;
        if (c->in_callback) {
                c->free_pending = true;
                return;
        }
        chan_destroy(c);
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        strcpy(sa->sun_path, path);
        return 0;
}

int kw_unix_listen(const char *path)
{
        struct sockaddr_un sa;
        int r = fill_addr(&sa, path);

        if (r < 0)
                return r;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        mode_t old = umask(0077);
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(fd, 4) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int kw_unix_connect(const char *path)
{
        struct sockaddr_un sa;
        int r = fill_addr(&sa, path);

        if (r < 0)
                return r;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return fd;
}
