/* SPDX-License-Identifier: MIT */
/*
 * cycle.c — the controller's decisions, and only those. It reacts to:
 *   - a batch of source changes (watch + debounce)   → build, or one more build after this one
 *   - make finished                                   → load, if the guest is ready
 *   - the agent greeted and is set up                 → load what is built (again, after a reboot)
 *   - kernel log records and console lines            → show them, match --expect, gather reports
 *   - the guest went away / a signal / a key          → restart the guest, or quit cleanly
 *   - a crash, a hung load or unload, a silent guest  → restart the managed guest, hold the build
 * The pieces it drives report up and decide nothing: loader.c (the unload/load
 * sequence), crash.c (one report per oops), recovery.c (restart timer, pings),
 * runcmd.c (--run), expect.c (--expect), modules.c and verdict.c (pure).
 *
 * Crashes: a guest that panicked, oopsed (the kernel killed a task: its state
 * is unreliable), hung in a load or unload for --load-timeout, or stopped
 * answering pings is restarted; when the build being loaded (or loaded) is the
 * likely culprit it is held: not loaded again by itself, the next save brings
 * the fix.
 */
#include "cycle.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash.h"
#include "expect.h"
#include "loader.h"
#include "modules.h"
#include "recovery.h"
#include "runcmd.h"
#include "ui.h"

#define KW_OOPS_RESTART_MS 500 /* after an oops: time for a panic to follow, and QEMU to exit by itself */
#define KW_OOPS_GRACE_MS 700   /* --once: the kernel log after a report, before the exit */
#define KW_EXPECT_GRACE_MS 200 /* --once: after the last --expect matched, for an oops right after it */

struct kw_cycle {
        const struct kw_opts *o;
        struct kw_loop *loop;
        const struct kw_cycle_port *port;
        void *impl;
        char dir[PATH_MAX];
        bool quitting;
        int status;

        /* the guest */
        bool guest_seen_ready;
        bool expect_reboot; /* the next greeting is a restart already reported */

        /* watching */
        struct kw_debounce deb;
        struct kw_timer *deb_timer;
        uint64_t batch_first_ms; /* first change of the batch being gathered */
        uint64_t change_ms;      /* first change of the batch being built */

        /* building */
        bool building;
        bool have_build; /* a successful build not yet loaded */
        bool hold_build; /* the last build crashed or hung the guest: wait for the next one */
        uint64_t build_ms, build_change_ms;
        struct kw_module built[KW_MAX_MODULES]; /* the last good build, in dependency order */
        size_t n_built;
        bool force_reload; /* the r key: reload even an unchanged build */

        struct kw_loader loader;
        struct kw_crash crash;
        struct kw_recovery rec;
        struct kw_runcmd run;
        struct kw_expect expect;

        /* crashes in this boot */
        bool crashed;         /* a crash the build is blamed for */
        char crash_what[400]; /* "oops in oops_null_init at oops-null.c:19" */
        char panic_text[256]; /* the panic of this boot: why QEMU went away */

        /* --once */
        struct kw_timer *once_timer;
        bool collecting;    /* the kernel log is being matched against --expect */
        bool oopsed;
        bool run_done;      /* --run has run */
        int run_final;      /* the status to end with after --run */
        int finish_pending; /* ends when the open report is complete (-1: not ending) */
        bool oops_grace;    /* ends with 4 once the kernel log has caught up */
};

const char kw_cycle_keys_help[] = "keys: r rebuild and reload, u unload, b reboot the guest, c clear, q quit, ? help";

static void start_build(struct kw_cycle *c);
static void start_load(struct kw_cycle *c);
static void once_finish(struct kw_cycle *c, int status);
static void arm_debounce(struct kw_cycle *c, uint64_t now);

static uint64_t now_ms(const struct kw_cycle *c)
{
        return kw_loop_now_ms(c->loop);
}

static bool channel_up(const struct kw_cycle *c)
{
        return c->port->channel_up(c->impl);
}

