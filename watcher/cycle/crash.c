/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crash.c — one oops event and one human block per kernel report.
 *
 * A report without an end marker is over after KW_OOPS_QUIET_MS of quiet, or
 * KW_OOPS_MAX_AGE_MS after it began. A report read on the console (ahead of
 * the kernel log) is shown below the kernel log's copy of its lines, so the
 * module's last words come first.
 *
 * The same non-fatal report again and again in a row (a WARNING in a loop:
 * the same kind and title) is one report: the first is shown and reported up
 * at once, the repeats are counted, and its oops event (count: the
 * fingerprint's count this session, repeats included; repeated: how many came
 * in a row) and a "(the same report N more times)" line come when the run of
 * repeats ends: KW_OOPS_SETTLE_MS without one, another report, or
 * kw_crash_settle() at the end. A fatal report (the kernel killed the task) has its event at once.
 */
#include "crash.h"

#include <stdio.h>
#include <string.h>

#include "symbolize.h"
#include "ui.h"

#define KW_OOPS_QUIET_MS 1000
#define KW_OOPS_SETTLE_MS 2000   /* a run of the same report is over after this long without one */
#define KW_OOPS_MAX_AGE_MS 5000
#define KW_OOPS_SHOW_MS 1000     /* the console's report waits this long for the kernel log's copy */
#define KW_SHOWN_FRAMES 16       /* trace lines in the human block */
#define KW_RESOLVED_FRAMES 8     /* addr2line runs per report at most */

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

static void resolve_frame(struct kw_crash *c, const struct kw_oops_frame *f, struct kw_crash_src *ret,
                          unsigned *budget)
{
        ret->src[0] = 0;
        if (!c->sym || !f->module[0] || !*budget)
                return;
        (*budget)--;
        if (kw_symbolizer_resolve(c->sym, f, ret->path, sizeof(ret->path), &ret->line) < 0)
                return;
        kw_symbolizer_shown(c->sym, ret->path, ret->line, ret->src, sizeof(ret->src));
}

/* How often this fingerprint came this session, this time included. */
static unsigned count_seen(struct kw_crash *c, const char *fingerprint)
{
        size_t i;

        for (i = 0; i < c->n_seen; i++)
                if (strcmp(c->seen[i].fingerprint, fingerprint) == 0)
                        return ++c->seen[i].n;
        if (i == KW_CRASH_SEEN) /* full: the oldest makes room */
                memmove(c->seen, c->seen + 1, sizeof(c->seen[0]) * --i);
        else
                c->n_seen++;
        snprintf(c->seen[i].fingerprint, sizeof(c->seen[i].fingerprint), "%s", fingerprint);
        return c->seen[i].n = 1;
}

static void show_block(const struct kw_oops *o, const struct kw_crash_src *where, const struct kw_crash_src *res,
                       unsigned count)
{
        char frame[320];

        if (o->has_where)
                kw_note_err("%s in %s%s%s%s%s%s", kind_words(o->kind), o->where.function,
                            o->where.module[0] ? " [" : "", o->where.module, o->where.module[0] ? "]" : "",
                            where->src[0] ? " at " : "", where->src);
        else
                kw_note_err("%s", kind_words(o->kind));
        kw_note_detail("%s", o->text);
        if (where->src[0]) {
                char text[256];
                if (kw_source_line(where->path, where->line, text, sizeof(text)) == 0) {
                        const char *t = text;
                        while (*t == ' ' || *t == '\t')
                                t++;
                        kw_note_detail("%s: %s", where->src, t);
                }
        }
        if (count > 1)
                kw_note_detail("seen before (%u time%s this session)", count - 1, count == 2 ? "" : "s");
        if (o->tainted[0])
                kw_note_detail("tainted: %s", o->tainted);
        if (!o->n_frames)
                return;
        kw_note_detail("call trace:");
        for (size_t i = 0; i < o->n_frames && i < KW_SHOWN_FRAMES; i++) {
                kw_oops_format_frame(&o->frames[i], frame, sizeof(frame));
                kw_note_detail("  %s%s%s", frame, res[i].src[0] ? "  " : "", res[i].src);
        }
        if (o->n_frames > KW_SHOWN_FRAMES)
                kw_note_detail("  … %zu more", o->n_frames - KW_SHOWN_FRAMES);
}

