/* SPDX-License-Identifier: MIT */
/*
 * reload.c — the controller. It owns the loop and reacts to five things:
 *   - a batch of source changes (watch + debounce)   → build, or one more build after this one
 *   - make finished                                   → load, if the guest is ready
 *   - the agent greeted and is set up                 → load what is built (again, after a reboot)
 *   - kernel log records                              → show them, match --expect, spot oopses
 *   - QEMU exited / a signal                          → restart the guest, or quit cleanly
 * Loads are a small sequence (unload old, in reverse order; load new, in
 * order) run one request at a time through the session.
 */
#include "reload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build.h"
#include "debounce.h"
#include "filter.h"
#include "guest.h"
#include "loop.h"
#include "modinfo.h"
#include "oops.h"
#include "proto.h"
#include "session.h"
#include "ui.h"
#include "watch.h"

#define KW_MAX_MODULES 32
#define KW_GUEST_MOUNT "/mnt/kmod-watch"
#define KW_TAG "kmodwatch"

struct module {
        char name[KW_MODULE_NAME_LEN];
        char relpath[PATH_MAX]; /* .ko relative to DIR */
};

enum load_step { L_IDLE, L_UNLOAD, L_LOAD, L_QUIT_UNLOAD };

struct app {
        const struct kw_opts *o;
        struct kw_loop *loop;
        char dir[PATH_MAX];
        int sig_fd;
        bool quitting;
        int status;

        /* guest */
        struct kw_guest_ctl *guest;
        struct kw_session *session;
        bool guest_seen_ready;

        /* watching */
        struct kw_filter filter;
        struct kw_watch *watch;
        struct kw_debounce deb;
        struct kw_timer *deb_timer;
        uint64_t batch_first_ms; /* first change of the batch being gathered */
        uint64_t change_ms;      /* first change of the batch being built */

        /* building */
        struct kw_build *build;
        bool have_build;     /* a successful build not yet loaded */
        uint64_t build_ms;
        uint64_t build_change_ms;

        /* modules: what the last good build produced, and what is loaded */
        struct module built[KW_MAX_MODULES];
        size_t n_built;
        struct module loaded[KW_MAX_MODULES];
        size_t n_loaded;
        bool module_busy_logging; /* kmsg lines now belong to a load/unload */

        /* the load sequence */
        enum load_step step;
        size_t idx;
        uint64_t load_start_us, load_total_us;
        bool load_failed;

        /* --once */
        regex_t re[KW_MAX_LIST];
        bool matched[KW_MAX_LIST];
        size_t n_matched;
        struct kw_timer *once_timer;
        bool collecting;
        bool oopsed;
        struct kw_oops_scanner oops;

        struct kw_msg msg;
};

static void start_build(struct app *a);
static void start_load(struct app *a);
static void quit(struct app *a, int status);
static void once_finish(struct app *a, int status);
static void arm_debounce(struct app *a, uint64_t now);

/* ---- output helpers ---- */

static void ev_exit(int status)
{
        kw_ev_begin("exit");
        kw_ev_int("status", status);
        kw_ev_end();
}

static bool is_module_line(struct app *a, const char *text)
{
        if (a->module_busy_logging)
                return true;
        for (size_t i = 0; i < a->n_loaded; i++) {
                size_t n = strlen(a->loaded[i].name);
                if (strncmp(text, a->loaded[i].name, n) == 0 && text[n] == ':')
                        return true;
        }
        return false;
}

/* ---- --once ---- */

static bool all_matched(struct app *a)
{
        return a->n_matched == a->o->n_expect;
}

static void once_timeout(void *userdata)
{
        struct app *a = userdata;

        if (!a->collecting)
                return;
        a->collecting = false;
        if (!all_matched(a)) {
                for (size_t i = 0; i < a->o->n_expect; i++)
                        if (!a->matched[i])
                                kw_err("--expect '%s' did not appear within %u s", a->o->expect[i],
                                       a->o->timeout_s);
                once_finish(a, KW_EXIT_EXPECT);
                return;
        }
        once_finish(a, KW_EXIT_OK);
}

