/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recovery.c — the restart timer and the liveness pings after a load.
 */
#include "recovery.h"

#include <stdio.h>

#define KW_CHECK_FIRST_MS 1000
#define KW_CHECKS 5

void kw_recovery_schedule(struct kw_recovery *r, const char *reason, bool hold, uint64_t delay_ms)
{
        if (r->reason[0])
                return;
        snprintf(r->reason, sizeof(r->reason), "%s", reason);
        r->hold = hold;
        kw_timer_arm_ms(r->restart_timer, delay_ms);
}

const char *kw_recovery_pending(const struct kw_recovery *r)
{
        return r->reason[0] ? r->reason : NULL;
}

bool kw_recovery_pending_hold(const struct kw_recovery *r)
{
        return r->hold;
}

void kw_recovery_cancel(struct kw_recovery *r)
{
        r->reason[0] = 0;
        kw_timer_disarm(r->restart_timer);
}

static void on_restart_timer(void *userdata)
{
        struct kw_recovery *r = userdata;
        char reason[sizeof(r->reason)];

        if (!r->reason[0])
                return;
        snprintf(reason, sizeof(reason), "%s", r->reason);
        /* still set while the cycle finishes what the guest said last: no second restart */
        r->hooks->restart_due(r->core, reason, r->hold);
}

static void on_pong(void *userdata, const struct kw_reply *reply)
{
        struct kw_recovery *r = userdata;

        r->ping_pending = false;
        if (reply->kind == KW_REPLY_OK) {
                if (++r->checks_done < KW_CHECKS)
                        kw_timer_arm_ms(r->ping_timer, (uint64_t)KW_CHECK_FIRST_MS << r->checks_done);
                return;
        }
        if (reply->kind == KW_REPLY_TIMEOUT)
                r->hooks->unresponsive(r->core);
        /* the channel went away: that is handled where it is noticed */
}

static void on_ping_timer(void *userdata)
{
        struct kw_recovery *r = userdata;

        if (!r->port->channel_up(r->impl) || r->ping_pending)
                return;
        if (r->hooks->busy(r->core)) {
                /* a request in flight has its own deadline; check again after it */
                kw_timer_arm_ms(r->ping_timer, (uint64_t)KW_CHECK_FIRST_MS << r->checks_done);
                return;
        }
        if (r->port->ping(r->impl, r->ping_timeout_ms, on_pong, r) == 0)
                r->ping_pending = true;
}

void kw_recovery_watch(struct kw_recovery *r)
{
        r->checks_done = 0;
        kw_timer_arm_ms(r->ping_timer, KW_CHECK_FIRST_MS);
}

void kw_recovery_unwatch(struct kw_recovery *r)
{
        r->ping_pending = false;
        kw_timer_disarm(r->ping_timer);
}

int kw_recovery_init(struct kw_recovery *r, struct kw_loop *l, const struct kw_cycle_port *port, void *impl,
                     unsigned ping_timeout_ms, const struct kw_recovery_hooks *hooks, void *core)
{
        int e;

        *r = (struct kw_recovery){ .hooks = hooks, .core = core, .port = port, .impl = impl,
                                   .ping_timeout_ms = ping_timeout_ms };
        e = kw_timer_new(l, on_restart_timer, r, &r->restart_timer);
        if (e < 0)
                return e;
        return kw_timer_new(l, on_ping_timer, r, &r->ping_timer);
}

void kw_recovery_fini(struct kw_recovery *r)
{
        kw_timer_free(r->restart_timer);
        kw_timer_free(r->ping_timer);
        r->restart_timer = r->ping_timer = NULL;
}
