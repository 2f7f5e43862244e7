/* SPDX-License-Identifier: MIT */
/*
 * reload.c — the controller. It owns the loop and reacts to these things:
 *   - a batch of source changes (watch + debounce)   → build, or one more build after this one
 *   - make finished                                   → load, if the guest is ready
 *   - the agent greeted and is set up                 → load what is built (again, after a reboot)
 *   - kernel log records and console lines            → show them, match --expect, gather oopses
 *   - QEMU exited / a signal                          → restart the guest, or quit cleanly
 *   - a crash, a hung load or unload, a silent guest  → restart the managed guest
 * Loads are a small sequence (unload old, in reverse order; load new, in
 * order) run one request at a time through the session.
 *
 * Crashes: a report from the kernel (oops.c) is shown as one block with the
 * faulting function and its source line (symbolize.c). A guest that panicked,
 * oopsed (the kernel killed a task: its state is unreliable), hung in a load
 * or unload for --load-timeout, or stopped answering pings is restarted; when
 * the build being loaded (or loaded) is the likely culprit it is not loaded
 * again by itself — the next save brings the fix. Restarts run from a timer,
 * never inside a callback of the channel or the QEMU they tear down.
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
#include "keys.h"
#include "loop.h"
#include "modinfo.h"
#include "oops.h"
#include "proto.h"
#include "session.h"
#include "sha256.h"
#include "symbolize.h"
#include "ui.h"
#include "watch.h"

#define KW_MAX_MODULES 32

#define KW_OOPS_QUIET_MS 1000    /* a report without an end marker is over after this much quiet */
#define KW_OOPS_MAX_AGE_MS 5000  /* … or this long after it began */
#define KW_OOPS_RESTART_MS 500   /* after an oops: time for a panic to follow, and QEMU to exit by itself */
#define KW_OOPS_SHOW_MS 1000    /* the console's report waits this long for the kernel log's copy */
#define KW_OOPS_GRACE_MS 700    /* --once: the kernel log after a report, before the exit */
/* After a load the guest is asked whether it is alive 1, 2, 4, 8 and 16 s
 * later — a module that freezes it silently (interrupts off) does so then —
 * and after that not at all: an idle kmod-watch has no periodic wakeups.
 * Later hangs are caught by the deadline of the next request. */
#define KW_CHECK_FIRST_MS 1000
#define KW_CHECKS 5
#define KW_SHOWN_FRAMES 16       /* trace lines in the human block */
#define KW_RESOLVED_FRAMES 8     /* addr2line runs per report at most */

struct module {
        char name[KW_MODULE_NAME_LEN];
        char relpath[PATH_MAX]; /* .ko relative to DIR */
        char depends[512];      /* from .modinfo, comma-separated */
        uint8_t hash[KW_SHA256_LEN]; /* of the .ko; all zero: unknown (a stale module) */
        bool reload;            /* built[]: part of this reload (changed, or depends on one that is) */
};

enum load_step { L_IDLE, L_UNLOAD, L_LOAD, L_QUIT_UNLOAD, L_UNLOAD_ONLY };

/* A frame's source position, as shown. */
struct resolved {
        char src[PATH_MAX + 16]; /* "oops-null.c:19", "" */
        char path[PATH_MAX];
        unsigned line;
};

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
        bool hold_build;     /* the last build crashed or hung the guest: wait for the next one */
        uint64_t build_ms;
        uint64_t build_change_ms;

        /* modules: what the last good build produced, and what is loaded */
        struct module built[KW_MAX_MODULES];
        size_t n_built;
        struct module loaded[KW_MAX_MODULES];
        size_t n_loaded;
        size_t n_keep; /* loaded[0..n_keep) stay loaded through this reload */
        bool force_reload; /* the 'r' key: reload even an unchanged build */
        bool keys;         /* one-key commands are on */
        bool run_busy;     /* a --run is in flight */
        uint64_t run_start_us;
        bool run_done;     /* --once: --run has run */
        int run_final;     /* --once: the status to end with after --run */
        bool expects_told; /* --once: the expect events are out */
        bool module_busy_logging; /* kmsg lines now belong to a load/unload */

        /* the load sequence */
        enum load_step step;
        size_t idx;
        uint64_t load_start_us, load_total_us;
        bool load_failed;
        bool suspect;        /* the last build is (partly) in this kernel: a crash now is likely its */
        bool wedged;         /* a load or unload never came back: the agent is stuck with it */

        /* crashes */
        struct kw_oops_scanner oops;
        struct kw_timer *oops_timer;
        uint64_t oops_open_ms;
        struct kw_symbolizer *sym;
        bool crashed;             /* the kernel killed a task or panicked in this boot */
        char crash_what[400];     /* "oops in oops_null_init [oops_null] (oops-null.c:19)" */
        char panic_text[256];     /* the panic of this boot: why QEMU went away */
        /* the human block of a report read from the console waits for the kernel log to catch up */
        struct kw_timer *show_timer;
        bool show_pending;
        struct kw_oops shown;
        struct resolved shown_where, shown_res[KW_OOPS_MAX_FRAMES];

        /* recovery */
        struct kw_timer *restart_timer;
        char restart_reason[600]; /* a restart is scheduled */
        bool restart_hold;
        bool expect_reboot;       /* the next greeting is a restart already reported */
        struct kw_timer *ping_timer;
        bool ping_pending;
        unsigned checks_done; /* of KW_CHECKS since the last load */

        /* --once */
        regex_t re[KW_MAX_LIST];
        bool matched[KW_MAX_LIST];
        size_t n_matched;
        struct kw_timer *once_timer;
        bool collecting;
        bool oopsed;
        int finish_pending;       /* --once ends when the open report is complete (-1: not ending) */
        bool oops_grace;          /* --once ends with 4 once the kernel log has caught up */

        struct kw_msg msg;
        char load_path[PATH_MAX + 64]; /* the .ko as the guest sees it (kw_guest_deliver) */
};

