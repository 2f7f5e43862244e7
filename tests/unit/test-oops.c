/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-oops.c — the kernel-report scanner (watcher/oops.c) on real reports
 * captured from the kit's guests (Debian 6.1, x86_64 and arm64, under QEMU
 * TCG: examples/10-oops-null, 11-panic, a WARN_ON) and on lockup, hung-task
 * and bare-trace reports written in the kernel's own format: one block per
 * report, its kind, the faulting function, the trace, the taint, the end —
 * and one block when the same report arrives on the kernel log and the
 * console both.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "oops.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#include "oops-texts.h"

static struct kw_oops_scanner s;

/* Feeds lines; returns how many blocks completed, the last one in *ret. */
static int feed_all(enum kw_oops_src src, const char *const *lines, size_t n, struct kw_oops *ret)
{
        int done = 0;

        for (size_t i = 0; i < n; i++) {
                int r = kw_oops_feed(&s, src, lines[i]);
                if (r & KW_OOPS_DONE) {
                        done++;
                        *ret = *kw_oops_done(&s);
                }
        }
        return done;
}

static bool frame_is(const struct kw_oops_frame *f, const char *fn, unsigned long long off, const char *mod)
{
        return strcmp(f->function, fn) == 0 && f->offset == off && strcmp(f->module, mod) == 0;
}

static void x86_oops_from_kmsg(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "oops-null: counting a hit"), 0);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, x86_oops, N(x86_oops), &o), 1);
        CHECK(!s.open);
        CHECK_EQ(o.kind, KW_OOPS_OOPS);
        CHECK(strcmp(o.text, "BUG: kernel NULL pointer dereference, address: 0000000000000000") == 0);
        CHECK(o.fatal);
        CHECK(o.ended);
        CHECK(o.has_where && o.where.exact);
        CHECK(frame_is(&o.where, "oops_null_init", 0x11, "oops_null"));
        CHECK_EQ(o.where.size, 0x1000);
        /* the faulting function first, then the reliable callers; no "? " frames */
        CHECK_EQ(o.n_frames, 6);
        CHECK(frame_is(&o.frames[0], "oops_null_init", 0x11, "oops_null"));
        CHECK(frame_is(&o.frames[1], "do_one_initcall", 0x59, ""));
        CHECK(frame_is(&o.frames[5], "entry_SYSCALL_64_after_hwframe", 0x6e, ""));
        CHECK(strcmp(o.tainted, "G OE") == 0);
        CHECK_EQ(o.n_lines, N(x86_oops));
        CHECK(strstr(o.lines, "---[ end trace") != NULL);
        /* x86 repeats RIP and the registers after the end marker: not a new report */
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "RIP: 0010:oops_null_init+0x11/0x1000 [oops_null]"), 0);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "note: kmod-agent[101] exited with irqs disabled"), 0);
}

/* The console (timestamps, urgent lines first) and the kernel log (later, all
 * lines) deliver the same report: one block, every line once. */
static void both_sources_one_block(void)
{
        static struct kw_oops o;
        char line[512];
        int done = 0, echoes = 0;
        size_t echo_at = 0;

        kw_oops_init(&s);
        for (size_t i = 0; i < N(x86_oops) + 3; i++) {
                if (i < N(x86_oops)) {
                        snprintf(line, sizeof(line), "[    3.%06zu] %s", 60048 + i, x86_oops[i]);
                        int r = kw_oops_feed(&s, KW_OOPS_SRC_CONSOLE, line);
                        if (r & KW_OOPS_DONE) {
                                done++;
                                o = *kw_oops_done(&s);
                        }
                        CHECK(!(r & KW_OOPS_ECHO));
                }
                if (i < 3)
                        continue;
                /* the agent is a few lines behind */
                int r = kw_oops_feed(&s, KW_OOPS_SRC_KMSG, x86_oops[i - 3]);
                if (r & KW_OOPS_DONE)
                        done++;
                if (r & KW_OOPS_ECHO) {
                        echoes++;
                        echo_at = i - 3;
                }
        }
        CHECK_EQ(done, 1);
        CHECK(!s.open);
        CHECK_EQ(o.n_lines, N(x86_oops));
        CHECK_EQ(o.last_src, KW_OOPS_SRC_CONSOLE);
        CHECK(frame_is(&o.where, "oops_null_init", 0x11, "oops_null"));
        CHECK(strncmp(o.lines, "BUG: kernel NULL", 16) == 0); /* the stamps are gone */
        /* the kernel log caught up when its copy of the end marker came */
        CHECK_EQ(echoes, 1);
        CHECK_EQ(echo_at, N(x86_oops) - 1);
}

