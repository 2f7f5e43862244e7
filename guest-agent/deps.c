/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * deps.c — in-kernel dependencies in the guest (see deps.h).
 *
 * The index files are read per LOAD, and only for a module that has a
 * depends= or an unknown symbol: modules.dep is half a megabyte, read over
 * 9p in a few ms; modules.alias (1.3 MB) only when a softdep names an alias.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "deps.h"
#include "util.h"

#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4 /* Linux 5.17 */
#endif

#define MAX_INDEX (16 << 20)

void deps_tree(char *buf, size_t size)
{
        struct utsname u;

        if (uname(&u) < 0)
                snprintf(u.release, sizeof(u.release), "unknown");
        snprintf(buf, size, "/lib/modules/%s", u.release);
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
static char *slurp(const char *tree, const char *name)
{
        char path[512];
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", tree, name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        for (;;) {
                ssize_t n;

                if (cap - len < 65536) {
                        char *nb = cap >= MAX_INDEX ? NULL : realloc(buf, cap + 262144 + 1);

                        if (!nb)
                                break;
                        buf = nb;
                        cap += 262144;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        if (buf)
                buf[len] = '\0';
        return buf;
}

static bool has_index(const char *tree)
{
        char path[512];

        snprintf(path, sizeof(path), "%s/modules.dep", tree);
        return access(path, R_OK) == 0;
}

/* The kernel's request_module() runs /proc/sys/kernel/modprobe: in a guest
 * with our tree, make it busybox's modprobe when it is missing (kits whose
 * initramfs got no applet links for it). */
static void ensure_modprobe(void)
{
        char path[256];

        if (read_text_file("/proc/sys/kernel/modprobe", path, sizeof(path)) <= 0 || path[0] != '/' ||
            access(path, X_OK) == 0 || access("/bin/busybox", X_OK) < 0)
                return;
        if (symlink("/bin/busybox", path) < 0) {
                log_msg("no %s, and linking it to /bin/busybox failed: %s", path, strerror(errno));
                return;
        }
        log_msg("no %s: linked it to /bin/busybox (its modprobe reads modules.dep)", path);
}

void deps_mount_tree(void)
{
        char tree[256];

        deps_tree(tree, sizeof(tree));
        if (has_index(tree))
                return;
        /* /lib/modules exists in the kit's initramfs (its 11 modules). */
        (void)mkdir("/lib", 0755);
        (void)mkdir("/lib/modules", 0755);
        (void)mkdir(tree, 0755);
        if (mount(KW_MODULES_TAG, tree, "9p", MS_RDONLY, "trans=virtio,version=9p2000.L,msize=512000") < 0 &&
            mount(KW_MODULES_TAG, tree, "9p", MS_RDONLY, "trans=virtio,version=9p2000.L") < 0) {
                if (errno == ENOENT || errno == ENODEV)
                        log_msg("no module tree at %s (and no 9p share %s): dependencies will not load", tree,
                                KW_MODULES_TAG);
                else
                        log_msg("mounting %s at %s failed: %s", KW_MODULES_TAG, tree, strerror(errno));
                return;
        }
        log_msg("mounted the kernel's module tree (9p %s, read-only) at %s", KW_MODULES_TAG, tree);
        ensure_modprobe();
}

static bool is_loaded(const char *name)
{
        char path[128];

        snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
        return access(path, F_OK) == 0;
}

void deps_plan(const char *depends, struct deps_plan *ret)
{
        struct kw_kdeps_db db = { 0 };
        char *alias = NULL;
        int w = 0;

        memset(ret, 0, sizeof(*ret));
        deps_tree(ret->tree, sizeof(ret->tree));
        if (!depends || !depends[0])
                return;
        db.dep = slurp(ret->tree, "modules.dep");
        if (!db.dep) {
                ret->no_tree = true;
                return;
        }
        db.softdep = slurp(ret->tree, "modules.softdep");
        db.builtin = slurp(ret->tree, "modules.builtin");
        kw_kdeps_closure(&db, depends, &ret->list);
        if (ret->list.missing[0] && (alias = slurp(ret->tree, "modules.alias"))) {
                db.alias = alias;
                kw_kdeps_closure(&db, depends, &ret->list);
        }
        free(alias);
        free((char *)db.dep);
        free((char *)db.softdep);
        free((char *)db.builtin);
        for (int i = 0; i < ret->list.n; i++)
                if (!is_loaded(ret->list.mod[i].name))
                        ret->list.mod[w++] = ret->list.mod[i];
        ret->list.n = w;
}

static bool compressed(const char *path)
{
        const char *dot = strrchr(path, '.');

        return dot && strcmp(dot, ".ko") != 0;
}

int deps_load(const struct deps_plan *p)
{
        for (int i = 0; i < p->list.n; i++) {
                const struct kw_kdeps_mod *m = &p->list.mod[i];
                char path[512];
                int fd, r;

                snprintf(path, sizeof(path), "%s/%s", p->tree, m->path);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return errno;
                r = (int)syscall(SYS_finit_module, fd, "", compressed(path) ? MODULE_INIT_COMPRESSED_FILE : 0);
                r = r < 0 ? errno : 0;
                close(fd);
                if (r != 0 && r != EEXIST)
                        return r;
        }
        return 0;
}

const char *deps_loaded(const struct deps_plan *p, char *buf, size_t size)
{
        const char *failed = NULL;
        size_t off = 0;

        if (size)
                buf[0] = '\0';
        for (int i = 0; i < p->list.n; i++) {
                const char *n = p->list.mod[i].name;

                if (!is_loaded(n)) {
                        if (!failed)
                                failed = n;
                        continue;
                }
                if (off < size)
                        off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? "," : "", n);
        }
        return failed;
}

void deps_explain_symbol(const char *sym, const char *depends, char *buf, size_t size)
{
        char tree[256], m[KW_MODULE_NAME_LEN];
        char *symbols;
        bool named = false;

        deps_tree(tree, sizeof(tree));
        symbols = slurp(tree, "modules.symbols");
        if (!symbols) {
                snprintf(buf, size, "%s (this guest has no %s/modules.symbols to say which module provides it)",
                         sym, tree);
                return;
        }
        if (kw_kdeps_provider(symbols, sym, m, sizeof(m)) < 0) {
                snprintf(buf, size, "nothing in %s provides %s", tree, sym);
        } else if (is_loaded(m)) {
                snprintf(buf, size, "needs %s from module %s (loaded, yet the symbol did not resolve: "
                         "built against other headers, or a symbol namespace not imported?)", sym, m);
        } else {
                for (const char *p = depends; p && *p;) {
                        size_t len = strcspn(p, ",");
                        char d[KW_MODULE_NAME_LEN];

                        snprintf(d, sizeof(d), "%.*s", (int)(len < sizeof(d) ? len : sizeof(d) - 1), p);
                        named |= kw_kdeps_name_eq(d, m);
                        p += len + (p[len] == ',');
                }
                snprintf(buf, size, "needs %s from module %s (not loaded: %s)", sym, m,
                         named ? "it failed to load" : "the module's depends= does not name it");
        }
        free(symbols);
}
