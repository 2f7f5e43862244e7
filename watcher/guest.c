/* SPDX-License-Identifier: MIT */
/*
 * guest.c — which guest, and the managed guest's life: a private runtime
 * directory (0700) with the agent socket and the boot initrd (the kit's
 * initramfs with the agent appended as a second cpio segment, so the kit never
 * needs rebuilding for a new agent), QEMU started and restarted, the boot
 * bounded in time, and --accel auto falling back from KVM to TCG when KVM
 * fails or hangs (nested KVM here does both). A QEMU the user started
 * (--connect) is reached through attach.c; its share and tag through share.c.
 */
#include "guest.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "cpio.h"
#include "arch.h"
#include "kit.h"
#include "paths.h"
#include "proto.h"
#include "qemu.h"
#include "share.h"
#include "ssh.h"
#include "transport.h"
#include "ui.h"

#define KW_KVM_BOOT_BOUND_MS 20000 /* a KVM guest greets in ~2 s; more means it hangs */
#define KW_RESTARTS_MAX 5          /* within KW_RESTART_WINDOW_MS: stop trying */
#define KW_RESTART_WINDOW_MS 60000

struct kw_guest_ctl {
        struct kw_loop *loop;
        const struct kw_opts *o;
        const struct kw_guest_ops *ops;
        void *userdata;
        char dir[PATH_MAX];
        char tag[64];
        bool managed;
        char subdir[PATH_MAX]; /* DIR under the share root ("" managed) */
        struct kw_attach *attach; /* --connect */
        struct kw_ssh *ssh;       /* --ssh */

        struct kw_kit kit;
        char kdir[PATH_MAX];
        char cross[128];
        char runtime[256]; /* short: a unix socket path lives in it */
        char sock[PATH_MAX];
        char initrd[PATH_MAX];
        int listen_fd;