static void once_match(struct app *a, const char *text)
{
        if (!a->collecting)
                return;
        for (size_t i = 0; i < a->o->n_expect; i++) {
                if (a->matched[i] || regexec(&a->re[i], text, 0, NULL, 0) != 0)
                        continue;
                a->matched[i] = true;
                a->n_matched++;
                kw_debug("--expect '%s' matched", a->o->expect[i]);
        }
        if (a->o->n_expect && all_matched(a) && a->step == L_IDLE) {
                /* a short grace so an oops right after the match is not missed */
                kw_timer_arm_ms(a->once_timer, 200);
        }
}

/* ---- the session ---- */

static void on_kmsg(void *userdata, uint64_t seq, unsigned level, uint64_t ts, const char *text)
{
        struct app *a = userdata;

        kw_ui_kmsg(seq, level, ts, text, is_module_line(a, text));
        struct kw_oops oops;
        if (kw_oops_feed(&a->oops, text, &oops)) {
                kw_ev_begin("oops");
                kw_ev_str("kind", kw_oops_kind_name(oops.kind));
                kw_ev_str("text", oops.text);
                kw_ev_end();
                if (!kw_ui_json())
                        kw_err("the kernel reported %s: %s", kw_oops_kind_name(oops.kind), oops.text);
                a->oopsed = true;
                if (a->o->once && a->collecting) {
                        a->collecting = false;
                        once_finish(a, KW_EXIT_OOPS);
                        return;
                }
        }
        once_match(a, text);
}

static void on_gap(void *userdata, uint64_t seq, uint64_t count)
{
        kw_warn("%llu kernel log records were lost before #%llu (the guest's ring buffer overran)",
                (unsigned long long)count, (unsigned long long)seq);
}

static void on_output(void *userdata, uint32_t id, unsigned stream, const char *text, size_t len)
{
        kw_ui_text(text, len);
}

static void on_ready(void *userdata, const struct kw_guest *g, bool rebooted)
{
        struct app *a = userdata;

        if (rebooted || a->guest_seen_ready) {
                kw_ev_begin("guest_restart");
                kw_ev_str("reason", rebooted ? "the guest rebooted" : "the agent restarted");
                kw_ev_end();
                kw_warn("%s; reloading", rebooted ? "the guest rebooted" : "the guest agent restarted");
                a->n_loaded = 0; /* a fresh kernel has none of ours */
                if (a->n_built)
                        a->have_build = true;
        }
        kw_ev_begin("ready");
        kw_ev_str("arch", g->arch);
        kw_ev_str("kernel_release", g->release);
        kw_ev_str("transport", kw_guest_transport(a->guest));
        kw_ev_end();
        kw_guest_ready(a->guest);
        kw_info("guest ready: %s %s (%s), %.1f s after start", g->arch, g->release, kw_guest_transport(a->guest),
                (double)kw_now_ms() / 1000.0);
        a->guest_seen_ready = true;
        if (a->have_build && !a->build)
                start_load(a);
}

static void on_session_failed(void *userdata, const char *reason)
{
        struct app *a = userdata;

        kw_err("%s", reason);
        quit(a, KW_EXIT_GUEST);
}

static const struct kw_session_ops session_ops = {
        .ready = on_ready,
        .kmsg = on_kmsg,
        .gap = on_gap,
        .output = on_output,
        .failed = on_session_failed,
};

/* ---- guest control callbacks (managed QEMU or attached) ---- */

static void on_guest_lost(void *userdata, const char *why, bool fatal)
{
        struct app *a = userdata;

        kw_session_detach(a->session, why);
        if (a->quitting)
                return;
        if (fatal || a->o->once) {
                kw_err("%s", why);
                if (a->o->once && a->oopsed) {
                        quit(a, KW_EXIT_OOPS);
                        return;
                }
                quit(a, KW_EXIT_GUEST);
                return;
        }
        kw_ev_begin("guest_restart");
        kw_ev_str("reason", why);
        kw_ev_end();
        kw_warn("%s; starting it again", why);
        a->n_loaded = 0;
        if (a->n_built)
                a->have_build = true;
        a->step = L_IDLE;
}

