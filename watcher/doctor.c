/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * doctor.c — see doctor.h. Every check says what it looked at, so a line
 * that passes is also documentation of the set-up.
 */
#include "doctor.h"

#include "ssh.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "kit.h"
#include "matrix.h"
#include "paths.h"
#include "proto.h"
#include "qemuargs.h"
#include "recipe.h"
#include "share.h"


struct doctor {
        const struct kw_opts *o;
        char dir[PATH_MAX];
        bool have_dir;
        struct kw_kit kit;
        bool have_kit;
        char root_config[PATH_MAX]; /* --kernel-root: its kernel's config */
        unsigned fails;
};

static void ok(struct doctor *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(struct doctor *d, const char *fmt, ...)
{
        va_list ap;

        fputs("ok   ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
}

/* "FAIL what — fix: how" */
static void fail(struct doctor *d, const char *fix, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct doctor *d, const char *fix, const char *fmt, ...)
{
        va_list ap;

        fputs("FAIL ", stdout);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf(" — fix: %s\n", fix);
        d->fails++;
}

char kw_config_value(const char *config, const char *sym)
{
        size_t len = strlen(sym);

        for (const char *p = config; p && *p;) {
                const char *nl = strchr(p, '\n');
                if (strncmp(p, sym, len) == 0 && p[len] == '=')
                        return p[len + 1] == '\n' ? 0 : p[len + 1];
                p = nl ? nl + 1 : NULL;
        }
        return 0;
}

static char *read_text(const char *path)
{
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *m = open_memstream(&buf, &size);
        if (m) {
                char chunk[65536];
                size_t n;
                while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                        fwrite(chunk, 1, n, m);
                fclose(m);
        }
        fclose(f);
        return buf;
}

/* An executable named name in $PATH (or name itself when it has a '/'). */
static bool in_path(const char *name, char *found, size_t size)
{
        if (strchr(name, '/')) {
                snprintf(found, size, "%s", name);
                return access(name, X_OK) == 0;
        }
        const char *path = getenv("PATH");
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", path && path[0] ? path : "/usr/local/bin:/usr/bin:/bin");
        for (char *save = NULL, *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
                if ((size_t)snprintf(found, size, "%s/%s", p, name) >= size)
                        continue;
                struct stat st;
                if (stat(found, &st) == 0 && S_ISREG(st.st_mode) && access(found, X_OK) == 0)
                        return true;
        }
        return false;
}

static unsigned count_dirs(int dfd, unsigned depth)
{
        DIR *d = fdopendir(dfd);
        unsigned n = 1;

        if (!d) {
                close(dfd);
                return n;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
                        continue;
                int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;
                n += depth < 64 ? count_dirs(sub, depth + 1) : (close(sub), 1);
        }
        closedir(d);
        return n;
}

/* ---- the checks ---- */

static void check_dir(struct doctor *d)
{
        const char *dir = d->o->dir;
        struct stat st;

        if (!realpath(dir, d->dir) || stat(d->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                fail(d, "give the module's source directory", "%s is not a directory", dir);
                return;
        }
        d->have_dir = true;
        enum kw_recipe_kind kind = kw_recipe_choose(d->dir, d->o->make);
        const char *how = kw_recipe_name(kind);
        char mk[PATH_MAX + 16];
        switch (kind) {
        case KW_RECIPE_MAKE:
                ok(d, "module directory %s: building with --make (/bin/sh -c '%s', KDIR in its environment)", d->dir,
                   d->o->make);
                return;
        case KW_RECIPE_DKMS:
                ok(d, "module directory %s: building with dkms.conf (its MAKE[0] and BUILT_MODULE_*, as DKMS does)",
                   d->dir);
                return;
        case KW_RECIPE_KBUILD:
                ok(d, "module directory %s: building with kbuild (make -C KDIR M=%s modules)", d->dir, d->dir);
                return;
        case KW_RECIPE_MAKEFILE:
                break;
        }
        snprintf(mk, sizeof(mk), "%s/Makefile", d->dir);
        char *text = read_text(mk);
        if (!text) {
                fail(d, "add a Kbuild file with obj-m += NAME.o (see examples/00-kernel_module_hello), or say how it "
                        "builds: --make 'CMD'",
                     "%s has no Makefile, Kbuild or dkms.conf", d->dir);
                return;
        }
        const char *var = kw_makefile_kdir_var(text);
        free(text);
        if (!var)
                fail(d, "make it build against $(KDIR), or say how it builds: --make 'CMD' (KDIR is in its environment)",
                     "module directory %s: building with %s, which reads none of KDIR, KERNEL_DIR, KERNELDIR, KSRC, "
                     "KERNEL_SRC, KERNEL_TREE", d->dir, how);
        else if (!strcmp(var, "uname -r"))
                fail(d, "make it build against $(KDIR), or say how it builds: --make 'CMD' (KDIR is in its environment)",
                     "module directory %s: building with %s, which hard-codes /lib/modules/$(shell uname -r)/build "
                     "(the host's kernel, not the guest's)", d->dir, how);
        else
                ok(d, "module directory %s: building with %s (make -C %s %s=KDIR)", d->dir, how, d->dir, var);
}

/* Headers with a vmlinux (Debian's 6.12): kbuild adds BTF to each module with pahole. */
static void check_pahole(struct doctor *d)
{
        char path[PATH_MAX + 16], found[PATH_MAX];

        snprintf(path, sizeof(path), "%s/vmlinux", d->kit.kdir);
        if (access(path, R_OK) < 0)
                return;
        if (in_path("pahole", found, sizeof(found)))
                ok(d, "pahole: %s (the kit's headers have a vmlinux: kbuild adds BTF to modules)", found);
        else
                fail(d, "apt-get install dwarves", "pahole is not in PATH: the %s headers have a vmlinux, so kbuild "
                     "adds BTF to modules with it", d->kit.release);
}

/* --kernel-root/--host-kernel: the script's checks, nothing made. Its line
 * when ROOT lacks something ends with the fix, after the last ": ". */
static void check_root(struct doctor *d)
{
        const struct kw_opts *o = d->o;
        const char *root = o->kernel_root ? o->kernel_root : "/";
        char line[2048];
        int r = kw_kit_check_root(o->kernel_root, o->kernel_release, o->arch, line, sizeof(line));

        if (r == 0) {
                ok(d, "guest kernel from %s: %s", root, line);
                const char *config = strstr(line, ", config /");
                if (config)
                        snprintf(d->root_config, sizeof(d->root_config), "%s", config + 9);
                return;
        }
        char *what = strncmp(line, "kmod-watch: ", 12) == 0 ? line + 12 : line;
        char *fix = strrchr(what, ':');
        if (fix && fix[1] == ' ')
                *fix = 0, fix += 2;
        else
                fix = "give --kernel-root the root of a system with a kernel installed";
        fail(d, fix, "guest kernel from %s: %s", root, r < 0 ? strerror(-r) : what[0] ? what : "the kit script failed");
}

static void check_kit_and_agent(struct doctor *d)
{
        const struct kw_opts *o = d->o;
        int r = kw_kit_load(o->arch, o->release, &d->kit);
        char fix[256];

        d->have_kit = r == 0;
        if (o->kernel_root || o->host_kernel) {
                check_root(d);
        } else if (r == 0) {
                ok(d, "guest kit: %s %s in %s", d->kit.arch, d->kit.release, d->kit.dir);
                check_pahole(d);
        } else if (o->kdir)
                ok(d, "guest kit for %s: not fetched (not needed with --kdir)", o->arch);
        else {
                snprintf(fix, sizeof(fix), "kmod-watch kit fetch --arch %s%s%s (or pass --kdir)", o->arch,
                         o->release ? " --release " : "", o->release ? o->release : "");
                fail(d, fix, "no guest kit for %s%s%s (%s)", o->arch, o->release ? " " : "",
                     o->release ? o->release : "", strerror(-r));
        }
        char agent[PATH_MAX];
        r = kw_path_agent(o->arch, agent, sizeof(agent));
        if (r == 0)
                ok(d, "guest agent for %s: %s", o->arch, agent);
        else
                fail(d, "build kmod-watch with meson (it builds the agents), or set KMOD_WATCH_AGENT",
                     "the guest agent for %s is missing (%s)", o->arch, agent);
        if (o->kernel) {
                if (access(o->kernel, R_OK) == 0)
                        ok(d, "kernel image %s", o->kernel);
                else
                        fail(d, "give the kernel image your guest boots (bzImage, vmlinux or Image)",
                             "--kernel %s: %s", o->kernel, strerror(errno));
        }
}

struct sym {
        const char *name;
        const char *module; /* NULL: must be built in */
        const char *why;
};

static const struct sym syms[] = {
        { "CONFIG_MODULES", NULL, "loadable modules" },
        { "CONFIG_MODULE_UNLOAD", NULL, "rmmod, for every reload" },
        { "CONFIG_DEVTMPFS", NULL, "/dev/vport* for the agent's port" },
        { "CONFIG_VIRTIO_PCI", "virtio_pci", "virtio devices on PCI" },
        { "CONFIG_NET_9P", "9pnet", "9p protocol" },
        { "CONFIG_NET_9P_VIRTIO", "9pnet_virtio", "9p over virtio, -virtfs" },
        { "CONFIG_9P_FS", "9p", "the 9p file system" },
        { "CONFIG_VIRTIO_CONSOLE", "virtio_console", "the agent's virtio-serial port" },
};

static void check_config(struct doctor *d)
{
        const struct kw_opts *o = d->o;
        char path[PATH_MAX + 16], fix[512];

        if (o->kdir)
                snprintf(path, sizeof(path), "%s/.config", o->kdir);
        else if (o->kernel_root || o->host_kernel) {
                if (!d->root_config[0])
                        return; /* check_root() said why */
                snprintf(path, sizeof(path), "%s", d->root_config);
        } else if (d->have_kit && d->kit.config[0])
                snprintf(path, sizeof(path), "%s", d->kit.config);
        else {
                fail(d, "pass --kdir KDIR (the tree your guest kernel was built in, or its headers)",
                     "no kernel config to check (no --kdir and no kit)");
                return;
        }
        if (o->kdir) {
                char mk[PATH_MAX + 16];
                snprintf(mk, sizeof(mk), "%s/Makefile", o->kdir);
                if (access(mk, R_OK) == 0)
                        ok(d, "kernel build tree %s", o->kdir);
                else
                        fail(d, "--kdir is the kernel's build tree or headers (make -C KDIR M=DIR modules)",
                             "%s has no Makefile", o->kdir);
        }
        char *config = read_text(path);
        if (!config) {
                fail(d, "run 'make olddefconfig' in KDIR, or pass the tree the kernel was built in",
                     "cannot read the kernel config %s: %s", path, strerror(errno));
                return;
        }
        char modules[256] = "";
        size_t n = 0;
        for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
                const struct sym *s = &syms[i];
                char v = kw_config_value(config, s->name);
                if (v == 'y') {
                        ok(d, "%s=y (%s)", s->name, s->why);
                        continue;
                }
                if (v == 'm' && s->module) {
                        ok(d, "%s=m (%s; module %s)", s->name, s->why, s->module);
                        n += (size_t)snprintf(modules + n, sizeof(modules) - n, "%s%s", n ? " " : "", s->module);
                        continue;
                }
                snprintf(fix, sizeof(fix), "rebuild the guest kernel with %s=y%s", s->name, s->module ? " (or m)" : "");
                fail(d, fix, "%s is %s in %s (%s)", s->name, v == 'm' ? "m (must be y)" : "not set", path, s->why);
        }
        free(config);
        if (!n)
                return;
        if (!o->kdir && !o->connect && !o->kernel)
                ok(d, "the %s init loads %s", o->kernel_root || o->host_kernel ? "initramfs's" : "kit's", modules);
        else
                ok(d, "your guest's init must load, in this order: %s (before the agent mounts the share)", modules);
}

static void check_tools(struct doctor *d)
{
        const struct kw_opts *o = d->o;
        char found[PATH_MAX], fix[256];
        const struct kw_arch *a = kw_arch_find(o->arch);
        bool foreign = a != kw_arch_host();

        if (in_path("make", found, sizeof(found)))
                ok(d, "make: %s", found);
        else
                fail(d, "apt-get install make", "make is not in PATH");
        const char *cc = kw_opts_cross_compile(o);
        char gcc[256];
        snprintf(gcc, sizeof(gcc), "%sgcc", cc ? cc : "");
        if (in_path(gcc, found, sizeof(found)))
                ok(d, "compiler for %s: %s", o->arch, found);
        else {
                snprintf(fix, sizeof(fix), "apt-get install %s", !cc || !cc[0] ? "gcc" : a->cross_package);
                fail(d, fix, "%s is not in PATH (the kernel's modules are built with it)", gcc);
        }
        if (in_path(a->qemu_binary, found, sizeof(found)))
                ok(d, "QEMU for %s: %s", o->arch, found);
        else {
                snprintf(fix, sizeof(fix), "apt-get install %s", a->qemu_package);
                fail(d, fix, "%s is not in PATH", a->qemu_binary);
        }
        if (foreign) {
                ok(d, "KVM: not for an %s guest on this %s host (TCG, software emulation)", o->arch, kw_arch_host()->name);
                return;
        }
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
                close(fd);
                ok(d, "KVM: /dev/kvm opens (nested KVM can still fail to boot; --accel auto then falls back to TCG)");
                return;
        }
        ok(d, "KVM: /dev/kvm cannot be opened (%s): guests run under TCG, slower but fine%s", strerror(errno),
           errno == EACCES ? " (add yourself to the kvm group for KVM)" : "");
}

static void check_share(struct doctor *d)
{
        const struct kw_opts *o = d->o;
        const char *envpath = getenv("QEMU_9P_PATH");
        const char *envtag = getenv("QEMU_9P_TAG");
        char err[PATH_MAX + 256], fix[PATH_MAX + 256];

        if (!o->connect && !o->share && !(envpath && envpath[0])) {
                ok(d, "9p share: the managed guest shares %s itself", d->have_dir ? d->dir : o->dir);
                return;
        }
        if (!o->share && envpath && envpath[0] && envpath[0] != '/') {
                snprintf(fix, sizeof(fix), "QEMU_9P_PATH=\"$(pwd)/%s\" (QEMU resolves path= from its own directory)",
                         envpath);
                fail(d, fix, "QEMU_9P_PATH=%s is relative", envpath);
        }
        if (o->tag && envtag && envtag[0] && strcmp(o->tag, envtag) != 0) {
                snprintf(fix, sizeof(fix), "use the mount_tag your QEMU has on both sides (QEMU_9P_TAG=%s, or --tag)",
                         o->tag);
                fail(d, fix, "--tag %s but QEMU_9P_TAG=%s: the guest mounts one, QEMU exports the other", o->tag,
                     envtag);
        }
        struct kw_share s;
        if (!d->have_dir)
                return;
        int r = kw_share_resolve(o, d->dir, &s, err, sizeof(err));
        if (r < 0) {
                fail(d, "set QEMU_9P_PATH/--share to the directory your QEMU shares, QEMU_9P_TAG/--tag to its "
                        "mount_tag, QEMU_9P_SEC to none, mapped-xattr or passthrough",
                     "%s", err);
                return;
        }
        char sub[PATH_MAX];
        if (kw_share_subdir(s.root, d->dir, sub, sizeof(sub)) < 0) {
                fail(d, "share a directory that contains DIR (QEMU_9P_PATH or --share), or watch a directory inside "
                        "the share",
                     "%s is not inside the 9p share %s (from %s)", d->dir, s.root, s.root_from);
        } else {
                ok(d, "9p share %s (from %s) holds %s: the guest loads from " KW_GUEST_MOUNT "%s%s", s.root,
                   s.root_from, d->dir, sub[0] ? "/" : "", sub);
        }
        /* virtio 9p: one mount per tag; a second one is EBUSY */
        ok(d, "9p tag '%s' (from %s): QEMU's mount_tag must match; the agent mounts it at " KW_GUEST_MOUNT
           " (mount it nowhere else in the guest: a tag mounts once)",
           s.tag, s.tag_from);
        if (strcmp(s.sec, "passthrough") == 0 && geteuid() != 0)
                fail(d, "QEMU_9P_SEC=none (or mapped-xattr)",
                     "QEMU_9P_SEC=passthrough needs QEMU to run as root, and this user is not root");
        else
                ok(d, "9p security model %s", s.sec);
        if (!o->connect)
                return;
        const char *sock = o->connect + strlen("unix:");
        struct stat st;
        int sr = stat(sock, &st);
        if (sr == 0 && S_ISSOCK(st.st_mode)) {
                ok(d, "QEMU's agent socket %s is there", sock);
                return;
        }
        snprintf(fix, sizeof(fix), "start your QEMU with $(kmod-watch qemu-args --socket %s)", sock);
        fail(d, fix, "no socket at %s (%s)", sock, sr == 0 ? "not a socket" : strerror(errno));
}

static void check_inotify(struct doctor *d)
{
        char text[64] = "";
        FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "re");

        if (!d->have_dir)
                return;
        if (f) {
                if (!fgets(text, sizeof(text), f))
                        text[0] = 0;
                fclose(f);
        }
        unsigned long limit = strtoul(text, NULL, 10);
        int fd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        unsigned dirs = fd >= 0 ? count_dirs(fd, 0) : 1;
        if (!limit) {
                ok(d, "inotify: %u directories under %s (the watch limit is unknown)", dirs, d->dir);
                return;
        }
        if (dirs >= limit) {
                char fix[128];
                snprintf(fix, sizeof(fix), "sudo sysctl fs.inotify.max_user_watches=%lu", (unsigned long)dirs * 2 + 8192);
                fail(d, fix, "inotify: %u directories under %s, but max_user_watches is %lu", dirs, d->dir, limit);
                return;
        }
        ok(d, "inotify: %u director%s to watch under %s, limit %lu", dirs, dirs == 1 ? "y" : "ies", d->dir, limit);
}

