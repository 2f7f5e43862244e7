/* SPDX-License-Identifier: MIT */
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

/* Captured with kmod-watch --json (the oops event's "report"); the panic as
 * the console showed it, with its timestamps. */
static const char *const x86_oops[] = {
        "BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "#PF: supervisor read access in kernel mode",
        "#PF: error_code(0x0000) - not-present page",
        "PGD 6266067 P4D 6266067 PUD 62ec067 PMD 0 ",
        "Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "CPU: 0 PID: 101 Comm: kmod-agent Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2",
        "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "RIP: 0010:oops_null_init+0x11/0x1000 [oops_null]",
        "Code: Unable to access opcode bytes at 0xffffffffc0218fe7.",
        "RSP: 0018:ffffc90000593d08 EFLAGS: 00000246",
        "RAX: 0000000000000019 RBX: ffffffffc0219000 RCX: 0000000000000027",
        "RDX: 0000000000000000 RSI: 0000000000000001 RDI: ffff88800f6203e0",
        "RBP: ffff8880062ed990 R08: 0000000000000000 R09: ffffc90000593ba0",
        "R10: 0000000000000003 R11: ffffffff82ad4448 R12: ffffc90000593d10",
        "R13: 0000000000000000 R14: 0000000000000000 R15: 0000000000000000",
        "FS:  0000000024250380(0000) GS:ffff88800f600000(0000) knlGS:0000000000000000",
        "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033",
        "CR2: ffffffffc0218fe7 CR3: 0000000006278000 CR4: 0000000000750ef0",
        "PKRU: 55555554",
        "Call Trace:",
        " <TASK>",
        " do_one_initcall+0x59/0x220",
        " do_init_module+0x4a/0x1f0",
        " __do_sys_finit_module+0xac/0x120",
        " do_syscall_64+0x5d/0xb0",
        " ? handle_mm_fault+0xdb/0x2d0",
        " ? do_user_addr_fault+0x1b0/0x570",
        " ? exit_to_user_mode_prepare+0x44/0x240",
        " entry_SYSCALL_64_after_hwframe+0x6e/0xd8",
        "RIP: 0033:0x443b99",
        "Code: 48 83 c4 28 c3 e8 f7 1a 00 00 0f 1f 80 00 00 00 00 48 89 f8 48 89 f7 48 89 d6 48 89 ca 4d 89 c2 4d 89 c8 4c 8b 4c 24 08 0f 05 <48> 3d 01 f0 ff ff 73 01 c3 48 c7 c1 b8 ff ff ff f7 d8 64 89 01 48",
        "RSP: 002b:00007ffc89d48958 EFLAGS: 00000246 ORIG_RAX: 0000000000000139",
        "RAX: ffffffffffffffda RBX: 00000000004f1540 RCX: 0000000000443b99",
        "RDX: 0000000000000000 RSI: 00000000004f65c0 RDI: 0000000000000008",
        "RBP: 0000000000000008 R08: 000000000055bf20 R09: 0000000000000000",
        "R10: 0000000000000000 R11: 0000000000000246 R12: 00007ffc89d48c90",
        "R13: 0000000000525620 R14: 00000000004f1548 R15: 00000000004f65c0",
        " </TASK>",
        "Modules linked in: oops_null(OE+) virtio_console 9p fscache netfs 9pnet_virtio 9pnet virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring",
        "CR2: 0000000000000000",
        "---[ end trace 0000000000000000 ]---",
};