/* ---- ending the run ---- */

void kw_cycle_quit(struct kw_cycle *c, int status)
{
        if (kw_loop_exiting(c->loop))
                return;
        kw_crash_show_now(&c->crash);
        struct kw_verdict v = { .once = c->o->once, .oopsed = c->oopsed };
        c->status = kw_verdict_final(&v, status);
        if (!c->quitting) {
                c->quitting = true;
                kw_recovery_unwatch(&c->rec);
                if (c->building)
                        c->port->build_cancel(c->impl);
                c->building = false;
                /* unload what we loaded before the guest goes away (a user's own guest keeps running) */
                if (kw_loader_quit(&c->loader))
                        return; /* the loader's report ends the run */
        }
        kw_loop_exit(c->loop, c->status);
}

static void once_finish(struct kw_cycle *c, int status)
{
        if (c->oops_grace && status != KW_EXIT_OOPS)
                return; /* a report already decided: its grace timer ends the run */
        kw_timer_disarm(c->once_timer);
        c->collecting = false;
        if (c->run.busy)
                return; /* the --run report finishes */
        if (status == KW_EXIT_OK || status == KW_EXIT_EXPECT)
                kw_expect_tell(&c->expect);
        /* --run after the log was collected, before the unload */
        if (c->o->run && !c->run_done && (status == KW_EXIT_OK || status == KW_EXIT_EXPECT) && !c->oopsed &&
            channel_up(c) && c->loader.n_loaded) {
                c->run_done = true;
                c->run_final = status;
                if (kw_runcmd_start(&c->run) == 0)
                        return;
        }
        if (kw_crash_open(&c->crash) && status != KW_EXIT_OOPS) {
                /* a report is still arriving (a load fails as its oops is printed): it decides */
                c->finish_pending = status;
                return;
        }
        c->finish_pending = -1;
        kw_cycle_quit(c, status);
}

static void on_once_timer(void *userdata)
{
        struct kw_cycle *c = userdata;

        if (c->oops_grace) {
                once_finish(c, KW_EXIT_OOPS);
                return;
        }
        if (!c->collecting)
                return;
        c->collecting = false;
        if (!kw_expect_all(&c->expect)) {
                kw_expect_report_missing(&c->expect, c->o->timeout_s);
                once_finish(c, KW_EXIT_EXPECT);
                return;
        }
        once_finish(c, KW_EXIT_OK);
}

static void on_run_done(void *core, int status)
{
        struct kw_cycle *c = core;

        if (c->o->once)
                once_finish(c, kw_verdict_after_run(c->run_final, status));
}

/* ---- recovery: restarting the guest ---- */

/* Is a crash now the fault of the build being loaded, or loaded? */
static bool blame_build(const struct kw_cycle *c)
{
        return c->loader.suspect &&
               (c->loader.step == KW_STEP_LOAD || (kw_loader_idle(&c->loader) && !c->have_build));
}

static void hold(struct kw_cycle *c, const char *why)
{
        char names[256];

        c->hold_build = true;
        c->have_build = false;
        if (!why)
                return;
        kw_modules_names(c->built, c->n_built, names, sizeof(names));
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
        if (hold_it && suspect && c->n_built)
                hold(c, "");
        else if (c->n_built && !c->hold_build)
                c->have_build = true;
}

static void schedule_restart(struct kw_cycle *c, const char *reason, bool hold_it, uint64_t delay_ms)
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
                if (hold_it && c->loader.suspect && c->n_built)
                        hold(c, NULL);
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
                once_finish(c, KW_EXIT_GUEST);
                return;
        }
        if (!c->port->can_restart(c->impl)) {
                /* not ours to restart; a reboot looks just like this for a while */
                kw_warn("the guest has not answered for %u s (rebooting? hung?): waiting for its agent to greet "
                        "again", c->o->load_timeout_s);
                return;
        }
        schedule_restart(c, reason, blame_build(c), 0);
}

