/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * guest-managed.c — the managed guest backend (guest-int.h): a QEMU that
 * kmod-watch boots from the kit (or --kernel) and owns. A private runtime
 * directory (0700) with the agent socket and the boot initrd (the kit's
 * initramfs with the agent appended as a second cpio segment, so the kit
 * never needs rebuilding for a new agent), QEMU started and restarted, the
 * boot bounded in time, and --accel auto falling back from KVM to TCG when
 * KVM fails or hangs (nested KVM here does both).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch.h"
#include "cpio.h"
#include "guest-int.h"
#include "kit.h"
#include "paths.h"
#include "qemu.h"
#include "transport.h"
#include "ui.h"

#define KW_KVM_BOOT_BOUND_MS 20000 /* a KVM guest greets in ~2 s; more means it hangs */
#define KW_RESTARTS_MAX 5          /* within KW_RESTART_WINDOW_MS: stop trying */
#define KW_RESTART_WINDOW_MS 60000

struct managed {
        struct kw_guest_base base; /* first: kdir, cross, tag (subdir "": it shares DIR itself) */
        struct kw_loop *loop;
        const struct kw_opts *o;
        const struct kw_guest_ops *ops;
        void *userdata;
        char dir[PATH_MAX];

        struct kw_kit kit;
        char runtime[256]; /* short: a unix socket path lives in it */
        char sock[PATH_MAX];
        char initrd[PATH_MAX];
        int listen_fd;

        struct kw_qemu *qemu;
        bool kvm;
        bool greeted;
        struct kw_timer *boot_timer;
        struct kw_timer *tick;     /* the boot's status line, while it boots */
        uint64_t boot_start_ms;
        char last_line[160];       /* the console's last line, for the status line */
        uint64_t restarts[KW_RESTARTS_MAX];
        unsigned n_restarts;
        bool stopping;
};

/* ---- the initrd: kit initramfs + our agent ---- */

static int copy_file(int out, const char *path)
{
        int in = open(path, O_RDONLY | O_CLOEXEC);

        if (in < 0)
                return -errno;
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t)(n - off));
                        if (w < 0) {
                                int r = -errno;
                                close(in);
                                return r;
                        }
                        off += w;
                }
        int r = n < 0 ? -errno : 0;
        close(in);
        return r;
}

