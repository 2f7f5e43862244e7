/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lava.c — see lava.h. The signals go through ui.c (stdout, or stderr with
 * --json) as each case is added; each case is said once.
 */
#include "lava.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"
#include "ui.h"

#define KW_LAVA_SUITES 16
static size_t said[KW_LAVA_SUITES]; /* cases already signalled, per suite (a matrix has one per target) */

bool kw_lava_detect(void)
{
        const char *path = getenv("PATH");
        char file[4096];

        while (path && *path) {
                size_t len = strcspn(path, ":");
                snprintf(file, sizeof(file), "%.*s/lava-test-case", (int)len, len ? path : ".");
                if (access(file, X_OK) == 0)
                        return true;
                path += len + (path[len] == ':');
        }
        return false;
}

void kw_lava_line(const struct kw_res_case *c, char *buf, size_t size)
{
        static const char *const result[] = { [KW_RES_PASS] = "pass", [KW_RES_FAIL] = "fail",
                                              [KW_RES_ERROR] = "fail", [KW_RES_SKIP] = "skip" };

        snprintf(buf, size, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=%s RESULT=%s>\n", c->path, result[c->status]);
}

static void on_results(const struct kw_results *r, bool final, void *userdata)
{
        char line[400];

        (void)final;
        (void)userdata;
        size_t k = 0;
        for (const struct kw_results *s = r; s && k < KW_LAVA_SUITES; s = s->next, k++) {
                char part[80] = "";
                if (s->target[0]) /* a matrix target's cases: its part first, the ids stay unique */
                        kw_results_path_part(s->target, part, sizeof(part));
                for (; said[k] < s->n; said[k]++) {
                        kw_lava_line(&s->v[said[k]], line, sizeof(line));
                        if (part[0]) {
                                char *id = strstr(line, "TEST_CASE_ID=");
                                char rest[400];
                                snprintf(rest, sizeof(rest), "%s", id + 13);
                                snprintf(id + 13, sizeof(line) - (size_t)(id + 13 - line), "%s.%s", part, rest);
                        }
                        kw_ui_report_text(line, strlen(line));
                }
        }
}

int kw_lava_open(void)
{
        return kw_results_add_writer(on_results, NULL);
}
