/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * health.c — the cycle's decisions about the guest's health: a greeting (a
 * first boot, a reboot, an agent that restarted), a guest that went away,
 * a kernel report, a guest that stopped answering, a restart that is due.
 * A guest that panicked, oopsed (the kernel killed a task: its state is
 * unreliable), hung in a load or unload for --load-timeout, or stopped
 * answering pings is restarted when kmod-watch started it (the guest layer's
 * can_restart); when the build being loaded (or loaded) is the likely
 * culprit it is held: not loaded again by itself, the next save brings the
 * fix. Half of the cycle's core, with cycle.c (cycle-int.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cycle-int.h"
#include "ui.h"

#define KW_OOPS_RESTART_MS 500 /* after an oops: time for a panic to follow, and QEMU to exit by itself */
#define KW_OOPS_GRACE_MS 700   /* --once: the kernel log after a report, before the exit */

/* ---- restarting the guest ---- */

bool kw_cycle_blame_build(const struct kw_cycle *c)
{
        return c->loader.suspect &&
               (c->loader.step == KW_STEP_LOAD || (kw_loader_idle(&c->loader) && !c->have_build));
}

/* The build is not loaded again by itself: the next save brings the fix. say: tell the user. */
static void hold(struct kw_cycle *c, bool say)
{
        char names[256];

        c->hold_build = true;
        c->have_build = false;
        if (!say)
                return;
        kw_modules_names(c->built.v, c->built.n, names, sizeof(names));
        kw_info("%s is not loaded again by itself: fix it and save", names);
}

/* A new kernel is coming or came: it has none of our modules, none of our crashes. */
static void new_kernel(struct kw_cycle *c)
{
        kw_loader_reset(&c->loader);
        kw_recovery_unwatch(&c->rec);
        c->crashed = false;
        c->crash_what[0] = 0;
        c->panic_text[0] = 0;
        c->loader.crash_what = NULL;
}

/* The guest is being (or was) restarted. */
static void guest_restarted(struct kw_cycle *c, const char *reason, bool hold_it)
{
        kw_ev_begin("guest_restart");
        kw_ev_str("reason", reason);
        kw_ev_end();
        kw_warn("%s; starting the guest again", reason);
        c->expect_reboot = true;
        bool suspect = c->loader.suspect;
        new_kernel(c);
        if (hold_it && suspect && c->built.n)
                hold(c, true);
        else if (c->built.n && !c->hold_build)
                c->have_build = true;
}

void kw_cycle_schedule_restart(struct kw_cycle *c, const char *reason, bool hold_it, uint64_t delay_ms)
{
        if (c->quitting)
                return;
        kw_recovery_schedule(&c->rec, reason, hold_it, delay_ms);
}

static void on_restart_due(void *core, const char *reason, bool hold_it)
{
        struct kw_cycle *c = core;

        if (c->quitting)
                return;
        kw_crash_flush(&c->crash); /* while the restart is pending: no second one */
        kw_crash_show_now(&c->crash);
        if (c->quitting)
                return;
        kw_recovery_cancel(&c->rec);
        if (!c->port->can_restart(c->impl)) {
                kw_warn("%s; kmod-watch cannot restart a guest it did not start: reboot it, and kmod-watch "
                        "goes on when its agent greets again", reason);
                if (hold_it && c->loader.suspect && c->built.n)
                        hold(c, false);
                return;
        }
        /* pending requests fail first, in the old state; then the new boot begins */
        c->port->detach(c->impl, reason);
        guest_restarted(c, reason, hold_it);
        int r = c->port->restart(c->impl, reason);
        if (r == -EAGAIN) {
                kw_err("the guest went down too often in the last minute; giving up");
                kw_cycle_quit(c, KW_EXIT_GUEST);
        } else if (r < 0) {
                kw_err("cannot start the guest again: %s", strerror(-r));
                kw_cycle_quit(c, KW_EXIT_GUEST);
        }
}

static bool on_ping_busy(void *core)
{
        struct kw_cycle *c = core;

        return !kw_loader_idle(&c->loader) || c->loader.wedged || c->quitting;
}

static void on_unresponsive(void *core)
{
        struct kw_cycle *c = core;
        char reason[200];

        if (c->quitting)
                return;
        snprintf(reason, sizeof(reason), "the guest stopped answering (no reply within %u s)",
                 c->o->load_timeout_s);
        if (c->o->once) {
                kw_err("%s", reason);
                kw_cycle_once_finish(c, KW_EXIT_GUEST);
                return;
        }
        if (!c->port->can_restart(c->impl)) {
                /* not ours to restart; a reboot looks just like this for a while */
                kw_warn("the guest has not answered for %u s (rebooting? hung?): waiting for its agent to greet "
                        "again", c->o->load_timeout_s);
                return;
        }
        kw_cycle_schedule_restart(c, reason, kw_cycle_blame_build(c), 0);
}

/* ---- kernel reports ---- */

