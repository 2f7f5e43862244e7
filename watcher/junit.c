/* SPDX-License-Identifier: MIT */
/*
 * junit.c — see junit.h. Cases are collected in memory and the whole file is
 * written atomically (temp file + rename) so a reader never sees half of it.
 */
#include "junit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui.h"

struct jcase {
        char *name;
        char *classname;
        double seconds;
        char *failure; /* NULL: passed */
};

static struct {
        char *path;
        struct jcase *v;
        size_t n, cap;
} j;

static char *dup_or_empty(const char *s)
{
        return strdup(s ? s : "");
}

static void add(const char *classname, const char *name, double seconds, const char *failure)
{
        if (j.n == j.cap) {
                size_t cap = j.cap ? j.cap * 2 : 16;
                struct jcase *v = realloc(j.v, cap * sizeof(*v));
                if (!v)
                        return;
                j.v = v;
                j.cap = cap;
        }
        j.v[j.n++] = (struct jcase){
                .name = dup_or_empty(name),
                .classname = dup_or_empty(classname),
                .seconds = seconds,
                .failure = failure ? strdup(failure) : NULL,
        };
}

static void xml_escape(FILE *f, const char *s)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                switch (c) {
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '&': fputs("&amp;", f); break;
                case '"': fputs("&quot;", f); break;
                case '\n': case '\t': fputc(c, f); break;
                default:
                        /* XML 1.0 has no place for other control characters */
                        fputc(c < 0x20 ? '?' : c, f);
                }
        }
}

static int write_file(void)
{
        char tmp[4200];
        size_t failures = 0;
        double total = 0;

        snprintf(tmp, sizeof(tmp), "%s.tmp", j.path);
        FILE *f = fopen(tmp, "we");
        if (!f)
                return -errno;
        for (size_t i = 0; i < j.n; i++) {
                failures += j.v[i].failure != NULL;
                total += j.v[i].seconds;
        }
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        fprintf(f, "<testsuites tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n", j.n, failures, total);
        fprintf(f, "  <testsuite name=\"kmod-watch\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                   "skipped=\"0\" time=\"%.3f\">\n", j.n, failures, total);
        for (size_t i = 0; i < j.n; i++) {
                struct jcase *c = &j.v[i];
                fputs("    <testcase classname=\"", f);
                xml_escape(f, c->classname);
                fputs("\" name=\"", f);
                xml_escape(f, c->name);
                fprintf(f, "\" time=\"%.3f\"", c->seconds);
                if (!c->failure) {
                        fputs("/>\n", f);
                        continue;
                }
                fputs(">\n      <failure message=\"", f);
                xml_escape(f, c->failure);
                fputs("\"/>\n    </testcase>\n", f);
        }
        fputs("  </testsuite>\n</testsuites>\n", f);
        if (fclose(f) != 0 || rename(tmp, j.path) < 0) {
                int r = -errno;
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

static double ms_field(const struct kw_ev *e, const char *k)
{
        const char *v = kw_ev_field(e, k);

        return v ? strtod(v, NULL) / 1000.0 : 0;
}

static bool ok_field(const struct kw_ev *e)
{
        const char *v = kw_ev_field(e, "ok");

        return v && strcmp(v, "true") == 0;
}

static void on_event(void *userdata, const char *event, const struct kw_ev *e)
{
        char name[512];

        if (strcmp(event, "build_end") == 0) {
                if (!ok_field(e))
                        add("kmod-watch.build", "make", ms_field(e, "ms"), "the build failed");
        } else if (strcmp(event, "load") == 0 || strcmp(event, "unload") == 0) {
                snprintf(name, sizeof(name), "%s %s", event, kw_ev_field(e, "module") ?: "?");
                const char *err = kw_ev_field(e, "error");
                add(strcmp(event, "load") == 0 ? "kmod-watch.load" : "kmod-watch.unload", name,
                    ms_field(e, "ms"), ok_field(e) ? NULL : (err && *err ? err : "failed"));
        } else if (strcmp(event, "expect") == 0) {
                snprintf(name, sizeof(name), "expect %s", kw_ev_field(e, "pattern") ?: "?");
                add("kmod-watch.expect", name, 0,
                    ok_field(e) ? NULL : "no kernel log line matched before --timeout");
        } else if (strcmp(event, "run") == 0) {
                const char *status = kw_ev_field(e, "status");
                char why[128];
                snprintf(why, sizeof(why), "exit status %s", status ? status : "?");
                snprintf(name, sizeof(name), "run %s", kw_ev_field(e, "cmd") ?: "?");
                add("kmod-watch.run", name, ms_field(e, "ms"), status && strcmp(status, "0") == 0 ? NULL : why);
        } else if (strcmp(event, "oops") == 0) {
                snprintf(name, sizeof(name), "kernel %s", kw_ev_field(e, "kind") ?: "oops");
                add("kmod-watch.kernel", name, 0, kw_ev_field(e, "text") ?: "oops");
        } else if (strcmp(event, "exit") != 0) {
                return;
        }
        int r = write_file();
        if (r < 0)
                kw_err("cannot write --junit %s: %s", j.path, strerror(-r));
}

int kw_junit_open(const char *path)
{
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fclose(f);
        j.path = strdup(path);
        if (!j.path)
                return -ENOMEM;
        kw_ev_set_sink(on_event, NULL);
        return write_file();
}
