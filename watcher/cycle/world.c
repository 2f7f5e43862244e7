/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * world.c — the cycle's real world: make (build.c), the source watch
 * (watch.c, filter.c), the guest (guest.c) and the agent's session
 * (session.c), the keys and the signals, wired to the cycle's inputs and
 * behind its port. This is kw_cycle_run(): `kmod-watch [--once] DIR`.
 */
#include "cycle.h"
#include "world-int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "build.h"
#include "compdb.h"
#include "dirlock.h"
#include "shadow.h"
#include "filter.h"
#include "guest.h"
#include "keys.h"
#include "kit.h"
#include "products.h"
#include "proto.h"
#include "reappear.h"
#include "recipe.h"
#include "replay.h"
#include "srcalias.h"
#include "session.h"
#include "shellsrv.h"
#include "symbolize.h"
#include "ui.h"
#include "watch.h"



/* ---- the port ---- */

/* A build longer than a second gets a status line on a terminal (ui.h). */
static void on_build_tick(void *userdata)
{
        struct world *w = userdata;

        if (!w->build && !w->replaying)
                return;
        kw_ui_status(KW_SLOT_BUILD, "building (%s): %.1f s", w->replayed ? "replay" : "make",
                     (double)(kw_now_ms() - w->build_start_ms) / 1000.0);
        kw_timer_arm_ms(w->build_tick, 200);
}

static void build_over(struct world *w)
{
        kw_timer_disarm(w->build_tick);
        kw_ui_status_done(KW_SLOT_BUILD);
}

/* clangd's compile_commands.json from the .cmd files of the last good build */
static void write_compdb(struct world *w)
{
        if (!w->compdb_due)
                return;
        w->compdb_due = false;
        kw_timer_disarm(w->compdb);
        uint64_t t0 = kw_now_us();
        int n = kw_compdb_write(w->recipe.dir, w->recipe.kdir);
        if (n >= 0 && strcmp(w->bdir, w->dir) != 0) /* a matrix target: clangd reads DIR's */
                n = kw_shadow_copy_back(w->bdir, w->dir, "compile_commands.json");
        if (n < 0)
                kw_debug("compile_commands.json not written: %s", strerror(-n));
        else
                kw_debug("compile_commands.json in %llu us", (unsigned long long)(kw_now_us() - t0));
}

static void on_compdb(void *userdata)
{
        write_compdb(userdata);
}

static void built(struct world *w, bool ok, const char *output, size_t len, uint64_t ms)
{
        build_over(w);
        char *shown = kw_build_filter_output(output, len);
        if (shown && strcmp(w->bdir, w->dir) != 0) { /* a matrix child: the messages name DIR's files */
                char *real = kw_shadow_unmap(shown, w->bdir, w->dir);
                if (real) {
                        free(shown);
                        shown = real;
                }
        }
        struct kw_port_build res = { .ok = ok, .shown = shown ? shown : "", .ms = ms, .replayed = w->replayed,
                                     .why_make = w->replayed ? NULL : w->why_make };

        w->built(w->built_core, &res);
        free(shown);
        /* after the load request went out, off the critical path (300 ms later, when the
         * guest has answered; at once before the next build and at the end): the replay
         * state, clangd's database */
        kw_replay_after_build(w->replay, &w->recipe, ok, w->replayed);
        if (ok && !w->o->no_compile_commands) {
                w->compdb_due = true;
                kw_timer_arm_ms(w->compdb, 300);
        }
}

static void on_make_done(void *userdata, bool ok, const char *output, size_t len, uint64_t ms)
{
        struct world *w = userdata;

        w->build = NULL;
        built(w, ok, output, len, ms);
        if (!ok && memmem(output, len, "/lib/modules/", 13) && memmem(output, len, "No such file or directory", 25))
                kw_note("building with %s looked for the host's /lib/modules/…/build: point it at the guest's "
                        "tree with --make 'make KDIR=\"$KDIR\"' (or the variable its Makefile reads)",
                        kw_recipe_name(w->recipe.kind));
}

static void on_replay_done(void *userdata, bool ok, const char *output, size_t len, uint64_t ms)
{
        struct world *w = userdata;

        w->replaying = NULL;
        built(w, ok, output, len, ms);
}

