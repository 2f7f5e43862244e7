/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * filter.h — which paths under the watched DIR are sources worth a build, and
 * which directories are not worth watching at all. Pure: no I/O, no globals;
 * the watch thread and the main thread may call the matchers concurrently on
 * a filter that is no longer being changed.
 *
 * Paths are relative to DIR, '/'-separated, without a leading "./".
 *
 * Rules, in the order they are applied:
 *   1. Always ignored: anything hidden or under a hidden directory (.git,
 *      .tmp_versions, .hello.o.cmd, vim's .hello.c.swp, emacs' .#hello.c);
 *      build outputs (*.o *.ko *.mod *.mod.c *.cmd *.a *.symvers *.order
 *      *.tmp *.dwo, modules.order, Module.symvers); editor by-products (*~,
 *      *.sw[a-px], #*#, *___jb_tmp___, *___jb_old___, *.orig, sed's sedXXXXXX,
 *      and all-digit names such as vim's write probe 4913). A user include
 *      cannot bring these back: make writes build outputs, so letting them
 *      through would make every build trigger the next one.
 *   2. --exclude GLOB (repeatable) adds to those. It also prunes directories:
 *      a directory it matches is not watched and nothing under it matches.
 *   3. --include GLOB (repeatable) REPLACES the default includes
 *      (*.c *.h *.S Makefile makefile GNUmakefile Kbuild Kconfig), as
 *      watchexec's --exts/--filter do: "--include '*.rs'" means "only *.rs",
 *      not "*.rs as well as C" (to keep C too, give both).
 *
 * A glob without '/' matches the basename (fnmatch, no flags: "*.c" matches
 * "sub/x.c"). A glob with '/' matches the whole relative path with
 * FNM_PATHNAME ('*' does not cross '/'); a leading "/" or "./" anchors it at
 * DIR and is dropped. A trailing '/' makes the glob match directories only
 * ("--exclude build/").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct kw_glob {
        char *pat;     /* normalised: no leading "./" or "/", no trailing "/" */
        bool path;     /* contains '/': match the relative path, FNM_PATHNAME */
        bool dir_only; /* was written with a trailing '/' */
};

struct kw_filter {
        struct kw_glob *include; /* none: the default includes */
        size_t n_include;
        struct kw_glob *exclude; /* on top of the built-in ignores */
        size_t n_exclude;
};

void kw_filter_init(struct kw_filter *f);
/* 0, -EINVAL for an empty glob (or one that is only '/' and '.'), -ENOMEM. */
int kw_filter_add_include(struct kw_filter *f, const char *glob);
int kw_filter_add_exclude(struct kw_filter *f, const char *glob);
void kw_filter_free(struct kw_filter *f);

/* Is a change to the file RELPATH a source change (one worth a build)? */
bool kw_filter_match(const struct kw_filter *f, const char *relpath);

/* Should the directory RELDIR (and everything below it) go unwatched?
 * "" and "." (DIR itself) never are. */
bool kw_filter_dir_ignored(const struct kw_filter *f, const char *reldir);
