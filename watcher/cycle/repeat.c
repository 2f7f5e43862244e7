/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * repeat.c — the counting and the report of --repeat N (see repeat.h).
 *
 * Snapshot 0 is taken before the first load, snapshot k after the k-th
 * unload. The caches are flushed before each count (KW_STATS_SHRINK), so a
 * leaked object moves its cache by one. The first cycle is a warm-up and is
 * not counted: the kernel fills some caches once, on the first load.
 */
#include "repeat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "verdict.h"

#define KW_REPEAT_SHOWN 8 /* entries left behind, named one by one */

int kw_repeat_init(struct kw_repeat *r, const struct kw_cycle_port *port, void *impl, unsigned cycles,
                   unsigned timeout_ms, const struct kw_repeat_hooks *hooks, void *core)
{
        *r = (struct kw_repeat){ .port = port, .impl = impl, .cycles = cycles, .timeout_ms = timeout_ms,
                                 .hooks = hooks, .core = core };
        snprintf(r->vmalloc.name, sizeof(r->vmalloc.name), "vmalloc");
        r->vmalloc.v = calloc(cycles + 1u, sizeof(uint64_t));
        return r->vmalloc.v ? 0 : -ENOMEM;
}

static void free_list(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void kw_repeat_fini(struct kw_repeat *r)
{
        for (size_t i = 0; i < r->n_caches; i++)
                free(r->caches[i].v);
        free(r->caches);
        free(r->vmalloc.v);
        free_list(r->first, r->n_first);
        free_list(r->after_first, r->n_after_first);
        free_list(r->last, r->n_last);
        free(r->kmemleak_report);
        r->caches = NULL;
        r->n_caches = 0;
        r->vmalloc.v = NULL;
        r->first = r->after_first = r->last = NULL;
        r->kmemleak_report = NULL;
}

static struct kw_repeat_series *cache(struct kw_repeat *r, const char *name, uint64_t size)
{
        for (size_t i = 0; i < r->n_caches; i++)
                if (strcmp(r->caches[i].name, name) == 0)
                        return &r->caches[i];
        struct kw_repeat_series *nv = realloc(r->caches, (r->n_caches + 1) * sizeof(*nv));
        if (!nv)
                return NULL;
        r->caches = nv;
        nv += r->n_caches;
        *nv = (struct kw_repeat_series){ .size = size };
        snprintf(nv->name, sizeof(nv->name), "%s", name);
        nv->v = calloc(r->cycles + 1u, sizeof(uint64_t)); /* a cache made later was empty before */
        if (!nv->v)
                return NULL;
        r->n_caches++;
        return nv;
}

static int copy_list(const struct kw_stats *st, char ***ret, size_t *ret_n)
{
        char **v = calloc(st->n_entries ? st->n_entries : 1, sizeof(*v));

        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < st->n_entries; i++)
                if (!(v[i] = strdup(st->entries[i]))) {
                        free_list(v, i);
                        return -ENOMEM;
                }
        *ret = v;
        *ret_n = st->n_entries;
        return 0;
}

int kw_repeat_add(struct kw_repeat *r, const struct kw_stats *st)
{
        unsigned k = r->taken;
        int ret;

        if (k > r->cycles)
                return -ERANGE;
        for (size_t i = 0; i < st->n_slab; i++) {
                struct kw_repeat_series *s = cache(r, st->slab[i].name, st->slab[i].size);
                if (!s)
                        return -ENOMEM;
                s->v[k] = st->slab[i].value;
        }
        for (size_t i = 0; i < st->n_mem; i++)
                if (strcmp(st->mem[i].name, "VmallocUsed") == 0)
                        r->vmalloc.v[k] = st->mem[i].value;
        free_list(r->last, r->n_last);
        r->last = NULL;
        r->n_last = 0;
        ret = copy_list(st, &r->last, &r->n_last);
        if (ret == 0 && k == 0)
                ret = copy_list(st, &r->first, &r->n_first);
        if (ret == 0 && k == 1)
                ret = copy_list(st, &r->after_first, &r->n_after_first);
        if (ret < 0)
                return ret;
        if (k == 0 && !st->kmemleak)
                kw_note("the guest kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK): --repeat counts the slab "
                        "caches (/proc/slabinfo) and vmalloc (/proc/meminfo) instead");
        r->kmemleak = st->kmemleak;
        if (st->left_out > r->left_out)
                r->left_out = st->left_out;
        if (st->kmemleak_report) {
                free(r->kmemleak_report);
                r->kmemleak_report = strdup(st->kmemleak_report);
        }
        r->taken++;
        return 0;
}