static void on_guest_channel(void *userdata, int fd)
{
        struct app *a = userdata;
        int r = kw_session_attach_fd(a->session, fd);

        if (r < 0)
                kw_err("cannot use the guest channel: %s", strerror(-r));
}

static const struct kw_guest_ops guest_ops = {
        .channel = on_guest_channel,
        .lost = on_guest_lost,
};

/* ---- the load sequence ---- */

static void params_for(struct app *a, const char *module, char *buf, size_t size)
{
        size_t n = 0;
        size_t mlen = strlen(module);

        buf[0] = 0;
        for (size_t i = 0; i < a->o->n_param; i++) {
                const char *p = a->o->param[i];
                const char *eq = strchr(p, '=');
                const char *dot = memchr(p, '.', (size_t)(eq - p));
                if (dot) {
                        if ((size_t)(dot - p) != mlen || strncmp(p, module, mlen) != 0)
                                continue;
                        p = dot + 1;
                }
                int w = snprintf(buf + n, size - n, "%s%s", n ? " " : "", p);
                if (w < 0 || (size_t)w >= size - n)
                        break;
                n += (size_t)w;
        }
}

static void load_next(struct app *a);

static void load_done_all(struct app *a)
{
        a->step = L_IDLE;
        a->module_busy_logging = false;
        uint64_t total_ms = a->build_change_ms ? kw_now_ms() - a->build_change_ms : 0;
        if (!a->load_failed && !kw_ui_json() && kw_ui_verbosity() >= 0) {
                char names[256] = "";
                size_t n = 0;
                for (size_t i = 0; i < a->n_loaded && n < sizeof(names) - 1; i++)
                        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
                                              a->loaded[i].name);
                if (total_ms)
                        kw_info("%s loaded: build %.2f s, load %.0f ms, save to loaded %.2f s", names,
                                (double)a->build_ms / 1000.0, (double)a->load_total_us / 1000.0,
                                (double)total_ms / 1000.0);
                else
                        kw_info("%s loaded: build %.2f s, load %.0f ms", names, (double)a->build_ms / 1000.0,
                                (double)a->load_total_us / 1000.0);
        }
        if (!a->o->once)
                return;
        if (a->load_failed) {
                once_finish(a, KW_EXIT_LOAD);
                return;
        }
        if (a->oopsed) {
                once_finish(a, KW_EXIT_OOPS);
                return;
        }
        a->collecting = true;
        if (a->o->n_expect && all_matched(a))
                kw_timer_arm_ms(a->once_timer, 200);
        else
                kw_timer_arm_ms(a->once_timer, a->o->n_expect ? (uint64_t)a->o->timeout_s * 1000 : 1000);
}

static void on_unloaded(void *userdata, const struct kw_frame *f, const char *why)
{
        struct app *a = userdata;
        struct module *m = &a->loaded[a->idx];
        uint64_t err = 0;
        char text[512] = "";

        if (f) {
                (void)kw_frame_u64(f, KW_F_ERRNO, &err);
                (void)kw_frame_str(f, KW_F_ERROR, text, sizeof(text));
        } else {
                err = EIO;
                snprintf(text, sizeof(text), "the agent did not answer (%s)", why);
        }
        bool ok = err == 0 || err == ENOENT; /* not loaded: nothing to do */
        if (err == ENOENT)
                goto next; /* a stale-module check that found none: not an unload */
        kw_ev_begin("unload");
        kw_ev_str("module", m->name);
        kw_ev_bool("ok", ok);
        if (!ok)
                kw_ev_str("error", text);
        kw_ev_end();
        if (!ok) {
                kw_err("unloading %s failed: %s", m->name, text);
                a->load_failed = true;
        }
next:
        if (!f && a->step != L_QUIT_UNLOAD) {
                a->step = L_IDLE;
                return;
        }
        load_next(a);
}

