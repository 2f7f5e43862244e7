/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * expect.c — --expect patterns against the kernel log.
 */
#include "expect.h"

#include <errno.h>

#include "ui.h"

int kw_expect_init(struct kw_expect *e, const char *const *pattern, size_t n)
{
        *e = (struct kw_expect){ .pattern = pattern, .n = n };
        for (size_t i = 0; i < n; i++) {
                int r = regcomp(&e->re[i], pattern[i], REG_EXTENDED | REG_NOSUB);
                if (r) {
                        char err[256];
                        regerror(r, &e->re[i], err, sizeof(err));
                        kw_err("--expect '%s' is not a valid regular expression: %s", pattern[i], err);
                        return -EINVAL;
                }
                e->n_compiled++;
        }
        return 0;
}

void kw_expect_free(struct kw_expect *e)
{
        for (size_t i = 0; i < e->n_compiled; i++)
                regfree(&e->re[i]);
        e->n_compiled = 0;
}

bool kw_expect_all(const struct kw_expect *e)
{
        return e->n_matched == e->n;
}

bool kw_expect_feed(struct kw_expect *e, const char *text)
{
        bool before = kw_expect_all(e);

        for (size_t i = 0; i < e->n; i++) {
                if (e->matched[i] || regexec(&e->re[i], text, 0, NULL, 0) != 0)
                        continue;
                e->matched[i] = true;
                e->n_matched++;
                kw_debug("--expect '%s' matched", e->pattern[i]);
        }
        return !before && kw_expect_all(e);
}

void kw_expect_report_missing(const struct kw_expect *e, unsigned timeout_s)
{
        for (size_t i = 0; i < e->n; i++)
                if (!e->matched[i])
                        kw_err("--expect '%s' did not appear within %u s", e->pattern[i], timeout_s);
}

void kw_expect_tell(struct kw_expect *e)
{
        if (e->told)
                return;
        e->told = true;
        for (size_t i = 0; i < e->n; i++) {
                kw_ev_begin("expect");
                kw_ev_str("pattern", e->pattern[i]);
                kw_ev_bool("ok", e->matched[i]);
                kw_ev_end();
        }
}
