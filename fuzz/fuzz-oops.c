/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-oops.c — libFuzzer target for the kernel-report scanner
 * (watcher/oops.c), which reads whatever a guest's kernel log and console
 * say. The input is split into lines; a line starting with '\x01' comes
 * from the console, any other from the kernel log. Every completed block
 * must be well-formed (strings terminated, counts in bounds, the faulting
 * frame among sensible ones) with a crash signature (crashsig.c: a
 * terminated title, 16 hex digits), and a frame that parses must print back
 * to text that parses to the same frame.
 */
#include <stdlib.h>
#include <string.h>

#include "crashsig.h"
#include "oops.h"

static struct kw_oops_scanner s;

static void check_frame(const struct kw_oops_frame *f)
{
        if (!memchr(f->function, 0, sizeof(f->function)) || !memchr(f->module, 0, sizeof(f->module)))
                abort();
        if (!f->function[0])
                abort();
}

static void check_block(const struct kw_oops *o)
{
        if (o->kind > KW_OOPS_WARNING || !kw_oops_kind_name(o->kind))
                abort();
        if (!memchr(o->text, 0, sizeof(o->text)) || !memchr(o->tainted, 0, sizeof(o->tainted)) ||
            !memchr(o->lines, 0, sizeof(o->lines)))
                abort();
        if (o->n_frames > KW_OOPS_MAX_FRAMES || o->n_lines > KW_OOPS_MAX_LINES || o->n_lines == 0)
                abort();
        for (size_t i = 0; i < o->n_frames; i++)
                check_frame(&o->frames[i]);
        if (o->has_where)
                check_frame(&o->where);
        if (o->kind == KW_OOPS_PANIC && !o->fatal)
                abort();
        struct kw_crashsig sig;
        kw_crashsig(o, &sig);
        if (!memchr(sig.title, 0, sizeof(sig.title)) || !sig.title[0] || strlen(sig.fingerprint) != 16 ||
            strspn(sig.fingerprint, "0123456789abcdef") != 16)
                abort();
}

static void check_roundtrip(const char *line)
{
        struct kw_oops_frame f, g;
        char buf[512];

        if (kw_oops_parse_frame(line, &f) != 0)
                return;
        check_frame(&f);
        kw_oops_format_frame(&f, buf, sizeof(buf));
        if (kw_oops_parse_frame(buf, &g) != 0 || strcmp(f.function, g.function) || strcmp(f.module, g.module) ||
            f.offset != g.offset || f.size != g.size)
                abort();
}

static void result(int r)
{
        if (r & ~(KW_OOPS_OPEN | KW_OOPS_DONE | KW_OOPS_ECHO))
                abort();
        if (!!(r & KW_OOPS_OPEN) != s.open)
                abort();
        if (r & KW_OOPS_DONE)
                check_block(kw_oops_done(&s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char line[4096];

        kw_oops_init(&s);
        while (size > 0) {
                const uint8_t *nl = memchr(data, '\n', size);
                size_t n = nl ? (size_t)(nl - data) : size;
                size_t take = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
                enum kw_oops_src src = KW_OOPS_SRC_KMSG;
                const uint8_t *p = data;

                if (take && p[0] == 1) {
                        src = KW_OOPS_SRC_CONSOLE;
                        p++;
                        take--;
                }
                memcpy(line, p, take);
                line[take] = 0; /* a NUL inside ends the line early, as in C strings */
                result(kw_oops_feed(&s, src, line));
                check_roundtrip(line);
                (void)kw_oops_strip_stamp(line);
                data += nl ? n + 1 : n;
                size -= nl ? n + 1 : n;
        }
        result(kw_oops_flush(&s));
        if (s.open)
                abort();
        return 0;
}