/* Replay or make: the one place it is decided (kw_replay_decide, replay.h). */
static int p_build_start(void *impl, const struct kw_batch *b, kw_port_built_fn done, void *core)
{
        struct world *w = impl;
        int r = 0;

        if (strcmp(w->bdir, w->dir) != 0 && (r = kw_shadow_sync(w->dir, w->bdir)) < 0) {
                kw_err("cannot mirror %s into %s to build there: %s", w->dir, w->bdir, strerror(-r));
                return -ECANCELED;
        }
        write_compdb(w); /* the last build's, before this one rewrites its .cmd files */
        r = kw_recipe_prepare(&w->recipe);
        if (r < 0)
                return -ECANCELED; /* said */
        w->built = done;
        w->built_core = core;
        w->build_start_ms = kw_now_ms();
        kw_timer_arm_ms(w->build_tick, 1000);
        w->replayed = kw_replay_decide(w->replay, &w->recipe, w->o->no_replay, b, w->why_make, sizeof(w->why_make));
        if (w->replayed) {
                r = kw_replay_start(w->replay, w->loop, &w->recipe, on_replay_done, w, &w->replaying);
                if (r >= 0)
                        return r;
                snprintf(w->why_make, sizeof(w->why_make), "the replay could not start: %s", strerror(-r));
                w->replayed = 0;
        }
        kw_debug("make: %s", w->why_make);
        return kw_build_start(w->loop, &w->recipe, on_make_done, w, &w->build);
}

static void p_build_cancel(void *impl)
{
        struct world *w = impl;

        kw_build_cancel(w->build);
        w->build = NULL;
        kw_replay_cancel(w->replaying);
        w->replaying = NULL;
        build_over(w);
        kw_replay_after_make(w->replay, &w->recipe, false); /* a build cut short: the tree is unknown */
}

static bool p_build_quick(void *impl, const struct kw_batch *b)
{
        struct world *w = impl;
        char why[256];

        return !w->build && !w->replaying &&
               kw_replay_decide(w->replay, &w->recipe, w->o->no_replay, b, why, sizeof(why)) > 0;
}

static bool p_build_supersede(void *impl)
{
        struct world *w = impl;

        if (!w->replaying)
                return false; /* make runs on */
        kw_replay_cancel(w->replaying); /* what its steps were writing deleted; its objects stay due */
        w->replaying = NULL;
        build_over(w);
        return true;
}

static int p_collect(void *impl, struct kw_modlist *ret)
{
        struct world *w = impl;

        /* the running guest's release when it has greeted us (--connect, --ssh may run
         * another kernel than KDIR's), else KDIR's */
        const struct kw_guest *g = kw_session_ready(w->session) ? kw_session_guest(w->session) : NULL;
        return kw_products_collect(&w->recipe, w->arch->elf_machine, g ? g->release : NULL, ret);
}

static int p_watch_drain(void *impl, struct kw_debounce *d, uint64_t now_ms)
{
        struct world *w = impl;
        char err[512];
        int r = kw_watch_drain(w->watch, d, now_ms);

        if (w->rescan) {
                w->rescan = false;
                (void)kw_debounce_add(d, ".", KW_CHANGE_MOVED_IN, now_ms);
        }
        if (r < 0) {
                kw_err("watching %s stopped: %s", w->dir, kw_watch_strerror(r, err, sizeof(err)));
                kw_loop_del(w->loop, kw_watch_fd(w->watch));
                return r;
        }
        int e = kw_watch_error(w->watch);
        if (e && e != -ENOENT)
                kw_warn("%s", kw_watch_strerror(e, err, sizeof(err)));
        /* DIR itself deleted or replaced: inotify's DELETE_SELF does not come while anything (the
         * guest's share, our lock) still holds the directory open, so look. */
        struct stat st;
        if (!w->away && (e == -ENOENT || stat(w->dir, &st) < 0 || st.st_ino != w->dir_ino ||
                             st.st_dev != w->dir_dev)) {
                struct kw_batch b = { 0 };
                (void)kw_debounce_take(d, UINT64_MAX, &b); /* files "deleted" with it: nothing to build */
                kw_batch_free(&b);
                kw_world_dir_gone(w);
        }
        return 0;
}

static bool p_channel_up(void *impl)
{
        return kw_session_ready(((struct world *)impl)->session);
}

static bool p_can_restart(void *impl)
{
        return kw_guest_can_restart(((struct world *)impl)->guest);
}

static int p_restart(void *impl, const char *reason)
{
        return kw_guest_restart(((struct world *)impl)->guest, reason);
}

