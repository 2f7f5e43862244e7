/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * oops.c — see oops.h. The patterns are the kernel's own fixed strings
 * (lib/bug.c, kernel/panic.c, arch/x86/kernel/dumpstack.c,
 * arch/x86/mm/fault.c, arch/arm64/mm/fault.c, arch/arm64/kernel/traps.c,
 * kernel/watchdog.c, kernel/hung_task.c, kernel/rcu/tree_stall.h). A block
 * ends at "---[ end trace …" / "---[ end Kernel panic …", after
 * KW_OOPS_MAX_LINES lines, or when the caller flushes it.
 */
#include "oops.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
        const char *needle;
        const char *also; /* a second string the line must hold, or NULL */
        enum kw_oops_kind kind;
} patterns[] = {
        { "Kernel panic - not syncing", NULL, KW_OOPS_PANIC },
        { "BUG: kernel NULL pointer dereference", NULL, KW_OOPS_OOPS },
        { "BUG: unable to handle", NULL, KW_OOPS_OOPS },
        { "Unable to handle kernel ", NULL, KW_OOPS_OOPS }, /* arm64 */
        { "general protection fault", NULL, KW_OOPS_OOPS },
        { "Internal error: Oops", NULL, KW_OOPS_OOPS },     /* arm64 */
        { "Oops: ", NULL, KW_OOPS_OOPS },
        { "invalid opcode: ", "[#", KW_OOPS_OOPS },
        { "divide error: ", "[#", KW_OOPS_OOPS },
        { "double fault: ", "[#", KW_OOPS_OOPS },
        { "kernel BUG at ", NULL, KW_OOPS_BUG },
        { "BUG: ", NULL, KW_OOPS_BUG },                     /* soft lockup, sleeping in atomic, KASAN, … */
        { "Watchdog detected hard LOCKUP", NULL, KW_OOPS_BUG },
        { "INFO: task ", "blocked for more than", KW_OOPS_BUG },
        { "detected stall", "rcu", KW_OOPS_BUG },          /* rcu: INFO: rcu_preempt self-detected stall */
        { "WARNING: ", NULL, KW_OOPS_WARNING },
        { "UBSAN: ", NULL, KW_OOPS_WARNING },
};

/* Frames that report the trouble rather than cause it. */
static const char *const reporters[] = {
        "dump_stack", "dump_stack_lvl", "show_stack", "panic", "__warn", "warn_slowpath_fmt",
        "report_bug", "__might_resched", "__might_sleep", "__schedule", "schedule",
};

void kw_oops_init(struct kw_oops_scanner *s)
{
        memset(s, 0, sizeof(*s));
}

const char *kw_oops_kind_name(enum kw_oops_kind kind)
{
        switch (kind) {
        case KW_OOPS_OOPS: return "oops";
        case KW_OOPS_PANIC: return "panic";
        case KW_OOPS_BUG: return "bug";
        case KW_OOPS_WARNING: return "warning";
        }
        return "oops";
}

const char *kw_oops_strip_stamp(const char *line)
{
        const char *p = line;

        /* "[    5.208193] " and, with CONFIG_PRINTK_CALLER, "[    T1] " after it */
        for (int group = 0; group < 2 && *p == '['; group++) {
                const char *q = p + 1;
                while (*q == ' ')
                        q++;
                if (group == 1 && (*q == 'T' || *q == 'C'))
                        q++;
                const char *digits = q;
                while (isdigit((unsigned char)*q) || (group == 0 && *q == '.'))
                        q++;
                if (q == digits || *q != ']')
                        break;
                p = q + 1;
                if (*p == ' ')
                        p++;
        }
        return p;
}

static bool hex(const char **pp, uint64_t *ret)
{
        const char *p = *pp;
        uint64_t v = 0;
        int n = 0;

        if (p[0] != '0' || p[1] != 'x')
                return false;
        for (p += 2; isxdigit((unsigned char)*p); p++, n++) {
                if (n >= 16)
                        return false;
                int d = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
                v = v << 4 | (uint64_t)d;
        }
        if (n == 0)
                return false;
        *pp = p;
        *ret = v;
        return true;
}