static const char *const x86_panic[] = {
        "[    5.208193] Kernel panic - not syncing: 11-panic: crash requested by the example",
        "[    5.208290] CPU: 0 PID: 101 Comm: kmod-agent Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2",
        "[    5.208387] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "[    5.208484] Call Trace:",
        "[    5.208581]  <TASK>",
        "[    5.208678]  dump_stack_lvl+0x44/0x5c",
        "[    5.208775]  panic+0x118/0x2f4",
        "[    5.208872]  ? 0xffffffffc0214000",
        "[    5.208969]  ? 0xffffffffc0214000",
        "[    5.209066]  panic_init+0x11/0x1000 [panic]",
        "[    5.209163]  do_one_initcall+0x59/0x220",
        "[    5.209260]  do_init_module+0x4a/0x1f0",
        "[    5.209357]  __do_sys_finit_module+0xac/0x120",
        "[    5.209454]  do_syscall_64+0x5d/0xb0",
        "[    5.209551]  ? handle_mm_fault+0xdb/0x2d0",
        "[    5.209648]  ? do_user_addr_fault+0x1b0/0x570",
        "[    5.209745]  ? exit_to_user_mode_prepare+0x44/0x240",
        "[    5.209842]  entry_SYSCALL_64_after_hwframe+0x6e/0xd8",
        "[    5.209939] RIP: 0033:0x443b99",
        "[    5.210036] Code: 48 83 c4 28 c3 e8 f7 1a 00 00 0f 1f 80 00 00 00 00 48 89 f8 48 89 f7 48 89 d6 48 89 ca 4d 89 c2 4d 89 c8 4c 8b 4c 24 08 0f 05 <48> 3d 01 f0 ff ff 73 01 c3 48 c7 c1 b8 ff ff ff f7 d8 64 89 01 48",
        "[    5.210133] RSP: 002b:00007ffd27cdbbf8 EFLAGS: 00000246 ORIG_RAX: 0000000000000139",
        "[    5.210230] RAX: ffffffffffffffda RBX: 00000000004f1540 RCX: 0000000000443b99",
        "[    5.210327] RDX: 0000000000000000 RSI: 00000000004f65c0 RDI: 0000000000000008",
        "[    5.210424] RBP: 0000000000000008 R08: 000000000055bf20 R09: 0000000000000000",
        "[    5.210521] R10: 0000000000000000 R11: 0000000000000246 R12: 00007ffd27cdbf30",
        "[    5.210618] R13: 0000000000525620 R14: 00000000004f1548 R15: 00000000004f65c0",
        "[    5.210715]  </TASK>",
        "[    5.210812] Kernel Offset: disabled",
};

static const char *const arm64_oops[] = {
        "Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000",
        "Mem abort info:",
        "  ESR = 0x0000000096000006",
        "  EC = 0x25: DABT (current EL), IL = 32 bits",
        "  SET = 0, FnV = 0",
        "  EA = 0, S1PTW = 0",
        "  FSC = 0x06: level 2 translation fault",
        "Data abort info:",
        "  ISV = 0, ISS = 0x00000006",
        "  CM = 0, WnR = 0",
        "user pgtable: 4k pages, 48-bit VAs, pgdp=0000000048127000",
        "[0000000000000000] pgd=0800000043402003, p4d=0800000043402003, pud=0800000043256003, pmd=0000000000000000",
        "Internal error: Oops: 0000000096000006 [#1] SMP",
        "Modules linked in: oops_null(OE+) virtio_mmio virtio_console 9p fscache netfs 9pnet_virtio 9pnet virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev",
        "CPU: 0 PID: 100 Comm: kmod-agent Tainted: G           OE      6.1.0-56-arm64 #1  Debian 6.1.192-2",
        "Hardware name: linux,dummy-virt (DT)",
        "pstate: 60400005 (nZCv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)",
        "pc : oops_null_init+0x28/0x1000 [oops_null]",
        "lr : oops_null_init+0x20/0x1000 [oops_null]",
        "sp : ffff800008243b10",
        "x29: ffff800008243b10 x28: ffff800008243c80 x27: 0000000000000000",
        "x26: ffffab521775c9c0 x25: ffffab51c9da3058 x24: ffffab51c9da3040",
        "x23: ffff800008243d88 x22: 0000000000000000 x21: ffff00000344c700",
        "x20: 0000000000000000 x19: ffffab51c9da6000 x18: 0000000000000000",
        "x17: 0000000000000000 x16: ffffab52166c767c x15: 0000000000000000",
        "x14: ffffffffffffffff x13: 746968206120676e x12: 69746e756f63203a",
        "x11: 00000000ffffefff x10: ffffab5217740a10 x9 : ffffab5215c2320c",
        "x8 : 0000000000017fe8 x7 : c0000000ffffefff x6 : 0000000000000000",
        "x5 : ffff00000ff2eb10 x4 : ffff00000ff2eb10 x3 : 0000000000000000",
        "x2 : 0000000000000000 x1 : ffff0000031c8000 x0 : 0000000000000000",
        "Call trace:",
        " oops_null_init+0x28/0x1000 [oops_null]",
        " do_one_initcall+0x64/0x26c",
        " do_init_module+0x50/0x1fc",
        " load_module+0x1c64/0x2210",
        " __do_sys_finit_module+0xb0/0x130",
        " __arm64_sys_finit_module+0x28/0x34",
        " invoke_syscall+0x68/0xe0",
        " el0_svc_common.constprop.0+0x4c/0xf4",
        " do_el0_svc+0x2c/0x9c",
        " el0_svc+0x34/0xdc",
        " el0t_64_sync_handler+0xf4/0x120",
        " el0t_64_sync+0x18c/0x190",
        "Code: 91000000 94000009 d2800002 52800000 (b9400041) ",
        "---[ end trace 0000000000000000 ]---",
};

