/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-crashsig.c — the crash fingerprint (watcher/crashsig.c) on real
 * reports: examples/10-oops-null's oops captured on two boots of two kernel
 * builds (6.1.0-56 and 6.1.0-57: other addresses, PID, registers, trace
 * noise; the second read from the console with its timestamps) gives one
 * fingerprint and title; every other report gives another.
 */
#include <stdio.h>
#include <string.h>

#include "crashsig.h"
#include "oops.h"
#include "test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#include "oops-texts.h"

/* examples/10-oops-null on another boot and kernel build, as the oops event's report. */
static const char *const x86_oops_boot2[] = {
        "BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "PGD 652d067 P4D 652d067 PUD 652e067 PMD 0 ",
        "Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "CPU: 0 PID: 102 Comm: kmod-agent Tainted: G           OE      6.1.0-57-amd64 #1  Debian 6.1.192-3",
        "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "RIP: 0010:oops_null_init+0x11/0x1000 [oops_null]",
        "Code: Unable to access opcode bytes at 0xffffffffc02d6fe7.",
        "RSP: 0018:ffffc900005a3d90 EFLAGS: 00000246",
        "RAX: 0000000000000019 RBX: ffffffffc02d7000 RCX: 0000000000000027",
        "RDX: 0000000000000000 RSI: 0000000000000001 RDI: ffff88800f6203e0",
        "RBP: ffff8880064a4260 R08: 0000000000000000 R09: ffffc900005a3c28",
        "R10: 0000000000000003 R11: ffffffff82ad4448 R12: ffffc900005a3d98",
        "R13: 0000000000000000 R14: 0000000000000000 R15: 0000000000000000",
        "FS:  0000000037e5e380(0000) GS:ffff88800f600000(0000) knlGS:0000000000000000",
        "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033",
        "CR2: ffffffffc02d6fe7 CR3: 000000000622c000 CR4: 0000000000750ef0",
        "PKRU: 55555554",
        "Call Trace:",
        " <TASK>",
        " do_one_initcall+0x59/0x220",
        " do_init_module+0x4a/0x1f0",
        " __do_sys_finit_module+0xac/0x120",
        " do_syscall_64+0x5d/0xb0",
        " ? exit_to_user_mode_prepare+0x44/0x240",
        " entry_SYSCALL_64_after_hwframe+0x6e/0xd8",
        "RIP: 0033:0x446399",
        "Code: 48 83 c4 28 c3 e8 f7 1a 00 00 0f 1f 80 00 00 00 00 48 89 f8 48 89 f7 48 89 d6 48 89 ca 4d 89 c2 4d 89 c8 4c 8b 4c 24 08 0f 05 <48> 3d 01 f0 ff ff 73 01 c3 48 c7 c1 b8 ff ff ff f7 d8 64 89 01 48",
        "RSP: 002b:00007fff1a617158 EFLAGS: 00000246 ORIG_RAX: 0000000000000139",
        "RAX: ffffffffffffffda RBX: 00000000004f4540 RCX: 0000000000446399",
        "RDX: 0000000000000000 RSI: 00000000004fe7c0 RDI: 0000000000000008",
        "RBP: 00007fff1a617490 R08: 0000000000565d40 R09: 00007fff00000000",
        "R10: 0000000000000000 R11: 0000000000000246 R12: 000000000052d820",
        "R13: 0000000000000008 R14: 00000000004fe7c0 R15: 00000000004f4548",
        " </TASK>",
        "Modules linked in: oops_null(OE+) virtio_console 9p fscache netfs 9pnet_virtio 9pnet virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring",
        "CR2: 0000000000000000",
        "---[ end trace 0000000000000000 ]---",
};

static struct kw_crashsig sig_of(enum kw_oops_src src, const char *const *lines, size_t n, bool stamps)
{
        static struct kw_oops_scanner s;
        struct kw_crashsig sig = { .title = "none" };
        char line[600];

