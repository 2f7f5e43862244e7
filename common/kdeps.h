/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kdeps.h — the kernel's own module index, read as text: which in-kernel
 * modules a module needs first (modules.dep, modules.softdep "pre:",
 * modules.builtin, modules.alias) and which module exports a symbol
 * (modules.symbols). depmod writes these files under /lib/modules/<release>.
 * Pure functions on NUL-terminated file contents, so both the host's unit
 * tests and the fuzzers can drive them; the agent reads the files.
 *
 * Module names compare with '-' and '_' as the same character, as the
 * kernel does ("crc-itu-t.ko" holds module crc_itu_t).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "modinfo.h"

#define KW_KDEPS_MAX 64      /* modules in one closure */
#define KW_KDEPS_PATH 256    /* a path in modules.dep, relative to the tree */

/* The index files' contents ("" or NULL when a file is absent). */
struct kw_kdeps_db {
        const char *dep;     /* modules.dep */
        const char *softdep; /* modules.softdep */
        const char *builtin; /* modules.builtin */
        const char *alias;   /* modules.alias (softdep names may be aliases) */
};

struct kw_kdeps_mod {
        char name[KW_MODULE_NAME_LEN]; /* "crc_itu_t" */
        char path[KW_KDEPS_PATH];      /* "kernel/lib/crc-itu-t.ko", relative to the tree */
};

struct kw_kdeps_list {
        struct kw_kdeps_mod mod[KW_KDEPS_MAX];
        int n;
        char missing[256]; /* comma-separated names in no file (not built in either); "" */
        bool truncated;    /* more than KW_KDEPS_MAX */
};

/* "kernel/lib/crc-itu-t.ko.xz" → "crc_itu_t" (len bytes of path). */
void kw_kdeps_name_of(const char *path, size_t len, char *buf, size_t size);
/* Equal as module names ('-' == '_'). */
bool kw_kdeps_name_eq(const char *a, const char *b);
/* Whether modules.builtin lists name. */
bool kw_kdeps_builtin(const char *builtin, const char *name);
/* The modules to load, in order, before a module whose .modinfo says
 * depends=DEPENDS (comma-separated), with each one's softdep "pre:" modules
 * before it: a post-order walk, each module once, built-in ones left out. */
void kw_kdeps_closure(const struct kw_kdeps_db *db, const char *depends, struct kw_kdeps_list *ret);
/* The module exporting sym ("alias symbol:SYM MODULE" in modules.symbols):
 * 0 with its name in buf, -ENOENT when nothing does. */
int kw_kdeps_provider(const char *symbols, const char *sym, char *buf, size_t size);