static void on_report(void *core, const struct kw_oops *o, const char *what)
{
        struct kw_cycle *c = core;

        c->oopsed = true;
        if (o->fatal) {
                if (kw_cycle_blame_build(c)) {
                        c->crashed = true;
                        c->loader.crash_what = c->crash_what;
                }
                snprintf(c->crash_what, sizeof(c->crash_what), "%s", what);
        }
        if (o->kind == KW_OOPS_PANIC)
                snprintf(c->panic_text, sizeof(c->panic_text), "%s", o->text);
        if (c->o->once) {
                if (c->finish_pending >= 0 || c->collecting || (c->quitting && o->fatal)) {
                        /* the console is faster than the agent: let the log (the module's last
                         * words before the crash) catch up, then end */
                        c->collecting = false;
                        c->finish_pending = -1;
                        c->oops_grace = true;
                        kw_timer_arm_ms(c->once_timer, KW_OOPS_GRACE_MS);
                }
                return;
        }
        /* The kernel killed a task (and whatever locks it held): start from a clean one. A panic
         * takes QEMU down by itself; the restart below only runs if it has not. */
        if (o->fatal) {
                char reason[600];
                snprintf(reason, sizeof(reason), "the guest kernel %s: %s",
                         o->kind == KW_OOPS_PANIC ? "panicked" : "crashed", c->crash_what);
                kw_cycle_schedule_restart(c, reason, kw_cycle_blame_build(c), KW_OOPS_RESTART_MS);
        }
}

static void on_reports_quiet(void *core)
{
        struct kw_cycle *c = core;

        if (c->finish_pending >= 0)
                kw_cycle_once_finish(c, c->finish_pending);
}

static bool on_channel_up(void *core)
{
        return kw_cycle_channel_up(core);
}


/* ---- the guest and its agent ---- */

void kw_cycle_on_ready(struct kw_cycle *c, const struct kw_guest *g, bool rebooted)
{
        if (c->expect_reboot) {
                c->expect_reboot = false; /* the restart was reported when it began */
        } else if (rebooted || c->guest_seen_ready) {
                const char *why = rebooted ? "the guest rebooted" : "the guest agent restarted";
                kw_ev_begin("guest_restart");
                kw_ev_str("reason", why);
                kw_ev_end();
                bool crashed = c->crashed && c->loader.suspect && c->built.n;
                new_kernel(c);
                if (crashed) {
                        /* a guest we do not manage came back from a crash of ours: no crash loop */
                        char names[256];
                        kw_modules_names(c->built.v, c->built.n, names, sizeof(names));
                        kw_warn("%s; %s crashed it before, so it is not loaded again by itself: fix it and save",
                                why, names);
                        hold(c, false);
                } else {
                        kw_warn("%s; reloading", why);
                        if (c->built.n && !c->hold_build)
                                c->have_build = true;
                }
        }
        kw_ev_begin("ready");
        kw_ev_int("schema", KW_EVENTS_SCHEMA);
        kw_ev_str("arch", g->arch);
        kw_ev_str("kernel_release", g->release);
        kw_ev_str("transport", c->port->transport(c->impl));
        kw_ev_end();
        c->port->ready_ack(c->impl);
        kw_info("guest ready: %s %s (%s), %.1f s after start", g->arch, g->release, c->port->transport(c->impl),
                (double)kw_loop_now_ms(c->loop) / 1000.0);
        c->guest_seen_ready = true;
        kw_recovery_unwatch(&c->rec); /* armed by the next load */
        if (c->have_build && !c->building)
                kw_cycle_start_load(c);
}

/* The console outlives a dead agent: a panic is read from here. */
void kw_cycle_on_console(struct kw_cycle *c, const char *line)
{
        kw_crash_feed(&c->crash, KW_OOPS_SRC_CONSOLE, line);
}

void kw_cycle_on_lost(struct kw_cycle *c, const char *why, bool fatal)
{
        char reason[sizeof(c->rec.reason) + 64];
        bool hold_it;

        /* the console's last words have arrived: finish the report they hold */
        kw_crash_flush(&c->crash);
        kw_crash_show_now(&c->crash);
        if (c->panic_text[0]) {
                snprintf(reason, sizeof(reason), "the guest panicked: %s", c->panic_text);
                hold_it = kw_cycle_blame_build(c) || c->crashed;
        } else if (kw_recovery_pending(&c->rec)) {
                snprintf(reason, sizeof(reason), "%s", kw_recovery_pending(&c->rec));
                hold_it = kw_recovery_pending_hold(&c->rec);
        } else {
                snprintf(reason, sizeof(reason), "%s", why);
                hold_it = c->crashed;
        }
        kw_recovery_cancel(&c->rec); /* the guest layer restarts it (or gives up): ours would be a second boot */
        c->port->detach(c->impl, reason);
        if (c->quitting)
                return;
        if (fatal || c->o->once) {
                kw_err("%s", reason);
                kw_cycle_quit(c, KW_EXIT_GUEST);
                return;
        }
        guest_restarted(c, reason, hold_it);
}

/* A managed guest's 9p share holds the directory it was started with: a new
 * one at the same path is only seen after a restart. */
void kw_cycle_on_dir_back(struct kw_cycle *c)
{
        if (!c->port->can_restart(c->impl))
                return; /* --connect shares the user's tree; --ssh copies each .ko */
        kw_cycle_schedule_restart(c, "the module directory was made anew: the guest's share must see the new one",
                                  false, 0);
}

void kw_cycle_on_failed(struct kw_cycle *c, const char *reason)
{
        kw_err("%s", reason);
        kw_cycle_quit(c, KW_EXIT_GUEST);
}

const struct kw_crash_hooks kw_cycle_crash_hooks = {
        .report = on_report,
        .quiet = on_reports_quiet,
        .channel_up = on_channel_up,
};

const struct kw_recovery_hooks kw_cycle_recovery_hooks = {
        .restart_due = on_restart_due,
        .busy = on_ping_busy,
        .unresponsive = on_unresponsive,
};
