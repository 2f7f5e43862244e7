/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * filter.c — which paths are sources and which are noise (see filter.h for
 * the rules). Everything here is fnmatch over short strings: it runs for every
 * inotify event in the watch thread, so it allocates nothing when matching.
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* make reads GNUmakefile, makefile and Makefile, in that order; Kbuild files
 * take precedence over Makefile in an out-of-tree module directory. */
static const char *const default_includes[] = {
        "*.c", "*.h", "*.S", "Makefile", "makefile", "GNUmakefile", "Kbuild", "Kconfig",
};

/* Basenames that are never a source change. Hidden names and all-digit names
 * are handled in code. */
static const char *const builtin_ignores[] = {
        /* what make and Kbuild write into the module directory */
        "*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd", "*.a", "modules.order", "Module.symvers",
        "*.symvers", "*.order", "*.tmp", "*.dwo", "compile_commands.json",
        /* editors: vim backup (hello.c~) and swap files wherever 'directory'
         * puts them (.swp, .swo, … .swa, and the .swx probe), emacs autosave,
         * JetBrains safe-write, patch leftovers, sed -i's temp file */
        "*~", "*.sw[a-px]", "#*#", "*___jb_tmp___", "*___jb_old___", "*.orig", "sed??????",
};

void kw_filter_init(struct kw_filter *f)
{
        *f = (struct kw_filter){ 0 };
}

static void globs_free(struct kw_glob *g, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(g[i].pat);
        free(g);
}

void kw_filter_free(struct kw_filter *f)
{
        if (!f)
                return;
        globs_free(f->include, f->n_include);
        globs_free(f->exclude, f->n_exclude);
        kw_filter_init(f);
}

static int glob_add(struct kw_glob **v, size_t *n, const char *glob)
{
        bool anchored = false;
        bool dir_only = false;
        size_t len;
        struct kw_glob *nv;
        char *pat;

        if (!glob)
                return -EINVAL;
        /* "./x" and "/x" both mean "x at the top of DIR" */
        for (;;) {
                if (glob[0] == '/') {
                        anchored = true;
                        glob++;
                } else if (glob[0] == '.' && glob[1] == '/') {
                        anchored = true;
                        glob += 2;
                } else
                        break;
        }
        len = strlen(glob);
        while (len > 0 && glob[len - 1] == '/') {
                dir_only = true;
                len--;
        }
        if (len == 0 || (len == 1 && glob[0] == '.'))
                return -EINVAL;

        pat = strndup(glob, len);
        if (!pat)
                return -ENOMEM;
        nv = realloc(*v, (*n + 1) * sizeof(**v));
        if (!nv) {
                free(pat);
                return -ENOMEM;
        }
        nv[*n] = (struct kw_glob){
                .pat = pat,
                .path = anchored || strchr(pat, '/'),
                .dir_only = dir_only,
        };
        *v = nv;
        (*n)++;
        return 0;
}

int kw_filter_add_include(struct kw_filter *f, const char *glob)
{
        return glob_add(&f->include, &f->n_include, glob);
}

int kw_filter_add_exclude(struct kw_filter *f, const char *glob)
{
        return glob_add(&f->exclude, &f->n_exclude, glob);
}

static bool glob_match(const struct kw_glob *g, const char *rel, const char *base, bool is_dir)
{
        if (g->dir_only && !is_dir)
                return false;
        if (g->path)
                return fnmatch(g->pat, rel, FNM_PATHNAME) == 0;
        return fnmatch(g->pat, base, 0) == 0;
}

static bool any_match(const struct kw_glob *v, size_t n, const char *rel, const char *base, bool is_dir)
{
        for (size_t i = 0; i < n; i++)
                if (glob_match(&v[i], rel, base, is_dir))
                        return true;
        return false;
}

static const char *basename_of(const char *rel)
{
        const char *slash = strrchr(rel, '/');

        return slash ? slash + 1 : rel;
}

static bool all_digits(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* Vim probes whether it may create files with 4913, then 5036, 5159, … */
static bool builtin_ignored(const char *base)
{
        if (all_digits(base))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(builtin_ignores); i++)
                if (fnmatch(builtin_ignores[i], base, 0) == 0)
                        return true;
        return false;
}

/*
 * Calls fn on every directory that contains REL (every proper prefix ending
 * before a '/'), as a NUL-terminated copy; stops at the first true. With
 * include_self, REL itself is visited last.
 */
static bool any_dir(const struct kw_filter *f, const char *rel, bool include_self,
                    bool (*fn)(const struct kw_filter *f, const char *reldir))
{
        char buf[PATH_MAX];
        size_t len = strlen(rel);

        if (len >= sizeof(buf))
                return true; /* cannot be a path we watch; say "ignored" */
        memcpy(buf, rel, len + 1);
        for (size_t i = 0; i < len; i++) {
                if (buf[i] != '/')
                        continue;
                buf[i] = '\0';
                if (fn(f, buf))
                        return true;
                buf[i] = '/';
        }
        return include_self && fn(f, buf);
}

/* One directory, judged by its own name only (its parents are checked by the
 * caller). */
static bool dir_excluded_here(const struct kw_filter *f, const char *reldir)
{
        const char *base = basename_of(reldir);

        if (base[0] == '.' || base[0] == '\0')
                return true;
        return any_match(f->exclude, f->n_exclude, reldir, base, true);
}

bool kw_filter_dir_ignored(const struct kw_filter *f, const char *reldir)
{
        if (!reldir[0] || (reldir[0] == '.' && !reldir[1]))
                return false;
        return any_dir(f, reldir, true, dir_excluded_here);
}

bool kw_filter_match(const struct kw_filter *f, const char *relpath)
{
        const char *base = basename_of(relpath);

        if (base[0] == '\0' || base[0] == '.')
                return false;
        if (any_dir(f, relpath, false, dir_excluded_here))
                return false;
        if (builtin_ignored(base))
                return false;
        if (any_match(f->exclude, f->n_exclude, relpath, base, false))
                return false;
        if (f->n_include > 0)
                return any_match(f->include, f->n_include, relpath, base, false);
        for (size_t i = 0; i < ELEMENTSOF(default_includes); i++)
                if (fnmatch(default_includes[i], base, 0) == 0)
                        return true;
        return false;
}