static bool symbol_char(char c)
{
        return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

int kw_oops_parse_frame(const char *text, struct kw_oops_frame *ret)
{
        struct kw_oops_frame f = { 0 };
        const char *p = text, *name;
        size_t n;

        while (*p == ' ' || *p == '\t')
                p++;
        if (p[0] == '?' && p[1] == ' ')
                p += 2;
        name = p;
        while (symbol_char(*p))
                p++;
        n = (size_t)(p - name);
        if (n == 0 || n >= sizeof(f.function) || *p != '+')
                return -EINVAL;
        memcpy(f.function, name, n);
        p++;
        if (!hex(&p, &f.offset) || *p != '/')
                return -EINVAL;
        p++;
        if (!hex(&p, &f.size))
                return -EINVAL;
        if (p[0] == ' ' && p[1] == '[') {
                const char *m = p + 2;
                n = strcspn(m, " ]");
                if (n == 0 || n >= sizeof(f.module) || !strchr(m + n, ']'))
                        return -EINVAL;
                memcpy(f.module, m, n);
                p = strchr(m + n, ']') + 1;
        }
        if (*p && *p != ' ')
                return -EINVAL;
        *ret = f;
        return 0;
}

void kw_oops_format_frame(const struct kw_oops_frame *f, char *buf, size_t size)
{
        snprintf(buf, size, "%s+0x%" PRIx64 "/0x%" PRIx64 "%s%s%s", f->function, f->offset, f->size,
                 f->module[0] ? " [" : "", f->module, f->module[0] ? "]" : "");
}

/* ---- the two sources ---- */

static uint32_t hash(const char *s)
{
        uint32_t h = 2166136261u;

        for (; *s; s++)
                h = (h ^ (uint8_t)*s) * 16777619u;
        return h | 1; /* 0 marks a free slot */
}

/* true: the other source already delivered this line (its twin is used up). */
static bool duplicate(struct kw_oops_scanner *s, enum kw_oops_src src, uint32_t h)
{
        int other = src == KW_OOPS_SRC_KMSG ? 1 : 0, self = 1 - other;

        for (unsigned i = 0; i < KW_OOPS_DEDUPE; i++)
                if (s->seen[other][i] == h) {
                        s->seen[other][i] = 0;
                        return true;
                }
        s->seen[self][s->seen_pos[self]++ % KW_OOPS_DEDUPE] = h;
        return false;
}

/* ---- a block ---- */

static int classify(const char *text)
{
        for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
                if (strstr(text, patterns[i].needle) && (!patterns[i].also || strstr(text, patterns[i].also)))
                        return (int)patterns[i].kind;
        return -1;
}

static bool starts(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *skip_blanks(const char *s)
{
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

static void add_line(struct kw_oops_scanner *s, const char *text)
{
        struct kw_oops *o = &s->cur;
        size_t used = strlen(o->lines), n = strlen(text);

        o->n_lines++;
        if (used + n + 2 > sizeof(o->lines))
                return;
        memcpy(o->lines + used, text, n);
        o->lines[used + n] = '\n';
        o->lines[used + n + 1] = 0;
}

static void take_taint(struct kw_oops *o, const char *text)
{
        const char *p = strstr(text, "Tainted: ");
        size_t n = 0;
        bool space = false;

        if (!p || o->tainted[0])
                return;
        for (p += 9; (isupper((unsigned char)*p) || *p == ' ') && n < sizeof(o->tainted) - 1; p++) {
                if (*p == ' ') {
                        space = true;
                        continue;
                }
                if (space && n)
                        o->tainted[n++] = ' ';
                space = false;
                if (n < sizeof(o->tainted) - 1)
                        o->tainted[n++] = *p;
        }
        o->tainted[n] = 0;
}

/* "[#1]": die() ran — the kernel killed the task (x86 __die_header, arm64 die). */
static bool die_counter(const char *text)
{
        const char *p = strstr(text, "[#");

        return p && isdigit((unsigned char)p[2]);
}

static bool is_reporter(const char *fn)
{
        for (size_t i = 0; i < sizeof(reporters) / sizeof(reporters[0]); i++)
                if (strcmp(fn, reporters[i]) == 0)
                        return true;
        return false;
}

static void parse_line(struct kw_oops_scanner *s, const char *text)
{
        struct kw_oops *o = &s->cur;
        const char *t = skip_blanks(text);
        struct kw_oops_frame f;

        take_taint(o, t);
        if (die_counter(t))
                o->fatal = true;
        if (starts(t, "Call Trace:") || starts(t, "Call trace:")) {
                s->in_trace = true;
                return;
        }
        if (!s->has_rip && (starts(t, "RIP: ") || starts(t, "pc : "))) {
                const char *p = t + 5;
                /* x86 "RIP: 0010:fn+…": skip the code segment; user mode has no symbol */
                if (t[0] == 'R' && strlen(p) > 5 && p[4] == ':')
                        p += 5;
                if (kw_oops_parse_frame(p, &f) == 0) {
                        f.exact = true;
                        s->rip = f;
                        s->has_rip = true;
                }
                return;
        }
        if (!s->in_trace || t[0] == '?' || t[0] == '<')
                return;
        if (o->n_frames < KW_OOPS_MAX_FRAMES && kw_oops_parse_frame(t, &f) == 0)
                o->frames[o->n_frames++] = f;
}

static bool same_frame(const struct kw_oops_frame *a, const struct kw_oops_frame *b)
{
        return strcmp(a->function, b->function) == 0 && a->offset == b->offset &&
               strcmp(a->module, b->module) == 0;
}

static int finish(struct kw_oops_scanner *s, bool ended)
{
        struct kw_oops *o = &s->cur;

        if (!s->open)
                return 0;
        o->ended = ended;
        if (o->kind == KW_OOPS_PANIC)
                o->fatal = true;
        if (s->has_rip) {
                /* x86 traces start at the caller of the faulting function: put it first */
                if (o->n_frames == 0 || !same_frame(&o->frames[0], &s->rip)) {
                        if (o->n_frames == KW_OOPS_MAX_FRAMES)
                                o->n_frames--;
                        memmove(&o->frames[1], &o->frames[0], o->n_frames * sizeof(o->frames[0]));
                        o->n_frames++;
                }
                o->frames[0] = s->rip;
                o->where = s->rip;
                o->has_where = true;
        }
        for (size_t i = 0; !o->has_where && i < o->n_frames; i++)
                if (o->frames[i].module[0]) {
                        o->where = o->frames[i];
                        o->has_where = true;
                }
        for (size_t i = 0; !o->has_where && i < o->n_frames; i++)
                if (!is_reporter(o->frames[i].function)) {
                        o->where = o->frames[i];
                        o->has_where = true;
                }
        s->done = *o;
        s->echo_hash = s->last_hash;
        s->open = false;
        s->in_trace = false;
        s->has_rip = false;
        s->n_history = 0;
        return KW_OOPS_DONE;
}

static void open_block(struct kw_oops_scanner *s, enum kw_oops_kind kind, const char *title)
{
        memset(&s->cur, 0, sizeof(s->cur));
        s->cur.kind = kind;
        snprintf(s->cur.text, sizeof(s->cur.text), "%s", title);
        s->open = true;
        s->in_trace = false;
        s->has_rip = false;
        s->standalone = false;
}

static bool dump_header(const char *t)
{
        return starts(t, "CPU: ") || starts(t, "Hardware name:") || starts(t, "Modules linked in:");
}

/* A bare "Call Trace:" (dump_stack(), an allocation failure, …): its title is
 * the line before the CPU:/Hardware name: header, and the header joins the block. */
static void open_standalone(struct kw_oops_scanner *s, const char *text)
{
        unsigned first = s->n_history;
        const char *title = "Call Trace (a stack dump)";

        while (first > 0 && dump_header(skip_blanks(s->history[first - 1])))
                first--;
        if (first > 0 && first < s->n_history && s->history[first - 1][0] &&
            classify(s->history[first - 1]) < 0) {
                first--;
                title = s->history[first];
        }
        char t[256];
        snprintf(t, sizeof(t), "%s", title);
        open_block(s, KW_OOPS_WARNING, t);
        s->standalone = true;
        for (unsigned i = first; i < s->n_history; i++) {
                add_line(s, s->history[i]);
                parse_line(s, s->history[i]);
        }
        add_line(s, text);
        parse_line(s, text);
}

static void remember(struct kw_oops_scanner *s, const char *text)
{
        if (s->n_history == 3) {
                memmove(s->history[0], s->history[1], sizeof(s->history[0]) * 2);
                s->n_history = 2;
        }
        snprintf(s->history[s->n_history++], sizeof(s->history[0]), "%s", text);
}

static void add(struct kw_oops_scanner *s, enum kw_oops_src src, uint32_t h, const char *text)
{
        add_line(s, text);
        parse_line(s, text);
        s->cur.last_src = src;
        s->last_hash = h;
}

int kw_oops_feed(struct kw_oops_scanner *s, enum kw_oops_src src, const char *line)
{
        const char *text = src == KW_OOPS_SRC_CONSOLE ? kw_oops_strip_stamp(line) : line;
        uint32_t h = hash(text);
        int ret = 0;

        if (duplicate(s, src, h)) {
                ret = s->open ? KW_OOPS_OPEN : 0;
                if (s->echo_hash && h == s->echo_hash) {
                        s->echo_hash = 0;
                        ret |= KW_OOPS_ECHO;
                }
                return ret;
        }
        int kind = classify(text);
        if (s->open) {
                /* A panic while another report is open is news: the machine is going down.
                 * So is a real report after a bare trace. */
                if ((kind == KW_OOPS_PANIC && s->cur.kind != KW_OOPS_PANIC) || (s->standalone && kind >= 0)) {
                        ret = finish(s, false);
                } else {
                        add(s, src, h, text);
                        if (starts(skip_blanks(text), "---[ end "))
                                return finish(s, true);
                        if (s->cur.n_lines >= KW_OOPS_MAX_LINES)
                                return finish(s, false);
                        return KW_OOPS_OPEN;
                }
        }
        if (kind >= 0) {
                open_block(s, (enum kw_oops_kind)kind, text);
                add(s, src, h, text);
                return ret | KW_OOPS_OPEN;
        }
        const char *t = skip_blanks(text);
        if (starts(t, "Call Trace:") || starts(t, "Call trace:")) {
                open_standalone(s, text);
                s->cur.last_src = src;
                s->last_hash = h;
                return ret | KW_OOPS_OPEN;
        }
        remember(s, text);
        return ret;
}

int kw_oops_flush(struct kw_oops_scanner *s)
{
        return finish(s, false);
}

const struct kw_oops *kw_oops_done(const struct kw_oops_scanner *s)
{
        return &s->done;
}
