/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * port.h — finding, opening and watching the virtio-serial port.
 *
 * Without udev the port shows up as /sys/class/virtio-ports/vportXpY/name
 * (possibly after the device node) and /dev/vportXpY on devtmpfs; both may be
 * late at boot, so discovery retries on a backoff timer. Once open, the
 * driver tells us about host connects/disconnects only through SIGIO (and a
 * permanent POLLHUP while nobody is connected), so the port is put in O_ASYNC
 * mode with us as owner; main.c reads SIGIO from a signalfd.
 */
#pragma once

#include <stdbool.h>

struct port {
        const char *name;   /* the virtserialport name= to look for */
        int fd;             /* -1 until found */
        int timer_fd;       /* discovery backoff; armed only while searching */
        unsigned backoff_ms;
        bool told_waiting;  /* logged "waiting" once per search */
        char dev[5 + 256];  /* /dev/vportXpY */
};

/* Creates the timer and arms it to fire at once. -errno (fatal). */
int port_init(struct port *p, const char *name);
/* The timer fired: look for the port. 0 = opened (p->fd valid), -EAGAIN =
 * not yet (timer re-armed with backoff), other -errno = fatal. */
int port_try_open(struct port *p);
/* The port disappeared (unplug): close it and search again. */
void port_lost(struct port *p);
/* Is a host connected right now? 1 yes, 0 no, -ENODEV unplugged. When no
 * host is connected, input still buffered from the last one is discarded. */
int port_host_connected(const struct port *p);
