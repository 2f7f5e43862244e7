/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * junit.c — see junit.h. What the XML looks like is what the Jenkins xunit
 * plugin's junit-10.xsd accepts (tests/fixtures/junit/); whatever the kernel
 * or a module printed comes out as valid UTF-8 and XML 1.0 (utf8.c turns
 * bytes XML cannot hold into "\xNN").
 */
#include "junit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"
#include "ui.h"
#include "utf8.h"

static char *junit_path;

/* Text or attribute content; in an attribute a newline stays a newline (&#10;). */
static void xml_text(FILE *f, const char *s, bool attr)
{
        char *clean = kw_utf8_clean(s, strlen(s), KW_UTF8_CONTROLS);

        for (const char *p = clean ? clean : ""; *p; p++) {
                switch (*p) {
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                case '&': fputs("&amp;", f); break;
                case '"': fputs(attr ? "&quot;" : "\"", f); break;
                case '\n': fputs(attr ? "&#10;" : "\n", f); break;
                case '\t': fputs(attr ? "&#9;" : "\t", f); break;
                default: fputc(*p, f);
                }
        }
        free(clean);
}

static void property(FILE *f, const char *name, const char *value)
{
        if (!value || !*value)
                return;
        fprintf(f, "      <property name=\"%s\" value=\"", name);
        xml_text(f, value, true);
        fputs("\"/>\n", f);
}

static void one_case(FILE *f, const struct kw_res_case *c)
{
        static const char *const tag[] = { [KW_RES_FAIL] = "failure", [KW_RES_ERROR] = "error",
                                           [KW_RES_SKIP] = "skipped" };

        fputs("    <testcase classname=\"kmod-watch.", f);
        xml_text(f, c->kind, true);
        fputs("\" name=\"", f);
        xml_text(f, c->name, true);
        fprintf(f, "\" time=\"%.3f\"", c->seconds);
        bool out = c->status == KW_RES_PASS && c->body[0]; /* a passing --run's output */
        if (c->status == KW_RES_PASS && !out) {
                fputs("/>\n", f);
                return;
        }
        fputs(">\n", f);
        if (c->status != KW_RES_PASS) {
                fprintf(f, "      <%s type=\"", tag[c->status]);
                xml_text(f, c->fingerprint[0] ? c->fingerprint : c->kind, true);
                fputs("\" message=\"", f);
                xml_text(f, c->message, true);
                fputs("\">", f);
                xml_text(f, c->body[0] ? c->body : c->message, false);
                fprintf(f, "</%s>\n", tag[c->status]);
        }
        if (c->body[0] && (out || strcmp(c->kind, "run") == 0)) {
                fputs("      <system-out>", f);
                xml_text(f, c->body, false);
                fputs("</system-out>\n", f);
        }
        fputs("    </testcase>\n", f);
}

static double seconds(const struct kw_results *r)
{
        double total = 0;

        for (size_t i = 0; i < r->n; i++)
                total += r->v[i].seconds;
        return total;
}

/* One <testsuite>: the run's, or a matrix target's (its name and a property say which). */
static void one_suite(FILE *f, const struct kw_results *r, const char *host)
{
        size_t count[4];
        double total = seconds(r);

        kw_results_count(r, count);
        fputs("  <testsuite name=\"kmod-watch ", f);
        xml_text(f, r->unit, true);
        if (r->target[0]) {
                fputc(' ', f);
                xml_text(f, r->target, true);
        }
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" timestamp=\"",
                r->n, count[KW_RES_FAIL], count[KW_RES_ERROR], count[KW_RES_SKIP], total);
        xml_text(f, r->start_time, true);
        fputs("\" hostname=\"", f);
        xml_text(f, host, true);
        fputs("\">\n    <properties>\n", f);
        if (r->target[0])
                property(f, "target", r->target);
        property(f, "dir", r->cfg.dir);
        property(f, "kernel_release", r->kernel_release);
        property(f, "arch", r->arch);
        property(f, "guest", r->cfg.guest);
        property(f, "transport", r->transport);
        property(f, "recipe", r->recipe);
        fputs("    </properties>\n", f);
        for (size_t i = 0; i < r->n; i++)
                one_case(f, &r->v[i]);
        fputs("  </testsuite>\n", f);
}

int kw_junit_write(FILE *f, const struct kw_results *r)
{
        size_t all[4] = { 0 }, n = 0;
        double total = 0;
        char host[256] = "";

        for (const struct kw_results *s = r; s; s = s->next) {
                size_t count[4];
                kw_results_count(s, count);
                for (int i = 0; i < 4; i++)
                        all[i] += count[i];
                n += s->n;
                total += seconds(s);
        }
        (void)gethostname(host, sizeof(host) - 1);
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        fprintf(f, "<testsuites name=\"kmod-watch\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n",
                n, all[KW_RES_FAIL], all[KW_RES_ERROR], total);
        for (const struct kw_results *s = r; s; s = s->next)
                one_suite(f, s, host);
        fputs("</testsuites>\n", f);
        return ferror(f) ? -EIO : 0;
}

static void on_results(const struct kw_results *r, bool final, void *userdata)
{
        (void)final;
        (void)userdata;
        int e = kw_results_write_file(junit_path, kw_junit_write, r);
        if (e < 0)
                kw_err("cannot write --junit %s: %s", junit_path, strerror(-e));
}

int kw_junit_open(const char *path)
{
        FILE *f = fopen(path, "we");

        if (!f)
                return -errno;
        fclose(f);
        junit_path = strdup(path);
        if (!junit_path)
                return -ENOMEM;
        int e = kw_results_add_writer(on_results, NULL);
        if (e < 0)
                return e;
        return kw_results_write_file(junit_path, kw_junit_write, kw_results_get());
}
