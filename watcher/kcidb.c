/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kcidb.c — see kcidb.h. Strings go through kw_json_string (invalid bytes
 * as "\xNN"); log excerpts are cut to the schema's 16384 characters on a
 * character boundary.
 */
#include "kcidb.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gitrev.h"
#include "results.h"
#include "ui.h"
#include "utf8.h"

#define KW_KCIDB_EXCERPT 16000 /* bytes: under the schema's 16384 characters */

static struct {
        char *path;
        char *origin;      /* --kcidb-origin */
        const char *now;   /* the origin of the file being written */
} k;

static void key_str(FILE *f, const char *key, const char *value)
{
        fprintf(f, ",\"%s\":", key);
        kw_json_string(f, value);
}

static void excerpt(FILE *f, const char *text)
{
        size_t n = strlen(text);

        if (!n)
                return;
        if (n > KW_KCIDB_EXCERPT)
                n = kw_utf8_whole(text, KW_KCIDB_EXCERPT);
        char *cut = strndup(text, n);
        if (cut)
                key_str(f, "log_excerpt", cut);
        free(cut);
}

static const char *status(const struct kw_res_case *c)
{
        switch (c->status) {
        case KW_RES_PASS: return "PASS";
        case KW_RES_FAIL: return "FAIL";
        case KW_RES_SKIP: return "SKIP";
        case KW_RES_ERROR: return c->missed ? "MISS" : "ERROR";
        }
        return "ERROR";
}

/* "20261202T072001Z.1234": this run's part of every id. */
static void run_id(const struct kw_results *r, char *buf, size_t size)
{
        size_t n = 0;

        for (const char *p = r->start_time; *p && *p != '.' && n + 1 < size; p++)
                if (*p != '-' && *p != ':')
                        buf[n++] = *p;
        snprintf(buf + n, size - n, "Z.%ld", (long)getpid());
}

static void one_build(FILE *f, const struct kw_results *r, const char *id, const char *checkout,
                      const struct kw_res_case *c, bool *first)
{
        fprintf(f, "%s{\"id\":", *first ? "" : ",");
        *first = false;
        kw_json_string(f, id);
        key_str(f, "checkout_id", checkout);
        key_str(f, "origin", k.now);
        if (r->arch[0])
                key_str(f, "architecture", r->arch);
        if (r->recipe[0])
                key_str(f, "command", r->recipe);
        if (c) {
                key_str(f, "start_time", c->time);
                fprintf(f, ",\"duration\":%.3f", c->seconds);
                key_str(f, "status", status(c));
                excerpt(f, c->body);
        }
        fputc('}', f);
}

static void one_test(FILE *f, const struct kw_results *r, const char *id, const char *build,
                     const struct kw_res_case *c, bool *first)
{
        char env[400];

        fprintf(f, "%s{\"id\":", *first ? "" : ",");
        *first = false;
        kw_json_string(f, id);
        key_str(f, "build_id", build);
        key_str(f, "origin", k.now);
        key_str(f, "path", c->path);
        key_str(f, "status", status(c));
        key_str(f, "start_time", c->time);
        fprintf(f, ",\"duration\":%.3f", c->seconds);
        excerpt(f, c->body[0] ? c->body : c->message);
        snprintf(env, sizeof(env), "%s %s, %s guest", r->kernel_release[0] ? r->kernel_release : "no kernel",
                 r->arch, r->cfg.guest ? r->cfg.guest : "");
        fputs(",\"environment\":{\"comment\":", f);
        kw_json_string(f, env);
        fputs("},\"misc\":{\"name\":", f);
        kw_json_string(f, c->name);
        if (c->message[0])
                key_str(f, "message", c->message);
        if (c->fingerprint[0])
                key_str(f, "fingerprint", c->fingerprint);
        fputs("}}", f);
}

/* Is this fingerprint's issue written already (an earlier case, of this suite or an earlier one)? */
static bool issue_before(const struct kw_results *all, const struct kw_results *r, size_t i)
{
        const char *fp = r->v[i].fingerprint;

        for (const struct kw_results *s = all; s; s = s->next) {
                for (size_t j = 0; j < (s == r ? i : s->n); j++)
                        if (s->v[j].fingerprint[0] && strcmp(s->v[j].fingerprint, fp) == 0)
                                return true;
                if (s == r)
                        break;
        }
        return false;
}

/* A suite's part of its ids: the checkout's, and a matrix target's ("….x86_64_6_1"). */
static void suite_id(const struct kw_results *r, const char *checkout, char *buf, size_t size)
{
        char part[80];

        kw_results_path_part(r->target, part, sizeof(part));
        snprintf(buf, size, "%s%s%s", checkout, r->target[0] ? "." : "", r->target[0] ? part : "");
}