static const char *const x86_warning[] = {
        "------------[ cut here ]------------",
        "WARNING: CPU: 0 PID: 101 at /tmp/kwx/warn/hello.c:12 hello_init+0x11/0x1000 [hello]",
        "Modules linked in: hello(OE+) virtio_console 9p fscache netfs 9pnet_virtio 9pnet virtio_pci virtio_pci_legacy_dev virtio_pci_modern_dev virtio virtio_ring",
        "CPU: 0 PID: 101 Comm: kmod-agent Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2",
        "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "RIP: 0010:hello_init+0x11/0x1000 [hello]",
        "Code: Unable to access opcode bytes at 0xffffffffc0213fe7.",
        "RSP: 0018:ffffc90000637a98 EFLAGS: 00000246",
        "RAX: 0000000000000010 RBX: ffffffffc0214000 RCX: 0000000000000027",
        "RDX: 0000000000000000 RSI: 0000000000000001 RDI: ffff88800f6203e0",
        "RBP: ffff8880062fd4d0 R08: 0000000000000000 R09: ffffc90000637930",
        "R10: 0000000000000003 R11: ffffffff82ad4448 R12: ffffc90000637aa0",
        "R13: 0000000000000000 R14: 0000000000000000 R15: 0000000000000000",
        "FS:  00000000215c8380(0000) GS:ffff88800f600000(0000) knlGS:0000000000000000",
        "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033",
        "CR2: ffffffffc0213fe7 CR3: 00000000062c0000 CR4: 0000000000750ef0",
        "PKRU: 55555554",
        "Call Trace:",
        " <TASK>",
        " do_one_initcall+0x59/0x220",
        " do_init_module+0x4a/0x1f0",
        " __do_sys_finit_module+0xac/0x120",
        " do_syscall_64+0x5d/0xb0",
        " ? __alloc_pages+0x1dc/0x330",
        " ? page_add_file_rmap+0xba/0x2f0",
        " ? do_set_pte+0x189/0x1d0",
        " ? filemap_map_pages+0x153/0x720",
        " ? do_fault+0x1a7/0x410",
        " ? __handle_mm_fault+0x660/0xfa0",
        " ? handle_mm_fault+0xdb/0x2d0",
        " ? do_user_addr_fault+0x1b0/0x570",
        " ? exit_to_user_mode_prepare+0x44/0x240",
        " entry_SYSCALL_64_after_hwframe+0x6e/0xd8",
        "RIP: 0033:0x443b99",
        "Code: 48 83 c4 28 c3 e8 f7 1a 00 00 0f 1f 80 00 00 00 00 48 89 f8 48 89 f7 48 89 d6 48 89 ca 4d 89 c2 4d 89 c8 4c 8b 4c 24 08 0f 05 <48> 3d 01 f0 ff ff 73 01 c3 48 c7 c1 b8 ff ff ff f7 d8 64 89 01 48",
        "RSP: 002b:00007ffd471b9ac8 EFLAGS: 00000246 ORIG_RAX: 0000000000000139",
        "RAX: ffffffffffffffda RBX: 00000000004f1540 RCX: 0000000000443b99",
        "RDX: 0000000000000000 RSI: 00000000004f65c0 RDI: 0000000000000008",
        "RBP: 0000000000000008 R08: 000000000055bf20 R09: 0000000000000000",
        "R10: 0000000000000000 R11: 0000000000000246 R12: 00007ffd471b9e00",
        "R13: 0000000000525620 R14: 00000000004f1548 R15: 00000000004f65c0",
        " </TASK>",
        "---[ end trace 0000000000000000 ]---",
};