static int compose_initrd(struct managed *m, const char *base)
{
        char agent[PATH_MAX];
        int r = kw_path_agent(m->o->arch, agent, sizeof(agent));

        if (r < 0) {
                kw_err("the guest agent for %s is missing (%s): build kmod-watch with meson, or set "
                       "KMOD_WATCH_AGENT", m->o->arch, agent);
                return r;
        }
        snprintf(m->initrd, sizeof(m->initrd), "%s/initrd.img", m->runtime);
        int fd = open(m->initrd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = base ? copy_file(fd, base) : 0;
        if (r < 0) {
                kw_err("cannot read the initramfs %s: %s", base, strerror(-r));
                close(fd);
                return r;
        }
        /* The kernel takes concatenated archives; ours lands last and wins. */
        r = kw_cpio_append_agent(fd, agent);
        close(fd);
        if (r < 0)
                kw_err("cannot write %s: %s", m->initrd, strerror(-r));
        return r;
}

/* ---- QEMU ---- */

static int start_qemu(struct managed *m);

static void on_boot_timeout(void *userdata)
{
        struct managed *m = userdata;

        if (m->greeted)
                return;
        if (m->kvm && m->o->accel == KW_ACCEL_AUTO) {
                kw_warn("KVM did not bring the guest up within %d s (nested KVM?); using TCG, software "
                        "emulation, instead (--accel tcg skips the attempt)", KW_KVM_BOOT_BOUND_MS / 1000);
                m->kvm = false;
                m->stopping = true;
                kw_qemu_stop(m->qemu);
                m->qemu = NULL;
                m->stopping = false;
                if (start_qemu(m) < 0)
                        m->ops->lost(m->userdata, "cannot start QEMU", true);
                return;
        }
        char why[256];
        snprintf(why, sizeof(why),
                 "the guest agent did not answer within %u s of boot (run with -v to see the guest console)",
                 m->o->boot_timeout_s);
        const char *tail = m->qemu ? kw_qemu_console_tail(m->qemu) : "";
        if (tail[0] && kw_ui_verbosity() < 1)
                fprintf(stderr, "--- last guest console output ---\n%s\n---\n", tail);
        m->stopping = true;
        kw_qemu_stop(m->qemu);
        m->qemu = NULL;
        m->stopping = false;
        m->ops->lost(m->userdata, why, true);
}

static void show_boot(struct managed *m)
{
        kw_ui_status(KW_SLOT_BOOT, "booting the guest (%s %s, %s): %.1f s%s%s", m->kit.arch, m->kit.release,
                     m->kvm ? "KVM" : "TCG", (double)(kw_now_ms() - m->boot_start_ms) / 1000.0,
                     m->last_line[0] ? " | " : "", m->last_line);
}

static void on_tick(void *userdata)
{
        struct managed *m = userdata;

        if (m->greeted || !m->qemu)
                return;
        show_boot(m);
        kw_timer_arm_ms(m->tick, 200);
}

static void on_console_line(void *userdata, const char *line)
{
        struct managed *m = userdata;

        if (!m->greeted) {
                /* the status line's words; with --json a boot_progress event */
                snprintf(m->last_line, sizeof(m->last_line), "%s", line);
                kw_ev_begin("boot_progress");
                kw_ev_int("ms", (long long)(kw_now_ms() - m->boot_start_ms));
                kw_ev_str("line", line);
                kw_ev_end();
        }

        if (kw_ui_verbosity() >= 1)
                fprintf(stderr, "guest| %s\n", line);
        if (m->ops->console)
                m->ops->console(m->userdata, line);
}

static bool restart_allowed(struct managed *m)
{
        uint64_t now = kw_now_ms();
        unsigned recent = 0;

        for (unsigned i = 0; i < m->n_restarts && i < KW_RESTARTS_MAX; i++)
                if (now - m->restarts[i] < KW_RESTART_WINDOW_MS)
                        recent++;
        if (recent >= KW_RESTARTS_MAX)
                return false;
        m->restarts[m->n_restarts++ % KW_RESTARTS_MAX] = now;
        return true;
}

static void on_qemu_exit(void *userdata, int wstatus, const char *tail)
{
        struct managed *m = userdata;
        char why[512];

        m->qemu = NULL;
        kw_timer_disarm(m->boot_timer);
        kw_ui_status_done(KW_SLOT_BOOT);
        if (m->stopping)
                return;
        bool early = !m->greeted;
        if (early && m->kvm && m->o->accel == KW_ACCEL_AUTO) {
                kw_warn("KVM failed to start the guest (nested KVM?); using TCG, software emulation, instead");
                m->kvm = false;
                if (start_qemu(m) < 0)
                        m->ops->lost(m->userdata, "cannot start QEMU", true);
                return;
        }
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
                snprintf(why, sizeof(why), "the guest shut down (reboot, poweroff or panic)");
        else if (WIFSIGNALED(wstatus))
                snprintf(why, sizeof(why), "QEMU was killed by signal %d", WTERMSIG(wstatus));
        else
                snprintf(why, sizeof(why), "QEMU exited with status %d", WEXITSTATUS(wstatus));
        if (early && tail && tail[0]) {
                /* It never came up: the console says why (bad kernel, missing file, …). */
                const char *last = tail + strlen(tail);
                int lines = 0;
                while (last > tail && lines < 12)
                        if (*--last == '\n')
                                lines++;
                fprintf(stderr, "--- last guest console output ---\n%s\n---\n", last);
        }
        m->greeted = false;
        bool fatal = early || m->o->once || !restart_allowed(m);
        m->ops->lost(m->userdata, why, fatal);
        if (!fatal && start_qemu(m) < 0)
                m->ops->lost(m->userdata, "cannot start QEMU again", true);
}

static int start_qemu(struct managed *m)
{
        struct kw_qemu_opts q = {
                .binary = m->kit.qemu,
                .machine = m->kit.machine,
                .cpu = m->kit.cpu,
                .console = m->kit.console,
                .kernel = m->o->kernel ? m->o->kernel : m->kit.kernel,
                .initrd = m->initrd,
                .share_dir = m->dir,
                .tag = m->base.tag,
                /* the kit's module tree fits the kit's kernel only */
                .modules_dir = !m->o->kernel && m->kit.modules[0] ? m->kit.modules : NULL,
                .sock_path = m->sock,
                .kvm = m->kvm,
                .mem_mb = m->o->mem_mb,
                .cpus = m->o->cpus,
                .gdb_port = m->o->gdb_port,
                .append = m->o->append,
                .extra = m->o->qemu_opt,
                .n_extra = m->o->n_qemu_opt,
        };

        m->greeted = false;
        int r = kw_qemu_start(m->loop, &q, on_qemu_exit, on_console_line, m, &m->qemu);
        if (r < 0) {
                kw_err("cannot start %s: %s", q.binary, strerror(-r));
                return r;
        }
        kw_debug("started %s (pid %d, %s)", q.binary, kw_qemu_pid(m->qemu), m->kvm ? "KVM" : "TCG");
        kw_note("booting the guest (%s %s, %s)", m->kit.arch, m->kit.release, m->kvm ? "KVM" : "TCG");
        m->boot_start_ms = kw_now_ms();
        m->last_line[0] = 0;
        kw_timer_arm_ms(m->tick, 200);
        kw_timer_arm_ms(m->boot_timer,
                        m->kvm && m->o->accel == KW_ACCEL_AUTO ? KW_KVM_BOOT_BOUND_MS
                                                                : (uint64_t)m->o->boot_timeout_s * 1000);
        return 0;
}

static int on_accept(void *userdata, int fd, short revents)
{
        struct managed *m = userdata;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c < 0)
                return 0;
        m->ops->channel(m->userdata, c);
        return 0;
}

/* ---- set-up ---- */

