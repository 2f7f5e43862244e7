/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * results.c — see results.h. The model only grows while the run goes on;
 * the writers read it and keep no state of their own but what they have
 * already printed.
 */
#include "results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui.h"

#define KW_RES_WRITERS 8
#define KW_RES_RUN_OUT 16384 /* --run output kept for its case */

static struct kw_results first;      /* the run's suite, or a matrix's first target's */
static struct kw_results *cur = &first; /* the suite the event being read is about */
static struct {
        kw_res_write_fn fn;
        void *userdata;
} writers[KW_RES_WRITERS];
static size_t n_writers;

static char *dup0(const char *s)
{
        char *d = strdup(s ? s : "");

        return d ? d : calloc(1, 1);
}

static void set(char **dst, const char *s)
{
        free(*dst);
        *dst = dup0(s);
}

void kw_results_path_part(const char *name, char *buf, size_t size)
{
        size_t n = 0;

        for (; name && *name && n + 1 < size; name++) {
                char c = *name;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '-';
                buf[n++] = ok ? c : '_';
        }
        if (!n && size > 1)
                buf[n++] = '_';
        buf[n] = 0;
}

/* A case at kmod.<root>.<leaf>; root NULL: the run's unit. */
static struct kw_res_case *add(const char *kind, const char *name, const char *root, const char *leaf,
                               enum kw_res_status status, const char *message, const char *body, double seconds)
{
        if (cur->n == cur->cap) {
                size_t cap = cur->cap ? cur->cap * 2 : 16;
                struct kw_res_case *v = realloc(cur->v, cap * sizeof(*v));
                if (!v)
                        return NULL;
                cur->v = v;
                cur->cap = cap;
        }
        char path[256], part[64];
        kw_results_path_part(root ? root : cur->unit, part, sizeof(part));
        snprintf(path, sizeof(path), "kmod.%s.%s", part, leaf);
        struct kw_res_case *c = &cur->v[cur->n++];
        *c = (struct kw_res_case){
                .kind = dup0(kind),
                .name = dup0(name),
                .path = dup0(path),
                .status = status,
                .message = dup0(status == KW_RES_PASS ? "" : message),
                .body = dup0(body),
                .title = dup0(""),
                .seconds = seconds,
        };
        kw_ui_wall_time(c->time, sizeof(c->time));
        return c;
}

static const char *field(const struct kw_ev *e, const char *k)
{
        const char *v = kw_ev_field(e, k);

        return v ? v : "";
}

static bool is_true(const struct kw_ev *e, const char *k)
{
        return strcmp(field(e, k), "true") == 0;
}

static double seconds(const struct kw_ev *e)
{
        return strtod(field(e, "ms"), NULL) / 1000.0;
}

static bool has_case(const char *kind, const char *name)
{
        for (size_t i = 0; i < cur->n; i++)
                if (strcmp(cur->v[i].kind, kind) == 0 && strcmp(cur->v[i].name, name) == 0)
                        return true;
        return false;
}

/* The first line of the compiler's messages that says "error", else the first line. */
static void first_error(const char *log, char *buf, size_t size)
{
        const char *line = strstr(log, "error");
        if (line)
                while (line > log && line[-1] != '\n')
                        line--;
        else
                line = log;
        snprintf(buf, size, "%.*s", (int)strcspn(line, "\n"), line);
}

static void on_build_end(const struct kw_ev *e)
{
        char message[512];

        if (is_true(e, "superseded"))
                return; /* a replay stopped for newer changes: the next build_end says */
        cur->build_seen = true;
        cur->build_ok = is_true(e, "ok");
        cur->build_seconds = seconds(e);
        kw_ui_wall_time(cur->build_time, sizeof(cur->build_time));
        if (cur->build_ok) {
                for (size_t i = 0; i < cur->n_modules; i++)
                        free(cur->modules[i]);
                cur->n_modules = 0;
                const char *p = field(e, "modules");
                size_t n = 1;
                for (const char *q = p; *q; q++)
                        n += *q == '\n';
                char **v = realloc(cur->modules, n * sizeof(*v));
                if (v) {
                        cur->modules = v;
                        while (*p) {
                                size_t len = strcspn(p, "\n");
                                cur->modules[cur->n_modules++] = strndup(p, len);
                                p += len + (p[len] == '\n');
                        }
                }
                if (cur->n_modules && cur->modules[0])
                        kw_results_path_part(cur->modules[0], cur->unit, sizeof(cur->unit));
                set(&cur->build_log, "");
        } else {
                set(&cur->build_log, field(e, "error"));
        }
        first_error(cur->build_log, message, sizeof(message));
        add("build", "build", NULL, "build", cur->build_ok ? KW_RES_PASS : KW_RES_FAIL,
            message[0] ? message : "the build failed", cur->build_log, cur->build_seconds);
}

static enum kw_res_status verdict(const struct kw_ev *e, bool ok)
{
        if (ok)
                return KW_RES_PASS;
        return is_true(e, "harness") ? KW_RES_ERROR : KW_RES_FAIL;
}