void kw_crash_show_now(struct kw_crash *c)
{
        if (!c->show_pending)
                return;
        c->show_pending = false;
        kw_timer_disarm(c->show_timer);
        show_block(&c->shown, &c->shown_where, c->shown_res, c->shown_count);
}

static void on_show_timer(void *userdata)
{
        kw_crash_show_now(userdata);
}

/* The oops event of the last report. */
static void emit_event(struct kw_crash *c)
{
        static char frames[KW_OOPS_MAX_FRAMES][PATH_MAX + 400];
        const char *fv[KW_OOPS_MAX_FRAMES];
        const struct kw_oops *o = &c->last;

        for (size_t i = 0; i < o->n_frames; i++) {
                kw_oops_format_frame(&o->frames[i], frames[i], sizeof(frames[i]));
                if (c->last_res[i].src[0]) {
                        size_t n = strlen(frames[i]);
                        snprintf(frames[i] + n, sizeof(frames[i]) - n, " (%s)", c->last_res[i].src);
                }
                fv[i] = frames[i];
        }
        kw_ev_begin("oops");
        kw_ev_str("kind", kw_oops_kind_name(o->kind));
        kw_ev_str("title", c->last_sig.title);
        kw_ev_str("fingerprint", c->last_sig.fingerprint);
        kw_ev_int("count", c->last_count);
        kw_ev_int("repeated", (long long)(1 + c->repeats));
        kw_ev_str("text", o->text);
        kw_ev_str("function", o->has_where ? o->where.function : "");
        kw_ev_str("module", o->has_where ? o->where.module : "");
        if (c->last_where.src[0])
                kw_ev_str("source", c->last_where.src);
        kw_ev_strv("trace", fv, o->n_frames);
        kw_ev_str("tainted", o->tainted);
        kw_ev_bool("fatal", o->fatal);
        kw_ev_str("report", o->lines);
        kw_ev_end();
}

void kw_crash_settle(struct kw_crash *c)
{
        kw_crash_show_now(c);
        kw_timer_disarm(c->settle_timer);
        if (!c->event_pending)
                return;
        c->event_pending = false;
        emit_event(c);
        if (c->repeats)
                kw_note_detail("… (the same report %llu more time%s)", (unsigned long long)c->repeats,
                               c->repeats == 1 ? "" : "s");
        c->repeats = 0;
}

static void on_settle_timer(void *userdata)
{
        kw_crash_settle(userdata);
}

void kw_crash_close(struct kw_crash *c)
{
        kw_crash_settle(c);
        c->closed = true;
}