static void on_loaded(void *userdata, const struct kw_frame *f, const char *why)
{
        struct app *a = userdata;
        struct module *m = &a->built[a->idx];
        uint64_t err = 0, guest_us = 0;
        char text[1024] = "";
        uint64_t ms = (kw_now_us() - a->load_start_us + 500) / 1000;

        if (f) {
                (void)kw_frame_u64(f, KW_F_ERRNO, &err);
                (void)kw_frame_u64(f, KW_F_USEC, &guest_us);
                (void)kw_frame_str(f, KW_F_ERROR, text, sizeof(text));
        } else {
                err = EIO;
                snprintf(text, sizeof(text), "the agent did not answer (%s)", why);
        }
        a->load_total_us += kw_now_us() - a->load_start_us;
        kw_ev_begin("load");
        kw_ev_str("module", m->name);
        kw_ev_bool("ok", err == 0);
        kw_ev_int("ms", (long long)ms);
        kw_ev_int("guest_us", (long long)guest_us);
        if (err)
                kw_ev_str("error", text[0] ? text : strerror((int)err));
        kw_ev_end();
        if (err) {
                kw_err("loading %s failed: %s", m->name, text[0] ? text : strerror((int)err));
                a->load_failed = true;
                if (!f) {
                        a->step = L_IDLE;
                        if (a->o->once)
                                once_finish(a, KW_EXIT_LOAD);
                        return;
                }
                load_done_all(a);
                return;
        }
        a->loaded[a->n_loaded++] = *m;
        a->idx++;
        load_next(a);
}

static int send_unload(struct app *a, const char *name)
{
        kw_msg_init(&a->msg, KW_UNLOAD, kw_session_next_id(a->session));
        kw_msg_put_str(&a->msg, KW_F_MODULE, name);
        return kw_session_call(a->session, &a->msg, 15000, on_unloaded, a);
}

/* One step: unload what is loaded (last first), then load the build in order. */
static void load_next(struct app *a)
{
        if (a->step == L_UNLOAD || a->step == L_QUIT_UNLOAD) {
                if (a->idx < a->n_loaded) /* on_unloaded finished loaded[idx] */
                        a->n_loaded = a->idx;
                if (a->n_loaded > 0) {
                        a->idx = a->n_loaded - 1;
                        if (send_unload(a, a->loaded[a->idx].name) == 0)
                                return;
                        a->n_loaded = 0;
                }
                if (a->step == L_QUIT_UNLOAD) {
                        a->step = L_IDLE;
                        quit(a, a->status);
                        return;
                }
                if (a->load_failed) {
                        load_done_all(a);
                        return;
                }
                a->step = L_LOAD;
                a->idx = 0;
        }
        if (a->idx >= a->n_built) {
                load_done_all(a);
                return;
        }
        struct module *m = &a->built[a->idx];
        char path[PATH_MAX + 64], params[1024];
        snprintf(path, sizeof(path), KW_GUEST_MOUNT "/%s", m->relpath);
        params_for(a, m->name, params, sizeof(params));
        kw_msg_init(&a->msg, KW_LOAD, kw_session_next_id(a->session));
        kw_msg_put_str(&a->msg, KW_F_PATH, path);
        if (params[0])
                kw_msg_put_str(&a->msg, KW_F_PARAMS, params);
        a->load_start_us = kw_now_us();
        int r = kw_session_call(a->session, &a->msg, 60000, on_loaded, a);
        if (r < 0) {
                kw_err("cannot send the load request: %s", strerror(-r));
                a->step = L_IDLE;
        }
}

static void start_load(struct app *a)
{
        if (a->step != L_IDLE || !kw_session_ready(a->session))
                return;
        a->have_build = false;
        a->load_failed = false;
        a->load_total_us = 0;
        a->module_busy_logging = true;
        /* Modules of the new build that an earlier run left loaded are stale: unload them too. */
        for (size_t i = 0; i < a->n_built; i++) {
                bool known = false;
                for (size_t j = 0; j < a->n_loaded; j++)
                        known |= strcmp(a->loaded[j].name, a->built[i].name) == 0;
                if (!known && a->n_loaded < KW_MAX_MODULES)
                        a->loaded[a->n_loaded++] = a->built[i];
        }
        a->step = L_UNLOAD;
        a->idx = a->n_loaded; /* nothing finished yet */
        a->collecting = a->o->once; /* the module's first lines come while it loads */
        load_next(a);
}

