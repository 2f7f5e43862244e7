/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * symbolize.h — source lines for the stack frames of our own modules
 * ("hello_init+0x15/0x30 [hello]" → hello.c:12), on the host. When a module
 * is loaded, a copy of its .ko is kept (in memory: a later build must not
 * change what an oops is resolved against). A frame is resolved the way the
 * kernel's scripts/faddr2line does it: the symbol's section and value from
 * the .ko's symbol table, plus the offset, handed to binutils' addr2line
 * (${CROSS_COMPILE}addr2line) with -j SECTION. kbuild compiles modules with
 * -g when the kernel has CONFIG_DEBUG_INFO (Debian's does); without DWARF
 * there is no line and the frame is shown as the kernel printed it.
 * addr2line runs synchronously with a deadline: it is rare (an oops) and fast.
 */
#pragma once

#include <stddef.h>

#include "oops.h"

struct kw_symbolizer;

/* dir: the module source directory (paths under it are shown relative to it). */
int kw_symbolizer_new(const char *dir, const char *cross_compile, struct kw_symbolizer **ret);
void kw_symbolizer_free(struct kw_symbolizer *z); /* accepts NULL */

/* Keep a copy of the .ko at path as the image of module name (replaces an older one). */
int kw_symbolizer_snapshot(struct kw_symbolizer *z, const char *name, const char *path);

/* The source position of frame f: ret_path (as recorded in the DWARF, absolute
 * for kbuild's M= builds), *ret_line. -ENOENT: not one of our modules, or no
 * line information; -ETIMEDOUT, -errno: addr2line could not say. */
int kw_symbolizer_resolve(struct kw_symbolizer *z, const struct kw_oops_frame *f, char *ret_path, size_t size,
                          unsigned *ret_line);

/* "hello.c:12" for the user: relative to the module directory when under it. */
void kw_symbolizer_shown(const struct kw_symbolizer *z, const char *path, unsigned line, char *buf, size_t size);

/* The text of line `line` of path, without its newline; -errno / -ENOENT. */
int kw_source_line(const char *path, unsigned line, char *buf, size_t size);