/* A matrix (--target …): each target's kit, agent, compiler and QEMU. */
static void check_targets(struct doctor *d)
{
        const struct kw_opts *o = d->o;

        for (size_t i = 0; i < o->n_target; i++) {
                struct kw_opts t = *o;
                char arch[32], release[48];
                kw_matrix_split(o->target[i], arch, sizeof(arch), release, sizeof(release));
                t.arch = arch;
                t.release = release[0] ? release : o->release;
                printf("target %s:\n", o->target[i]);
                d->o = &t;
                d->have_kit = false;
                check_kit_and_agent(d);
                check_tools(d);
        }
        d->o = o;
}

int kw_doctor_main(const struct kw_opts *o)
{
        struct doctor d = { .o = o };

        if (o->ssh) /* a board over SSH: reachability, login, host key, arch, root, headers */
                return kw_ssh_doctor(o, stdout) == 0 ? 0 : 1;
        printf("kmod-watch doctor: %s guest%s, %s\n", o->n_target ? "a matrix of" : o->arch, o->n_target ? "s" : "",
               o->connect ? "your own QEMU (--connect)" : o->kernel ? "managed QEMU with --kernel"
               : o->kernel_root || o->host_kernel ? "managed QEMU with an installed kernel"
                                                  : "managed QEMU with the kit");
        check_dir(&d);
        if (o->n_target) {
                check_targets(&d);
        } else {
                check_kit_and_agent(&d);
                check_tools(&d);
        }
        check_config(&d);
        check_share(&d);
        check_inotify(&d);
        if (d.fails) {
                printf("%u problem%s found\n", d.fails, d.fails == 1 ? "" : "s");
                return 1;
        }
        printf("all good\n");
        return 0;
}
