/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cycle.c — the controller's decisions about the run, and only those:
 *   - a batch of source changes (changes.c)   → build, or one more build after this one
 *   - make finished                            → load, if the guest is ready
 *   - the load sequence ended (loader.c)       → the --once end, --run, pings
 *   - kernel log records                       → show them, gather reports, match --expect
 *   - a key, a signal                          → reload, unload, reboot, quit cleanly
 * The guest's health (greetings, losses, crashes, restarts, holds) is decided
 * in health.c; together they are the core, around one struct (cycle-int.h).
 *   - --repeat N                               → N load/unload cycles, a snapshot after each
 * The pieces they drive report up and decide nothing: loader.c, crash.c,
 * recovery.c, changes.c, runcmd.c, expect.c, repeat.c; modules.c and
 * verdict.c are pure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cycle-int.h"
#include "ui.h"

#define KW_EXPECT_GRACE_MS 200 /* --once: after the last --expect matched, for an oops right after it */
#define KW_QUIT_DEADLINE_MS 3000 /* Ctrl-C or q: how long the unload on the way out may take */
#define KW_LOG_SYNC_MS 3000      /* the kernel log's last records, on the way out */
#define KW_LOG_SYNC_RENEW 20     /* ... again while they still flow (a flood), this many times at most */

const char kw_cycle_keys_help[] = "keys: r rebuild and reload, u unload, b reboot the guest, c clear, q quit, ? help";

static void start_build(struct kw_cycle *c, const struct kw_batch *b);

bool kw_cycle_channel_up(const struct kw_cycle *c)
{
        return c->port->channel_up(c->impl);
}

/* ---- ending the run ---- */

static void on_quit_timer(void *userdata)
{
        struct kw_cycle *c = userdata;
        char names[256];

        kw_modules_names(c->loader.loaded.v, c->loader.loaded.n, names, sizeof(names));
        kw_warn("%s did not unload within %u s; leaving%s", names, KW_QUIT_DEADLINE_MS / 1000,
                c->port->can_restart(c->impl) ? " (the guest is stopped)" : ": the guest still has it loaded");
        kw_loop_exit(c->loop, c->status);
}

/* A quit the user asked for: the unload on the way out gets KW_QUIT_DEADLINE_MS. */
static void quit_now(struct kw_cycle *c, int status)
{
        kw_cycle_quit(c, status);
        if (!kw_loop_exiting(c->loop))
                kw_timer_arm_ms(c->quit_timer, KW_QUIT_DEADLINE_MS);
}

static void on_log_synced(void *userdata, const struct kw_reply *r)
{
        struct kw_cycle *c = userdata;

        /* a flood still draining (records came since the barrier was asked): a new deadline */
        if (r->kind == KW_REPLY_TIMEOUT && c->kmsg_records != c->log_sync_records &&
            c->log_sync_renewed < KW_LOG_SYNC_RENEW && kw_cycle_channel_up(c) &&
            c->port->log_sync(c->impl, KW_LOG_SYNC_MS, on_log_synced, c) == 0) {
                c->log_sync_records = c->kmsg_records;
                c->log_sync_renewed++;
                return;
        }
        if (r->kind == KW_REPLY_TIMEOUT)
                kw_warn("the guest did not confirm its last kernel log lines within %u s", KW_LOG_SYNC_MS / 1000);
        c->status = kw_cycle_end(c, c->status); /* a report in those last lines counts */
        kw_loop_exit(c->loop, c->status);
}

/* The run ends: once the kernel log has caught up (the exit function's last
 * words), when the guest can say so. */
static void end_run(struct kw_cycle *c)
{
        if (c->log_syncing)
                return;
        if (kw_cycle_channel_up(c) &&
            c->port->log_sync(c->impl, KW_LOG_SYNC_MS, on_log_synced, c) == 0) {
                c->log_syncing = true;
                c->log_sync_records = c->kmsg_records;
                return;
        }
        kw_loop_exit(c->loop, c->status);
}

int kw_cycle_end(struct kw_cycle *c, int status)
{
        /* a report still open, or completed after the exit was decided, counts */
        kw_crash_flush(&c->crash);
        kw_crash_close(&c->crash);
        struct kw_verdict v = { .once = c->o->once, .oopsed = c->oopsed, .leaked = c->leaked };
        return kw_verdict_final(&v, status);
}

