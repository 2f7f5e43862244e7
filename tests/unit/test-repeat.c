/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-repeat.c — --repeat's leak rule (verdict.c, pure) on counter series
 * shaped like what real guests give, and repeat.c's counting and report
 * (fed snapshots as the agent would send them; the STATS request through a
 * fake port).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repeat.h"
#include "ui.h"
#include "verdict.h"

#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool leak(const uint64_t *v, size_t n, double *rate)
{
        return kw_verdict_leak(v, n, KW_LEAK_MIN_OBJECTS, rate);
}

static void rule_exact_leak(void)
{
        uint64_t v[49];
        double rate;

        for (size_t i = 0; i < N(v); i++)
                v[i] = 200 + i; /* +1 object after every unload */
        CHECK(leak(v, N(v), &rate));
        CHECK(rate > 0.99 && rate < 1.01);
        CHECK(leak(v, 3, &rate)); /* the fewest samples the rule takes */
        CHECK(!leak(v, 2, &rate));
        CHECK(!leak(v, 1, &rate));
}

/* Counted without flushing the caches: a slab of 8 objects at a time. */
static void rule_staircase_leak(void)
{
        uint64_t v[49];
        double rate;

        for (size_t i = 0; i < N(v); i++)
                v[i] = 64 + 8 * ((i + 3) / 8);
        CHECK(leak(v, N(v), &rate));
        CHECK(rate > 0.8 && rate < 1.2);
}

static void rule_flat_and_falling(void)
{
        uint64_t flat[20], falling[20];

        for (size_t i = 0; i < N(flat); i++) {
                flat[i] = 500;
                falling[i] = 900 - 3 * i;
        }
        CHECK(!leak(flat, N(flat), NULL));
        CHECK(!leak(falling, N(falling), NULL));
}

/* Something the kernel allocates once, early, late or halfway through: one step. */
static void rule_one_step(void)
{
        uint64_t v[49];

        for (size_t at = 1; at < N(v); at += 6) {
                for (size_t i = 0; i < N(v); i++)
                        v[i] = i < at ? 100 : 164;
                CHECK(!leak(v, N(v), NULL));
        }
}

/* Objects freed after an RCU grace period: the count depends on when it is read
 * (filp, seen 58 → 160 over 29 cycles of the clean hello module). */
static void rule_noise(void)
{
        static const uint64_t filp[] = { 58,  131, 77, 160, 92,  66, 143, 101, 59, 150, 88, 120, 72, 155, 97,
                                         140, 63,  99, 158, 81, 112, 70, 149, 95, 61, 133, 90, 118, 160 };
        static const uint64_t climb_then_back[] = { 10, 30, 50, 70, 90, 70, 50, 30, 60, 90 };

        CHECK(!leak(filp, N(filp), NULL));
        CHECK(!leak(climb_then_back, N(climb_then_back), NULL));
}

/* Too slow to be the module's: less than one object every two cycles. */
static void rule_threshold(void)
{
        uint64_t v[40];

        for (size_t i = 0; i < N(v); i++)
                v[i] = 100 + i / 3;
        CHECK(!leak(v, N(v), NULL));
        for (size_t i = 0; i < N(v); i++)
                v[i] = 100 + (2 * i) / 3;
        CHECK(leak(v, N(v), NULL));
        /* vmalloc counts kB: a page a cycle is a leak, less is not */
        for (size_t i = 0; i < N(v); i++)
                v[i] = 20000 + 4 * i;
        CHECK(kw_verdict_leak(v, N(v), KW_LEAK_MIN_KB, NULL));
        for (size_t i = 0; i < N(v); i++)
                v[i] = 20000 + i;
        CHECK(!kw_verdict_leak(v, N(v), KW_LEAK_MIN_KB, NULL));
}

static void rule_status(void)
{
        struct kw_verdict v = { .once = true, .leaked = true };

        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_OK), KW_EXIT_EXPECT);
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_LOAD), KW_EXIT_LOAD);
        v.oopsed = true;
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_OK), KW_EXIT_OOPS);
}

/* ---- repeat.c, fed snapshots ---- */

static struct {
        char leaks[256], left[512], ok[8], cycles[16];
        int n_leak_events;
        char leak_cache[64], bytes[32];
} ev;