static void arm64_report(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, arm64_oops, N(arm64_oops), &o), 1);
        CHECK_EQ(o.kind, KW_OOPS_OOPS);
        CHECK(strncmp(o.text, "Unable to handle kernel NULL pointer dereference", 48) == 0);
        CHECK(o.fatal && o.ended);
        CHECK(o.where.exact);
        CHECK(frame_is(&o.where, "oops_null_init", 0x28, "oops_null"));
        /* arm64 traces start at the faulting function: not repeated */
        CHECK_EQ(o.n_frames, 12);
        CHECK(frame_is(&o.frames[0], "oops_null_init", 0x28, "oops_null"));
        CHECK(frame_is(&o.frames[11], "el0t_64_sync", 0x18c, ""));
        CHECK(strcmp(o.tainted, "G OE") == 0);
}

/* The console is all a panicking guest leaves; QEMU exits before the end marker. */
static void x86_panic_from_console(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_CONSOLE, x86_panic, N(x86_panic), &o), 0);
        CHECK(s.open);
        CHECK_EQ(kw_oops_flush(&s), KW_OOPS_DONE);
        o = *kw_oops_done(&s);
        CHECK_EQ(kw_oops_flush(&s), 0);
        CHECK_EQ(o.kind, KW_OOPS_PANIC);
        CHECK(strcmp(o.text, "Kernel panic - not syncing: 11-panic: crash requested by the example") == 0);
        CHECK(o.fatal);
        CHECK(!o.ended);
        /* no RIP: the first frame in a module, a return address */
        CHECK(frame_is(&o.where, "panic_init", 0x11, "panic"));
        CHECK(!o.where.exact);
        CHECK(frame_is(&o.frames[0], "dump_stack_lvl", 0x44, ""));
        CHECK(frame_is(&o.frames[1], "panic", 0x118, ""));
        CHECK(frame_is(&o.frames[2], "panic_init", 0x11, "panic"));
}

/* panic_on_oops: the panic that follows an oops is a second report. */
static void panic_after_oops(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, x86_oops, 8, &o), 0);
        int r = kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "Kernel panic - not syncing: Fatal exception");
        CHECK_EQ(r, KW_OOPS_DONE | KW_OOPS_OPEN);
        CHECK_EQ(kw_oops_done(&s)->kind, KW_OOPS_OOPS);
        CHECK(!kw_oops_done(&s)->ended);
        r = kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "---[ end Kernel panic - not syncing: Fatal exception ]---");
        CHECK_EQ(r, KW_OOPS_DONE);
        CHECK_EQ(kw_oops_done(&s)->kind, KW_OOPS_PANIC);
        CHECK(kw_oops_done(&s)->ended);
}

static void x86_warn_report(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, x86_warning, N(x86_warning), &o), 1);
        CHECK_EQ(o.kind, KW_OOPS_WARNING);
        CHECK(strncmp(o.text, "WARNING: CPU: 0 PID: 101 at ", 28) == 0);
        CHECK(!o.fatal);
        CHECK(frame_is(&o.where, "hello_init", 0x11, "hello") && o.where.exact);
        CHECK_EQ(o.n_frames, 6);
}

/* No end marker: the caller's quiet timer flushes it. */
static void soft_lockup_flushed(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, soft_lockup, N(soft_lockup), &o), 0);
        CHECK_EQ(kw_oops_flush(&s), KW_OOPS_DONE);
        o = *kw_oops_done(&s);
        CHECK_EQ(o.kind, KW_OOPS_BUG);
        CHECK(!o.fatal);
        CHECK(frame_is(&o.where, "spin_init", 0x15, "spin"));
        CHECK_EQ(o.n_frames, 3);
        CHECK(strcmp(o.tainted, "G OEL") == 0);
}

static void hung_task_blames_the_module(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, hung_task, N(hung_task), &o), 0);
        CHECK_EQ(kw_oops_flush(&s), KW_OOPS_DONE);
        o = *kw_oops_done(&s);
        CHECK_EQ(o.kind, KW_OOPS_BUG);
        CHECK(frame_is(&o.where, "wait_init", 0x2a, "waiter"));
        CHECK_EQ(o.n_frames, 5);
        CHECK(strcmp(o.tainted, "G OE") == 0);
        /* "INFO: task" without the hung-task words is no report */
        kw_oops_init(&s);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "INFO: task list updated"), 0);
}