void kw_cycle_quit(struct kw_cycle *c, int status)
{
        if (kw_loop_exiting(c->loop))
                return;
        kw_crash_show_now(&c->crash);
        struct kw_verdict v = { .once = c->o->once, .oopsed = c->oopsed, .leaked = c->leaked };
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
                end_run(c);
                return;
        }
        kw_loop_exit(c->loop, c->status);
}

void kw_cycle_once_finish(struct kw_cycle *c, int status)
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
            kw_cycle_channel_up(c) && c->loader.loaded.n) {
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
        /* --repeat: the first cycle went well; now the rest, counted */
        if (c->o->repeat && !c->repeating && status == KW_EXIT_OK && !c->oopsed && kw_cycle_channel_up(c) &&
            c->loader.loaded.n && kw_loader_idle(&c->loader)) {
                c->repeating = true;
                c->repeat_start_ms = kw_loop_now_ms(c->loop);
                kw_loader_unload_all(&c->loader);
                return;
        }
        kw_cycle_quit(c, status);
}

/* ---- --repeat ---- */

static void repeat_load(struct kw_cycle *c)
{
        struct kw_plan p = kw_modules_plan(c->built.v, c->built.n, &c->loader.loaded, true);

        c->collecting = false;
        kw_loader_reload(&c->loader, c->built.v, c->built.n, &p);
}

/* --once: a failed load or unload, or a kernel report, ends the run (true). */
static bool once_ended_by(struct kw_cycle *c, bool failed)
{
        if (failed || c->oopsed)
                kw_cycle_once_finish(c, failed ? KW_EXIT_LOAD : KW_EXIT_OOPS);
        return failed || c->oopsed;
}

/* A cycle of --repeat is over: the loads (failed: one of them failed) and unloads are done. */
static void repeat_cycle_done(struct kw_cycle *c, bool failed)
{
        if (once_ended_by(c, failed))
                return;
        if (kw_repeat_snap(&c->rep) < 0)
                kw_cycle_once_finish(c, KW_EXIT_GUEST);
}

static void on_repeat_snapped(void *core, bool ok)
{
        struct kw_cycle *c = core;
        unsigned done = c->rep.taken ? c->rep.taken - 1 : 0;

        if (c->quitting)
                return; /* Ctrl-C, or the run already ended: the quit unloads what is loaded */
        if (!ok) {
                kw_cycle_once_finish(c, KW_EXIT_GUEST);
                return;
        }
        if (!c->repeating) { /* the count before the first load */
                kw_cycle_start_load(c);
                return;
        }
        if (c->oopsed) {
                kw_cycle_once_finish(c, KW_EXIT_OOPS);
                return;
        }
        if (done < c->o->repeat) {
                if (done % 10 == 0)
                        kw_note("--repeat: %u of %u cycles", done, c->o->repeat);
                repeat_load(c);
                return;
        }
        c->leaked = kw_repeat_report(&c->rep, c->built.v, c->built.n,
                                     kw_loop_now_ms(c->loop) - c->repeat_start_ms);
        kw_cycle_quit(c, KW_EXIT_OK);
}

static const struct kw_repeat_hooks repeat_hooks = {
        .snapped = on_repeat_snapped,
};

static void on_once_timer(void *userdata)
{
        struct kw_cycle *c = userdata;

        if (c->oops_grace) {
                if (c->quitting) { /* a crash in the unload on the way out: it will not return */
                        c->status = KW_EXIT_OOPS;
                        kw_loop_exit(c->loop, c->status);
                } else {
                        kw_cycle_once_finish(c, KW_EXIT_OOPS);
                }
                return;
        }
        if (!c->collecting)
                return;
        c->collecting = false;
        if (!kw_expect_all(&c->expect)) {
                kw_expect_report_missing(&c->expect, c->o->timeout_s);
                kw_cycle_once_finish(c, KW_EXIT_EXPECT);
                return;
        }
        kw_cycle_once_finish(c, KW_EXIT_OK);
}

static void on_run_done(void *core, int status)
{
        struct kw_cycle *c = core;

        if (c->o->once)
                kw_cycle_once_finish(c, kw_verdict_after_run(c->run_final, status));
}

/* ---- the load sequence ---- */