static void on_module(const char *event, const struct kw_ev *e)
{
        char name[256];
        const char *module = field(e, "module");
        bool ok = is_true(e, "ok");

        snprintf(name, sizeof(name), "%s %s", event, module);
        add(event, name, module, event, verdict(e, ok), field(e, "error"), "", seconds(e));
}

static void on_expect(const struct kw_ev *e)
{
        char name[1100], leaf[32];

        snprintf(name, sizeof(name), "expect %s", field(e, "pattern"));
        snprintf(leaf, sizeof(leaf), "expect.%zu", ++cur->n_expect_seen);
        add("expect", name, NULL, leaf, is_true(e, "ok") ? KW_RES_PASS : KW_RES_FAIL,
            "no kernel log line matched before --timeout", "", 0);
}

static void on_run(const struct kw_ev *e)
{
        char name[1100], why[1100];
        const char *status = field(e, "status");
        bool ok = strcmp(status, "0") == 0;

        snprintf(name, sizeof(name), "run %s", field(e, "cmd"));
        snprintf(why, sizeof(why), "exit status %s%s%s", status, *field(e, "error") ? ": " : "", field(e, "error"));
        add("run", name, NULL, "run", verdict(e, ok), why, cur->run_out, seconds(e));
        set(&cur->run_out, "");
}

static void on_run_output(const struct kw_ev *e)
{
        const char *text = field(e, "text");
        size_t have = cur->run_out ? strlen(cur->run_out) : 0, more = strlen(text);

        if (have + more > KW_RES_RUN_OUT)
                return; /* the rest is on stdout */
        char *s = realloc(cur->run_out, have + more + 1);
        if (!s)
                return;
        memcpy(s + have, text, more + 1);
        cur->run_out = s;
}

static void on_oops(const struct kw_ev *e)
{
        char name[300], leaf[64];
        const char *fp = field(e, "fingerprint");

        snprintf(name, sizeof(name), "kernel %s %s", field(e, "kind"), fp);
        snprintf(leaf, sizeof(leaf), "kernel.%s", *fp ? fp : "report");
        const char *module = field(e, "module");
        struct kw_res_case *c = add("kernel", name, *module ? module : NULL, leaf, KW_RES_FAIL, field(e, "title"), field(e, "report"), 0);
        if (!c)
                return;
        snprintf(c->fingerprint, sizeof(c->fingerprint), "%s", fp);
        snprintf(c->oops_kind, sizeof(c->oops_kind), "%s", field(e, "kind"));
        set(&c->title, field(e, "title"));
}

static void missed(const char *kind, const char *name, const char *root, const char *leaf, enum kw_res_status status,
                   const char *message, const char *body, double secs)
{
        struct kw_res_case *c = add(kind, name, root, leaf, status, message, body, secs);

        if (c)
                c->missed = strcmp(kind, "guest") != 0; /* the guest case is the harness failing */
}

/* A --once run that ended early still shows what it did not get to. */
static void fill_missing(void)
{
        bool no_guest = cur->exit_status == 5;
        enum kw_res_status st = no_guest ? KW_RES_ERROR : KW_RES_SKIP;
        char why[1200], name[1100], leaf[200];
        const char *reason = cur->exit_error[0] ? cur->exit_error : "the run ended first";

        if (!cur->build_seen) {
                snprintf(why, sizeof(why), "the build did not finish: %s", reason);
                missed("build", "build", NULL, "build", st, why, "", 0);
        }
        for (size_t i = 0; i < cur->n_modules; i++) {
                snprintf(name, sizeof(name), "load %s", cur->modules[i]);
                if (has_case("load", name))
                        continue;
                snprintf(why, sizeof(why), "not loaded: %s", reason);
                missed("load", name, cur->modules[i], "load", st, why, "", 0);
        }
        while (cur->n_expect_seen < cur->cfg.n_expect) {
                snprintf(name, sizeof(name), "expect %s", cur->cfg.expect[cur->n_expect_seen]);
                snprintf(leaf, sizeof(leaf), "expect.%zu", ++cur->n_expect_seen);
                snprintf(why, sizeof(why), "not checked: %s", reason);
                missed("expect", name, NULL, leaf, st, why, "", 0);
        }
        snprintf(name, sizeof(name), "run %s", cur->cfg.run ? cur->cfg.run : "");
        if (cur->cfg.run && !has_case("run", name)) {
                snprintf(why, sizeof(why), "not run: %s", reason);
                missed("run", name, NULL, "run", st, why, "", 0);
        }
        if (no_guest) {
                snprintf(why, sizeof(why), "%s: %s", cur->ready_seen ? "the guest was lost" : "no guest", reason);
                missed("guest", "guest", NULL, "guest", KW_RES_ERROR, why, "", 0);
        }
}

static void tell(bool final)
{
        for (size_t i = 0; i < n_writers; i++)
                writers[i].fn(&first, final, writers[i].userdata);
}