static const char *const soft_lockup[] = {
        "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [kmod-agent:101]",
        "Modules linked in: spin(OE+) virtio_console 9p fscache netfs",
        "CPU: 0 PID: 101 Comm: kmod-agent Tainted: G           OEL     6.1.0-56-amd64 #1  Debian 6.1.192-2",
        "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "RIP: 0010:spin_init+0x15/0x1000 [spin]",
        "Code: Unable to access opcode bytes at 0xffffffffc0213fe7.",
        "RSP: 0018:ffffc90000637a98 EFLAGS: 00000246",
        "Call Trace:",
        " <TASK>",
        " do_one_initcall+0x59/0x220",
        " do_init_module+0x4a/0x1f0",
        " </TASK>",
};

static const char *const hung_task[] = {
        "INFO: task kmod-agent:101 blocked for more than 120 seconds.",
        "      Tainted: G           OE      6.1.0-56-amd64 #1 Debian 6.1.192-2",
        "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.",
        "task:kmod-agent      state:D stack:0     pid:101   ppid:95     flags:0x00004000",
        "Call Trace:",
        " <TASK>",
        " __schedule+0x351/0xa20",
        " schedule+0x5d/0xe0",
        " schedule_timeout+0x94/0x150",
        " ? __bpf_trace_tick_stop+0x10/0x10",
        " wait_init+0x2a/0x1000 [waiter]",
        " do_one_initcall+0x59/0x220",
        " </TASK>",
};

static const char *const bare_trace[] = {
        "hello: where am I?",
        "CPU: 0 PID: 101 Comm: kmod-agent Tainted: G           OE      6.1.0-56-amd64 #1  Debian 6.1.192-2",
        "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014",
        "Call Trace:",
        " <TASK>",
        " dump_stack_lvl+0x44/0x5c",
        " hello_init+0x15/0x1000 [hello]",
        " do_one_initcall+0x59/0x220",
        " </TASK>",
};

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

/* The same WARNING from a loop is the same report; another PID too; another place is not. */
static void same_report(void)
{
        static struct kw_oops a, b, c;

        kw_oops_init(&s);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, x86_warning, N(x86_warning), &a), 1);
        CHECK_EQ(feed_all(KW_OOPS_SRC_KMSG, x86_warning, N(x86_warning), &b), 1);
        CHECK(kw_oops_same(&a, &b));
        snprintf(b.text, sizeof(b.text), "WARNING: CPU: 0 PID: 202 at /tmp/kwx/warn/hello.c:12 hello_init");
        CHECK(kw_oops_same(&a, &b));
        c = a;
        c.where.offset = 0x15;
        CHECK(!kw_oops_same(&a, &c));
        c = a;
        c.n_frames--;
        CHECK(!kw_oops_same(&a, &c));
        c = a;
        c.kind = KW_OOPS_OOPS;
        CHECK(!kw_oops_same(&a, &c));
        c = a;
        snprintf(c.frames[1].function, sizeof(c.frames[1].function), "other_caller");
        CHECK(!kw_oops_same(&a, &c));
        /* no faulting function: the first line decides */
        a.has_where = b.has_where = false;
        CHECK(!kw_oops_same(&a, &b));
        b = a;
        CHECK(kw_oops_same(&a, &b));
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
        RUN(same_report);
        TEST_DONE();
}