static void loaded(struct kw_cycle *c, bool failed)
{
        if (c->repeating) {
                if (c->quitting)
                        return;
                if (failed || c->oopsed)
                        repeat_cycle_done(c, failed);
                else
                        kw_loader_unload_all(&c->loader);
                return;
        }
        if (c->loader.loaded.n && !c->o->once)
                kw_recovery_watch(&c->rec);
        uint64_t total_ms = c->build_change_ms ? kw_loop_now_ms(c->loop) - c->build_change_ms : 0;
        char names[256];
        kw_modules_names(c->loader.loaded.v, c->loader.loaded.n, names, sizeof(names));
        if (failed && c->loader.loaded.n && c->loader.not_loaded[0])
                kw_note("%s loaded; not loaded: %s", names, c->loader.not_loaded);
        if (!failed) {
                if (total_ms)
                        kw_note("%s loaded: build %.2f s, load %.0f ms, save to loaded %.2f s", names,
                                (double)c->build_ms / 1000.0, (double)c->loader.load_total_us / 1000.0,
                                (double)total_ms / 1000.0);
                else
                        kw_note("%s loaded: build %.2f s, load %.0f ms", names, (double)c->build_ms / 1000.0,
                                (double)c->loader.load_total_us / 1000.0);
        }
        if (!c->o->once) {
                if (!failed && c->o->run && c->loader.loaded.n)
                        (void)kw_runcmd_start(&c->run);
                return;
        }
        if (once_ended_by(c, failed))
                return;
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
                if (c->have_build && !c->o->once && !c->quitting)
                        kw_cycle_start_load(c); /* a build that finished during this sequence */
                return;
        case KW_END_UNLOADED:
                if (c->repeating && c->quitting)
                        return;
                if (c->repeating)
                        repeat_cycle_done(c, r->failed);
                else
                        kw_info("unloaded; press r to load again");
                return;
        case KW_END_QUIT: {
                struct kw_verdict v = { .once = c->o->once, .oopsed = c->oopsed, .load_failed = r->failed,
                                           .leaked = c->leaked };
                c->status = kw_verdict_final(&v, c->status);
                end_run(c);
                return;
        }
        case KW_END_HUNG:
                /* the agent still waits for it, and nothing in the guest can end it */
                snprintf(reason, sizeof(reason), "%s did not return within %u s (--load-timeout)", r->what,
                         c->o->load_timeout_s);
                if (c->o->once) {
                        kw_cycle_once_finish(c, KW_EXIT_LOAD);
                        return;
                }
                if (c->quitting) {
                        kw_loop_exit(c->loop, c->status); /* nothing more can be unloaded */
                        return;
                }
                kw_cycle_schedule_restart(c, reason, r->in_load, 0);
                return;
        case KW_END_LOST:
                if (r->in_load && c->o->once)
                        kw_cycle_once_finish(c, KW_EXIT_LOAD);
                return;
        case KW_END_COPY_FAILED:
                if (c->o->once)
                        kw_cycle_once_finish(c, KW_EXIT_GUEST);
                return;
        case KW_END_NOT_SENT:
                return;
        }
}

void kw_cycle_start_load(struct kw_cycle *c)
{
        if (!kw_loader_idle(&c->loader) || !kw_cycle_channel_up(c) || kw_recovery_pending(&c->rec))
                return;
        if (c->o->repeat && c->rep.taken == 0) {
                /* --repeat: the guest's counters before the first load */
                if (!c->rep.asking && kw_repeat_snap(&c->rep) < 0)
                        kw_cycle_once_finish(c, KW_EXIT_GUEST);
                return;
        }
        c->have_build = false;
        struct kw_plan p = kw_modules_plan(c->built.v, c->built.n, &c->loader.loaded, c->force_reload);
        c->force_reload = false;
        if (p.reload == 0 && p.drop == 0) {
                char names[256];
                kw_modules_names(c->built.v, c->built.n, names, sizeof(names));
                kw_ev_begin("unchanged");
                kw_ev_str("modules", names);
                kw_ev_end();
                kw_note("%s unchanged (the build produced the same .ko): not reloaded", names);
                return;
        }
        c->collecting = c->o->once; /* the module's first lines come while it loads */
        kw_loader_reload(&c->loader, c->built.v, c->built.n, &p);
}

/* ---- building ---- */

static int take_build(struct kw_cycle *c)
{
        c->built.n = 0;
        int r = c->port->collect(c->impl, &c->built);

        if (r < 0)
                return r;
        r = kw_modules_order(c->built.v, c->built.n);
        if (r < 0)
                kw_err("the modules of this build depend on each other in a circle (see their depends= in "
                       "modinfo)");
        return r;
}

/* build_end: which path ran (replay or make, and why make); when it failed,
 * why (the compiler's messages, or the line that said it); when it worked,
 * the modules it made. */