static void start_build(struct app *a);
static void start_load(struct app *a);
static void quit(struct app *a, int status);
static void once_finish(struct app *a, int status);
static void arm_debounce(struct app *a, uint64_t now);
static void oops_result(struct app *a, int r);
static void show_pending(struct app *a);

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

static void module_names(const struct module *m, size_t n, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n && used < size - 1; i++) {
                int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", m[i].name);
                if (w < 0)
                        break;
                used += (size_t)w;
        }
}

/* ---- --once ---- */

static bool all_matched(struct app *a)
{
        return a->n_matched == a->o->n_expect;
}

static void once_timeout(void *userdata)
{
        struct app *a = userdata;

        if (a->oops_grace) {
                once_finish(a, KW_EXIT_OOPS);
                return;
        }
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

/* ---- recovery: restarting the guest ---- */

/* The guest is being (or was) restarted: a fresh kernel has none of our modules. */
static void guest_restarted(struct app *a, const char *reason, bool hold)
{
        char names[256];

        kw_ev_begin("guest_restart");
        kw_ev_str("reason", reason);
        kw_ev_end();
        kw_warn("%s; starting the guest again", reason);
        a->expect_reboot = true;
        a->n_loaded = 0;
        a->step = L_IDLE;
        a->module_busy_logging = false;
        a->wedged = false;
        a->crashed = false;
        a->crash_what[0] = 0;
        a->panic_text[0] = 0;
        a->ping_pending = false;
        kw_timer_disarm(a->ping_timer);
        if (hold && a->suspect && a->n_built) {
                a->hold_build = true;
                a->have_build = false;
                module_names(a->built, a->n_built, names, sizeof(names));
                kw_info("%s is not loaded again by itself: fix it and save", names);
        } else if (a->n_built && !a->hold_build) {
                a->have_build = true;
        }
        a->suspect = false;
}

static void schedule_restart(struct app *a, const char *reason, bool hold, uint64_t delay_ms)
{
        if (a->quitting || a->restart_reason[0])
                return; /* one restart at a time; the first reason is the cause */
        snprintf(a->restart_reason, sizeof(a->restart_reason), "%s", reason);
        a->restart_hold = hold;
        kw_timer_arm_ms(a->restart_timer, delay_ms);
}

static void on_restart_timer(void *userdata)
{
        struct app *a = userdata;
        char reason[sizeof(a->restart_reason)];
        bool hold = a->restart_hold;

        if (!a->restart_reason[0] || a->quitting)
                return;
        oops_result(a, kw_oops_flush(&a->oops)); /* while the reason is set: no second restart */
        show_pending(a);
        if (a->quitting)
                return;
        snprintf(reason, sizeof(reason), "%s", a->restart_reason);
        a->restart_reason[0] = 0;
        int r = a->o->connect || a->o->ssh ? -EOPNOTSUPP : 0;
        if (r == 0) {
                /* pending requests fail first, in the old state; then the new boot begins */
                kw_session_detach(a->session, reason);
                guest_restarted(a, reason, hold);
                r = kw_guest_restart(a->guest, reason);
        }
        if (r == -EOPNOTSUPP) {
                kw_warn("%s; kmod-watch cannot restart a guest it did not start: reboot it, and kmod-watch "
                        "goes on when its agent greets again", reason);
                if (hold && a->suspect && a->n_built) {
                        a->hold_build = true;
                        a->have_build = false;
                }
                return;
        }
        if (r == -EAGAIN) {
                kw_err("the guest went down too often in the last minute; giving up");
                quit(a, KW_EXIT_GUEST);
                return;
        }
        if (r < 0) {
                kw_err("cannot start the guest again: %s", strerror(-r));
                quit(a, KW_EXIT_GUEST);
        }
}

/* Is a crash now the fault of the build being loaded, or loaded? */
static bool blame_build(struct app *a)
{
        return a->suspect && (a->step == L_LOAD || (a->step == L_IDLE && !a->have_build));
}

/* ---- crashes: one block per report ---- */

static void resolve_frame(struct app *a, const struct kw_oops_frame *f, struct resolved *ret, unsigned *budget)
{
        ret->src[0] = 0;
        if (!f->module[0] || !*budget)
                return;
        (*budget)--;
        if (kw_symbolizer_resolve(a->sym, f, ret->path, sizeof(ret->path), &ret->line) < 0)
                return;
        kw_symbolizer_shown(a->sym, ret->path, ret->line, ret->src, sizeof(ret->src));
}

static const char *kind_words(enum kw_oops_kind kind)
{
        switch (kind) {
        case KW_OOPS_OOPS: return "oops";
        case KW_OOPS_PANIC: return "kernel panic";
        case KW_OOPS_BUG: return "BUG";
        case KW_OOPS_WARNING: return "WARNING";
        }
        return "oops";
}

static void show_block(struct app *a, const struct kw_oops *o, const struct resolved *where,
                       const struct resolved *res)
{
        char frame[320];

        if (o->has_where)
                kw_err("%s in %s%s%s%s%s%s", kind_words(o->kind), o->where.function, o->where.module[0] ? " [" : "",
                       o->where.module, o->where.module[0] ? "]" : "", where->src[0] ? " at " : "", where->src);
        else
                kw_err("%s", kind_words(o->kind));
        fprintf(stderr, "    %s\n", o->text);
        if (where->src[0]) {
                char text[256];
                if (kw_source_line(where->path, where->line, text, sizeof(text)) == 0) {
                        const char *t = text;
                        while (*t == ' ' || *t == '\t')
                                t++;
                        fprintf(stderr, "    %s: %s\n", where->src, t);
                }
        }
        if (o->tainted[0])
                fprintf(stderr, "    tainted: %s\n", o->tainted);
        if (!o->n_frames)
                return;
        fprintf(stderr, "    call trace:\n");
        for (size_t i = 0; i < o->n_frames && i < KW_SHOWN_FRAMES; i++) {
                kw_oops_format_frame(&o->frames[i], frame, sizeof(frame));
                fprintf(stderr, "      %s%s%s\n", frame, res[i].src[0] ? "  " : "", res[i].src);
        }
        if (o->n_frames > KW_SHOWN_FRAMES)
                fprintf(stderr, "      … %zu more\n", o->n_frames - KW_SHOWN_FRAMES);
}

/* The human block of the last report, now (before anything that follows it). */
static void show_pending(struct app *a)
{
        if (!a->show_pending)
                return;
        a->show_pending = false;
        kw_timer_disarm(a->show_timer);
        show_block(a, &a->shown, &a->shown_where, a->shown_res);
}

static void on_show_timer(void *userdata)
{
        show_pending(userdata);
}

static void report_oops(struct app *a, const struct kw_oops *o)
{
        if (a->o->bell)
                fputc('\a', stderr);
        struct resolved *res = a->shown_res, where = { .src = "" };
        static char frames[KW_OOPS_MAX_FRAMES][PATH_MAX + 400];
        const char *fv[KW_OOPS_MAX_FRAMES];
        unsigned budget = KW_RESOLVED_FRAMES;

        if (o->has_where)
                resolve_frame(a, &o->where, &where, &budget);
        for (size_t i = 0; i < o->n_frames; i++) {
                if (o->has_where && o->frames[i].exact == o->where.exact &&
                    strcmp(o->frames[i].function, o->where.function) == 0 &&
                    o->frames[i].offset == o->where.offset && strcmp(o->frames[i].module, o->where.module) == 0)
                        res[i] = where;
                else
                        resolve_frame(a, &o->frames[i], &res[i], &budget);
                kw_oops_format_frame(&o->frames[i], frames[i], sizeof(frames[i]));
                if (res[i].src[0]) {
                        size_t n = strlen(frames[i]);
                        snprintf(frames[i] + n, sizeof(frames[i]) - n, " (%s)", res[i].src);
                }
                fv[i] = frames[i];
        }

        kw_ev_begin("oops");
        kw_ev_str("kind", kw_oops_kind_name(o->kind));
        kw_ev_str("text", o->text);
        kw_ev_str("function", o->has_where ? o->where.function : "");
        kw_ev_str("module", o->has_where ? o->where.module : "");
        if (where.src[0])
                kw_ev_str("source", where.src);
        kw_ev_strv("trace", fv, o->n_frames);
        kw_ev_str("tainted", o->tainted);
        kw_ev_bool("fatal", o->fatal);
        kw_ev_str("report", o->lines);
        kw_ev_end();
        if (!kw_ui_json()) {
                a->shown = *o;
                a->shown_where = where;
                a->show_pending = true;
                /* read on the console, ahead of the kernel log: shown below the log's copy */
                if (o->last_src == KW_OOPS_SRC_CONSOLE && kw_session_ready(a->session))
                        kw_timer_arm_ms(a->show_timer, KW_OOPS_SHOW_MS);
                else
                        show_pending(a);
        }

        a->oopsed = true;
        if (o->fatal) {
                if (blame_build(a))
                        a->crashed = true;
                if (o->has_where)
                        snprintf(a->crash_what, sizeof(a->crash_what), "%s in %s%s%.200s", kind_words(o->kind),
                                 o->where.function, where.src[0] ? " at " : "", where.src);
                else
                        snprintf(a->crash_what, sizeof(a->crash_what), "%s", o->text);
        }
        if (o->kind == KW_OOPS_PANIC)
                snprintf(a->panic_text, sizeof(a->panic_text), "%s", o->text);
        if (a->o->once) {
                if (a->finish_pending >= 0 || a->collecting) {
                        /* the console is faster than the agent: let the log (the module's last
                         * words before the crash) catch up, then end */
                        a->collecting = false;
                        a->finish_pending = -1;
                        a->oops_grace = true;
                        kw_timer_arm_ms(a->once_timer, KW_OOPS_GRACE_MS);
                }
                return;
        }
        /* The kernel killed a task (and whatever locks it held): start from a clean one. A panic
         * takes QEMU down by itself; the restart below only runs if it has not. */
        if (o->fatal) {
                char reason[sizeof(a->restart_reason)];
                snprintf(reason, sizeof(reason), "the guest kernel %s: %s",
                         o->kind == KW_OOPS_PANIC ? "panicked" : "crashed", a->crash_what);
                schedule_restart(a, reason, blame_build(a), KW_OOPS_RESTART_MS);
        }
}

static void oops_result(struct app *a, int r)
{
        uint64_t now = kw_now_ms();

        if (r & KW_OOPS_ECHO)
                show_pending(a);
        if (r & KW_OOPS_DONE) {
                show_pending(a);
                report_oops(a, kw_oops_done(&a->oops));
        }
        if (!(r & KW_OOPS_OPEN)) {
                a->oops_open_ms = 0;
                kw_timer_disarm(a->oops_timer);
                if (a->finish_pending >= 0)
                        once_finish(a, a->finish_pending);
                return;
        }
        if (!a->oops_open_ms || (r & KW_OOPS_DONE))
                a->oops_open_ms = now; /* a new block */
        uint64_t age = now - a->oops_open_ms;
        kw_timer_arm_ms(a->oops_timer, age >= KW_OOPS_MAX_AGE_MS ? 0 : KW_OOPS_QUIET_MS);
}

static void on_oops_timer(void *userdata)
{
        struct app *a = userdata;

        oops_result(a, kw_oops_flush(&a->oops));
}

/* ---- the session ---- */

static void on_kmsg(void *userdata, uint64_t seq, unsigned level, uint64_t ts, const char *text)
{
        struct app *a = userdata;

        kw_ui_kmsg(seq, level, ts, text, is_module_line(a, text));
        oops_result(a, kw_oops_feed(&a->oops, KW_OOPS_SRC_KMSG, text));
        once_match(a, text);
}

static void on_gap(void *userdata, uint64_t seq, uint64_t count)
{
        kw_warn("%llu kernel log records were lost before #%llu (the guest's ring buffer overran)",
                (unsigned long long)count, (unsigned long long)seq);
}

static void on_output(void *userdata, uint32_t id, unsigned stream, const char *text, size_t len)
{
        if (!kw_ui_json()) {
                kw_ui_text(text, len);
                return;
        }
        char *t = strndup(text, len);
        kw_ev_begin("run_output");
        kw_ev_int("stream", stream);
        kw_ev_str("text", t ? t : "");
        kw_ev_end();
        free(t);
}

/* ---- --run: a command in the guest after each load ---- */

static void on_run_done(void *userdata, const struct kw_frame *f, const char *why)
{
        struct app *a = userdata;
        uint64_t status = 255, err = 0;
        char text[512] = "";

        a->run_busy = false;
        if (f) {
                (void)kw_frame_u64(f, KW_F_ERRNO, &err);
                (void)kw_frame_u64(f, KW_F_STATUS, &status);
                (void)kw_frame_str(f, KW_F_ERROR, text, sizeof(text));
        }
        if (!f || err) {
                status = 255;
                if (!text[0])
                        snprintf(text, sizeof(text), "%s", f ? strerror((int)err) : why);
        }
        uint64_t ms = (kw_now_us() - a->run_start_us + 500) / 1000;
        kw_ev_begin("run");
        kw_ev_str("cmd", a->o->run);
        kw_ev_int("status", (long long)status);
        kw_ev_int("ms", (long long)ms);
        if (text[0])
                kw_ev_str("error", text);
        kw_ev_end();
        if (!kw_ui_json()) {
                if (status == 0)
                        kw_info("--run '%s': exit status 0 (%.2f s)", a->o->run, (double)ms / 1000.0);
                else
                        kw_err("--run '%s': exit status %llu%s%s", a->o->run, (unsigned long long)status,
                               text[0] ? ": " : "", text);
        }
        if (a->o->once)
                once_finish(a, a->run_final == KW_EXIT_OK && status != 0 ? KW_EXIT_EXPECT : a->run_final);
}

static int start_run(struct app *a)
{
        if (a->run_busy) {
                kw_warn("--run '%s' from the last load is still running: not started again", a->o->run);
                return -EBUSY;
        }
        kw_msg_init(&a->msg, KW_RUN, kw_session_next_id(a->session));
        kw_msg_put_str(&a->msg, KW_F_CMD, a->o->run);
        a->run_start_us = kw_now_us();
        int r = kw_session_call(a->session, &a->msg, a->o->timeout_s * 1000u, on_run_done, a);
        if (r < 0) {
                kw_err("cannot start --run: %s", strerror(-r));
                return r;
        }
        a->run_busy = true;
        return 0;
}

/* --once: each --expect becomes an event (JUnit makes a test case of it). */
static void tell_expects(struct app *a)
{
        if (a->expects_told || !a->o->once)
                return;
        a->expects_told = true;
        for (size_t i = 0; i < a->o->n_expect; i++) {
                kw_ev_begin("expect");
                kw_ev_str("pattern", a->o->expect[i]);
                kw_ev_bool("ok", a->matched[i]);
                kw_ev_end();
        }
}

static void on_pong(void *userdata, const struct kw_frame *f, const char *why)
{
        struct app *a = userdata;
        char reason[200];

        a->ping_pending = false;
        if (f) {
                if (++a->checks_done < KW_CHECKS)
                        kw_timer_arm_ms(a->ping_timer, (uint64_t)KW_CHECK_FIRST_MS << a->checks_done);
                return;
        }
        if (!kw_session_ready(a->session) || a->quitting)
                return; /* the channel went away: that is handled where it is noticed */
        snprintf(reason, sizeof(reason), "the guest stopped answering (no reply within %u s)",
                 a->o->load_timeout_s);
        if (a->o->once) {
                kw_err("%s", reason);
                once_finish(a, KW_EXIT_GUEST);
                return;
        }
        if (a->o->connect || a->o->ssh) {
                /* not ours to restart; a reboot looks just like this for a while */
                kw_warn("the guest has not answered for %u s (rebooting? hung?): waiting for its agent to greet "
                        "again", a->o->load_timeout_s);
                return;
        }
        schedule_restart(a, reason, blame_build(a), 0);
}

/* A freshly loaded module can freeze the guest without a word (a spinning
 * timer, a deadlock with interrupts off): see KW_CHECKS. */
static void on_ping_timer(void *userdata)
{
        struct app *a = userdata;

        if (!kw_session_ready(a->session) || a->quitting || a->ping_pending)
                return;
        if (a->step != L_IDLE || a->wedged) {
                /* a request in flight has its own deadline; check again after it */
                kw_timer_arm_ms(a->ping_timer, (uint64_t)KW_CHECK_FIRST_MS << a->checks_done);
                return;
        }
        kw_msg_init(&a->msg, KW_MODULES, kw_session_next_id(a->session));
        if (kw_session_call(a->session, &a->msg, a->o->load_timeout_s * 1000u, on_pong, a) == 0)
                a->ping_pending = true;
}

static void on_ready(void *userdata, const struct kw_guest *g, bool rebooted)
{
        struct app *a = userdata;

        if (a->expect_reboot) {
                a->expect_reboot = false; /* the restart was reported when it began */
        } else if (rebooted || a->guest_seen_ready) {
                const char *why = rebooted ? "the guest rebooted" : "the guest agent restarted";
                kw_ev_begin("guest_restart");
                kw_ev_str("reason", why);
                kw_ev_end();
                a->n_loaded = 0; /* a fresh kernel has none of ours */
                a->step = L_IDLE;
                a->wedged = false;
                if (a->crashed && a->suspect && a->n_built) {
                        /* a guest we do not manage came back from a crash of ours: no crash loop */
                        char names[256];
                        module_names(a->built, a->n_built, names, sizeof(names));
                        kw_warn("%s; %s crashed it before, so it is not loaded again by itself: fix it and save",
                                why, names);
                        a->hold_build = true;
                        a->have_build = false;
                } else {
                        kw_warn("%s; reloading", why);
                        if (a->n_built && !a->hold_build)
                                a->have_build = true;
                }
                a->crashed = false;
                a->suspect = false;
                a->crash_what[0] = 0;
                a->panic_text[0] = 0;
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
        a->ping_pending = false;
        kw_timer_disarm(a->ping_timer); /* armed by the next load */
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
        char reason[sizeof(a->restart_reason) + 64];
        bool hold;

        /* the console's last words have arrived: finish the report they hold */
        oops_result(a, kw_oops_flush(&a->oops));
        show_pending(a);
        if (a->panic_text[0]) {
                snprintf(reason, sizeof(reason), "the guest panicked: %s", a->panic_text);
                hold = blame_build(a) || a->crashed;
        } else if (a->restart_reason[0]) {
                snprintf(reason, sizeof(reason), "%s", a->restart_reason);
                hold = a->restart_hold;
        } else {
                snprintf(reason, sizeof(reason), "%s", why);
                hold = a->crashed;
        }
        a->restart_reason[0] = 0; /* guest.c restarts it (or gives up); ours would be a second boot */
        kw_timer_disarm(a->restart_timer);
        kw_session_detach(a->session, reason);
        if (a->quitting)
                return;
        if (fatal || a->o->once) {
                kw_err("%s", reason);
                quit(a, KW_EXIT_GUEST);
                return;
        }
        guest_restarted(a, reason, hold);
}

static void on_guest_channel(void *userdata, int fd)
{
        struct app *a = userdata;
        int r = kw_session_attach_fd(a->session, fd);

        if (r < 0)
                kw_err("cannot use the guest channel: %s", strerror(-r));
}

/* The console outlives a dead agent: a panic is read from here. */
static void on_guest_console(void *userdata, const char *line)
{
        struct app *a = userdata;

        oops_result(a, kw_oops_feed(&a->oops, KW_OOPS_SRC_CONSOLE, line));
}

static const struct kw_guest_ops guest_ops = {
        .channel = on_guest_channel,
        .lost = on_guest_lost,
        .console = on_guest_console,
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
static void send_load(void *userdata, int err);

static void load_done_all(struct app *a)
{
        a->step = L_IDLE;
        a->module_busy_logging = false;
        if (a->n_loaded && !a->o->once) {
                a->checks_done = 0;
                kw_timer_arm_ms(a->ping_timer, KW_CHECK_FIRST_MS);
        }
        uint64_t total_ms = a->build_change_ms ? kw_now_ms() - a->build_change_ms : 0;
        if (!a->load_failed && !kw_ui_json() && kw_ui_verbosity() >= 0) {
                char names[256];
                module_names(a->loaded, a->n_loaded, names, sizeof(names));
                if (total_ms)
                        kw_info("%s loaded: build %.2f s, load %.0f ms, save to loaded %.2f s", names,
                                (double)a->build_ms / 1000.0, (double)a->load_total_us / 1000.0,
                                (double)total_ms / 1000.0);
                else
                        kw_info("%s loaded: build %.2f s, load %.0f ms", names, (double)a->build_ms / 1000.0,
                                (double)a->load_total_us / 1000.0);
        }
        if (!a->o->once) {
                if (!a->load_failed && a->o->run && a->n_loaded)
                        (void)start_run(a);
                return;
        }
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

/* A load or unload that never came back: the agent still waits for it, and nothing in
 * the guest can end it. A managed guest is restarted; with --once, the run ends. */
static void request_hung(struct app *a, const char *what, bool hold)
{
        char reason[sizeof(a->restart_reason)];

        a->wedged = true;
        a->step = L_IDLE;
        a->module_busy_logging = false;
        snprintf(reason, sizeof(reason), "%s did not return within %u s (--load-timeout)", what,
                 a->o->load_timeout_s);
        if (a->o->once) {
                once_finish(a, KW_EXIT_LOAD);
                return;
        }
        schedule_restart(a, reason, hold, 0);
}

static void on_unloaded(void *userdata, const struct kw_frame *f, const char *why)
{
        struct app *a = userdata;
        struct module *m = &a->loaded[a->idx];
        uint64_t err = 0;
        char text[512] = "";
        bool hung = false;

        if (f) {
                (void)kw_frame_u64(f, KW_F_ERRNO, &err);
                (void)kw_frame_str(f, KW_F_ERROR, text, sizeof(text));
        } else {
                err = EIO;
                hung = kw_session_ready(a->session); /* still in step: the deadline passed */
                if (hung)
                        snprintf(text, sizeof(text), "the unload did not return within %u s (its exit function "
                                 "hangs?)", a->o->load_timeout_s);
                else
                        snprintf(text, sizeof(text), "the agent did not answer (%s)", why);
        }
        bool ok = err == 0 || err == ENOENT; /* not loaded: nothing to do */
        if (err == ENOENT)
                goto next; /* a stale-module check that found none: not an unload */
        kw_ev_begin("unload");
        kw_ev_str("module", m->name);
        kw_ev_bool("ok", ok);
        if (!ok)
                kw_ev_str("error", text[0] ? text : strerror((int)err));
        kw_ev_end();
        if (!ok) {
                bool forceable = err == EWOULDBLOCK || err == EBUSY;
                kw_err("unloading %s failed: %s%s", m->name, text[0] ? text : strerror((int)err),
                       forceable && !a->o->force_unload && f ? " (--force-unload removes it anyway)" : "");
                a->load_failed = true;
        }
        if (hung) {
                char what[128];
                snprintf(what, sizeof(what), "unloading %s", m->name);
                request_hung(a, what, false);
                return;
        }
next:
        if (!f && a->step != L_QUIT_UNLOAD) {
                a->step = L_IDLE;
                a->module_busy_logging = false;
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
        bool hung = false;

        if (f) {
                (void)kw_frame_u64(f, KW_F_ERRNO, &err);
                (void)kw_frame_u64(f, KW_F_USEC, &guest_us);
                (void)kw_frame_str(f, KW_F_ERROR, text, sizeof(text));
        } else {
                err = EIO;
                hung = kw_session_ready(a->session); /* still in step: the deadline passed */
                if (hung)
                        snprintf(text, sizeof(text), "the load did not return within %u s: its init function "
                                 "hangs (or needs more than --load-timeout)", a->o->load_timeout_s);
                else
                        snprintf(text, sizeof(text), "the guest went away during the load (%s)", why);
        }
        if (err && a->crashed && a->crash_what[0]) {
                /* the agent's words ("killed by signal 9") are the aftermath: say what happened */
                char aftermath[sizeof(text)];
                snprintf(aftermath, sizeof(aftermath), "%s", text);
                snprintf(text, sizeof(text), "it crashed the kernel: %s (%.500s)", a->crash_what, aftermath);
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
                show_pending(a);
                kw_err("loading %s failed: %s", m->name, text[0] ? text : strerror((int)err));
                if (a->o->bell)
                        fputc('\a', stderr);
                a->load_failed = true;
                if (hung) {
                        char what[128];
                        snprintf(what, sizeof(what), "loading %s", m->name);
                        request_hung(a, what, true);
                        return;
                }
                if (!f) {
                        a->step = L_IDLE;
                        a->module_busy_logging = false;
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
        if (a->o->force_unload)
                kw_msg_put_u64(&a->msg, KW_F_FLAGS, KW_UNLOAD_FORCE);
        return kw_session_call(a->session, &a->msg, a->o->load_timeout_s * 1000u, on_unloaded, a);
}

/* One step: unload what is loaded (last first), then load the build in order. */
static void load_next(struct app *a)
{
        if (a->step == L_UNLOAD || a->step == L_QUIT_UNLOAD || a->step == L_UNLOAD_ONLY) {
                if (a->idx < a->n_loaded) /* on_unloaded finished loaded[idx] */
                        a->n_loaded = a->idx;
                if (a->step != L_UNLOAD)
                        a->n_keep = 0;
                if (a->n_loaded > a->n_keep) {
                        a->idx = a->n_loaded - 1;
                        if (send_unload(a, a->loaded[a->idx].name) == 0)
                                return;
                        a->n_loaded = a->n_keep;
                }
                if (a->step == L_UNLOAD_ONLY) { /* the 'u' key */
                        a->step = L_IDLE;
                        a->module_busy_logging = false;
                        kw_info("unloaded; press r to load again");
                        return;
                }
                if (a->step == L_QUIT_UNLOAD) {
                        a->step = L_IDLE;
                        quit(a, a->status == KW_EXIT_OK && a->load_failed && a->o->once ? KW_EXIT_LOAD
                                                                                         : a->status);
                        return;
                }
                if (a->load_failed) {
                        load_done_all(a);
                        return;
                }
                a->step = L_LOAD;
                a->idx = 0;
        }
        while (a->idx < a->n_built && !a->built[a->idx].reload)
                a->idx++; /* unchanged and independent of what changed: stays loaded */
        if (a->idx >= a->n_built) {
                load_done_all(a);
                return;
        }
        struct module *m = &a->built[a->idx];
        char host_ko[PATH_MAX * 2];
        snprintf(host_ko, sizeof(host_ko), "%s/%s", a->dir, m->relpath);
        int r = kw_symbolizer_snapshot(a->sym, m->name, host_ko); /* what an oops is resolved against */
        if (r < 0)
                kw_debug("cannot keep a copy of %s for oops reports: %s", host_ko, strerror(-r));
        /* 9p: the share has it already; SSH: copied first (send_load runs when it is there) */
        r = kw_guest_deliver(a->guest, m->relpath, a->load_path, sizeof(a->load_path), send_load, a);
        if (r < 0) {
                kw_err("cannot copy %s to the guest: %s", m->relpath, strerror(-r));
                a->step = L_IDLE;
                a->module_busy_logging = false;
        }
}

static void send_load(void *userdata, int err)
{
        struct app *a = userdata;
        struct module *m = &a->built[a->idx];
        char params[1024];

        if (a->step != L_LOAD)
                return; /* the guest went away while the module was copied */
        if (err < 0) {
                kw_err("cannot copy %s to the guest: %s", m->relpath, strerror(-err));
                a->step = L_IDLE;
                a->module_busy_logging = false;
                if (a->o->once)
                        once_finish(a, KW_EXIT_GUEST);
                return;
        }
        params_for(a, m->name, params, sizeof(params));
        kw_msg_init(&a->msg, KW_LOAD, kw_session_next_id(a->session));
        kw_msg_put_str(&a->msg, KW_F_PATH, a->load_path);
        if (params[0])
                kw_msg_put_str(&a->msg, KW_F_PARAMS, params);
        a->load_start_us = kw_now_us();
        a->suspect = true;
        int r = kw_session_call(a->session, &a->msg, a->o->load_timeout_s * 1000u, on_loaded, a);
        if (r < 0) {
                kw_err("cannot send the load request: %s", strerror(-r));
                a->step = L_IDLE;
                a->module_busy_logging = false;
        }
}

static bool depends_on(const struct module *m, const char *name)
{
        size_t len = strlen(name);

        for (const char *p = m->depends; *p;) {
                size_t n = strcspn(p, ",");
                if (n == len && strncmp(p, name, len) == 0)
                        return true;
                p += n + (p[n] == ',');
        }
        return false;
}

static const struct module *find_module(const struct module *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        return NULL;
}

/* Which built modules this reload loads: those whose .ko differs from the
 * loaded one, and (built[] being in dependency order) everything that depends
 * on one of them. Returns how many. */
static size_t plan_reload(struct app *a)
{
        size_t n = 0;

        for (size_t i = 0; i < a->n_built; i++) {
                struct module *b = &a->built[i];
                const struct module *l = find_module(a->loaded, a->n_loaded, b->name);
                b->reload = a->force_reload || !l || memcmp(l->hash, b->hash, KW_SHA256_LEN) != 0;
                for (size_t j = 0; j < i && !b->reload; j++)
                        b->reload = a->built[j].reload && depends_on(b, a->built[j].name);
                n += b->reload;
        }
        return n;
}

static void show_unchanged(struct app *a)
{
        char names[256];

        module_names(a->built, a->n_built, names, sizeof(names));
        kw_ev_begin("unchanged");
        kw_ev_str("modules", names);
        kw_ev_end();
        if (!kw_ui_json() && kw_ui_verbosity() >= 0)
                kw_info("%s unchanged (the build produced the same .ko): not reloaded", names);
}

static void start_load(struct app *a)
{
        if (a->step != L_IDLE || !kw_session_ready(a->session) || a->restart_reason[0])
                return;
        a->have_build = false;
        a->load_failed = false;
        a->load_total_us = 0;
        a->suspect = false;
        /* Modules of the new build that an earlier run left loaded are stale: unload them too
         * (their hash is unknown, so they count as changed). */
        for (size_t i = 0; i < a->n_built; i++)
                if (!find_module(a->loaded, a->n_loaded, a->built[i].name) && a->n_loaded < KW_MAX_MODULES) {
                        struct module stale = a->built[i];
                        memset(stale.hash, 0, sizeof(stale.hash));
                        a->loaded[a->n_loaded++] = stale;
                }
        size_t n_reload = plan_reload(a);
        a->force_reload = false;
        /* Keep, in load order, what is loaded, still built and not reloaded; the
         * rest goes to the end of loaded[], to be unloaded last-first. */
        struct module keep[KW_MAX_MODULES], drop[KW_MAX_MODULES];
        size_t nk = 0, nd = 0;
        for (size_t j = 0; j < a->n_loaded; j++) {
                const struct module *b = find_module(a->built, a->n_built, a->loaded[j].name);
                if (b && !b->reload)
                        keep[nk++] = a->loaded[j];
                else
                        drop[nd++] = a->loaded[j];
        }
        if (n_reload == 0 && nd == 0) {
                show_unchanged(a);
                return;
        }
        memcpy(a->loaded, keep, nk * sizeof(keep[0]));
        memcpy(a->loaded + nk, drop, nd * sizeof(drop[0]));
        a->n_keep = nk;
        a->module_busy_logging = true;
        a->step = L_UNLOAD;
        a->idx = a->n_loaded; /* nothing finished yet */
        a->collecting = a->o->once; /* the module's first lines come while it loads */
        load_next(a);
}
/* ---- building ---- */

/* built[] in dependency order (.modinfo depends=): a module after every module
 * of this build it uses; otherwise kbuild's modules.order order. */
static int order_by_depends(struct app *a)
{
        struct module sorted[KW_MAX_MODULES];
        bool placed[KW_MAX_MODULES] = { false };
        size_t n = 0;

        while (n < a->n_built) {
                size_t before = n;
                for (size_t i = 0; i < a->n_built; i++) {
                        if (placed[i])
                                continue;
                        bool ready = true;
                        for (size_t j = 0; j < a->n_built && ready; j++)
                                if (j != i && !placed[j] && depends_on(&a->built[i], a->built[j].name))
                                        ready = false;
                        if (!ready)
                                continue;
                        sorted[n++] = a->built[i];
                        placed[i] = true;
                }
                if (n == before) {
                        kw_err("the modules of this build depend on each other in a circle (see their "
                               "depends= in modinfo)");
                        return -ELOOP;
                }
        }
        memcpy(a->built, sorted, n * sizeof(sorted[0]));
        return 0;
}

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
                snprintf(m->depends, sizeof(m->depends), "%s", mi.depends);
                if (kw_sha256_file(path, m->hash) < 0)
                        memset(m->hash, 0, sizeof(m->hash)); /* unknown: always reloaded */
        }
        kw_strv_free(kos, n);
        return order_by_depends(a);
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
                if (a->o->bell)
                        fputc('\a', stderr);
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
        a->hold_build = false; /* the fix for a build that took the guest down */
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
        if (a->o->clear && !kw_ui_json()) {
                fputs("\033[H\033[2J\033[3J", stdout); /* like entr -c */
                fflush(stdout);
        }
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

/* --once: a kernel report during the run decides the status, even if the guest
 * then died or the load failed (PRODUCT.md: 4 beats 1, 3 and 5). */
static int once_status(struct app *a, int status)
{
        if (!a->o->once || !a->oopsed)
                return status;
        if (status == KW_EXIT_OK || status == KW_EXIT_EXPECT || status == KW_EXIT_LOAD || status == KW_EXIT_GUEST)
                return KW_EXIT_OOPS;
        return status;
}

static void quit(struct app *a, int status)
{
        if (kw_loop_exiting(a->loop))
                return;
        show_pending(a);
        status = once_status(a, status);
        a->status = status;
        if (!a->quitting) {
                a->quitting = true;
                kw_build_cancel(a->build);
                a->build = NULL;
                /* Unload what we loaded before the guest goes away (a user's own guest keeps running). */
                if (a->n_loaded && kw_session_ready(a->session) && a->step == L_IDLE && !a->wedged) {
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
        if (a->oops_grace && status != KW_EXIT_OOPS)
                return; /* a report already decided: its grace timer ends the run */
        kw_timer_disarm(a->once_timer);
        a->collecting = false;
        if (a->run_busy)
                return; /* on_run_done finishes */
        if (status == KW_EXIT_OK || status == KW_EXIT_EXPECT)
                tell_expects(a);
        /* --run after the log was collected, before the unload */
        if (a->o->run && !a->run_done && (status == KW_EXIT_OK || status == KW_EXIT_EXPECT) && !a->oopsed &&
            kw_session_ready(a->session) && a->n_loaded) {
                a->run_done = true;
                a->run_final = status;
                if (start_run(a) == 0)
                        return;
        }
        if (a->oops.open && status != KW_EXIT_OOPS) {
                /* a report is still arriving (a load fails as its oops is printed): it decides */
                a->finish_pending = status;
                return;
        }
        a->finish_pending = -1;
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

/* ---- keys ---- */

static const char keys_help[] = "keys: r rebuild and reload, u unload, b reboot the guest, c clear, q quit, ? help";

static void on_key(void *userdata, char key)
{
        struct app *a = userdata;

        if (a->quitting)
                return;
        switch (key) {
        case 'r':
                a->force_reload = true;
                a->change_ms = 0;
                start_build(a);
                break;
        case 'u':
                if (a->step != L_IDLE || !a->n_loaded || !kw_session_ready(a->session)) {
                        kw_info(a->n_loaded ? "busy: try again in a moment" : "nothing is loaded");
                        break;
                }
                a->step = L_UNLOAD_ONLY;
                a->idx = a->n_loaded;
                a->module_busy_logging = true;
                load_next(a);
                break;
        case 'b':
                if (a->o->connect || a->o->ssh) {
                        kw_info("b reboots a guest kmod-watch started; reboot yours from its console");
                        break;
                }
                schedule_restart(a, "restarted from the keyboard (b)", false, 0);
                break;
        case 'c':
                fputs("\033[H\033[2J\033[3J", stdout);
                fflush(stdout);
                break;
        case 'q':
                quit(a, 0);
                break;
        case '?':
        case 'h':
                kw_info("%s", keys_help);
                break;
        default:
                break;
        }
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
        static struct app app; /* big (oops blocks): not on the stack */
        struct app *a = &app;
        sigset_t mask;
        int r;

        *a = (struct app){ .o = o, .sig_fd = -1, .finish_pending = -1 };
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
        if (r >= 0)
                r = kw_timer_new(a->loop, on_oops_timer, a, &a->oops_timer);
        if (r >= 0)
                r = kw_timer_new(a->loop, on_restart_timer, a, &a->restart_timer);
        if (r >= 0)
                r = kw_timer_new(a->loop, on_ping_timer, a, &a->ping_timer);
        if (r >= 0)
                r = kw_timer_new(a->loop, on_show_timer, a, &a->show_timer);
        if (r < 0)
                goto out;

        r = kw_guest_new(a->loop, o, a->dir, KW_SHARE_TAG, &guest_ops, a, &a->guest);
        if (r < 0) {
                status = r == -EINVAL ? KW_EXIT_USAGE : KW_EXIT_GUEST;
                goto out;
        }
        /* the tag is the guest's: ours when managed, the user's with --connect */
        r = kw_session_new(a->loop, &session_ops, a, kw_guest_tag(a->guest), KW_GUEST_MOUNT, &a->session);
        if (r < 0)
                goto out;
        r = kw_symbolizer_new(a->dir, kw_guest_cross_compile(a->guest), &a->sym);
        if (r < 0)
                goto out;
        if (!o->once) {
                r = setup_watch(a);
                if (r < 0)
                        goto out;
        }
        r = kw_guest_start(a->guest);
        if (r < 0)
                goto out;
        if (!o->once && (a->keys = kw_keys_start(a->loop, on_key, a)))
                kw_info("%s", keys_help);
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
        kw_keys_stop();
        kw_build_cancel(a->build);
        kw_guest_free(a->guest);
        kw_watch_stop(a->watch);
        kw_debounce_free(&a->deb);
        kw_filter_free(&a->filter);
        kw_session_free(a->session);
        kw_symbolizer_free(a->sym);
        kw_timer_free(a->oops_timer);
        kw_timer_free(a->restart_timer);
        kw_timer_free(a->ping_timer);
        kw_timer_free(a->show_timer);
        ev_exit(status);
        for (size_t i = 0; i < o->n_expect; i++)
                regfree(&a->re[i]);
        if (a->sig_fd >= 0)
                close(a->sig_fd);
        kw_loop_free(a->loop);
        return status;
}