/* A new suite starts as the run's first did. */
static void suite_init(struct kw_results *r, const struct kw_results_cfg *cfg)
{
        const char *base;

        r->cfg = *cfg;
        base = strrchr(cfg->dir ? cfg->dir : ".", '/');
        base = base && base[1] ? base + 1 : cfg->dir ? cfg->dir : ".";
        kw_results_path_part(strcmp(base, ".") == 0 ? "module" : base, r->unit, sizeof(r->unit));
        r->build_log = dup0("");
        r->exit_error = dup0("");
        r->run_out = dup0("");
        kw_ui_wall_time(r->start_time, sizeof(r->start_time));
}

/* A matrix's events say their target: each target is a suite, in the order they first spoke. */
static struct kw_results *suite(const char *target)
{
        struct kw_results *r = &first, *last = NULL;

        if (!first.target[0] && !first.n && !first.ready_seen && !first.exited) {
                snprintf(first.target, sizeof(first.target), "%s", target);
                return &first;
        }
        for (; r; r = r->next) {
                if (strcmp(r->target, target) == 0)
                        return r;
                last = r;
        }
        r = calloc(1, sizeof(*r));
        if (!r)
                return NULL;
        suite_init(r, &first.cfg);
        snprintf(r->target, sizeof(r->target), "%s", target);
        last->next = r;
        return r;
}

static void on_event(void *userdata, const char *event, const struct kw_ev *e)
{
        const char *target = kw_ev_field(e, "target");

        (void)userdata;
        cur = &first;
        if (target && *target) {
                struct kw_results *s = suite(target);
                if (!s)
                        return;
                cur = s;
        } else if (first.target[0]) {
                /* a matrix's own events: its exit is the end of every suite */
                if (strcmp(event, "exit") == 0)
                        tell(true);
                return;
        }
        size_t before = cur->n;

        if (strcmp(event, "recipe") == 0) {
                snprintf(cur->recipe, sizeof(cur->recipe), "%s", field(e, "recipe"));
        } else if (strcmp(event, "ready") == 0) {
                cur->ready_seen = true;
                snprintf(cur->arch, sizeof(cur->arch), "%s", field(e, "arch"));
                snprintf(cur->kernel_release, sizeof(cur->kernel_release), "%s", field(e, "kernel_release"));
                snprintf(cur->transport, sizeof(cur->transport), "%s", field(e, "transport"));
        } else if (strcmp(event, "build_end") == 0) {
                on_build_end(e);
        } else if (strcmp(event, "load") == 0 || strcmp(event, "unload") == 0) {
                on_module(event, e);
        } else if (strcmp(event, "expect") == 0) {
                on_expect(e);
        } else if (strcmp(event, "run") == 0) {
                on_run(e);
        } else if (strcmp(event, "run_output") == 0) {
                on_run_output(e);
        } else if (strcmp(event, "oops") == 0) {
                on_oops(e);
        } else if (strcmp(event, "exit") == 0 && !cur->exited) {
                cur->exited = true;
                cur->exit_status = atoi(field(e, "status"));
                set(&cur->exit_error, field(e, "error"));
                if (cur->cfg.once)
                        fill_missing();
                tell(!cur->target[0]); /* a matrix's target: its parent's exit is the last word */
                return;
        }
        if (cur->n != before)
                tell(false);
}

int kw_results_open(const struct kw_results_cfg *cfg)
{
        if (first.build_log) /* opened already: the writers are added to it */
                return 0;
        suite_init(&first, cfg);
        kw_ev_set_sink(on_event, NULL);
        return 0;
}

int kw_results_add_writer(kw_res_write_fn fn, void *userdata)
{
        if (n_writers == KW_RES_WRITERS)
                return -ENOSPC;
        writers[n_writers].fn = fn;
        writers[n_writers++].userdata = userdata;
        return 0;
}

static void suite_free(struct kw_results *r)
{
        for (size_t i = 0; i < r->n; i++) {
                struct kw_res_case *c = &r->v[i];
                free(c->kind), free(c->name), free(c->path), free(c->message), free(c->body), free(c->title);
        }
        for (size_t i = 0; i < r->n_modules; i++)
                free(r->modules[i]);
        free(r->modules), free(r->v), free(r->build_log), free(r->exit_error), free(r->run_out);
}

void kw_results_reset(void)
{
        struct kw_results *r = (struct kw_results *)first.next;

        while (r) {
                struct kw_results *next = (struct kw_results *)r->next;
                suite_free(r);
                free(r);
                r = next;
        }
        suite_free(&first);
        first = (struct kw_results){ 0 };
        cur = &first;
        n_writers = 0;
        kw_ev_set_sink(NULL, NULL);
}

const struct kw_results *kw_results_get(void)
{
        return &first;
}

void kw_results_count(const struct kw_results *r, size_t count[4])
{
        memset(count, 0, 4 * sizeof(count[0]));
        for (size_t i = 0; i < r->n; i++)
                count[r->v[i].status]++;
}

int kw_results_write_file(const char *path, int (*fill)(FILE *f, const struct kw_results *r),
                          const struct kw_results *r)
{
        char tmp[4200];

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *f = fopen(tmp, "we");
        if (!f)
                return -errno;
        int e = fill(f, r);
        if (fclose(f) != 0 && !e)
                e = -errno;
        if (!e && rename(tmp, path) < 0)
                e = -errno;
        if (e)
                (void)unlink(tmp);
        return e;
}