static void sink(void *ud, const char *event, const struct kw_ev *e)
{
        if (strcmp(event, "repeat") == 0) {
                snprintf(ev.leaks, sizeof(ev.leaks), "%s", kw_ev_field(e, "leaks") ?: "");
                snprintf(ev.left, sizeof(ev.left), "%s", kw_ev_field(e, "left_behind") ?: "");
                snprintf(ev.ok, sizeof(ev.ok), "%s", kw_ev_field(e, "ok") ?: "");
                snprintf(ev.cycles, sizeof(ev.cycles), "%s", kw_ev_field(e, "cycles") ?: "");
        } else if (strcmp(event, "leak") == 0) {
                ev.n_leak_events++;
                snprintf(ev.leak_cache, sizeof(ev.leak_cache), "%s", kw_ev_field(e, "cache") ?: "");
                snprintf(ev.bytes, sizeof(ev.bytes), "%s", kw_ev_field(e, "bytes_per_cycle") ?: "");
        }
}

/* A snapshot: kmalloc-4k holding k4 objects, kmalloc-64 noise, and the listed entries. */
static void add(struct kw_repeat *r, uint64_t k4, uint64_t k64, const char *const *entries, size_t n)
{
        struct kw_stat slab[2] = { { "kmalloc-4k", k4, 4096 }, { "kmalloc-64", k64, 64 } };
        struct kw_stat mem[1] = { { "VmallocUsed", 12000, 0 } };
        struct kw_stats st = { .slab = slab, .n_slab = 2, .mem = mem, .n_mem = 1,
                               .entries = (char **)entries, .n_entries = n };

        CHECK_EQ(kw_repeat_add(r, &st), 0);
}

static const char *const base[] = { "/proc/cpuinfo", "/sys/kernel/mm", "/sys/module/9p" };

static void repeat_leak_found(void)
{
        struct kw_repeat r;
        struct kw_module mod = { .name = "kwleak4k" };
        static const struct kw_repeat_hooks hooks = { 0 };

        memset(&ev, 0, sizeof(ev));
        CHECK_EQ(kw_repeat_init(&r, NULL, NULL, 10, 1000, &hooks, NULL), 0);
        add(&r, 100, 500, base, N(base)); /* before the first load */
        for (unsigned k = 1; k <= 10; k++)
                add(&r, 100 + k, 500 + (k * 7) % 5, base, N(base));
        CHECK(kw_repeat_report(&r, &mod, 1, 1234));
        CHECK_EQ(ev.n_leak_events, 1);
        CHECK(strcmp(ev.leak_cache, "kmalloc-4k") == 0);
        CHECK(strcmp(ev.bytes, "4096") == 0);
        CHECK(strcmp(ev.leaks, "kmalloc-4k") == 0);
        CHECK(strcmp(ev.ok, "false") == 0);
        CHECK(strcmp(ev.cycles, "10") == 0);
        kw_repeat_fini(&r);
}

static void repeat_clean_and_left_behind(void)
{
        static const char *const after[] = { "/proc/cpuinfo", "/sys/kernel/kwleave_4294", "/sys/kernel/mm",
                                             "/sys/module/9p" };
        static const char *const still[] = { "/proc/cpuinfo", "/sys/kernel/mm", "/sys/module/9p",
                                             "/sys/module/kw_hold" };
        static const struct kw_repeat_hooks hooks = { 0 };
        struct kw_module mod = { .name = "kw-hold" };
        struct kw_repeat r;

        /* clean: nothing grows, nothing new */
        memset(&ev, 0, sizeof(ev));
        CHECK_EQ(kw_repeat_init(&r, NULL, NULL, 6, 1000, &hooks, NULL), 0);
        for (unsigned k = 0; k <= 6; k++)
                add(&r, 100, 500, base, N(base));
        CHECK(!kw_repeat_report(&r, &mod, 1, 1));
        CHECK(strcmp(ev.ok, "true") == 0);
        CHECK(strcmp(ev.left, "") == 0);
        kw_repeat_fini(&r);

        /* an entry left behind */
        memset(&ev, 0, sizeof(ev));
        CHECK_EQ(kw_repeat_init(&r, NULL, NULL, 6, 1000, &hooks, NULL), 0);
        add(&r, 100, 500, base, N(base));
        for (unsigned k = 1; k <= 6; k++)
                add(&r, 100, 500, after, N(after));
        CHECK(kw_repeat_report(&r, &mod, 1, 1));
        CHECK(strcmp(ev.left, "/sys/kernel/kwleave_4294") == 0);
        kw_repeat_fini(&r);

        /* the module itself still there after its unload (kw-hold is kw_hold in /sys/module) */
        memset(&ev, 0, sizeof(ev));
        CHECK_EQ(kw_repeat_init(&r, NULL, NULL, 6, 1000, &hooks, NULL), 0);
        add(&r, 100, 500, base, N(base));
        for (unsigned k = 1; k <= 6; k++)
                add(&r, 100, 500, still, N(still));
        CHECK(kw_repeat_report(&r, &mod, 1, 1));
        CHECK(strcmp(ev.left, "/sys/module/kw_hold") == 0);
        kw_repeat_fini(&r);
}

