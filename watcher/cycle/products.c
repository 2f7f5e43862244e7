/* SPDX-License-Identifier: MIT */
/*
 * products.c — the modules a make produced, read from disk.
 */
#include "products.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "build.h"
#include "modinfo.h"
#include "sha256.h"
#include "ui.h"

static int read_module(const char *dir, const char *relpath, uint16_t machine, struct kw_module *m)
{
        char path[PATH_MAX * 2];
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
        *m = (struct kw_module){ 0 };
        snprintf(m->name, sizeof(m->name), "%s", mi.name);
        snprintf(m->relpath, sizeof(m->relpath), "%s", relpath);
        snprintf(m->depends, sizeof(m->depends), "%s", mi.depends);
        if (kw_sha256_file(path, m->hash) < 0)
                memset(m->hash, 0, sizeof(m->hash)); /* unknown: always reloaded */
        return 0;
}

int kw_products_collect(const char *dir, uint16_t machine, struct kw_modlist *ret)
{
        char **kos;
        size_t n;
        int r = kw_build_modules(dir, &kos, &n);

        if (r < 0) {
                kw_err("make succeeded but wrote no modules.order in %s: is this a kbuild module directory "
                       "(obj-m in its Makefile or Kbuild)?", dir);
                return r;
        }
        if (n == 0) {
                kw_err("the build produced no module (modules.order is empty): add obj-m += NAME.o to the "
                       "Makefile");
                kw_strv_free(kos, n);
                return -ENOENT;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                struct kw_module m;
                r = read_module(dir, kos[i], machine, &m);
                if (r >= 0)
                        r = kw_modlist_add(ret, &m);
        }
        kw_strv_free(kos, n);
        return r < 0 ? r : 0;
}