static void bare_trace_is_a_warning(void)
{
        static struct kw_oops o;

        kw_oops_init(&s);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "random line before"), 0);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, bare_trace, N(bare_trace), &o), 0);
        CHECK(s.open);
        CHECK_EQ(kw_oops_flush(&s), KW_OOPS_DONE);
        o = *kw_oops_done(&s);
        CHECK_EQ(o.kind, KW_OOPS_WARNING);
        CHECK(strcmp(o.text, "hello: where am I?") == 0);
        CHECK_EQ(o.n_lines, N(bare_trace));
        CHECK(frame_is(&o.where, "hello_init", 0x15, "hello"));
        CHECK(strcmp(o.tainted, "G OE") == 0);
        /* without a CPU: header before it, the trace has no title to borrow */
        kw_oops_init(&s);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "unrelated"), 0);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "Call Trace:"), KW_OOPS_OPEN);
        CHECK_EQ(kw_oops_flush(&s), KW_OOPS_DONE);
        CHECK(strncmp(kw_oops_done(&s)->text, "Call Trace", 10) == 0);
        CHECK_EQ(kw_oops_done(&s)->n_lines, 1);
}

static void ordinary_lines_are_quiet(void)
{
        static const char *const lines[] = {
                "hello: loading out-of-tree module taints kernel.",
                "hello: module verification failed: signature and/or required key missing - tainting kernel",
                "9p iter: build A",
                "random: crng init done",
                "",
        };

        kw_oops_init(&s);
        for (size_t i = 0; i < N(lines); i++) {
                CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, lines[i]), 0);
                CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_CONSOLE, lines[i]), 0);
        }
        CHECK_EQ(kw_oops_flush(&s), 0);
}

static void block_is_bounded(void)
{
        char line[64];
        int done = 0;

        kw_oops_init(&s);
        CHECK_EQ(kw_oops_feed(&s, KW_OOPS_SRC_KMSG, "BUG: scheduling while atomic: x/1/0x00000002"), KW_OOPS_OPEN);
        for (int i = 0; i < 2 * KW_OOPS_MAX_LINES; i++) {
                snprintf(line, sizeof(line), " filler line %d", i);
                if (kw_oops_feed(&s, KW_OOPS_SRC_KMSG, line) & KW_OOPS_DONE)
                        done++;
        }
        CHECK_EQ(done, 1);
        CHECK_EQ(kw_oops_done(&s)->n_lines, KW_OOPS_MAX_LINES);
        CHECK(!kw_oops_done(&s)->ended);
        CHECK(!s.open);
}

static void frames(void)
{
        struct kw_oops_frame f;
        char buf[256];

        CHECK_EQ(kw_oops_parse_frame(" ? foo.cold+0x1f/0x2a0 [my_mod]", &f), 0);
        CHECK(frame_is(&f, "foo.cold", 0x1f, "my_mod"));
        CHECK_EQ(f.size, 0x2a0);
        kw_oops_format_frame(&f, buf, sizeof(buf));
        CHECK(strcmp(buf, "foo.cold+0x1f/0x2a0 [my_mod]") == 0);
        CHECK_EQ(kw_oops_parse_frame("el0_svc_common.constprop.0+0x4c/0xf4", &f), 0);
        CHECK(frame_is(&f, "el0_svc_common.constprop.0", 0x4c, ""));
        CHECK_EQ(kw_oops_parse_frame("bar+0x1/0x2 [m] trailing words", &f), 0);
        CHECK_EQ(kw_oops_parse_frame("RIP: 0033:0x443b99", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("0xffffffffc0214000", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("foo+0x1", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("foo+0x/0x2", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("foo+0x1/0x2 [m", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("foo+0x1/0x2x", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("foo+0x11112222333344445/0x2", &f), -EINVAL);
        CHECK_EQ(kw_oops_parse_frame("", &f), -EINVAL);
}

static void stamps(void)
{
        CHECK(strcmp(kw_oops_strip_stamp("[    5.208193] BUG: x"), "BUG: x") == 0);
        CHECK(strcmp(kw_oops_strip_stamp("[    5.208193][    T1] BUG: x"), "BUG: x") == 0);
        CHECK(strcmp(kw_oops_strip_stamp("[12345.000001]  do_one_initcall"), " do_one_initcall") == 0);
        CHECK(strcmp(kw_oops_strip_stamp("[abc] x"), "[abc] x") == 0);
        CHECK(strcmp(kw_oops_strip_stamp("[    5.2"), "[    5.2") == 0);
        CHECK(strcmp(kw_oops_strip_stamp("kmod-agent: ready"), "kmod-agent: ready") == 0);
}

int main(void)
{
        RUN(x86_oops_from_kmsg);
        RUN(both_sources_one_block);
        RUN(arm64_report);
        RUN(x86_panic_from_console);
        RUN(panic_after_oops);
        RUN(x86_warn_report);
        RUN(soft_lockup_flushed);
        RUN(hung_task_blames_the_module);
        RUN(bare_trace_is_a_warning);
        RUN(ordinary_lines_are_quiet);
        RUN(block_is_bounded);
        RUN(frames);
        RUN(stamps);
        TEST_DONE();
}
