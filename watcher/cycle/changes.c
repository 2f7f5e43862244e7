/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * changes.c — from watch records to finished batches.
 */
#include "changes.h"

#include <stdlib.h>

void kw_changes_rearm(struct kw_changes *ch)
{
        uint64_t now = kw_loop_now_ms(ch->loop);
        uint64_t d = kw_debounce_deadline(&ch->deb);

        if (d == KW_DEBOUNCE_NEVER)
                kw_timer_disarm(ch->timer);
        else
                kw_timer_arm_ms(ch->timer, d > now ? d - now : 0);
}

/* The batch, if ready at now (KW_DEBOUNCE_NEVER: whatever is there), reported up. */
static void take(struct kw_changes *ch, uint64_t now)
{
        struct kw_batch b = { 0 };

        if (kw_debounce_take(&ch->deb, now, &b) <= 0) {
                kw_changes_rearm(ch);
                return;
        }
        uint64_t first = ch->first_ms ? ch->first_ms : now;
        ch->first_ms = 0;
        ch->hooks->batch(ch->core, &b, first);
        kw_batch_free(&b);
}

static void on_timer(void *userdata)
{
        struct kw_changes *ch = userdata;

        if (ch->hooks->busy(ch->core))
                return; /* the end of make looks again */
        take(ch, kw_loop_now_ms(ch->loop));
}

/* Every file closed and its build quick: why wait for the window? */
static bool quick(struct kw_changes *ch)
{
        const struct kw_debounce *d = &ch->deb;

        if (ch->patient || !ch->port->build_quick || !kw_debounce_settled(d) || ch->hooks->busy(ch->core))
                return false;
        char **paths = calloc(d->n, sizeof(*paths));
        if (!paths)
                return false;
        for (size_t i = 0; i < d->n; i++)
                paths[i] = d->v[i].path;
        struct kw_batch view = { .paths = paths, .n = d->n };
        bool q = ch->port->build_quick(ch->impl, &view);
        free(paths);
        return q;
}

int kw_changes_drain(struct kw_changes *ch)
{
        uint64_t now = kw_loop_now_ms(ch->loop);
        bool was_pending = kw_debounce_pending(&ch->deb);
        int r = ch->port->watch_drain(ch->impl, &ch->deb, now);

        if (r < 0)
                return r;
        if (!was_pending && kw_debounce_pending(&ch->deb))
                ch->first_ms = now; /* the save that starts a batch */
        if (!ch->patient && kw_debounce_pending(&ch->deb) && ch->hooks->busy(ch->core) && ch->hooks->supersede &&
            ch->hooks->supersede(ch->core))
                ch->patient = true;
        if (quick(ch))
                take(ch, KW_DEBOUNCE_NEVER);
        else
                kw_changes_rearm(ch);
        return 0;
}

void kw_changes_build_ended(struct kw_changes *ch)
{
        ch->patient = false;
        kw_changes_rearm(ch);
}

bool kw_changes_pending(const struct kw_changes *ch)
{
        return kw_debounce_pending(&ch->deb);
}

int kw_changes_init(struct kw_changes *ch, struct kw_loop *l, unsigned debounce_ms, const struct kw_cycle_port *port,
                    void *impl, const struct kw_changes_hooks *hooks, void *core)
{
        *ch = (struct kw_changes){ .hooks = hooks, .core = core, .port = port, .impl = impl, .loop = l };
        kw_debounce_init(&ch->deb, debounce_ms, 0, 0);
        return kw_timer_new(l, on_timer, ch, &ch->timer);
}

void kw_changes_fini(struct kw_changes *ch)
{
        kw_timer_free(ch->timer);
        ch->timer = NULL;
        kw_debounce_free(&ch->deb);
}
