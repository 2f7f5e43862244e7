/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paths.c — see paths.h. "Run from the build tree" means /proc/self/exe sits
 * in a meson build directory (BUILD/watcher/kmod-watch, with BUILD/build.ninja);
 * anything else is an install. No source or build path is compiled in: the
 * build tree's agents and kit script are found relative to the program.
 *
 * A runtime directory is alive while its run holds an flock on its "lock"
 * file: the kernel drops it however the run ends (SIGKILL too), and a lock
 * cannot be fooled by a reused pid. The file is locked before it gets its
 * name, so a directory whose "lock" can be taken belongs to a dead run; one
 * without a "lock" (being made, or an older kmod-watch's) is left alone.
 */
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
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
static int installed_path(const char *name, int mode, char *buf, size_t size)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

        if (n > 0) {
                exe[n] = 0;
                char *slash = strrchr(exe, '/');
                if (slash) {
                        *slash = 0;
                        if ((size_t)snprintf(buf, size, "%s/" KW_LIBEXEC_FROM_BIN "/%s", exe, name) < size &&
                            access(buf, mode) == 0)
                                return 0;
                }
        }
        if ((size_t)snprintf(buf, size, KW_LIBEXECDIR "/%s", name) >= size)
                return -ENAMETOOLONG;
        return access(buf, mode) == 0 ? 0 : -ENOENT;
}

/* $env (env: NULL, none), else BUILD/in_build (run from a build tree), else the installed name */
static int pick(char *buf, size_t size, const char *env, const char *in_build, const char *name, int mode)
{
        const char *e = env ? getenv(env) : NULL;
        char build[PATH_MAX];

        if (e && *e) {
                if ((size_t)snprintf(buf, size, "%s", e) >= size)
                        return -ENAMETOOLONG;
        } else {
                build_tree(build, sizeof(build));
                if (!build[0])
                        return installed_path(name, mode, buf, size);
                if ((size_t)snprintf(buf, size, "%s/%s", build, in_build) >= size)
                        return -ENAMETOOLONG;
        }
        return access(buf, mode) == 0 ? 0 : -ENOENT;
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
        int r = pick(buf, size, "KMOD_WATCH_AGENT", built, name, X_OK);
        if (r == -ENOENT && !native && !getenv("KMOD_WATCH_AGENT"))
                kw_err("no %s agent: install the cross compiler (apt-get install %s) and rebuild kmod-watch",
                       a->name, a->cross_package);
        return r;
}

int kw_path_kit_script(char *buf, size_t size)
{
        return pick(buf, size, "KMOD_WATCH_KIT_SCRIPT", "kit/kmod-watch-kit", "kmod-watch-kit", X_OK);
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

#define RUNTIME_PREFIX "kmod-watch."
#define RUNTIME_LOCK "lock"

static int runtime_lock = -1; /* held open (and locked) until kw_path_runtime_remove() */

static void remove_files(const char *dir)
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

/* Removes the runtime directories in parent of runs that are gone; returns
 * how many. Only ours (same owner), only real directories. */
static int remove_stale(const char *parent)
{
        DIR *d = opendir(parent);
        int n = 0;

        if (!d)
                return 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                char dir[PATH_MAX], lock[PATH_MAX + 8];
                struct stat st;

                if (strncmp(e->d_name, RUNTIME_PREFIX, strlen(RUNTIME_PREFIX)) ||
                    strlen(e->d_name) != strlen(RUNTIME_PREFIX) + 6 ||
                    (size_t)snprintf(dir, sizeof(dir), "%s/%s", parent, e->d_name) >= sizeof(dir))
                        continue;
                if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
                        continue;
                snprintf(lock, sizeof(lock), "%s/" RUNTIME_LOCK, dir);
                int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue;
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) { /* nobody holds it: that run is gone */
                        remove_files(dir);
                        n++;
                }
                close(fd);
        }
        closedir(d);
        return n;
}

/* Locks dir's "lock" file, made under another name first so that nobody
 * sees it unlocked. */
static int lock_runtime(const char *dir)
{
        char tmp[PATH_MAX], lock[PATH_MAX];

        snprintf(tmp, sizeof(tmp), "%s/" RUNTIME_LOCK ".new", dir);
        snprintf(lock, sizeof(lock), "%s/" RUNTIME_LOCK, dir);
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0 || rename(tmp, lock) < 0) {
                int r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        return fd;
}

int kw_path_runtime_new(char *buf, size_t size)
{
        const char *rt = getenv("XDG_RUNTIME_DIR");

        if (!rt || rt[0] != '/' || access(rt, W_OK) != 0)
                rt = "/tmp";
        int stale = remove_stale(rt);
        if (stale)
                kw_note("removed %d runtime director%s left in %s by kmod-watch runs that were killed", stale,
                        stale == 1 ? "y" : "ies", rt);
        if ((size_t)snprintf(buf, size, "%s/" RUNTIME_PREFIX "XXXXXX", rt) >= size)
                return -ENAMETOOLONG;
        if (!mkdtemp(buf)) /* mode 0700 */
                return -errno;
        int fd = lock_runtime(buf);
        if (fd < 0) {
                (void)rmdir(buf);
                return fd;
        }
        runtime_lock = fd;
        return 0;
}

void kw_path_runtime_remove(const char *dir)
{
        remove_files(dir); /* the lock file with the rest; then the lock goes */
        if (runtime_lock >= 0)
                close(runtime_lock);
        runtime_lock = -1;
}

int kw_path_hugepages(char *buf, size_t size)
{
        /* readable is enough: ld.so maps it, and dh_fixperms installs shared objects 0644 */
        return pick(buf, size, "KMOD_WATCH_HUGEPAGES", "hugepages/kw-hugepages.so", "kw-hugepages.so", R_OK);
}
