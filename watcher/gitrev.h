/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gitrev.h — the commit a directory's git tree is at, read from its .git
 * (a directory, or a worktree's "gitdir:" file) without running git: HEAD,
 * the ref it names (loose, or in packed-refs), the branch. For the KCIDB
 * checkout (kcidb.c).
 */
#pragma once

#include <stddef.h>

struct kw_gitrev {
        char commit[41];  /* 40 hex digits */
        char branch[256]; /* "" when HEAD is detached */
};

/* 0, or -ENOENT when DIR is not in a git tree (or HEAD names no commit). */
int kw_gitrev(const char *dir, struct kw_gitrev *ret);