static bool kvm_usable(void)
{
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

        if (fd < 0)
                return false;
        close(fd);
        return true;
}

static int managed_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                       const struct kw_guest_ops *ops, void *userdata, void **ret)
{
        struct managed *m = calloc(1, sizeof(*m));
        int r;

        *ret = m;
        if (!m)
                return -ENOMEM;
        m->loop = l;
        m->o = o;
        m->ops = ops;
        m->userdata = userdata;
        m->listen_fd = -1;
        snprintf(m->dir, sizeof(m->dir), "%s", dir);
        snprintf(m->base.tag, sizeof(m->base.tag), "%s", tag);
        if (o->kernel && !o->kdir) {
                kw_err("--kernel needs --kdir (the tree to build modules against)");
                return -EINVAL;
        }
        if (o->kernel) {
                const struct kw_arch *a = kw_arch_find(o->arch);
                snprintf(m->kit.arch, sizeof(m->kit.arch), "%s", a->name);
                snprintf(m->kit.qemu, sizeof(m->kit.qemu), "%s", a->qemu_binary);
                snprintf(m->kit.machine, sizeof(m->kit.machine), "%s", a->qemu_machine);
                snprintf(m->kit.console, sizeof(m->kit.console), "%s", a->console);
                snprintf(m->kit.cpu, sizeof(m->kit.cpu), "%s", a->qemu_cpu);
                snprintf(m->kit.release, sizeof(m->kit.release), "(--kernel)");
        } else if (o->kernel_root || o->host_kernel) { /* the script says why it cannot, in one line */
                if (kw_kit_from_root(o->kernel_root, o->kernel_release, o->arch, &m->kit))
                        return -EIO;
        } else {
                r = kw_kit_get(m->o->arch, m->o->release, &m->kit);
                if (r < 0)
                        return r;
        }
        r = kw_guest_build_tree(o, m->kit.kdir, &m->base);
        if (r < 0)
                return r;

        r = kw_path_runtime_new(m->runtime, sizeof(m->runtime));
        if (r < 0) {
                kw_err("cannot create a runtime directory: %s", strerror(-r));
                m->runtime[0] = 0;
                return r;
        }
        snprintf(m->sock, sizeof(m->sock), "%s/agent.sock", m->runtime);
        m->listen_fd = kw_unix_listen(m->sock);
        if (m->listen_fd < 0) {
                kw_err("cannot listen on %s: %s", m->sock, strerror(-m->listen_fd));
                return m->listen_fd;
        }
        r = kw_loop_add(l, m->listen_fd, POLLIN, on_accept, m);
        if (r < 0)
                return r;
        r = compose_initrd(m, o->kernel ? o->initrd : m->kit.initrd);
        if (r < 0)
                return r;
        r = kw_timer_new(l, on_boot_timeout, m, &m->boot_timer);
        if (r < 0)
                return r;
        r = kw_timer_new(l, on_tick, m, &m->tick);
        if (r < 0)
                return r;
        /* KVM runs guests of the host's own architecture only */
        bool same_arch = kw_arch_find(o->arch) == kw_arch_host();
        m->kvm = o->accel == KW_ACCEL_KVM || (o->accel == KW_ACCEL_AUTO && same_arch && kvm_usable());
        if (o->accel == KW_ACCEL_KVM && !kvm_usable())
                kw_warn("--accel kvm but /dev/kvm cannot be opened; QEMU will say why");
        return 0;
}

static int managed_start(void *b)
{
        return start_qemu(b);
}

static void managed_ready(void *b)
{
        struct managed *m = b;

        m->greeted = true;
        kw_timer_disarm(m->boot_timer);
        kw_timer_disarm(m->tick);
        kw_ui_status_done(KW_SLOT_BOOT);
}

static void managed_free(void *b)
{
        struct managed *m = b;

        if (!m)
                return;
        m->stopping = true;
        kw_qemu_stop(m->qemu);
        kw_timer_free(m->boot_timer);
        kw_timer_free(m->tick);
        kw_ui_status_done(KW_SLOT_BOOT);
        if (m->listen_fd >= 0) {
                kw_loop_del(m->loop, m->listen_fd);
                close(m->listen_fd);
        }
        if (m->runtime[0])
                kw_path_runtime_remove(m->runtime);
        free(m);
}

static int managed_restart(void *b, const char *reason)
{
        struct managed *m = b;

        if (!restart_allowed(m))
                return -EAGAIN;
        kw_debug("restarting the guest: %s", reason);
        m->stopping = true;
        kw_qemu_stop(m->qemu);
        m->qemu = NULL;
        m->stopping = false;
        kw_timer_disarm(m->boot_timer);
        return start_qemu(m);
}

const struct kw_guest_backend kw_guest_managed = {
        .name = "managed",
        .transport = "virtio-serial",
        .new = managed_new,
        .start = managed_start,
        .ready = managed_ready,
        .restart = managed_restart,
        .kdir = kw_guest_base_kdir,
        .cross_compile = kw_guest_base_cross_compile,
        .tag = kw_guest_base_tag,
        .subdir = kw_guest_base_subdir,
        .free = managed_free,
};