/* ---- building ---- */

static int collect_modules(struct app *a)
{
        char **kos;
        size_t n;
        int r = kw_build_modules(a->dir, &kos, &n);

        if (r < 0) {
                kw_err("make succeeded but wrote no modules.order in %s: is this a kbuild module directory "
                       "(obj-m in its Makefile or Kbuild)?", a->dir);
                return r;
        }
        if (n == 0) {
                kw_err("the build produced no module (modules.order is empty): add obj-m += NAME.o to the "
                       "Makefile");
                kw_strv_free(kos, n);
                return -ENOENT;
        }
        uint16_t want = strcmp(a->o->arch, "arm64") == 0 ? 183 : 62;
        a->n_built = 0;
        for (size_t i = 0; i < n && a->n_built < KW_MAX_MODULES; i++) {
                char path[PATH_MAX * 2];
                struct kw_modinfo mi;
                snprintf(path, sizeof(path), "%s/%s", a->dir, kos[i]);
                r = kw_modinfo_read_file(path, &mi);
                if (r < 0) {
                        kw_err("cannot read module %s: %s", path, r == -ENOEXEC ? "not a kernel module (ELF)"
                                                                                  : strerror(-r));
                        kw_strv_free(kos, n);
                        return r;
                }
                if (mi.machine != want) {
                        char b1[32], b2[32];
                        kw_err("%s is built for %s but the guest is %s: check --arch, ARCH and CROSS_COMPILE",
                               kos[i], kw_elf_machine_name(mi.machine, b1, sizeof(b1)),
                               kw_elf_machine_name(want, b2, sizeof(b2)));
                        kw_strv_free(kos, n);
                        return -ENOEXEC;
                }
                struct module *m = &a->built[a->n_built++];
                snprintf(m->name, sizeof(m->name), "%s", mi.name);
                snprintf(m->relpath, sizeof(m->relpath), "%s", kos[i]);
        }
        kw_strv_free(kos, n);
        return 0;
}

static void on_built(void *userdata, bool ok, const char *output, size_t len, uint64_t ms)
{
        struct app *a = userdata;

        a->build = NULL;
        a->build_ms = ms;
        kw_ev_begin("build_end");
        kw_ev_bool("ok", ok);
        kw_ev_int("ms", (long long)ms);
        kw_ev_end();
        if (kw_ui_verbosity() <= 0) {
                /* the compiler's words as it printed them, without kbuild's chatter */
                char *shown = kw_build_filter_output(output, len);
                if (shown && (!ok || strstr(shown, "warning:")))
                        kw_ui_text(shown, strlen(shown));
                free(shown);
        }
        if (!a->o->once && kw_debounce_pending(&a->deb)) {
                /* sources changed under this build: its result is stale; build again */
                kw_debug("changes during the build: building again");
                arm_debounce(a, kw_now_ms());
                return;
        }
        if (!ok) {
                kw_err("build failed%s", a->o->once ? "" : "; the loaded module stays as it was");
                if (a->o->once)
                        once_finish(a, KW_EXIT_BUILD);
                return;
        }
        if (collect_modules(a) < 0) {
                if (a->o->once)
                        once_finish(a, KW_EXIT_BUILD);
                return;
        }
        a->have_build = true;
        a->build_change_ms = a->change_ms;
        if (kw_session_ready(a->session))
                start_load(a);
        else if (kw_ui_verbosity() >= 0 && !kw_ui_json())
                kw_info("built in %.2f s; waiting for the guest", (double)ms / 1000.0);
}