static void on_stats(void *ud, const struct kw_reply *rep, const struct kw_stats *st)
{
        struct kw_repeat *r = ud;
        int ret = -EIO;

        r->asking = false;
        if (st)
                ret = kw_repeat_add(r, st);
        if (ret < 0) {
                if (rep->kind != KW_REPLY_OK)
                        kw_err("--repeat: the guest did not give its counters: %s", rep->why);
                else if (rep->err == EOPNOTSUPP)
                        kw_err("--repeat: this guest's agent cannot count (no STATS request): rebuild its "
                               "image with this kmod-watch's agent");
                else
                        kw_err("--repeat: the guest's counters: %s", rep->err ? rep->error : strerror(-ret));
        }
        r->hooks->snapped(r->core, ret == 0);
}

int kw_repeat_snap(struct kw_repeat *r)
{
        unsigned flags = KW_STATS_SHRINK;

        if (r->asking)
                return -EBUSY;
        if (r->taken == r->cycles && r->kmemleak)
                flags |= KW_STATS_KMEMLEAK; /* the last one */
        int ret = r->port->stats(r->impl, flags, r->timeout_ms, on_stats, r);
        if (ret < 0) {
                kw_err("--repeat: cannot ask the guest for its counters: %s", strerror(-ret));
                return ret;
        }
        r->asking = true;
        return 0;
}

/* ---- the report ---- */

static bool has(char *const *v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

/* "/sys/module/NAME" → NAME, else NULL */
static const char *sysmodule(const char *path)
{
        static const char prefix[] = "/sys/module/";

        return strncmp(path, prefix, sizeof(prefix) - 1) == 0 ? path + sizeof(prefix) - 1 : NULL;
}

static bool ours(const struct kw_module *mods, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++) {
                const char *a = mods[i].name, *b = name;
                /* the kernel spells a module's - as _ */
                for (; *a && *b && (*a == *b || ((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))); a++, b++)
                        ;
                if (!*a && !*b)
                        return true;
        }
        return false;
}

/* In-kernel modules the agent loaded for ours in the first cycle stay loaded, with whatever
 * they made: then the listing is compared from the end of the first cycle. */
static bool deps_loaded(const struct kw_repeat *r, const struct kw_module *mods, size_t n)
{
        for (size_t i = 0; i < r->n_after_first; i++) {
                const char *m = sysmodule(r->after_first[i]);
                if (m && !ours(mods, n, m) && !has(r->first, r->n_first, r->after_first[i]))
                        return true;
        }
        return false;
}

static void say_growth(const struct kw_repeat_series *s, double per_cycle, bool slab, unsigned measured)
{
        char what[64], bytes[64];
        double b = slab ? per_cycle * (double)s->size : per_cycle * 1024.0;

        if (slab)
                snprintf(what, sizeof(what), "%+.3g object%s/cycle", per_cycle, per_cycle == 1.0 ? "" : "s");
        else
                snprintf(what, sizeof(what), "%+.3g KiB/cycle", per_cycle);
        if (b >= 1024.0)
                snprintf(bytes, sizeof(bytes), "%+.3g KiB/cycle", b / 1024.0);
        else
                snprintf(bytes, sizeof(bytes), "%+.3g B/cycle", b);
        kw_ev_begin("leak");
        kw_ev_str("cache", s->name);
        kw_ev_real("per_cycle", per_cycle);
        kw_ev_str("unit", slab ? "objects" : "KiB");
        kw_ev_int("bytes_per_cycle", (long long)(b + 0.5));
        kw_ev_int("cycles", measured);
        kw_ev_end();
        if (slab)
                kw_note_err("  %s %s (%s) over %u cycles", s->name, what, bytes, measured);
        else
                kw_note_err("  %s %s over %u cycles", s->name, what, measured);
}

/* -v: every counter that moved after the warm-up, to see the noise the rule rejects. */
static void debug_moved(const struct kw_repeat_series *s, unsigned samples)
{
        long long d = (long long)s->v[samples] - (long long)s->v[1];

        if (d)
                kw_debug("--repeat: %s %+lld over %u cycles (%llu → %llu)", s->name, d, samples - 1,
                         (unsigned long long)s->v[1], (unsigned long long)s->v[samples]);
}

