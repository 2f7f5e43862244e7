/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * attach.c — see attach.h. Three timers' worth of states on one timerfd:
 *   CONNECTING  connect() failed (no socket yet, refused, backlog full):
 *               try again after 100 ms, doubling to 2 s;
 *   WAITING     connected, the session is greeting: if no greeting comes
 *               within a few seconds, start over with a fresh socket (the
 *               agent greets every new connection, so nothing is lost);
 *   READY       attached; only QEMU closing the socket changes that.
 * A second timer bounds the time to the first greeting (--boot-timeout).
 * QEMU closing the socket shows up as POLLHUP on a duplicate of the channel
 * fd that we keep for exactly that: the session owns the channel itself.
 */
#include "attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backoff.h"
#include "ui.h"

#define KW_ATTACH_BACKOFF_MIN_MS 100
#define KW_ATTACH_BACKOFF_MAX_MS 2000
#define KW_ATTACH_GREET_MS 3000       /* connected → greeted, first try */
#define KW_ATTACH_GREET_MAX_MS 16000  /* doubled per silent connection up to this */

enum state { A_IDLE, A_CONNECTING, A_WAITING, A_READY };

struct kw_attach {
        struct kw_loop *loop;
        struct kw_attach_opts o;
        char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
        const struct kw_attach_ops *ops;
        void *userdata;

        enum state state;
        int hup_fd;             /* dup of the channel fd: POLLHUP = QEMU closed it */
        struct kw_timer *retry; /* CONNECTING: next connect; WAITING: greeting deadline */
        struct kw_timer *boot;  /* the first greeting's deadline */
        struct kw_backoff backoff; /* connects failed in a row */
        unsigned greet_ms;
        int last_err;           /* the last connect's errno, 0 after a connect */
        bool ever_ready;
        bool said_waiting;
        uint64_t t_lost;        /* when the channel closed (for "back after") */
};

unsigned kw_attach_backoff_ms(unsigned n)
{
        return kw_backoff_ms(KW_ATTACH_BACKOFF_MIN_MS, KW_ATTACH_BACKOFF_MAX_MS, n);
}

/* Non-blocking, so a full backlog (another client attached, QEMU not
 * accepting) is EAGAIN instead of a stalled loop. */