static void p_detach(void *impl, const char *why)
{
        kw_session_detach(((struct world *)impl)->session, why);
}

static void p_ready_ack(void *impl)
{
        kw_guest_ready(((struct world *)impl)->guest);
}

static const char *p_transport(void *impl)
{
        return kw_guest_transport(((struct world *)impl)->guest);
}

static int p_deliver(void *impl, const struct kw_module *m, char *ret_path, size_t size, kw_port_delivered_fn done,
                     void *ud)
{
        struct world *w = impl;
        char host_ko[PATH_MAX * 2];

        snprintf(host_ko, sizeof(host_ko), "%s/%s", w->bdir, m->relpath);
        /* the request first (over 9p done() sends it from in here), then the copy an oops is
         * resolved against: taken in this same turn of the loop, before any build can rewrite it */
        int d = kw_guest_deliver(w->guest, m->relpath, ret_path, size, done, ud);
        int r = kw_symbolizer_snapshot(w->sym, m->name, host_ko);
        if (r < 0)
                kw_debug("cannot keep a copy of %s for oops reports: %s", host_ko, strerror(-r));
        return d;
}

static int p_load(void *impl, const char *path, const char *params, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return kw_session_load(((struct world *)impl)->session, path, params, timeout_ms, fn, ud);
}

static int p_unload(void *impl, const char *module, bool force, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return kw_session_unload(((struct world *)impl)->session, module, force, timeout_ms, fn, ud);
}

static int p_reload(void *impl, const char *module, bool force, const char *path, const char *params,
                    unsigned timeout_ms, kw_result_fn unloaded, kw_result_fn fn, void *ud)
{
        return kw_session_reload(((struct world *)impl)->session, module, force, path, params, timeout_ms,
                                 unloaded, fn, ud);
}

static int p_run(void *impl, const char *cmd, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return kw_session_run(((struct world *)impl)->session, cmd, timeout_ms, fn, ud);
}

static int p_ping(void *impl, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return kw_session_ping(((struct world *)impl)->session, timeout_ms, fn, ud);
}

static int p_log_sync(void *impl, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return kw_session_log_sync(((struct world *)impl)->session, timeout_ms, fn, ud);
}

static int p_stats(void *impl, unsigned flags, unsigned timeout_ms, kw_stats_fn fn, void *ud)
{
        return kw_session_stats(((struct world *)impl)->session, flags, timeout_ms, fn, ud);
}

static const struct kw_cycle_port real_port = {
        .build_start = p_build_start,
        .build_cancel = p_build_cancel,
        .build_quick = p_build_quick,
        .build_supersede = p_build_supersede,
        .collect = p_collect,
        .watch_drain = p_watch_drain,
        .channel_up = p_channel_up,
        .can_restart = p_can_restart,
        .restart = p_restart,
        .detach = p_detach,
        .ready_ack = p_ready_ack,
        .transport = p_transport,
        .deliver = p_deliver,
        .load = p_load,
        .unload = p_unload,
        .reload = p_reload,
        .run = p_run,
        .ping = p_ping,
        .log_sync = p_log_sync,
        .stats = p_stats,
};

/* ---- the inputs ---- */

static void s_ready(void *userdata, const struct kw_guest *g, bool rebooted)
{
        kw_cycle_on_ready(((struct world *)userdata)->cycle, g, rebooted);
}

static void s_kmsg(void *userdata, uint64_t seq, unsigned level, uint64_t ts, const char *text)
{
        kw_cycle_on_kmsg(((struct world *)userdata)->cycle, seq, level, ts, text);
}

static void s_gap(void *userdata, uint64_t seq, uint64_t count)
{
        kw_cycle_on_gap(((struct world *)userdata)->cycle, seq, count);
}

static void s_output(void *userdata, uint32_t id, unsigned stream, const char *text, size_t len)
{
        kw_ui_run_output(stream, text, len);
}

static void s_failed(void *userdata, const char *reason)
{
        kw_cycle_on_failed(((struct world *)userdata)->cycle, reason);
}

static const struct kw_session_ops session_ops = {
        .ready = s_ready,
        .kmsg = s_kmsg,
        .gap = s_gap,
        .output = s_output,
        .failed = s_failed,
};

static void g_channel(void *userdata, int fd)
{
        struct world *w = userdata;
        int r = kw_session_attach_fd(w->session, fd);

        if (r < 0)
                kw_err("cannot use the guest channel: %s", strerror(-r));
}

