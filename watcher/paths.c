/* SPDX-License-Identifier: MIT */
/*
 * paths.c — see paths.h. "Run from the build tree" means /proc/self/exe sits
 * in a meson build directory (BUILD/watcher/kmod-watch, with BUILD/build.ninja);
 * anything else is an install. No source or build path is compiled in: the
 * build tree's agents and kit script are found relative to the program.
 */
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch.h"
#include "config.h"
#include "ui.h"

/* BUILD when the program is BUILD/watcher/kmod-watch of a meson build tree, else "" */
static void build_tree(char *buf, size_t size)
{
        char exe[PATH_MAX], probe[PATH_MAX + 32];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        buf[0] = 0;
        if (n < 0)
                return;
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (!slash)
                return;
        *slash = 0; /* BUILD/watcher */
        slash = strrchr(exe, '/');
        if (!slash || strcmp(slash, "/watcher") != 0)
                return;
        *slash = 0; /* BUILD */
        snprintf(probe, sizeof(probe), "%s/build.ninja", exe);
        if (access(probe, F_OK) == 0 && strlen(exe) < size)
                snprintf(buf, size, "%s", exe);
}

/* An installed kmod-watch finds its helpers next to itself first
 * (BINDIR/../libexec/kmod-watch), so `meson install --destdir` trees and
 * moved installs work; then the configured prefix. */
static int installed_path(const char *name, char *buf, size_t size)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n > 0) {
                exe[n] = 0;
                char *slash = strrchr(exe, '/');
                if (slash) {
                        *slash = 0;
                        if ((size_t)snprintf(buf, size, "%s/" KW_LIBEXEC_FROM_BIN "/%s", exe, name) < size &&
                            access(buf, X_OK) == 0)
                                return 0;
                }
        }
        if ((size_t)snprintf(buf, size, KW_LIBEXECDIR "/%s", name) >= size)
                return -ENAMETOOLONG;
        return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

/* $env, else BUILD/in_build (run from a build tree), else the installed name */
static int pick(char *buf, size_t size, const char *env, const char *in_build, const char *name)
{
        const char *e = getenv(env);
        char build[PATH_MAX];

        if (e && *e) {
                if ((size_t)snprintf(buf, size, "%s", e) >= size)
                        return -ENAMETOOLONG;
        } else {
                build_tree(build, sizeof(build));
                if (!build[0])
                        return installed_path(name, buf, size);
                if ((size_t)snprintf(buf, size, "%s/%s", build, in_build) >= size)
                        return -ENAMETOOLONG;
        }
        return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

int kw_path_agent(const char *arch, char *buf, size_t size)
{
        const struct kw_arch *a = kw_arch_find(arch);
        char built[PATH_MAX];

        if (!a) {
                snprintf(buf, size, "no agent for an unknown arch '%s'", arch);
                return -EINVAL;
        }
        /* the host's own arch is plain "kmod-agent"; others carry the arch */
        bool native = a == kw_arch_host();
        const char *name = native ? "kmod-agent" : a->agent_name;
        snprintf(built, sizeof(built), "guest-agent/%s", name);
        int r = pick(buf, size, "KMOD_WATCH_AGENT", built, name);
        if (r == -ENOENT && !native && !getenv("KMOD_WATCH_AGENT"))
                kw_err("no %s agent: install the cross compiler (apt-get install %s) and rebuild kmod-watch",
                       a->name, a->cross_package);
        return r;
}

int kw_path_kit_script(char *buf, size_t size)
{
        return pick(buf, size, "KMOD_WATCH_KIT_SCRIPT", "kit/kmod-watch-kit", "kmod-watch-kit");
}

int kw_path_cache(char *buf, size_t size)
{
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        int n;

        if (xdg && xdg[0] == '/')
                n = snprintf(buf, size, "%s/kmod-watch", xdg);
        else if (home && home[0] == '/')
                n = snprintf(buf, size, "%s/.cache/kmod-watch", home);
        else
                return -ENOENT;
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kw_path_runtime_new(char *buf, size_t size)
{
        const char *rt = getenv("XDG_RUNTIME_DIR");

        if (!rt || rt[0] != '/' || access(rt, W_OK) != 0)
                rt = "/tmp";
        if ((size_t)snprintf(buf, size, "%s/kmod-watch.XXXXXX", rt) >= size)
                return -ENAMETOOLONG;
        if (!mkdtemp(buf)) /* mode 0700 */
                return -errno;
        return 0;
}

void kw_path_runtime_remove(const char *dir)
{
        DIR *d = opendir(dir);

        if (!d)
                return;
        struct dirent *e;
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                        (void)unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
        (void)rmdir(dir);
}