static void start_build(struct app *a)
{
        struct kw_build_opts bo = {
                .dir = a->dir,
                .kdir = kw_guest_kdir(a->guest),
                .arch = strcmp(a->o->arch, "arm64") == 0 ? "arm64" : NULL,
                .cross_compile = kw_guest_cross_compile(a->guest),
                .jobs = a->o->jobs,
        };

        if (a->build)
                return;
        kw_ev_begin("build_start");
        kw_ev_end();
        if (!kw_ui_json() && kw_ui_verbosity() >= 0)
                kw_info("building %s", a->dir);
        int r = kw_build_start(a->loop, &bo, on_built, a, &a->build);
        if (r < 0) {
                kw_err("cannot start make: %s", strerror(-r));
                if (a->o->once)
                        once_finish(a, KW_EXIT_BUILD);
        }
}

/* ---- watching ---- */

static void arm_debounce(struct app *a, uint64_t now)
{
        uint64_t d = kw_debounce_deadline(&a->deb);

        if (d == KW_DEBOUNCE_NEVER)
                kw_timer_disarm(a->deb_timer);
        else
                kw_timer_arm_ms(a->deb_timer, d > now ? d - now : 0);
}

/* The batch is over: build it — unless make is running, whose end checks again. */
static void on_debounced(void *userdata)
{
        struct app *a = userdata;
        struct kw_batch b = { 0 };
        uint64_t now = kw_now_ms();

        if (a->build)
                return;
        int n = kw_debounce_take(&a->deb, now, &b);
        if (n <= 0) {
                arm_debounce(a, now);
                return;
        }
        kw_ev_begin("change");
        kw_ev_strv("paths", (const char *const *)b.paths, b.n);
        kw_ev_end();
        if (!kw_ui_json() && kw_ui_verbosity() >= 0)
                kw_info("changed: %s%s", b.paths[0], b.n > 1 ? " …" : "");
        kw_batch_free(&b);
        a->change_ms = a->batch_first_ms ? a->batch_first_ms : now;
        a->batch_first_ms = 0;
        start_build(a);
}

static int on_watch(void *userdata, int fd, short revents)
{
        struct app *a = userdata;
        uint64_t now = kw_now_ms();
        bool was_pending = kw_debounce_pending(&a->deb);
        int r = kw_watch_drain(a->watch, &a->deb, now);
        char err[512];

        if (r < 0) {
                kw_err("watching %s stopped: %s", a->dir, kw_watch_strerror(r, err, sizeof(err)));
                kw_loop_del(a->loop, fd);
                quit(a, KW_EXIT_GUEST);
                return 0;
        }
        int e = kw_watch_error(a->watch);
        if (e)
                kw_warn("%s", kw_watch_strerror(e, err, sizeof(err)));
        if (!was_pending && kw_debounce_pending(&a->deb))
                a->batch_first_ms = now; /* the save that starts a batch: where latency counts from */
        arm_debounce(a, now);
        return 0;
}

/* ---- quitting ---- */

static void quit(struct app *a, int status)
{
        if (kw_loop_exiting(a->loop))
                return;
        a->status = status;
        if (!a->quitting) {
                a->quitting = true;
                kw_build_cancel(a->build);
                a->build = NULL;
                /* Unload what we loaded before the guest goes away (a user's own guest keeps running). */
                if (a->n_loaded && kw_session_ready(a->session) && a->step == L_IDLE) {
                        a->step = L_QUIT_UNLOAD;
                        a->idx = a->n_loaded;
                        load_next(a);
                        if (a->step == L_QUIT_UNLOAD)
                                return;
                }
        }
        kw_loop_exit(a->loop, status);
}

static void once_finish(struct app *a, int status)
{
        kw_timer_disarm(a->once_timer);
        a->collecting = false;
        if (status == KW_EXIT_OK && a->oopsed)
                status = KW_EXIT_OOPS;
        quit(a, status);
}

static int on_signal(void *userdata, int fd, short revents)
{
        struct app *a = userdata;
        struct signalfd_siginfo si;

        while (read(fd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
                        if (a->quitting) {
                                kw_loop_exit(a->loop, a->status); /* second signal: now */
                                return 0;
                        }
                        kw_debug("signal %u: quitting", si.ssi_signo);
                        quit(a, a->o->once ? 128 + (int)si.ssi_signo : 0);
                }
        }
        return 0;
}

/* ---- set-up ---- */