static void g_lost(void *userdata, const char *why, bool fatal)
{
        kw_cycle_on_lost(((struct world *)userdata)->cycle, why, fatal);
}

static void g_console(void *userdata, const char *line)
{
        kw_cycle_on_console(((struct world *)userdata)->cycle, line);
}

static const struct kw_guest_ops guest_ops = {
        .channel = g_channel,
        .lost = g_lost,
        .console = g_console,
};

static int on_signal(void *userdata, int fd, short revents)
{
        struct world *w = userdata;
        struct signalfd_siginfo si;

        while (read(fd, &si, sizeof(si)) == sizeof(si))
                if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP)
                        kw_cycle_on_signal(w->cycle, (int)si.ssi_signo);
        return 0;
}

static void on_key(void *userdata, char key)
{
        kw_cycle_on_key(((struct world *)userdata)->cycle, key);
}

/* Signals are handled in the loop; block them before any thread exists. */
static int setup_signals(struct world *w)
{
        w->sig_fd = kw_loop_add_signals(w->loop, on_signal, w);
        return w->sig_fd < 0 ? w->sig_fd : 0;
}

static int check_dir(const struct kw_opts *o, char *dir)
{
        struct stat st;

        if (!realpath(o->dir, dir)) {
                kw_err("%s: %m (give the module's source directory)", o->dir);
                return -ENOENT;
        }
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                kw_err("%s is not a directory (give the module's source directory)", o->dir);
                return -ENOTDIR;
        }
        return 0;
}

/* Where DIR is built: DIR itself, or --build-dir, a matrix child's shadow tree (shadow.h). */
static int build_dir(const struct kw_opts *o, struct world *w)
{
        snprintf(w->bdir, sizeof(w->bdir), "%s", w->dir);
        if (!o->build_dir)
                return 0;
        int r = kw_shadow_sync(w->dir, o->build_dir);
        if (r < 0 || !realpath(o->build_dir, w->bdir)) {
                kw_err("--build-dir %s: %s", o->build_dir, strerror(r < 0 ? -r : errno));
                return -EINVAL;
        }
        return 0;
}

/* The recipe, said once: "building with kbuild". */
static void setup_recipe(struct world *w)
{
        const char *kdir = kw_guest_kdir(w->guest);

        if (kw_kdir_release(kdir, w->release, sizeof(w->release)) < 0)
                w->release[0] = 0; /* no vermagic check, no KERNELRELEASE */
        const char *build_dir = w->bdir;
        if (kw_srcalias_needed(w->bdir)) {
                int r = kw_srcalias_make(w->bdir, w->alias, sizeof(w->alias), w->alias_tmp, sizeof(w->alias_tmp));
                if (r < 0) {
                        kw_warn("%s has a space, comma or other character make cannot take, and no alias could "
                                "be made (%s): the build will fail; move it to a plain path", w->dir, strerror(-r));
                } else {
                        kw_note("%s has a space, comma or other character make cannot take: building through %s",
                                w->dir, w->alias);
                        build_dir = w->alias;
                }
        }
        w->recipe = (struct kw_recipe){
                .kind = kw_recipe_choose(w->dir, w->o->make),
                .dir = build_dir,
                .kdir = kdir,
                .release = w->release,
                .machine = w->arch->uname_machine,
                .kbuild_arch = w->arch->kbuild_arch,
                .cross_compile = kw_guest_cross_compile(w->guest),
                .make_cmd = w->o->make,
                .jobs = w->o->jobs,
        };
        kw_ev_begin("recipe");
        kw_ev_str("recipe", kw_recipe_name(w->recipe.kind));
        kw_ev_end();
        kw_note("building with %s", kw_recipe_name(w->recipe.kind));
}

