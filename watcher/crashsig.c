/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crashsig.c — see crashsig.h.
 */
#include "crashsig.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"

/* The first line up to where it starts to vary: a ',' or the first word with
 * a digit in it ("address: 0000…", "CPU#0", "CPU: 0"), without the ':' or
 * '-' left dangling. "BUG: soft lockup - CPU#0 stuck" → "BUG: soft lockup". */
static void phrase(const char *text, char *buf, size_t size)
{
        size_t n = 0;

        for (const char *w = text; *w && n + 1 < size;) {
                size_t len = strcspn(w, " ,");
                bool digit = false;
                for (size_t i = 0; i < len; i++)
                        digit |= isdigit((unsigned char)w[i]) != 0;
                if (digit)
                        break;
                if (len) {
                        n += (size_t)snprintf(buf + n, size - n, "%s%.*s", n ? " " : "", (int)len, w);
                        if (n >= size)
                                n = size - 1;
                }
                if (w[len] == ',' || !w[len])
                        break;
                w += len + 1;
        }
        buf[n] = 0;
        /* what led up to the cut-off number: "… for address:", "… at virtual address" */
        static const char *const dangling[] = { " address:", " address", " virtual", " at", " for" };
        for (size_t i = 0; i < sizeof(dangling) / sizeof(dangling[0]); i++) {
                size_t len = strlen(dangling[i]);
                if (n > len && strcmp(buf + n - len, dangling[i]) == 0) {
                        buf[n -= len] = 0;
                        i = (size_t)-1; /* again from the first */
                }
        }
        while (n && (buf[n - 1] == ':' || buf[n - 1] == '-' || buf[n - 1] == ' '))
                buf[--n] = 0;
}

void kw_crashsig(const struct kw_oops *o, struct kw_crashsig *ret)
{
        struct kw_sha256 h;
        uint8_t d[KW_SHA256_LEN];
        char first[200];
        const char *kind = kw_oops_kind_name(o->kind);

        phrase(o->text, first, sizeof(first));
        /* a WARNING's first line is "WARNING: CPU: 0 PID: 1 at file.c:10 f+0x1/0x2": the kind says it */
        if (o->kind == KW_OOPS_WARNING && strncmp(first, "WARNING", 7) == 0)
                snprintf(first, sizeof(first), "WARNING");
        if (!first[0])
                snprintf(first, sizeof(first), "%s", kind);
        if (o->has_where)
                snprintf(ret->title, sizeof(ret->title), "%.120s in %.70s%s%.50s%s", first, o->where.function,
                         o->where.module[0] ? " [" : "", o->where.module, o->where.module[0] ? "]" : "");
        else
                snprintf(ret->title, sizeof(ret->title), "%s", first);

        kw_sha256_init(&h);
        kw_sha256_update(&h, kind, strlen(kind) + 1);
        kw_sha256_update(&h, first, strlen(first) + 1);
        if (o->has_where) {
                kw_sha256_update(&h, o->where.function, strlen(o->where.function) + 1);
                kw_sha256_update(&h, o->where.module, strlen(o->where.module) + 1);
        }
        /* the module frames, innermost first: the path into our code */
        for (size_t i = 0; i < o->n_frames; i++) {
                const struct kw_oops_frame *f = &o->frames[i];
                if (!f->module[0])
                        continue;
                kw_sha256_update(&h, f->function, strlen(f->function) + 1);
                kw_sha256_update(&h, f->module, strlen(f->module) + 1);
        }
        kw_sha256_final(&h, d);
        kw_sha256_hex(d, 8, ret->fingerprint);
}