static int compile_expects(struct app *a)
{
        for (size_t i = 0; i < a->o->n_expect; i++) {
                int r = regcomp(&a->re[i], a->o->expect[i], REG_EXTENDED | REG_NOSUB);
                if (r) {
                        char err[256];
                        regerror(r, &a->re[i], err, sizeof(err));
                        fprintf(stderr, "kmod-watch: --expect '%s' is not a valid regular expression: %s\n",
                                a->o->expect[i], err);
                        return -EINVAL;
                }
        }
        return 0;
}

static int setup_watch(struct app *a)
{
        int r = 0;

        kw_filter_init(&a->filter);
        for (size_t i = 0; r >= 0 && i < a->o->n_include; i++)
                r = kw_filter_add_include(&a->filter, a->o->include[i]);
        for (size_t i = 0; r >= 0 && i < a->o->n_exclude; i++)
                r = kw_filter_add_exclude(&a->filter, a->o->exclude[i]);
        if (r < 0)
                return r;
        kw_debounce_init(&a->deb, a->o->debounce_ms, 0, 0);
        r = kw_timer_new(a->loop, on_debounced, a, &a->deb_timer);
        if (r < 0)
                return r;
        r = kw_watch_start(a->dir, &a->filter, &a->watch);
        if (r < 0) {
                char err[512];
                kw_err("cannot watch %s: %s", a->dir, kw_watch_strerror(r, err, sizeof(err)));
                return r;
        }
        return kw_loop_add(a->loop, kw_watch_fd(a->watch), POLLIN, on_watch, a);
}

int kw_run(const struct kw_opts *o)
{
        struct app app = { .o = o, .sig_fd = -1 }, *a = &app;
        sigset_t mask;
        int r;

        if (!realpath(o->dir, a->dir)) {
                fprintf(stderr, "kmod-watch: %s: %m (give the module's source directory)\n", o->dir);
                return KW_EXIT_USAGE;
        }
        struct stat st;
        if (stat(a->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, "kmod-watch: %s is not a directory (give the module's source directory)\n", o->dir);
                return KW_EXIT_USAGE;
        }
        if (compile_expects(a) < 0)
                return KW_EXIT_USAGE;

        /* Signals are handled in the loop; block them before any thread exists. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sigdelset(&mask, SIGPIPE);
        a->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

        int status = KW_EXIT_GUEST;
        r = kw_loop_new(&a->loop);
        if (r < 0 || a->sig_fd < 0)
                goto out;
        kw_loop_add(a->loop, a->sig_fd, POLLIN, on_signal, a);
        kw_oops_init(&a->oops);
        r = kw_timer_new(a->loop, once_timeout, a, &a->once_timer);
        if (r < 0)
                goto out;

        r = kw_session_new(a->loop, &session_ops, a, KW_TAG, KW_GUEST_MOUNT, &a->session);
        if (r < 0)
                goto out;
        r = kw_guest_new(a->loop, o, a->dir, KW_TAG, &guest_ops, a, &a->guest);
        if (r < 0) {
                status = r == -EINVAL ? KW_EXIT_USAGE : KW_EXIT_GUEST;
                goto out;
        }
        if (!o->once) {
                r = setup_watch(a);
                if (r < 0)
                        goto out;
        }
        r = kw_guest_start(a->guest);
        if (r < 0)
                goto out;
        if (!o->postpone || o->once)
                start_build(a);
        else
                kw_info("waiting for the first change in %s", a->dir);

        status = kw_loop_run(a->loop);
        if (status < 0) {
                kw_err("internal error: %s", strerror(-status));
                status = KW_EXIT_GUEST;
        }
out:
        kw_build_cancel(a->build);
        kw_guest_free(a->guest);
        kw_watch_stop(a->watch);
        kw_debounce_free(&a->deb);
        kw_filter_free(&a->filter);
        kw_session_free(a->session);
        ev_exit(status);
        for (size_t i = 0; i < o->n_expect; i++)
                regfree(&a->re[i]);
        if (a->sig_fd >= 0)
                close(a->sig_fd);
        kw_loop_free(a->loop);
        return status;
}
