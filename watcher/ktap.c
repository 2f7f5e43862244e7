/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ktap.c — see ktap.h. Text from the guest is made valid UTF-8 without
 * control characters (utf8.c), one diagnostic line per line.
 */
#include "ktap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"
#include "ui.h"
#include "utf8.h"

#define KW_KTAP_DIAG_LINES 200 /* of one case's body */

static char *ktap_path;

/* "# " before each line of text, indented. */
static void diagnostics(FILE *f, const char *indent, const char *what, const char *text)
{
        char *clean = kw_utf8_clean(text, strlen(text), KW_UTF8_CONTROLS);
        unsigned n = 0;

        for (const char *p = clean ? clean : ""; *p && n < KW_KTAP_DIAG_LINES; n++) {
                size_t len = strcspn(p, "\n");
                fprintf(f, "%s# %s%.*s\n", indent, what, (int)len, p);
                p += len + (p[len] == '\n');
        }
        free(clean);
}

/* The suite's name: kmod.UNIT, and a matrix target's part (kmod.hello.x86_64_6_1). */
static void suite_name(const struct kw_results *r, char *buf, size_t size)
{
        char part[80];

        kw_results_path_part(r->target, part, sizeof(part));
        snprintf(buf, size, "kmod.%s%s%s", r->unit, r->target[0] ? "." : "", r->target[0] ? part : "");
}

static void one_suite(FILE *f, const struct kw_results *r, size_t number)
{
        size_t count[4];
        char name[160];

        kw_results_count(r, count);
        suite_name(r, name, sizeof(name));
        fprintf(f, "    KTAP version 1\n    # Subtest: %s\n", name);
        if (r->kernel_release[0])
                fprintf(f, "    # kernel %s %s (%s)\n", r->kernel_release, r->arch, r->cfg.guest ? r->cfg.guest : "");
        fprintf(f, "    1..%zu\n", r->n);
        for (size_t i = 0; i < r->n; i++) {
                const struct kw_res_case *c = &r->v[i];
                if (c->status == KW_RES_SKIP) {
                        char *why = kw_utf8_clean(c->message, strlen(c->message), KW_UTF8_CONTROLS);
                        /* a '#' would end the reason early: the parser cuts at the first one */
                        for (char *p = why; p && *p; p++)
                                if (*p == '#' || *p == '\n')
                                        *p = ' ';
                        fprintf(f, "    ok %zu %s # SKIP %s\n", i + 1, c->path, why ? why : "");
                        free(why);
                        continue;
                }
                if (c->status != KW_RES_PASS) {
                        diagnostics(f, "    ", c->status == KW_RES_ERROR ? "error: " : "", c->message);
                        if (c->fingerprint[0])
                                fprintf(f, "    # fingerprint: %s\n", c->fingerprint);
                        if (c->body[0] && strcmp(c->body, c->message) != 0)
                                diagnostics(f, "    ", "", c->body);
                }
                fprintf(f, "    %s %zu %s\n", c->status == KW_RES_PASS ? "ok" : "not ok", i + 1, c->path);
        }
        bool ok = !count[KW_RES_FAIL] && !count[KW_RES_ERROR];
        fprintf(f, "%s %zu %s\n", ok ? "ok" : "not ok", number, name);
}

int kw_ktap_write(FILE *f, const struct kw_results *r)
{
        size_t n = 0;

        for (const struct kw_results *s = r; s; s = s->next)
                n++;
        fprintf(f, "KTAP version 1\n1..%zu\n", n);
        n = 0;
        for (const struct kw_results *s = r; s; s = s->next)
                one_suite(f, s, ++n);
        return ferror(f) ? -EIO : 0;
}

static void on_results(const struct kw_results *r, bool final, void *userdata)
{
        (void)userdata;
        if (strcmp(ktap_path, "-") == 0) {
                char *text = NULL;
                size_t size = 0;
                FILE *f = final ? open_memstream(&text, &size) : NULL;
                if (f) {
                        int e = kw_ktap_write(f, r);
                        if (fclose(f) == 0 && e == 0)
                                kw_ui_report_text(text, size);
                }
                free(text);
                return;
        }
        int e = kw_results_write_file(ktap_path, kw_ktap_write, r);
        if (e < 0)
                kw_err("cannot write --ktap %s: %s", ktap_path, strerror(-e));
}

int kw_ktap_open(const char *path)
{
        if (strcmp(path, "-") != 0) {
                FILE *f = fopen(path, "we");
                if (!f)
                        return -errno;
                fclose(f);
        }
        ktap_path = strdup(path);
        if (!ktap_path)
                return -ENOMEM;
        return kw_results_add_writer(on_results, NULL);
}