        struct kw_qemu *qemu;
        bool kvm;
        bool greeted;
        struct kw_timer *boot_timer;
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

static int compose_initrd(struct kw_guest_ctl *g, const char *base)
{
        char agent[PATH_MAX];
        int r = kw_path_agent(g->o->arch, agent, sizeof(agent));

        if (r < 0) {
                kw_err("the guest agent for %s is missing (%s): build kmod-watch with meson, or set "
                       "KMOD_WATCH_AGENT", g->o->arch, agent);
                return r;
        }
        snprintf(g->initrd, sizeof(g->initrd), "%s/initrd.img", g->runtime);
        int fd = open(g->initrd, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
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
                kw_err("cannot write %s: %s", g->initrd, strerror(-r));
        return r;
}

/* ---- QEMU ---- */

static int start_qemu(struct kw_guest_ctl *g);

static void on_boot_timeout(void *userdata)
{
        struct kw_guest_ctl *g = userdata;

        if (g->greeted)
                return;
        if (g->kvm && g->o->accel == KW_ACCEL_AUTO) {
                kw_warn("KVM did not bring the guest up within %d s (nested KVM?); using TCG, software "
                        "emulation, instead (--accel tcg skips the attempt)", KW_KVM_BOOT_BOUND_MS / 1000);
                g->kvm = false;
                g->stopping = true;
                kw_qemu_stop(g->qemu);
                g->qemu = NULL;
                g->stopping = false;
                if (start_qemu(g) < 0)
                        g->ops->lost(g->userdata, "cannot start QEMU", true);
                return;
        }
        char why[256];
        snprintf(why, sizeof(why),
                 "the guest agent did not answer within %u s of boot (run with -v to see the guest console)",
                 g->o->boot_timeout_s);
        const char *tail = g->qemu ? kw_qemu_console_tail(g->qemu) : "";
        if (tail[0] && kw_ui_verbosity() < 1)
                fprintf(stderr, "--- last guest console output ---\n%s\n---\n", tail);
        g->stopping = true;
        kw_qemu_stop(g->qemu);
        g->qemu = NULL;
        g->stopping = false;
        g->ops->lost(g->userdata, why, true);
}

static void on_console_line(void *userdata, const char *line)
{
        struct kw_guest_ctl *g = userdata;

        if (kw_ui_verbosity() >= 1)
                fprintf(stderr, "guest| %s\n", line);
        if (g->ops->console)
                g->ops->console(g->userdata, line);
}

static bool restart_allowed(struct kw_guest_ctl *g)
{
        uint64_t now = kw_now_ms();
        unsigned recent = 0;

        for (unsigned i = 0; i < g->n_restarts && i < KW_RESTARTS_MAX; i++)
                if (now - g->restarts[i] < KW_RESTART_WINDOW_MS)
                        recent++;
        if (recent >= KW_RESTARTS_MAX)
                return false;
        g->restarts[g->n_restarts++ % KW_RESTARTS_MAX] = now;
        return true;
}

static void on_qemu_exit(void *userdata, int wstatus, const char *tail)
{
        struct kw_guest_ctl *g = userdata;
        char why[512];

        g->qemu = NULL;
        kw_timer_disarm(g->boot_timer);
        if (g->stopping)
                return;
        bool early = !g->greeted;
        if (early && g->kvm && g->o->accel == KW_ACCEL_AUTO) {
                kw_warn("KVM failed to start the guest (nested KVM?); using TCG, software emulation, instead");
                g->kvm = false;
                if (start_qemu(g) < 0)
                        g->ops->lost(g->userdata, "cannot start QEMU", true);
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
        g->greeted = false;
        bool fatal = early || g->o->once || !restart_allowed(g);
        g->ops->lost(g->userdata, why, fatal);
        if (!fatal && start_qemu(g) < 0)
                g->ops->lost(g->userdata, "cannot start QEMU again", true);
}

static int start_qemu(struct kw_guest_ctl *g)
{
        struct kw_qemu_opts q = {
                .binary = g->kit.qemu,
                .machine = g->kit.machine,
                .cpu = g->kit.cpu,
                .console = g->kit.console,
                .kernel = g->o->kernel ? g->o->kernel : g->kit.kernel,
                .initrd = g->initrd,
                .share_dir = g->dir,
                .tag = g->tag,
                .sock_path = g->sock,
                .kvm = g->kvm,
                .mem_mb = g->o->mem_mb,
        };

        g->greeted = false;
        int r = kw_qemu_start(g->loop, &q, on_qemu_exit, on_console_line, g, &g->qemu);
        if (r < 0) {
                kw_err("cannot start %s: %s", q.binary, strerror(-r));
                return r;
        }
        kw_debug("started %s (pid %d, %s)", q.binary, kw_qemu_pid(g->qemu), g->kvm ? "KVM" : "TCG");
        if (!kw_ui_json() && kw_ui_verbosity() >= 0)
                kw_info("booting the guest (%s %s, %s)", g->kit.arch, g->kit.release, g->kvm ? "KVM" : "TCG");
        kw_timer_arm_ms(g->boot_timer,
                        g->kvm && g->o->accel == KW_ACCEL_AUTO ? KW_KVM_BOOT_BOUND_MS
                                                                : (uint64_t)g->o->boot_timeout_s * 1000);
        return 0;
}

static int on_accept(void *userdata, int fd, short revents)
{
        struct kw_guest_ctl *g = userdata;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (c < 0)
                return 0;
        g->ops->channel(g->userdata, c);
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

static int load_kit(struct kw_guest_ctl *g)
{
        int r = kw_kit_load(g->o->arch, &g->kit);

        if (r == -ENOENT) {
                kw_info("no guest kit for %s yet: fetching it (once; cached in ~/.cache/kmod-watch)", g->o->arch);
                r = kw_kit_run_script("fetch", g->o->arch);
                if (r != 0) {
                        kw_err("fetching the guest kit failed; pass --kernel IMAGE --kdir DIR to use your own");
                        return -EIO;
                }
                r = kw_kit_load(g->o->arch, &g->kit);
        }
        if (r < 0) {
                kw_err("the guest kit for %s is unusable (%s): run 'kmod-watch kit fetch --arch %s'", g->o->arch,
                       strerror(-r), g->o->arch);
                return r;
        }
        return 0;
}

static int set_build_tree(struct kw_guest_ctl *g)
{
        const struct kw_opts *o = g->o;
        const char *kdir = o->kdir ? o->kdir : g->kit.kdir;

        if (!realpath(kdir, g->kdir)) {
                kw_err("--kdir %s: %s", kdir, strerror(errno));
                return -EINVAL;
        }
        const char *cc = kw_opts_cross_compile(o);
        snprintf(g->cross, sizeof(g->cross), "%s", cc ? cc : "");
        return 0;
}

/* --connect unix:PATH: the user's QEMU, share and tag; we only attach. */
static void on_attach_channel(void *userdata, int fd)
{
        struct kw_guest_ctl *g = userdata;

        g->ops->channel(g->userdata, fd);
}

static void on_attach_lost(void *userdata, const char *why, bool fatal)
{
        struct kw_guest_ctl *g = userdata;

        g->ops->lost(g->userdata, why, fatal);
}

static const struct kw_attach_ops attach_ops = {
        .channel = on_attach_channel,
        .lost = on_attach_lost,
};

static int new_connected(struct kw_guest_ctl *g)
{
        const struct kw_opts *o = g->o;
        struct kw_share share;
        char err[PATH_MAX + 256];
        int r = kw_share_resolve(o, g->dir, &share, err, sizeof(err));

        if (r < 0) {
                kw_err("%s", err);
                return -EINVAL;
        }
        r = kw_share_subdir(share.root, g->dir, g->subdir, sizeof(g->subdir));
        if (r < 0) {
                kw_err("%s is not inside the 9p share %s (from %s), so the guest cannot see it: share a "
                       "directory that contains it (--share or QEMU_9P_PATH)",
                       g->dir, share.root, share.root_from);
                return -EINVAL;
        }
        if (strcmp(share.root_from, "DIR") == 0)
                kw_info("no --share and no QEMU_9P_PATH: taking it that your QEMU shares %s itself", g->dir);
        snprintf(g->tag, sizeof(g->tag), "%s", share.tag);
        if (!o->kdir) {
                r = kw_kit_load(o->arch, &g->kit);
                if (r < 0) {
                        kw_err("--connect needs --kdir, the build tree or headers of the kernel your QEMU boots "
                               "(or 'kmod-watch kit fetch' to build against the kit's kernel)");
                        return -EINVAL;
                }
        }
        r = set_build_tree(g);
        if (r < 0)
                return r;
        const struct kw_attach_opts ao = {
                .path = o->connect + strlen("unix:"),
                .boot_timeout_ms = o->boot_timeout_s * 1000u,
                .once = o->once,
        };
        r = kw_attach_new(g->loop, &ao, &attach_ops, g, &g->attach);
        if (r < 0) {
                kw_err("--connect %s: %s", o->connect, strerror(-r));
                return r == -ENAMETOOLONG ? -EINVAL : r;
        }
        return 0;
}

int kw_guest_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                 const struct kw_guest_ops *ops, void *userdata, struct kw_guest_ctl **ret)
{
        struct kw_guest_ctl *g = calloc(1, sizeof(*g));
        int r;

        if (!g)
                return -ENOMEM;
        g->loop = l;
        g->o = o;
        g->ops = ops;
        g->userdata = userdata;
        g->listen_fd = -1;
        snprintf(g->dir, sizeof(g->dir), "%s", dir);
        snprintf(g->tag, sizeof(g->tag), "%s", tag);
        *ret = g;

        if (o->ssh) {
                g->tag[0] = 0; /* no share: modules go over SFTP (kw_guest_deliver) */
                return kw_ssh_new(l, o, g->dir, ops, userdata, &g->ssh);
        }
        if (o->connect)
                return new_connected(g);
        g->managed = true;
        if (o->kernel && !o->kdir) {
                fprintf(stderr, "kmod-watch: --kernel needs --kdir (the tree to build modules against)\n");
                return -EINVAL;
        }
        if (o->kernel) {
                const struct kw_arch *a = kw_arch_find(o->arch);
                snprintf(g->kit.arch, sizeof(g->kit.arch), "%s", a->name);
                snprintf(g->kit.qemu, sizeof(g->kit.qemu), "%s", a->qemu_binary);
                snprintf(g->kit.machine, sizeof(g->kit.machine), "%s", a->qemu_machine);
                snprintf(g->kit.console, sizeof(g->kit.console), "%s", a->console);
                snprintf(g->kit.cpu, sizeof(g->kit.cpu), "%s", a->qemu_cpu);
                snprintf(g->kit.release, sizeof(g->kit.release), "(--kernel)");
        } else {
                r = load_kit(g);
                if (r < 0)
                        return r;
        }
        r = set_build_tree(g);
        if (r < 0)
                return r;

        r = kw_path_runtime_new(g->runtime, sizeof(g->runtime));
        if (r < 0) {
                kw_err("cannot create a runtime directory: %s", strerror(-r));
                g->runtime[0] = 0;
                return r;
        }
        snprintf(g->sock, sizeof(g->sock), "%s/agent.sock", g->runtime);
        g->listen_fd = kw_unix_listen(g->sock);
        if (g->listen_fd < 0) {
                kw_err("cannot listen on %s: %s", g->sock, strerror(-g->listen_fd));
                return g->listen_fd;
        }
        r = kw_loop_add(l, g->listen_fd, POLLIN, on_accept, g);
        if (r < 0)
                return r;
        r = compose_initrd(g, o->kernel ? o->initrd : g->kit.initrd);
        if (r < 0)
                return r;
        r = kw_timer_new(l, on_boot_timeout, g, &g->boot_timer);
        if (r < 0)
                return r;
        /* KVM runs guests of the host's own architecture only */
        bool same_arch = kw_arch_find(o->arch) == kw_arch_host();
        g->kvm = o->accel == KW_ACCEL_KVM || (o->accel == KW_ACCEL_AUTO && same_arch && kvm_usable());
        if (o->accel == KW_ACCEL_KVM && !kvm_usable())
                kw_warn("--accel kvm but /dev/kvm cannot be opened; QEMU will say why");
        return 0;
}

int kw_guest_start(struct kw_guest_ctl *g)
{
        if (g->attach)
                return kw_attach_start(g->attach);
        if (g->ssh)
                return kw_ssh_start(g->ssh);
        return start_qemu(g);
}

void kw_guest_ready(struct kw_guest_ctl *g)
{
        g->greeted = true;
        kw_timer_disarm(g->boot_timer);
        if (g->attach)
                kw_attach_ready(g->attach);
        if (g->ssh)
                kw_ssh_ready(g->ssh);
}

void kw_guest_free(struct kw_guest_ctl *g)
{
        if (!g)
                return;
        g->stopping = true;
        kw_qemu_stop(g->qemu); /* managed only: a --connect guest is the user's and keeps running */
        kw_attach_free(g->attach);
        kw_ssh_free(g->ssh);
        kw_timer_free(g->boot_timer);
        if (g->listen_fd >= 0) {
                kw_loop_del(g->loop, g->listen_fd);
                close(g->listen_fd);
        }
        if (g->runtime[0])
                kw_path_runtime_remove(g->runtime);
        free(g);
}

const char *kw_guest_kdir(const struct kw_guest_ctl *g)
{
        if (g->ssh)
                return kw_ssh_kdir(g->ssh);
        return g->kdir;
}

const char *kw_guest_cross_compile(const struct kw_guest_ctl *g)
{
        if (g->ssh)
                return kw_ssh_cross_compile(g->ssh);
        return g->cross[0] ? g->cross : NULL;
}

const char *kw_guest_transport(const struct kw_guest_ctl *g)
{
        return g->ssh ? "ssh" : "virtio-serial";
}

const char *kw_guest_tag(const struct kw_guest_ctl *g)
{
        return g->tag;
}

const char *kw_guest_subdir(const struct kw_guest_ctl *g)
{
        return g->subdir;
}

int kw_guest_deliver(struct kw_guest_ctl *g, const char *relpath, char *ret_guest_path, size_t size,
                     void (*done)(void *ud, int err), void *ud)
{
        if (g->ssh)
                return kw_ssh_deliver(g->ssh, relpath, ret_guest_path, size, done, ud);
        /* 9p: the guest sees DIR through the share already */
        const char *sub = g->subdir;
        if ((size_t)snprintf(ret_guest_path, size, KW_GUEST_MOUNT "/%s%s%s", sub, sub[0] ? "/" : "", relpath) >= size)
                return -ENAMETOOLONG;
        done(ud, 0);
        return 0;
}

int kw_guest_restart(struct kw_guest_ctl *g, const char *reason)
{
        if (!g->managed)
                return -EOPNOTSUPP;
        if (!restart_allowed(g))
                return -EAGAIN;
        kw_debug("restarting the guest: %s", reason);
        g->stopping = true;
        kw_qemu_stop(g->qemu);
        g->qemu = NULL;
        g->stopping = false;
        kw_timer_disarm(g->boot_timer);
        return start_qemu(g);
}

bool kw_guest_can_restart(const struct kw_guest_ctl *g)
{
        return g->managed;
}