static void build_end_event(struct kw_cycle *c, bool ok, const struct kw_port_build *res, const char *why)
{
        const char *names[64];
        size_t n = c->built.n < 64 ? c->built.n : 64;

        kw_ev_begin("build_end");
        kw_ev_bool("ok", ok);
        kw_ev_int("ms", (long long)res->ms);
        kw_ev_str("path", res->replayed ? "replay" : "make");
        kw_ev_int("replayed", (long long)res->replayed);
        if (!res->replayed && res->why_make)
                kw_ev_str("why_make", res->why_make);
        if (!ok)
                kw_ev_str("error", why && *why ? why : "make failed");
        for (size_t i = 0; ok && i < n; i++)
                names[i] = c->built.v[i].name;
        if (ok)
                kw_ev_strv("modules", names, n);
        kw_ev_end();
}

static void on_built(void *core, const struct kw_port_build *res)
{
        struct kw_cycle *c = core;
        bool ok = res->ok;
        const char *shown = res->shown;
        uint64_t ms = res->ms;

        c->building = false;
        c->build_ms = ms;
        kw_changes_build_ended(&c->changes);
        if (res->replayed) /* which path ran, and why make */
                kw_note("replayed %zu object%s in %.2f s", res->replayed, res->replayed == 1 ? "" : "s",
                        (double)ms / 1000.0);
        else
                kw_note("make (%s) in %.2f s", res->why_make ? res->why_make : "", (double)ms / 1000.0);
        /* the compiler's words as it printed them, when they say something */
        if (kw_ui_verbosity() <= 0 && shown && (!ok || strstr(shown, "warning:")))
                kw_ui_text(shown, strlen(shown));
        bool stale = !c->o->once && kw_changes_pending(&c->changes);
        int took = ok && !stale ? take_build(c) : 0;
        build_end_event(c, ok && took >= 0, res, ok ? kw_ui_last_error() : shown);
        if (stale) {
                /* sources changed under this build: its result is stale; build again */
                kw_debug("changes during the build: building again");
                return;
        }
        if (!ok) {
                kw_err("build failed%s", c->o->once ? "" : "; the loaded module stays as it was");
                kw_ui_bell();
                if (c->o->once)
                        kw_cycle_once_finish(c, KW_EXIT_BUILD);
                return;
        }
        if (took < 0) {
                c->built.n = 0;
                if (c->o->once)
                        kw_cycle_once_finish(c, KW_EXIT_BUILD);
                return;
        }
        c->have_build = true;
        c->hold_build = false; /* the fix for a build that took the guest down */
        c->build_change_ms = c->change_ms;
        if (kw_cycle_channel_up(c))
                kw_cycle_start_load(c);
        else
                kw_note("built in %.2f s; waiting for the guest", (double)ms / 1000.0);
}

static void start_build(struct kw_cycle *c, const struct kw_batch *b)
{
        if (c->building)
                return;
        kw_ui_clear(false);
        kw_ev_begin("build_start");
        kw_ev_end();
        kw_note("building %s", c->dir);
        int r = c->port->build_start(c->impl, b, on_built, c);
        if (r < 0) {
                if (r != -ECANCELED) /* the port said why */
                        kw_err("cannot start make: %s", strerror(-r));
                if (c->o->once)
                        kw_cycle_once_finish(c, KW_EXIT_BUILD);
                return;
        }
        c->building = true;
}

/* ---- changes ---- */

static bool on_changes_busy(void *core)
{
        return ((struct kw_cycle *)core)->building;
}

/* The batch is over: build it. */
static void on_batch(void *core, const struct kw_batch *b, uint64_t first_ms)
{
        struct kw_cycle *c = core;

        kw_ev_begin("change");
        kw_ev_strv("paths", (const char *const *)b->paths, b->n);
        kw_ev_end();
        kw_note("changed: %s%s", b->paths[0], b->n > 1 ? " …" : "");
        c->change_ms = first_ms;
        start_build(c, b);
}

void kw_cycle_on_changes(struct kw_cycle *c)
{
        if (kw_changes_drain(&c->changes) < 0)
                kw_cycle_quit(c, KW_EXIT_GUEST);
}