static void builds(FILE *f, const struct kw_results *r, const char *checkout, bool *first)
{
        char sid[240], build[300];
        size_t n = 0;

        suite_id(r, checkout, sid, sizeof(sid));
        /* a build object per build case; the tests after it belong to it */
        for (size_t i = 0; i < r->n; i++) {
                if (strcmp(r->v[i].kind, "build") != 0)
                        continue;
                snprintf(build, sizeof(build), "%s.build.%zu", sid, ++n);
                one_build(f, r, build, checkout, &r->v[i], first);
        }
        if (!n) { /* tests need a build to hang from */
                snprintf(build, sizeof(build), "%s.build.0", sid);
                one_build(f, r, build, checkout, NULL, first);
        }
}

static void tests(FILE *f, const struct kw_results *r, const char *checkout, bool *first)
{
        char sid[240], build[300], id[300];
        size_t n = 0;

        suite_id(r, checkout, sid, sizeof(sid));
        snprintf(build, sizeof(build), "%s.build.0", sid);
        for (size_t i = 0; i < r->n; i++) {
                if (strcmp(r->v[i].kind, "build") == 0) {
                        snprintf(build, sizeof(build), "%s.build.%zu", sid, ++n);
                        continue;
                }
                snprintf(id, sizeof(id), "%s.test.%zu", sid, i + 1);
                one_test(f, r, id, build, &r->v[i], first);
        }
}

static void issues(FILE *f, const struct kw_results *all, const struct kw_results *r, const char *origin, bool *first)
{
        for (size_t i = 0; i < r->n; i++) {
                const struct kw_res_case *c = &r->v[i];
                if (!c->fingerprint[0] || issue_before(all, r, i))
                        continue;
                fprintf(f, "%s{\"id\":\"%s:%s\",\"version\":1", *first ? "" : ",", origin, c->fingerprint);
                *first = false;
                key_str(f, "origin", origin);
                key_str(f, "report_subject", c->title);
                fprintf(f, ",\"categories\":[\"runtime.%s\"],\"culprit\":{\"code\":true}}",
                        c->oops_kind[0] ? c->oops_kind : "oops");
        }
}

static void incidents(FILE *f, const struct kw_results *r, const char *checkout, const char *origin, bool *first)
{
        char sid[240];

        suite_id(r, checkout, sid, sizeof(sid));
        for (size_t i = 0; i < r->n; i++) {
                const struct kw_res_case *c = &r->v[i];
                if (!c->fingerprint[0])
                        continue;
                fprintf(f, "%s{\"id\":\"%s.incident.%zu\",\"issue_id\":\"%s:%s\",\"issue_version\":1",
                        *first ? "" : ",", sid, i + 1, origin, c->fingerprint);
                *first = false;
                key_str(f, "origin", origin);
                fprintf(f, ",\"test_id\":\"%s.test.%zu\",\"present\":true}", sid, i + 1);
        }
}

int kw_kcidb_write(FILE *f, const struct kw_results *r, const char *origin)
{
        char run[64], checkout[128];
        struct kw_gitrev git;
        bool first = true;

        k.now = origin;
        run_id(r, run, sizeof(run));
        snprintf(checkout, sizeof(checkout), "%s:%s", origin, run);
        fputs("{\"version\":{\"major\":5,\"minor\":3},\"checkouts\":[{\"id\":", f);
        kw_json_string(f, checkout);
        key_str(f, "origin", origin);
        key_str(f, "start_time", r->start_time);
        if (kw_gitrev(r->cfg.dir ? r->cfg.dir : ".", &git) == 0) {
                key_str(f, "git_commit_hash", git.commit);
                if (git.branch[0])
                        key_str(f, "git_repository_branch", git.branch);
        }
        key_str(f, "tree_name", r->unit);
        fputs(",\"valid\":true}],\"builds\":[", f);
        for (const struct kw_results *s = r; s; s = s->next)
                builds(f, s, checkout, &first);
        fputs("],\"tests\":[", f);
        first = true;
        for (const struct kw_results *s = r; s; s = s->next)
                tests(f, s, checkout, &first);
        fputs("],\"issues\":[", f);
        first = true;
        for (const struct kw_results *s = r; s; s = s->next)
                issues(f, r, s, origin, &first);
        fputs("],\"incidents\":[", f);
        first = true;
        for (const struct kw_results *s = r; s; s = s->next)
                incidents(f, s, checkout, origin, &first);
        fputs("]}\n", f);
        return ferror(f) ? -EIO : 0;
}

static int fill(FILE *f, const struct kw_results *r)
{
        return kw_kcidb_write(f, r, k.origin);
}

static void on_results(const struct kw_results *r, bool final, void *userdata)
{
        (void)final;
        (void)userdata;
        int e = kw_results_write_file(k.path, fill, r);
        if (e < 0)
                kw_err("cannot write --kcidb %s: %s", k.path, strerror(-e));
}

int kw_kcidb_open(const char *path, const char *origin)
{
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fclose(f);
        k.path = strdup(path);
        k.origin = strdup(origin);
        if (!k.path || !k.origin)
                return -ENOMEM;
        return kw_results_add_writer(on_results, NULL);
}
