/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recovery.h — bringing a sick guest back, mechanically: a restart scheduled
 * on a timer (never run inside a callback of the channel or the QEMU it tears
 * down), and liveness pings after a load. Whether to restart, hold the build
 * or give up is the cycle's decision; recovery reports when a restart is due
 * and when the guest stopped answering.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "port.h"

struct kw_recovery_hooks {
        /* The scheduled restart is due now. */
        void (*restart_due)(void *core, const char *reason, bool hold);
        /* A ping found a request in flight: ask again later. */
        bool (*busy)(void *core);
        /* A ping got no answer within the deadline (the channel is still up). */
        void (*unresponsive)(void *core);
};

struct kw_recovery {
        const struct kw_recovery_hooks *hooks;
        void *core;
        const struct kw_cycle_port *port;
        void *impl;
        unsigned ping_timeout_ms;
        struct kw_timer *restart_timer;
        char reason[600]; /* a restart is scheduled */
        bool hold;
        struct kw_timer *ping_timer;
        bool ping_pending;
        unsigned checks_done;
};

int kw_recovery_init(struct kw_recovery *r, struct kw_loop *l, const struct kw_cycle_port *port, void *impl,
                     unsigned ping_timeout_ms, const struct kw_recovery_hooks *hooks, void *core);
void kw_recovery_fini(struct kw_recovery *r);

/* Schedules a restart in DELAY_MS; one at a time: the first reason is the cause. */
void kw_recovery_schedule(struct kw_recovery *r, const char *reason, bool hold, uint64_t delay_ms);
/* The reason of the scheduled restart, or NULL. */
const char *kw_recovery_pending(const struct kw_recovery *r);
bool kw_recovery_pending_hold(const struct kw_recovery *r);
/* Forgets the scheduled restart (it happened some other way). */
void kw_recovery_cancel(struct kw_recovery *r);

/* After a load: ask whether the guest is alive 1, 2, 4, 8 and 16 s later (a
 * module that freezes it silently does so then), and then never: an idle
 * kmod-watch has no periodic wakeups. */
void kw_recovery_watch(struct kw_recovery *r);
/* The guest is new or gone: no pings, none pending. */
void kw_recovery_unwatch(struct kw_recovery *r);