/* Changes during a replay: stop it (its objects stay due) and build them all after. */
static bool on_changes_supersede(void *core)
{
        struct kw_cycle *c = core;

        if (!c->building || !c->port->build_supersede || !c->port->build_supersede(c->impl))
                return false;
        c->building = false;
        kw_ev_begin("build_end");
        kw_ev_bool("ok", false);
        kw_ev_bool("superseded", true);
        kw_ev_str("error", "sources changed during the replay");
        kw_ev_end();
        kw_note("sources changed during the replay: building again");
        return true;
}

static const struct kw_changes_hooks changes_hooks = {
        .busy = on_changes_busy,
        .batch = on_batch,
        .supersede = on_changes_supersede,
};

/* ---- the kernel log ---- */

void kw_cycle_on_kmsg(struct kw_cycle *c, uint64_t seq, unsigned level, uint64_t ts_usec, const char *text)
{
        c->kmsg_records++;
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
        kw_ev_begin("kmsg_gap");
        kw_ev_int("seq", (long long)seq);
        kw_ev_int("count", (long long)count); /* 0: lost, number unknown */
        kw_ev_end();
        if (count)
                kw_warn("%llu kernel log records were lost before #%llu (the guest's ring buffer overran)",
                        (unsigned long long)count, (unsigned long long)seq);
        else
                kw_warn("kernel log records were lost before #%llu (the guest's ring buffer overran)",
                        (unsigned long long)seq);
}

/* ---- signals and keys ---- */

void kw_cycle_on_signal(struct kw_cycle *c, int signo)
{
        if (c->quitting) {
                kw_loop_exit(c->loop, c->status); /* second signal: now */
                return;
        }
        kw_debug("signal %d: quitting", signo);
        quit_now(c, kw_verdict_signal(c->o->once, signo));
}

void kw_cycle_on_key(struct kw_cycle *c, char key)
{
        if (c->quitting)
                return;
        switch (key) {
        case 'r':
                c->force_reload = true;
                c->change_ms = 0;
                start_build(c, NULL);
                break;
        case 'u':
                if (!kw_loader_idle(&c->loader) || !c->loader.loaded.n || !kw_cycle_channel_up(c)) {
                        kw_info(c->loader.loaded.n ? "busy: try again in a moment" : "nothing is loaded");
                        break;
                }
                kw_loader_unload_all(&c->loader);
                break;
        case 'b':
                if (!c->port->can_restart(c->impl)) {
                        kw_info("b reboots a guest kmod-watch started; reboot yours from its console");
                        break;
                }
                kw_cycle_schedule_restart(c, "restarted from the keyboard (b)", false, 0);
                break;
        case 'c':
                kw_ui_clear(true);
                break;
        case 'q':
                quit_now(c, KW_EXIT_OK);
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

static void on_flush_reports(void *core)
{
        struct kw_cycle *c = core;

        kw_crash_show_now(&c->crash);
}

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
        kw_loader_init(&c->loader, l, o, port, impl, &loader_hooks, c);
        kw_runcmd_init(&c->run, l, o, port, impl, on_run_done, c);
        r = kw_expect_init(&c->expect, o->expect, o->n_expect);
        if (r >= 0)
                r = kw_crash_init(&c->crash, l, sym, &kw_cycle_crash_hooks, c);
        if (r >= 0)
                r = kw_recovery_init(&c->rec, l, port, impl, o->load_timeout_s * 1000u, &kw_cycle_recovery_hooks, c);
        if (r >= 0)
                r = kw_changes_init(&c->changes, l, o->debounce_ms, port, impl, &changes_hooks, c);
        if (r >= 0)
                r = kw_timer_new(l, on_once_timer, c, &c->once_timer);
        if (r >= 0)
                r = kw_timer_new(l, on_quit_timer, c, &c->quit_timer);
        if (r >= 0 && o->repeat)
                r = kw_repeat_init(&c->rep, port, impl, o->repeat, o->load_timeout_s * 1000u, &repeat_hooks, c);
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
        kw_timer_free(c->once_timer);
        kw_timer_free(c->quit_timer);
        kw_changes_fini(&c->changes);
        kw_loader_fini(&c->loader);
        kw_repeat_fini(&c->rep);
        kw_modlist_free(&c->built);
        free(c);
}

void kw_cycle_set_symbolizer(struct kw_cycle *c, struct kw_symbolizer *sym)
{
        c->crash.sym = sym;
}

void kw_cycle_start(struct kw_cycle *c)
{
        if (!c->o->postpone || c->o->once)
                start_build(c, NULL);
        else
                kw_info("waiting for the first change in %s", c->dir);
}

int kw_cycle_status(const struct kw_cycle *c)
{
        return c->status;
}