static int connect_unix(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void drop_hup(struct kw_attach *a)
{
        if (a->hup_fd < 0)
                return;
        kw_loop_del(a->loop, a->hup_fd);
        close(a->hup_fd);
        a->hup_fd = -1;
}

static void reconnect_later(struct kw_attach *a)
{
        a->state = A_CONNECTING;
        kw_timer_arm_ms(a->retry, kw_backoff_next(&a->backoff));
}

static int on_hup(void *userdata, int fd, short revents)
{
        struct kw_attach *a = userdata;
        char why[512];

        drop_hup(a);
        if (a->state != A_READY) {
                /* Closed before the greeting: QEMU restarting, or a dead
                 * connection. The boot timer still bounds it. */
                kw_debug("%s closed before the agent greeted; connecting again", a->path);
                kw_timer_disarm(a->retry);
                reconnect_later(a);
                return 0;
        }
        snprintf(why, sizeof(why), "QEMU closed the agent channel %s (did it exit?)", a->path);
        if (a->o.once) {
                a->state = A_IDLE;
                a->ops->lost(a->userdata, why, true);
                return 0;
        }
        /* The user may restart their QEMU: keep knocking, without a deadline. */
        kw_warn("%s; waiting for it to come back (Ctrl-C to quit)", why);
        a->t_lost = kw_now_ms();
        kw_backoff_reset(&a->backoff);
        a->said_waiting = true;
        reconnect_later(a);
        return 0;
}

/* A connection to hand over, watched for QEMU closing it. */
static void attached(struct kw_attach *a, int fd)
{
        drop_hup(a);
        a->last_err = 0;
        a->hup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (a->hup_fd >= 0 && kw_loop_add(a->loop, a->hup_fd, 0, on_hup, a) < 0) {
                close(a->hup_fd);
                a->hup_fd = -1;
        }
        a->state = A_WAITING;
        kw_timer_arm_ms(a->retry, a->greet_ms);
        kw_debug("connected to %s; waiting for the agent's greeting (%u ms)", a->path, a->greet_ms);
        a->ops->channel(a->userdata, fd);
}

static bool retryable(int err)
{
        /* not there yet, nobody listening, or QEMU busy with another client */
        return err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
}

static void try_connect(struct kw_attach *a)
{
        int fd = connect_unix(a->path);

        if (fd >= 0) {
                attached(a, fd);
                return;
        }
        a->last_err = -fd;
        if (!retryable(-fd)) {
                char why[512];
                snprintf(why, sizeof(why), "cannot connect to %s: %s", a->path, strerror(-fd));
                a->state = A_IDLE;
                kw_timer_disarm(a->boot);
                a->ops->lost(a->userdata, why, true);
                return;
        }
        if (!a->said_waiting) {
                kw_info("waiting for QEMU's agent socket %s (%s)", a->path,
                        fd == -ENOENT ? "not there yet" : strerror(-fd));
                a->said_waiting = true;
        }
        reconnect_later(a);
}

static void on_retry(void *userdata)
{
        struct kw_attach *a = userdata;

        if (a->state == A_CONNECTING) {
                try_connect(a);
                return;
        }
        if (a->state != A_WAITING)
                return;
        /* Connected but silent: the agent may not be up yet (the guest is
         * booting), the connection may be dead, or QEMU may still be serving
         * another client. A fresh connection costs nothing; until one is made
         * the current one stays (QEMU may yet accept it). */
        a->greet_ms = a->greet_ms * 2 < KW_ATTACH_GREET_MAX_MS ? a->greet_ms * 2 : KW_ATTACH_GREET_MAX_MS;
        int fd = connect_unix(a->path);
        if (fd < 0) {
                kw_debug("no greeting on %s, and a new connection fails (%s); waiting %u ms more", a->path,
                         strerror(-fd), a->greet_ms);
                a->last_err = -fd;
                kw_timer_arm_ms(a->retry, a->greet_ms);
                return;
        }
        kw_debug("no greeting on %s; connecting afresh", a->path);
        attached(a, fd);
}

static void on_boot_timeout(void *userdata)
{
        struct kw_attach *a = userdata;
        char why[1024];
        unsigned s = a->o.boot_timeout_ms / 1000;

        if (a->state == A_READY || a->state == A_IDLE)
                return;
        if (a->state == A_WAITING && a->last_err == EAGAIN)
                snprintf(why, sizeof(why),
                         "%s is busy: QEMU serves one client at a time, and another (a kmod-watch still "
                         "running?) held it for %u s", a->path, s);
        else if (a->state == A_WAITING || a->last_err == 0)
                snprintf(why, sizeof(why),
                         "connected to %s but kmod-agent did not answer within %u s: did the guest boot with "
                         "rdinit=/kmod-watch-init (kmod-watch inject-agent), are virtio_console and 9p there "
                         "(kmod-watch doctor), or is another kmod-watch attached?",
                         a->path, s);
        else if (a->last_err == ENOENT)
                snprintf(why, sizeof(why),
                         "no QEMU socket at %s after %u s: start your QEMU with the arguments of "
                         "'kmod-watch qemu-args --socket %s'",
                         a->path, s, a->path);
        else
                snprintf(why, sizeof(why), "cannot connect to %s within %u s (%s): is your QEMU running?", a->path,
                         s, strerror(a->last_err));
        kw_timer_disarm(a->retry);
        drop_hup(a);
        a->state = A_IDLE;
        a->ops->lost(a->userdata, why, true);
}

int kw_attach_new(struct kw_loop *l, const struct kw_attach_opts *o, const struct kw_attach_ops *ops,
                  void *userdata, struct kw_attach **ret)
{
        struct kw_attach *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        if (strlen(o->path) >= sizeof(a->path)) {
                free(a);
                return -ENAMETOOLONG;
        }
        a->loop = l;
        a->o = *o;
        snprintf(a->path, sizeof(a->path), "%s", o->path);
        a->o.path = a->path;
        a->ops = ops;
        a->userdata = userdata;
        a->hup_fd = -1;
        a->greet_ms = KW_ATTACH_GREET_MS;
        a->backoff = (struct kw_backoff){ .min_ms = KW_ATTACH_BACKOFF_MIN_MS, .max_ms = KW_ATTACH_BACKOFF_MAX_MS };
        r = kw_timer_new(l, on_retry, a, &a->retry);
        if (r >= 0)
                r = kw_timer_new(l, on_boot_timeout, a, &a->boot);
        if (r < 0) {
                kw_attach_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

int kw_attach_start(struct kw_attach *a)
{
        kw_timer_arm_ms(a->boot, a->o.boot_timeout_ms);
        try_connect(a);
        return 0;
}

void kw_attach_ready(struct kw_attach *a)
{
        kw_timer_disarm(a->retry);
        kw_timer_disarm(a->boot);
        if (a->t_lost)
                kw_note("attached again to %s after %.1f s", a->path, (double)(kw_now_ms() - a->t_lost) / 1000.0);
        a->t_lost = 0;
        a->state = A_READY;
        a->ever_ready = true;
        kw_backoff_reset(&a->backoff);
        a->said_waiting = false;
        a->greet_ms = KW_ATTACH_GREET_MS;
}

void kw_attach_free(struct kw_attach *a)
{
        if (!a)
                return;
        drop_hup(a);
        kw_timer_free(a->retry);
        kw_timer_free(a->boot);
        free(a);
}