int kw_cycle_run(const struct kw_opts *o)
{
        static struct world world;
        struct world *w = &world;
        int status = KW_EXIT_GUEST, r;

        *w = (struct world){ .o = o, .sig_fd = -1, .lock_fd = -1, .arch = kw_arch_find(o->arch) };
        if (check_dir(o, w->dir) < 0 || build_dir(o, w) < 0)
                return KW_EXIT_USAGE;
        pid_t holder = 0;
        w->lock_fd = kw_dirlock_take(w->bdir, &holder); /* a matrix's parent holds DIR's */
        if (w->lock_fd == -EBUSY) {
                if (holder)
                        kw_err("another kmod-watch (pid %d) is building %s: two builds in one tree break each "
                               "other; stop that one first", (int)holder, w->dir);
                else
                        kw_err("another kmod-watch is building %s: two builds in one tree break each other; stop "
                               "that one first", w->dir);
                return KW_EXIT_USAGE;
        }
        if (w->lock_fd < 0)
                kw_debug("cannot lock %s: %s (going on)", w->dir, strerror(-w->lock_fd));
        if (!w->arch) {
                kw_err("--arch %s: unknown architecture", o->arch);
                return KW_EXIT_USAGE;
        }
        kw_ui_set_habits(&(struct kw_ui_habits){ .bell = o->bell, .clear = o->clear });
        kw_filter_init(&w->filter);
        r = kw_loop_new(&w->loop);
        if (r >= 0)
                r = kw_replay_new(&w->replay);
        if (r >= 0)
                r = kw_replay_use_disk(w->replay, &w->filter, w->loop);
        if (r >= 0)
                r = kw_timer_new(w->loop, on_build_tick, w, &w->build_tick);
        if (r >= 0)
                r = kw_timer_new(w->loop, on_compdb, w, &w->compdb);
        if (r < 0)
                goto out;
        r = kw_cycle_new(w->loop, o, w->dir, &real_port, w, NULL, &w->cycle);
        if (r < 0) {
                status = r == -EINVAL ? KW_EXIT_USAGE : KW_EXIT_GUEST;
                goto out;
        }
        r = setup_signals(w);
        if (r < 0)
                goto out;
        r = kw_guest_new(w->loop, o, w->bdir, KW_SHARE_TAG, &guest_ops, w, &w->guest);
        if (r < 0) {
                /* -EINTR: ^C during the kit fetch (kit.h) */
                status = r == -EINVAL ? KW_EXIT_USAGE : r == -EINTR ? 128 + kw_kit_fetch_signal() : KW_EXIT_GUEST;
                goto out;
        }
        /* the tag is the guest's: ours when managed, the user's with --connect */
        r = kw_session_new(w->loop, &session_ops, w, kw_guest_tag(w->guest), KW_GUEST_MOUNT, &w->session);
        if (r < 0)
                goto out;
        const char *tag = kw_guest_tag(w->guest);
        r = kw_shellsrv_new(w->loop, w->session, w->bdir, tag && tag[0] ? KW_GUEST_MOUNT : "",
                            kw_guest_subdir(w->guest), &w->shells);
        if (r < 0)
                kw_warn("kmod-watch shell cannot reach this run: %s", strerror(-r));
        r = kw_symbolizer_new(w->bdir, kw_guest_cross_compile(w->guest), &w->sym);
        if (r < 0)
                goto out;
        kw_cycle_set_symbolizer(w->cycle, w->sym);
        setup_recipe(w);
        if (!o->once) {
                r = kw_world_setup_watch(w);
                if (r < 0)
                        goto out;
        }
        r = kw_guest_start(w->guest);
        if (r < 0)
                goto out;
        if (!o->once && o->build_dir) /* a matrix target: the supervisor passes the keys on */
                (void)kw_keys_start_pipe(w->loop, on_key, w);
        else if (!o->once && kw_keys_start(w->loop, on_key, w))
                kw_info("%s", kw_cycle_keys_help);
        kw_cycle_start(w->cycle);

        status = kw_loop_run(w->loop);
        if (status < 0) {
                kw_err("internal error: %s", strerror(-status));
                status = KW_EXIT_GUEST;
        }
        status = kw_cycle_end(w->cycle, status);
        write_compdb(w); /* --once: its last build's */
out:
        kw_keys_stop();
        kw_build_cancel(w->build);
        kw_replay_cancel(w->replaying);
        kw_replay_free(w->replay);
        kw_recipe_cleanup(&w->recipe);
        kw_srcalias_remove(w->alias_tmp);
        kw_guest_free(w->guest);
        kw_watch_stop(w->watch);
        kw_reappear_stop(w->parent);
        kw_filter_free(&w->filter);
        kw_cycle_free(w->cycle);
        kw_timer_free(w->build_tick);
        kw_timer_free(w->compdb);
        kw_shellsrv_free(w->shells);
        kw_session_free(w->session);
        kw_symbolizer_free(w->sym);
        kw_ui_exit(status);
        if (w->sig_fd >= 0)
                close(w->sig_fd);
        if (w->lock_fd >= 0)
                close(w->lock_fd);
        kw_loop_free(w->loop);
        return status;
}