/* ---- kernel reports ---- */

static void on_report(void *core, const struct kw_oops *o, const char *what)
{
        struct kw_cycle *c = core;

        c->oopsed = true;
        if (o->fatal) {
                if (blame_build(c)) {
                        c->crashed = true;
                        c->loader.crash_what = c->crash_what;
                }
                snprintf(c->crash_what, sizeof(c->crash_what), "%s", what);
        }
        if (o->kind == KW_OOPS_PANIC)
                snprintf(c->panic_text, sizeof(c->panic_text), "%s", o->text);
        if (c->o->once) {
                if (c->finish_pending >= 0 || c->collecting) {
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
                schedule_restart(c, reason, blame_build(c), KW_OOPS_RESTART_MS);
        }
}

static void on_reports_quiet(void *core)
{
        struct kw_cycle *c = core;

        if (c->finish_pending >= 0)
                once_finish(c, c->finish_pending);
}

static bool on_channel_up(void *core)
{
        return channel_up(core);
}

static void on_flush_reports(void *core)
{
        struct kw_cycle *c = core;

        kw_crash_show_now(&c->crash);
}

/* ---- the load sequence ---- */

static void loaded(struct kw_cycle *c, bool failed)
{
        if (c->loader.n_loaded && !c->o->once)
                kw_recovery_watch(&c->rec);
        uint64_t total_ms = c->build_change_ms ? now_ms(c) - c->build_change_ms : 0;
        if (!failed) {
                char names[256];
                kw_modules_names(c->loader.loaded, c->loader.n_loaded, names, sizeof(names));
                if (total_ms)
                        kw_note("%s loaded: build %.2f s, load %.0f ms, save to loaded %.2f s", names,
                                (double)c->build_ms / 1000.0, (double)c->loader.load_total_us / 1000.0,
                                (double)total_ms / 1000.0);
                else
                        kw_note("%s loaded: build %.2f s, load %.0f ms", names, (double)c->build_ms / 1000.0,
                                (double)c->loader.load_total_us / 1000.0);
        }
        if (!c->o->once) {
                if (!failed && c->o->run && c->loader.n_loaded)
                        (void)kw_runcmd_start(&c->run);
                return;
        }
        if (failed) {
                once_finish(c, KW_EXIT_LOAD);
                return;
        }
        if (c->oopsed) {
                once_finish(c, KW_EXIT_OOPS);
                return;
        }
        c->collecting = true;
        if (c->o->n_expect && kw_expect_all(&c->expect))
                kw_timer_arm_ms(c->once_timer, KW_EXPECT_GRACE_MS);
        else
                kw_timer_arm_ms(c->once_timer, c->o->n_expect ? (uint64_t)c->o->timeout_s * 1000 : 1000);
}

static void on_loader_ended(void *core, const struct kw_loader_report *r)
{
        struct kw_cycle *c = core;
        char reason[600];

        switch (r->end) {
        case KW_END_DONE:
                loaded(c, r->failed);
                return;
        case KW_END_UNLOADED:
                kw_info("unloaded; press r to load again");
                return;
        case KW_END_QUIT: {
                struct kw_verdict v = { .once = c->o->once, .oopsed = c->oopsed, .load_failed = r->failed };
                kw_loop_exit(c->loop, kw_verdict_final(&v, c->status));
                c->status = kw_verdict_final(&v, c->status);
                return;
        }
        case KW_END_HUNG:
                /* the agent still waits for it, and nothing in the guest can end it */
                snprintf(reason, sizeof(reason), "%s did not return within %u s (--load-timeout)", r->what,
                         c->o->load_timeout_s);
                if (c->o->once) {
                        once_finish(c, KW_EXIT_LOAD);
                        return;
                }
                if (c->quitting) {
                        kw_loop_exit(c->loop, c->status); /* nothing more can be unloaded */
                        return;
                }
                schedule_restart(c, reason, r->in_load, 0);
                return;
        case KW_END_LOST:
                if (r->in_load && c->o->once)
                        once_finish(c, KW_EXIT_LOAD);
                return;
        case KW_END_COPY_FAILED:
                if (c->o->once)
                        once_finish(c, KW_EXIT_GUEST);
                return;
        case KW_END_NOT_SENT:
                return;
        }
}

static void start_load(struct kw_cycle *c)
{
        if (!kw_loader_idle(&c->loader) || !channel_up(c) || kw_recovery_pending(&c->rec))
                return;
        c->have_build = false;
        struct kw_plan p = kw_modules_plan(c->built, c->n_built, c->loader.loaded, &c->loader.n_loaded,
                                           c->force_reload);
        c->force_reload = false;
        if (p.reload == 0 && p.drop == 0) {
                char names[256];
                kw_modules_names(c->built, c->n_built, names, sizeof(names));
                kw_ev_begin("unchanged");
                kw_ev_str("modules", names);
                kw_ev_end();
                kw_note("%s unchanged (the build produced the same .ko): not reloaded", names);
                return;
        }
        c->collecting = c->o->once; /* the module's first lines come while it loads */
        kw_loader_reload(&c->loader, c->built, c->n_built, &p);
}

/* ---- building ---- */

static int take_build(struct kw_cycle *c)
{
        int r = c->port->collect(c->impl, c->built, KW_MAX_MODULES, &c->n_built);

        if (r < 0)
                return r;
        r = kw_modules_order(c->built, c->n_built);
        if (r < 0)
                kw_err("the modules of this build depend on each other in a circle (see their depends= in "
                       "modinfo)");
        return r;
}

static void on_built(void *core, bool ok, const char *shown, uint64_t ms)
{
        struct kw_cycle *c = core;

        c->building = false;
        c->build_ms = ms;
        kw_ev_begin("build_end");
        kw_ev_bool("ok", ok);
        kw_ev_int("ms", (long long)ms);
        kw_ev_end();
        /* the compiler's words as it printed them, when they say something */
        if (kw_ui_verbosity() <= 0 && shown && (!ok || strstr(shown, "warning:")))
                kw_ui_text(shown, strlen(shown));
        if (!c->o->once && kw_debounce_pending(&c->deb)) {
                /* sources changed under this build: its result is stale; build again */
                kw_debug("changes during the build: building again");
                arm_debounce(c, now_ms(c));
                return;
        }
        if (!ok) {
                kw_err("build failed%s", c->o->once ? "" : "; the loaded module stays as it was");
                kw_ui_bell();
                if (c->o->once)
                        once_finish(c, KW_EXIT_BUILD);
                return;
        }
        if (take_build(c) < 0) {
                c->n_built = 0;
                if (c->o->once)
                        once_finish(c, KW_EXIT_BUILD);
                return;
        }
        c->have_build = true;
        c->hold_build = false; /* the fix for a build that took the guest down */
        c->build_change_ms = c->change_ms;
        if (channel_up(c))
                start_load(c);
        else
                kw_note("built in %.2f s; waiting for the guest", (double)ms / 1000.0);
}

static void start_build(struct kw_cycle *c)
{
        if (c->building)
                return;
        kw_ui_clear(false);
        kw_ev_begin("build_start");
        kw_ev_end();
        kw_note("building %s", c->dir);
        int r = c->port->build_start(c->impl, on_built, c);
        if (r < 0) {
                kw_err("cannot start make: %s", strerror(-r));
                if (c->o->once)
                        once_finish(c, KW_EXIT_BUILD);
                return;
        }
        c->building = true;
}

/* ---- watching ---- */

static void arm_debounce(struct kw_cycle *c, uint64_t now)
{
        uint64_t d = kw_debounce_deadline(&c->deb);

        if (d == KW_DEBOUNCE_NEVER)
                kw_timer_disarm(c->deb_timer);
        else
                kw_timer_arm_ms(c->deb_timer, d > now ? d - now : 0);
}

/* The batch is over: build it — unless make is running, whose end checks again. */
static void on_debounced(void *userdata)
{
        struct kw_cycle *c = userdata;
        struct kw_batch b = { 0 };
        uint64_t now = now_ms(c);

        if (c->building)
                return;
        int n = kw_debounce_take(&c->deb, now, &b);
        if (n <= 0) {
                arm_debounce(c, now);
                return;
        }
        kw_ev_begin("change");
        kw_ev_strv("paths", (const char *const *)b.paths, b.n);
        kw_ev_end();
        kw_note("changed: %s%s", b.paths[0], b.n > 1 ? " …" : "");
        kw_batch_free(&b);
        c->change_ms = c->batch_first_ms ? c->batch_first_ms : now;
        c->batch_first_ms = 0;
        start_build(c);
}

void kw_cycle_on_changes(struct kw_cycle *c)
{
        uint64_t now = now_ms(c);
        bool was_pending = kw_debounce_pending(&c->deb);

        if (c->port->watch_drain(c->impl, &c->deb, now) < 0) {
                kw_cycle_quit(c, KW_EXIT_GUEST);
                return;
        }
        if (!was_pending && kw_debounce_pending(&c->deb))
                c->batch_first_ms = now; /* the save that starts a batch: where latency counts from */
        arm_debounce(c, now);
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
                bool crashed = c->crashed && c->loader.suspect && c->n_built;
                new_kernel(c);
                if (crashed) {
                        /* a guest we do not manage came back from a crash of ours: no crash loop */
                        char names[256];
                        kw_modules_names(c->built, c->n_built, names, sizeof(names));
                        kw_warn("%s; %s crashed it before, so it is not loaded again by itself: fix it and save",
                                why, names);
                        hold(c, NULL);
                } else {
                        kw_warn("%s; reloading", why);
                        if (c->n_built && !c->hold_build)
                                c->have_build = true;
                }
        }
        kw_ev_begin("ready");
        kw_ev_str("arch", g->arch);
        kw_ev_str("kernel_release", g->release);
        kw_ev_str("transport", c->port->transport(c->impl));
        kw_ev_end();
        c->port->ready_ack(c->impl);
        kw_info("guest ready: %s %s (%s), %.1f s after start", g->arch, g->release, c->port->transport(c->impl),
                (double)now_ms(c) / 1000.0);
        c->guest_seen_ready = true;
        kw_recovery_unwatch(&c->rec); /* armed by the next load */
        if (c->have_build && !c->building)
                start_load(c);
}

