/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * runcmd.c — --run in the guest.
 */
#include "runcmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ui.h"

static void on_run_done(void *userdata, const struct kw_reply *r)
{
        struct kw_runcmd *rc = userdata;
        uint64_t status = 255;
        char text[1024] = "";

        rc->busy = false;
        if (r->kind == KW_REPLY_OK) {
                status = r->status;
                snprintf(text, sizeof(text), "%s", r->error);
        }
        if (r->kind != KW_REPLY_OK || r->err) {
                status = 255;
                if (!text[0])
                        snprintf(text, sizeof(text), "%s",
                                 r->kind == KW_REPLY_OK ? strerror(r->err) : (r->why ? r->why : "?"));
        }
        uint64_t ms = (kw_loop_now_us(rc->loop) - rc->start_us + 500) / 1000;
        kw_ui_run_output_end();
        kw_ev_begin("run");
        kw_ev_str("cmd", rc->o->run);
        kw_ev_int("status", (long long)status);
        kw_ev_int("ms", (long long)ms);
        if (text[0])
                kw_ev_str("error", text);
        if (r->kind != KW_REPLY_OK)
                kw_ev_bool("harness", true); /* no answer: the guest or the channel, not the command */
        kw_ev_end();
        if (status == 0)
                kw_note("--run '%s': exit status 0 (%.2f s)", rc->o->run, (double)ms / 1000.0);
        else
                kw_note_err("--run '%s': exit status %llu%s%s", rc->o->run, (unsigned long long)status,
                            text[0] ? ": " : "", text);
        rc->done(rc->core, (int)status);
}

int kw_runcmd_start(struct kw_runcmd *rc)
{
        if (rc->busy) {
                kw_warn("--run '%s' from the last load is still running: not started again", rc->o->run);
                return -EBUSY;
        }
        rc->start_us = kw_loop_now_us(rc->loop);
        int r = rc->port->run(rc->impl, rc->o->run, rc->o->timeout_s * 1000u, on_run_done, rc);
        if (r < 0) {
                kw_err("cannot start --run: %s", strerror(-r));
                return r;
        }
        rc->busy = true;
        return 0;
}

void kw_runcmd_init(struct kw_runcmd *rc, struct kw_loop *l, const struct kw_opts *o,
                    const struct kw_cycle_port *port, void *impl, void (*done)(void *core, int status), void *core)
{
        *rc = (struct kw_runcmd){ .port = port, .impl = impl, .loop = l, .o = o, .done = done, .core = core };
}
