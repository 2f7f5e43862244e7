/* SPDX-License-Identifier: MIT */
/*
 * paths.c — see paths.h. "Run from the build tree" means /proc/self/exe lies
 * under the build directory meson configured; anything else is an install.
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

#include "config.h"
#include "opts.h"
#include "ui.h"

static bool in_build_tree(void)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n < 0)
                return false;
        exe[n] = 0;
        size_t len = strlen(KW_BUILDDIR);
        return strncmp(exe, KW_BUILDDIR, len) == 0 && exe[len] == '/';
}

static int pick(char *buf, size_t size, const char *env, const char *built, const char *installed)
{
        const char *e = getenv(env);
        const char *p = e && *e ? e : in_build_tree() ? built : installed;

        if ((size_t)snprintf(buf, size, "%s", p) >= size)
                return -ENAMETOOLONG;
        return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

int kw_path_agent(const char *arch, char *buf, size_t size)
{
        char built[PATH_MAX], installed[PATH_MAX];
        /* the host's own arch is plain "kmod-agent"; others carry the arch */
        bool native = strcmp(arch, kw_host_arch()) == 0;

        snprintf(built, sizeof(built), KW_BUILDDIR "/guest-agent/kmod-agent%s%s", native ? "" : "-",
                 native ? "" : arch);
        snprintf(installed, sizeof(installed), KW_LIBEXECDIR "/kmod-agent%s%s", native ? "" : "-",
                 native ? "" : arch);
        int r = pick(buf, size, "KMOD_WATCH_AGENT", built, installed);
        if (r == -ENOENT && !native && strcmp(arch, "arm64") == 0 && !getenv("KMOD_WATCH_AGENT"))
                kw_err("no %s agent: install the cross compiler (apt-get install gcc-aarch64-linux-gnu) "
                       "and rebuild kmod-watch", arch);
        return r;
}

int kw_path_kit_script(char *buf, size_t size)
{
        return pick(buf, size, "KMOD_WATCH_KIT_SCRIPT", KW_SOURCEDIR "/kit/kmod-watch-kit",
                    KW_LIBEXECDIR "/kmod-watch-kit");
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