void kw_cycle_on_kmsg(struct kw_cycle *c, uint64_t seq, unsigned level, uint64_t ts_usec, const char *text)
{
        kw_ui_kmsg(seq, level, ts_usec, text, kw_loader_owns_line(&c->loader, text));
        kw_crash_feed(&c->crash, KW_OOPS_SRC_KMSG, text);
        if (!c->collecting)
                return;
        kw_expect_feed(&c->expect, text);
        if (c->o->n_expect && kw_expect_all(&c->expect) && kw_loader_idle(&c->loader))
                kw_timer_arm_ms(c->once_timer, KW_EXPECT_GRACE_MS);
}

void kw_cycle_on_gap(struct kw_cycle *c, uint64_t seq, uint64_t count)
{
        kw_warn("%llu kernel log records were lost before #%llu (the guest's ring buffer overran)",
                (unsigned long long)count, (unsigned long long)seq);
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
                hold_it = blame_build(c) || c->crashed;
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

void kw_cycle_on_failed(struct kw_cycle *c, const char *reason)
{
        kw_err("%s", reason);
        kw_cycle_quit(c, KW_EXIT_GUEST);
}

/* ---- signals and keys ---- */

void kw_cycle_on_signal(struct kw_cycle *c, int signo)
{
        if (c->quitting) {
                kw_loop_exit(c->loop, c->status); /* second signal: now */
                return;
        }
        kw_debug("signal %d: quitting", signo);
        kw_cycle_quit(c, kw_verdict_signal(c->o->once, signo));
}

void kw_cycle_on_key(struct kw_cycle *c, char key)
{
        if (c->quitting)
                return;
        switch (key) {
        case 'r':
                c->force_reload = true;
                c->change_ms = 0;
                start_build(c);
                break;
        case 'u':
                if (!kw_loader_idle(&c->loader) || !c->loader.n_loaded || !channel_up(c)) {
                        kw_info(c->loader.n_loaded ? "busy: try again in a moment" : "nothing is loaded");
                        break;
                }
                kw_loader_unload_all(&c->loader);
                break;
        case 'b':
                if (!c->port->can_restart(c->impl)) {
                        kw_info("b reboots a guest kmod-watch started; reboot yours from its console");
                        break;
                }
                schedule_restart(c, "restarted from the keyboard (b)", false, 0);
                break;
        case 'c':
                kw_ui_clear(true);
                break;
        case 'q':
                kw_cycle_quit(c, KW_EXIT_OK);
                break;
        case '?':
        case 'h':
                kw_info("%s", kw_cycle_keys_help);
                break;
        default:
                break;
        }
}

/* ---- set-up ---- */

static const struct kw_crash_hooks crash_hooks = {
        .report = on_report,
        .quiet = on_reports_quiet,
        .channel_up = on_channel_up,
};

static const struct kw_recovery_hooks recovery_hooks = {
        .restart_due = on_restart_due,
        .busy = on_ping_busy,
        .unresponsive = on_unresponsive,
};

static const struct kw_loader_hooks loader_hooks = {
        .ended = on_loader_ended,
        .flush_reports = on_flush_reports,
};

int kw_cycle_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const struct kw_cycle_port *port,
                 void *impl, struct kw_symbolizer *sym, struct kw_cycle **ret)
{
        struct kw_cycle *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->o = o;
        c->loop = l;
        c->port = port;
        c->impl = impl;
        c->finish_pending = -1;
        snprintf(c->dir, sizeof(c->dir), "%s", dir);
        kw_debounce_init(&c->deb, o->debounce_ms, 0, 0);
        kw_loader_init(&c->loader, l, o, port, impl, &loader_hooks, c);
        kw_runcmd_init(&c->run, l, o, port, impl, on_run_done, c);
        r = kw_expect_init(&c->expect, o->expect, o->n_expect);
        if (r >= 0)
                r = kw_crash_init(&c->crash, l, sym, &crash_hooks, c);
        if (r >= 0)
                r = kw_recovery_init(&c->rec, l, port, impl, o->load_timeout_s * 1000u, &recovery_hooks, c);
        if (r >= 0)
                r = kw_timer_new(l, on_debounced, c, &c->deb_timer);
        if (r >= 0)
                r = kw_timer_new(l, on_once_timer, c, &c->once_timer);
        if (r < 0) {
                kw_cycle_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void kw_cycle_free(struct kw_cycle *c)
{
        if (!c)
                return;
        if (c->building)
                c->port->build_cancel(c->impl);
        kw_expect_free(&c->expect);
        kw_crash_fini(&c->crash);
        kw_recovery_fini(&c->rec);
        kw_timer_free(c->deb_timer);
        kw_timer_free(c->once_timer);
        kw_debounce_free(&c->deb);
        free(c);
}

void kw_cycle_set_symbolizer(struct kw_cycle *c, struct kw_symbolizer *sym)
{
        c->crash.sym = sym;
}

void kw_cycle_start(struct kw_cycle *c)
{
        if (!c->o->postpone || c->o->once)
                start_build(c);
        else
                kw_info("waiting for the first change in %s", c->dir);
}

int kw_cycle_status(const struct kw_cycle *c)
{
        return c->status;
}