        kw_oops_init(&s);
        for (size_t i = 0; i < n; i++) {
                snprintf(line, sizeof(line), "%s%s", stamps ? "[   31.40611] " : "", lines[i]);
                if (kw_oops_feed(&s, src, line) & KW_OOPS_DONE)
                        kw_crashsig(kw_oops_done(&s), &sig);
        }
        if (kw_oops_flush(&s) & KW_OOPS_DONE)
                kw_crashsig(kw_oops_done(&s), &sig);
        return sig;
}

static void same_bug_two_boots(void)
{
        struct kw_crashsig a = sig_of(KW_OOPS_SRC_KMSG, x86_oops, N(x86_oops), false);
        struct kw_crashsig b = sig_of(KW_OOPS_SRC_CONSOLE, x86_oops_boot2, N(x86_oops_boot2), true);

        printf("# %s %s\n", a.fingerprint, a.title);
        CHECK_EQ(strlen(a.fingerprint), 16);
        CHECK(strspn(a.fingerprint, "0123456789abcdef") == 16);
        CHECK(strcmp(a.fingerprint, b.fingerprint) == 0);
        CHECK(strcmp(a.title, "BUG: kernel NULL pointer dereference in oops_null_init [oops_null]") == 0);
        CHECK(strcmp(a.title, b.title) == 0);
}

static void different_bugs_differ(void)
{
        struct {
                const char *const *lines;
                size_t n;
                const char *title;
                enum kw_oops_src src;
        } reports[] = {
                { x86_oops, N(x86_oops), "BUG: kernel NULL pointer dereference in oops_null_init [oops_null]" },
                { x86_warning, N(x86_warning), "WARNING in hello_init [hello]" },
                { arm64_oops, N(arm64_oops),
                  "Unable to handle kernel NULL pointer dereference in oops_null_init [oops_null]" },
                { x86_panic, N(x86_panic), "Kernel panic - not syncing in panic_init [panic]",
                  KW_OOPS_SRC_CONSOLE },
                { soft_lockup, N(soft_lockup), "watchdog: BUG: soft lockup in spin_init [spin]" },
                { hung_task, N(hung_task), NULL },
                { bare_trace, N(bare_trace), NULL },
        };
        struct kw_crashsig sig[N(reports)];

        for (size_t i = 0; i < N(reports); i++) {
                sig[i] = sig_of(reports[i].src, reports[i].lines, reports[i].n, false);
                printf("# %s %s\n", sig[i].fingerprint, sig[i].title);
                CHECK_EQ(strlen(sig[i].fingerprint), 16);
                if (reports[i].title)
                        CHECK(strcmp(sig[i].title, reports[i].title) == 0);
                for (size_t j = 0; j < i; j++)
                        CHECK(strcmp(sig[i].fingerprint, sig[j].fingerprint) != 0);
        }
}

/* The same function failing another way is another bug. */
static void same_function_other_kind(void)
{
        const char *warn[N(x86_warning)];

        for (size_t i = 0; i < N(x86_warning); i++)
                warn[i] = strstr(x86_warning[i], "hello_init") ? "RIP: 0010:oops_null_init+0x11/0x1000 [oops_null]"
                                                                : x86_warning[i];
        warn[1] = "WARNING: CPU: 0 PID: 101 at /tmp/x/oops-null.c:12 oops_null_init+0x11/0x1000 [oops_null]";
        struct kw_crashsig a = sig_of(KW_OOPS_SRC_KMSG, x86_oops, N(x86_oops), false);
        struct kw_crashsig b = sig_of(KW_OOPS_SRC_KMSG, warn, N(warn), false);
        CHECK(strcmp(b.title, "WARNING in oops_null_init [oops_null]") == 0);
        CHECK(strcmp(a.fingerprint, b.fingerprint) != 0);
}

int main(void)
{
        RUN(same_bug_two_boots);
        RUN(different_bugs_differ);
        RUN(same_function_other_kind);
        TEST_DONE();
}