static size_t find_leaks(const struct kw_repeat *r, unsigned samples, const char **names, size_t max)
{
        unsigned measured = samples - 1;
        size_t n = 0;
        double rate;

        for (size_t i = 0; i < r->n_caches; i++)
                debug_moved(&r->caches[i], samples);
        debug_moved(&r->vmalloc, samples);

        for (size_t i = 0; i < r->n_caches; i++) {
                const struct kw_repeat_series *s = &r->caches[i];
                if (!kw_verdict_leak(s->v + 1, samples, KW_LEAK_MIN_OBJECTS, &rate))
                        continue;
                if (n == 0)
                        kw_note_err("--repeat %u: these grew on every cycle (the first, a warm-up, not counted):",
                                    r->cycles);
                say_growth(s, rate, true, measured);
                if (n < max)
                        names[n] = r->caches[i].name;
                n++;
        }
        if (kw_verdict_leak(r->vmalloc.v + 1, samples, KW_LEAK_MIN_KB, &rate)) {
                if (n == 0)
                        kw_note_err("--repeat %u: these grew on every cycle (the first, a warm-up, not counted):",
                                    r->cycles);
                say_growth(&r->vmalloc, rate, false, measured);
                if (n < max)
                        names[n] = r->vmalloc.name;
                n++;
        }
        return n;
}

bool kw_repeat_report(struct kw_repeat *r, const struct kw_module *mods, size_t n, uint64_t elapsed_ms)
{
        unsigned samples = r->taken > 1 ? r->taken - 1 : 0; /* after each unload */
        unsigned measured = samples ? samples - 1 : 0;       /* cycles after the warm-up */
        const char *names[64];
        size_t n_leaks = 0, n_left = 0;
        const char **left = calloc(r->n_last ? r->n_last : 1, sizeof(*left));

        if (!left)
                return false;
        if (samples >= 3)
                n_leaks = find_leaks(r, samples, names, sizeof(names) / sizeof(names[0]));
        else
                kw_note("--repeat %u: too few cycles to tell growth from noise (--repeat 3 or more)", r->cycles);

        bool from_first = !deps_loaded(r, mods, n);
        char *const *base = from_first ? r->first : r->after_first;
        size_t n_base = from_first ? r->n_first : r->n_after_first;
        for (size_t i = 0; i < r->n_last; i++) {
                const char *m = sysmodule(r->last[i]);
                if (has(base, n_base, r->last[i]) || (m && !ours(mods, n, m)))
                        continue;
                left[n_left++] = r->last[i];
        }
        if (n_left) {
                kw_note_err("--repeat %u: left behind after the last unload (not there before%s):", r->cycles,
                            from_first ? " the first load" : " the second: dependencies were loaded first");
                for (size_t i = 0; i < n_left && i < KW_REPEAT_SHOWN; i++) {
                        const char *m = sysmodule(left[i]);
                        if (m)
                                kw_note_err("  %s: %s is still loaded (something holds a reference)", left[i], m);
                        else
                                kw_note_err("  %s", left[i]);
                }
                if (n_left > KW_REPEAT_SHOWN)
                        kw_note_err("  … and %zu more", n_left - KW_REPEAT_SHOWN);
        }
        if (r->left_out)
                kw_warn("--repeat: the guest's listings were too long for one answer: %llu entries not compared",
                        (unsigned long long)r->left_out);
        if (r->kmemleak_report && r->kmemleak_report[0]) {
                kw_note_err("--repeat %u: kmemleak reports:", r->cycles);
                kw_ui_text(r->kmemleak_report, strlen(r->kmemleak_report));
        }
        bool leaked = n_leaks || n_left || (r->kmemleak_report && r->kmemleak_report[0]);

        kw_ev_begin("repeat");
        kw_ev_int("cycles", samples);
        kw_ev_int("measured", measured);
        kw_ev_bool("ok", !leaked);
        kw_ev_strv("leaks", names, n_leaks < 64 ? n_leaks : 64);
        kw_ev_strv("left_behind", left, n_left);
        kw_ev_bool("kmemleak", r->kmemleak);
        kw_ev_int("ms", (long long)elapsed_ms);
        kw_ev_end();
        if (!leaked)
                kw_note("--repeat %u: no slab cache or vmalloc grew, nothing left behind (%.1f s)", r->cycles,
                        (double)elapsed_ms / 1000.0);
        free(left);
        return leaked;
}
