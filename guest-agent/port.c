/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * port.c — virtio-serial port discovery and host-connection state (see port.h).
 *
 * Facts this relies on (drivers/char/virtio_console.c):
 *  - while no host is connected, read() returns 0, write() says EAGAIN and
 *    poll() reports POLLHUP without end, so the port must not stay in the
 *    poll set then;
 *  - the driver raises SIGIO on the owner of an O_ASYNC port whenever the
 *    host connects or disconnects (and when data arrives);
 *  - one opener at a time (EBUSY), and data sent while the port is closed is
 *    discarded;
 *  - an unplugged port also polls as POLLHUP (after one last SIGIO), but
 *    read() then fails with ENODEV instead of returning 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "port.h"
#include "util.h"

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

static void arm(struct port *p, unsigned ms)
{
        struct itimerspec its = {
                .it_value.tv_sec = ms / 1000,
                .it_value.tv_nsec = (long)(ms % 1000) * 1000000L + 1, /* 0 would disarm */
        };

        (void)timerfd_settime(p->timer_fd, 0, &its, NULL);
}

static void disarm(struct port *p)
{
        struct itimerspec its = { 0 };

        (void)timerfd_settime(p->timer_fd, 0, &its, NULL);
}

int port_init(struct port *p, const char *name)
{
        memset(p, 0, sizeof(*p));
        p->name = name;
        p->fd = -1;
        p->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (p->timer_fd < 0)
                return -errno;
        p->backoff_ms = BACKOFF_MIN_MS;
        arm(p, 0);
        return 0;
}

/* /sys/class/virtio-ports/<dir>/name == p->name → "/dev/<dir>". */
static int find_dev(struct port *p)
{
        DIR *d = opendir("/sys/class/virtio-ports");
        struct dirent *e;
        int r = -ENOENT;

        if (!d)
                return -errno;
        while ((e = readdir(d))) {
                char path[300], name[128];

                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
                if (read_text_file(path, name, sizeof(name)) < 0 || strcmp(name, p->name) != 0)
                        continue;
                snprintf(p->dev, sizeof(p->dev), "/dev/%s", e->d_name);
                r = 0;
                break;
        }
        closedir(d);
        return r;
}

static int open_dev(struct port *p)
{
        int fd, fl;

        fd = open(p->dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* Owner first, then O_ASYNC: setting O_ASYNC is what registers us
         * with the driver's fasync list. SIGIO is blocked (main.c), so it
         * only ever arrives through the signalfd. */
        fl = fcntl(fd, F_GETFL);
        if (fcntl(fd, F_SETOWN, getpid()) < 0 || fl < 0 || fcntl(fd, F_SETFL, fl | O_ASYNC) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        p->fd = fd;
        return 0;
}

int port_try_open(struct port *p)
{
        uint64_t ticks;
        int r;

        (void)!read(p->timer_fd, &ticks, sizeof(ticks));

        r = find_dev(p);
        if (r == 0)
                r = open_dev(p);
        if (r == 0) {
                disarm(p);
                p->backoff_ms = BACKOFF_MIN_MS;
                p->told_waiting = false;
                log_msg("port %s is %s", p->name, p->dev);
                return 0;
        }
        if (!p->told_waiting) {
                /* ENOENT: the name attribute or the node is not there yet;
                 * EBUSY: another opener (an old agent still exiting). */
                log_msg("waiting for virtio port %s (%s)", p->name,
                        r == -ENOENT ? "not present yet" : strerror(-r));
                p->told_waiting = true;
        }
        arm(p, p->backoff_ms);
        p->backoff_ms *= 2;
        if (p->backoff_ms > BACKOFF_MAX_MS)
                p->backoff_ms = BACKOFF_MAX_MS;
        return -EAGAIN;
}

void port_lost(struct port *p)
{
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        p->backoff_ms = BACKOFF_MIN_MS;
        log_msg("port %s went away; searching again", p->name);
        arm(p, BACKOFF_MIN_MS);
}

int port_host_connected(const struct port *p)
{
        struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
        static char scratch[4096];

        if (poll(&pfd, 1, 0) < 0)
                return 0;
        if (pfd.revents & (POLLERR | POLLNVAL))
                return -ENODEV;
        if (!(pfd.revents & POLLHUP))
                return 1;
        /* POLLHUP means either "no host" or "port unplugged"; only read()
         * tells them apart (0 vs ENODEV). Whatever the departed host left
         * unread is dropped: nobody is left to answer. */
        for (int i = 0; i < 256; i++) {
                ssize_t n = read(p->fd, scratch, sizeof(scratch));

                if (n > 0 || (n < 0 && errno == EINTR))
                        continue;
                if (n == 0)
                        return 0;
                return errno == EAGAIN ? 1 : -ENODEV; /* EAGAIN: a host is back */
        }
        return 0;
}