/* A dependency the first load pulled in (it stays loaded) is not left behind by our module. */
static void repeat_dependency_not_blamed(void)
{
        static const char *const with_dep[] = { "/proc/cpuinfo", "/sys/class/video4linux", "/sys/kernel/mm",
                                                "/sys/module/9p", "/sys/module/videodev" };
        static const struct kw_repeat_hooks hooks = { 0 };
        struct kw_module mod = { .name = "vivid_like" };
        struct kw_repeat r;

        memset(&ev, 0, sizeof(ev));
        CHECK_EQ(kw_repeat_init(&r, NULL, NULL, 5, 1000, &hooks, NULL), 0);
        add(&r, 100, 500, base, N(base));
        for (unsigned k = 1; k <= 5; k++)
                add(&r, 100, 500, with_dep, N(with_dep));
        CHECK(!kw_repeat_report(&r, &mod, 1, 1));
        kw_repeat_fini(&r);
}

/* ---- the request, through a port ---- */

static kw_stats_fn pending_fn;
static void *pending_ud;
static unsigned pending_flags;
static int snapped, snapped_ok;

static int f_stats(void *impl, unsigned flags, unsigned timeout_ms, kw_stats_fn fn, void *ud)
{
        pending_fn = fn;
        pending_ud = ud;
        pending_flags = flags;
        return 0;
}

static void on_snapped(void *core, bool ok)
{
        snapped++;
        snapped_ok += ok;
}

static void repeat_through_port(void)
{
        static const struct kw_cycle_port port = { .stats = f_stats };
        static const struct kw_repeat_hooks hooks = { .snapped = on_snapped };
        struct kw_stat slab[1] = { { "kmalloc-4k", 10, 4096 } };
        struct kw_stats st = { .slab = slab, .n_slab = 1, .kmemleak = true };
        struct kw_reply ok = { .kind = KW_REPLY_OK }, old = { .kind = KW_REPLY_OK, .err = 95 };
        struct kw_repeat r;

        CHECK_EQ(kw_repeat_init(&r, &port, NULL, 1, 1000, &hooks, NULL), 0);
        CHECK_EQ(kw_repeat_snap(&r), 0);
        CHECK_EQ(kw_repeat_snap(&r), -16); /* one at a time: EBUSY */
        CHECK_EQ(pending_flags, KW_STATS_SHRINK);
        pending_fn(pending_ud, &ok, &st);
        CHECK_EQ(snapped, 1);
        CHECK_EQ(snapped_ok, 1);
        CHECK_EQ(r.taken, 1u);
        /* the last snapshot asks for kmemleak's report where the kernel has it */
        CHECK_EQ(kw_repeat_snap(&r), 0);
        CHECK_EQ(pending_flags, KW_STATS_SHRINK | KW_STATS_KMEMLEAK);
        pending_fn(pending_ud, &old, NULL); /* an agent without STATS */
        CHECK_EQ(snapped, 2);
        CHECK_EQ(snapped_ok, 1);
        kw_repeat_fini(&r);
}

int main(void)
{
        kw_ev_set_sink(sink, NULL);
        RUN(rule_exact_leak);
        RUN(rule_staircase_leak);
        RUN(rule_flat_and_falling);
        RUN(rule_one_step);
        RUN(rule_noise);
        RUN(rule_threshold);
        RUN(rule_status);
        RUN(repeat_leak_found);
        RUN(repeat_clean_and_left_behind);
        RUN(repeat_dependency_not_blamed);
        RUN(repeat_through_port);
        TEST_DONE();
}
