/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * products.c — the modules a make produced, read from disk.
 */
#include "products.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "build.h"
#include "modinfo.h"
#include "recipe.h"
#include "sha256.h"
#include "ui.h"

/* What tells a rebuilt .ko that is byte for byte the loaded one (then no reload): two
 * 64-bit multiply-xor lanes over the file's words and its length. Each step is a
 * bijection of the lane, so a .ko that differs in one word always differs here; it is
 * on the path from the build's end to the load request, where SHA-256 cost 1-5 ms for
 * a 110 KB hello.ko on a loaded 2-core host and this costs a tenth of that. */
static int content_id(const char *path, uint8_t out[KW_SHA256_LEN])
{
        uint64_t a = 0x9e3779b97f4a7c15ull, b = 0xc2b2ae3d27d4eb4full, len = 0;
        unsigned char buf[65536];
        size_t have = 0;
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        for (;;) {
                n = read(fd, buf + have, sizeof(buf) - have);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = -errno;
                        close(fd);
                        return e;
                }
                have += (size_t)n;
                len += (uint64_t)n;
                size_t whole = n == 0 ? (have + 7) / 8 * 8 : have / 8 * 8; /* at the end: the tail, zero-padded */
                if (n == 0)
                        memset(buf + have, 0, whole - have);
                for (size_t i = 0; i < whole; i += 8) {
                        uint64_t w;
                        memcpy(&w, buf + i, 8);
                        a = (a ^ w) * 0x100000001b3ull;
                        b = ((b ^ w) << 29 | (b ^ w) >> 35) * 0x9e3779b97f4a7c15ull;
                }
                if (n == 0)
                        break;
                memmove(buf, buf + whole, have - whole);
                have -= whole;
        }
        close(fd);
        memset(out, 0, KW_SHA256_LEN);
        memcpy(out, &a, 8);
        memcpy(out + 8, &b, 8);
        memcpy(out + 16, &len, 8);
        return 0;
}

static int read_module(const struct kw_recipe *rc, const char *relpath, uint16_t machine, const char *guest_release,
                       struct kw_module *m)
{
        const char *dir = rc->dir;
        char path[PATH_MAX * 2], built_for[128];
        struct kw_modinfo mi;

        snprintf(path, sizeof(path), "%s/%s", dir, relpath);
        int r = kw_modinfo_read_file(path, &mi);
        if (r < 0) {
                kw_err("cannot read module %s: %s", path, r == -ENOEXEC ? "not a kernel module (ELF)" : strerror(-r));
                return r;
        }
        if (mi.machine != machine) {
                char b1[32], b2[32];
                kw_err("%s is built for %s but the guest is %s: check --arch, ARCH and CROSS_COMPILE", relpath,
                       kw_elf_machine_name(mi.machine, b1, sizeof(b1)), kw_elf_machine_name(machine, b2, sizeof(b2)));
                return -ENOEXEC;
        }
        /* the kernel would refuse it as "disagrees about version": say it here, in words */
        kw_vermagic_release(mi.vermagic, built_for, sizeof(built_for));
        if (guest_release && guest_release[0] && built_for[0] && strcmp(built_for, guest_release) != 0 &&
            strcmp(built_for, rc->release) == 0) {
                kw_err("%s is built for kernel %s (KDIR=%s) but the guest runs %s: pass --kdir the build tree of "
                       "%s (its headers: /lib/modules/%s/build on the guest's distribution)", relpath, built_for,
                       rc->kdir ? rc->kdir : "", guest_release, guest_release, guest_release);
                return -EPROTO;
        }
        const char *want = guest_release && guest_release[0] ? guest_release : rc->release;
        if (want[0] && built_for[0] && strcmp(built_for, want) != 0) {
                kw_err("%s is built for kernel %s but the guest runs %s: building with %s did not use KDIR=%s; "
                       "make it build against KDIR (see 'kmod-watch doctor'), or pass --kdir the tree for %s, or "
                       "--make 'CMD'", relpath, built_for, want, kw_recipe_name(rc->kind),
                       rc->kdir ? rc->kdir : "", want);
                return -EPROTO;
        }
        *m = (struct kw_module){ 0 };
        snprintf(m->name, sizeof(m->name), "%s", mi.name);
        snprintf(m->relpath, sizeof(m->relpath), "%s", relpath);
        snprintf(m->depends, sizeof(m->depends), "%s", mi.depends);
        if (content_id(path, m->hash) < 0)
                memset(m->hash, 0, sizeof(m->hash)); /* unknown: always reloaded */
        return 0;
}

int kw_products_collect(const struct kw_recipe *rc, uint16_t machine, const char *guest_release,
                        struct kw_modlist *ret)
{
        char **kos = NULL;
        size_t n = 0;
        int r = kw_build_modules(rc->dir, &kos, &n);

        if (r == -ENOENT || (r == 0 && n == 0)) {
                kw_strv_free(kos, n);
                r = kw_recipe_modules(rc, &kos, &n); /* dkms.conf names them */
                if (r == 0 && n == 0) {
                        kw_err("building with %s wrote no module (no modules.order with a .ko under %s): is there "
                               "obj-m in a Makefile or Kbuild? Or say how it builds: --make 'CMD'",
                               kw_recipe_name(rc->kind), rc->dir);
                        return -ENOENT;
                }
        }
        if (r < 0) {
                kw_err("cannot read what the build made in %s: %s", rc->dir, strerror(-r));
                return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct kw_module m;
                r = read_module(rc, kos[i], machine, guest_release, &m);
                if (r >= 0)
                        r = kw_modlist_add(ret, &m);
        }
        kw_strv_free(kos, n);
        return r < 0 ? r : 0;
}