static void report(struct kw_crash *c, const struct kw_oops *o)
{
        struct kw_crash_src *res = c->shown_res, where = { .src = "" };
        unsigned budget = KW_RESOLVED_FRAMES;
        struct kw_crashsig sig;
        char what[400];

        if (c->closed)
                return; /* the run is over: its status is decided, its reports said */
        kw_crashsig(o, &sig);
        /* the same title in a row (kind, first line, faulting function): a block the quiet timer
         * cut short under load has fewer frames, so another fingerprint, but is the same report */
        if (c->event_pending && o->kind == c->last.kind && strcmp(sig.title, c->last_sig.title) == 0) {
                /* counted, not shown again: the cycle already decided on the first */
                unsigned n = count_seen(c, sig.fingerprint);
                if (strcmp(sig.fingerprint, c->last_sig.fingerprint) == 0)
                        c->last_count = n;
                c->repeats++;
                kw_timer_arm_ms(c->settle_timer, KW_OOPS_SETTLE_MS);
                return;
        }
        kw_crash_settle(c); /* the last report's event, before this one's block */
        kw_ui_bell();
        if (o->has_where)
                resolve_frame(c, &o->where, &where, &budget);
        for (size_t i = 0; i < o->n_frames; i++) {
                if (o->has_where && o->frames[i].exact == o->where.exact &&
                    strcmp(o->frames[i].function, o->where.function) == 0 &&
                    o->frames[i].offset == o->where.offset && strcmp(o->frames[i].module, o->where.module) == 0)
                        res[i] = where;
                else
                        resolve_frame(c, &o->frames[i], &res[i], &budget);
        }
        unsigned count = count_seen(c, sig.fingerprint);

        c->last = *o;
        c->last_sig = sig;
        c->last_count = count;
        c->last_where = where;
        memcpy(c->last_res, res, sizeof(c->last_res));
        if (o->fatal) {
                emit_event(c); /* at once: the cycle's next events (a failed load) follow from it */
        } else {
                c->event_pending = true;
                kw_timer_arm_ms(c->settle_timer, KW_OOPS_SETTLE_MS);
        }

        c->shown = *o;
        c->shown_where = where;
        c->shown_count = count;
        c->show_pending = true;
        /* read on the console, ahead of the kernel log: shown below the log's copy */
        if (o->last_src == KW_OOPS_SRC_CONSOLE && c->hooks->channel_up(c->core))
                kw_timer_arm_ms(c->show_timer, KW_OOPS_SHOW_MS);
        else
                kw_crash_show_now(c);

        if (o->has_where)
                snprintf(what, sizeof(what), "%s in %s%s%.200s", kind_words(o->kind), o->where.function,
                         where.src[0] ? " at " : "", where.src);
        else
                snprintf(what, sizeof(what), "%s", o->text);
        c->hooks->report(c->core, o, what);
}

static void result(struct kw_crash *c, int r)
{
        uint64_t now = kw_loop_now_ms(c->loop);

        if (r & KW_OOPS_ECHO)
                kw_crash_show_now(c);
        if (r & KW_OOPS_DONE) {
                kw_crash_show_now(c);
                report(c, kw_oops_done(&c->scanner));
        }
        if (!(r & KW_OOPS_OPEN)) {
                c->open_ms = 0;
                kw_timer_disarm(c->quiet_timer);
                c->hooks->quiet(c->core);
                return;
        }
        if (!c->open_ms || (r & KW_OOPS_DONE))
                c->open_ms = now; /* a new block */
        uint64_t age = now - c->open_ms;
        kw_timer_arm_ms(c->quiet_timer, age >= KW_OOPS_MAX_AGE_MS ? 0 : KW_OOPS_QUIET_MS);
}

void kw_crash_feed(struct kw_crash *c, enum kw_oops_src src, const char *line)
{
        result(c, kw_oops_feed(&c->scanner, src, line));
}

void kw_crash_flush(struct kw_crash *c)
{
        result(c, kw_oops_flush(&c->scanner));
}

static void on_quiet_timer(void *userdata)
{
        kw_crash_flush(userdata);
}

bool kw_crash_open(const struct kw_crash *c)
{
        return c->scanner.open;
}

int kw_crash_init(struct kw_crash *c, struct kw_loop *l, struct kw_symbolizer *sym,
                  const struct kw_crash_hooks *hooks, void *core)
{
        int r;

        c->hooks = hooks;
        c->core = core;
        c->loop = l;
        c->sym = sym;
        kw_oops_init(&c->scanner);
        r = kw_timer_new(l, on_quiet_timer, c, &c->quiet_timer);
        if (r >= 0)
                r = kw_timer_new(l, on_settle_timer, c, &c->settle_timer);
        if (r < 0)
                return r;
        return kw_timer_new(l, on_show_timer, c, &c->show_timer);
}

void kw_crash_fini(struct kw_crash *c)
{
        kw_timer_free(c->quiet_timer);
        kw_timer_free(c->show_timer);
        kw_timer_free(c->settle_timer);
        c->quiet_timer = c->show_timer = c->settle_timer = NULL;
}
