/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow.h — a shadow tree: a directory that mirrors a module's source
 * directory with symlinks to its sources, so kbuild can build the module there
 * (M=SHADOW) and leave its objects beside the links, not in the sources. A
 * matrix (--target) builds each target in its own shadow; kbuild before 6.13
 * has no MO= to put an external module's objects elsewhere.
 */
#pragma once

/* Brings dst up to date with src: its sub-directories made, a link for each
 * source file (not a build product: hidden files, *.o, *.ko, *.mod, *.mod.c,
 * *.a, *.order, *.symvers, compile_commands.json), links whose source went
 * away removed. What the builds wrote in dst stays. 0 or -errno. */
int kw_shadow_sync(const char *src, const char *dst);

/* (pure) text with every mention of the shadow tree (SHADOW itself, or
 * SHADOW/…; not SHADOW-x) made SRC again: the compiler's and make's messages
 * name the sources where the user edits them. A new string, NULL: no memory. */
char *kw_shadow_unmap(const char *text, const char *shadow, const char *src);

/* SHADOW/NAME written as SRC/NAME (replaced whole), its mentions of the
 * shadow tree made SRC (kw_shadow_unmap): compile_commands.json for clangd in
 * DIR, from a target's build. 0 or -errno. */
int kw_shadow_copy_back(const char *shadow, const char *src, const char *name);

/* (pure) Is NAME (a directory entry) a build product or hidden, left out of the shadow? */
int kw_shadow_skip(const char *name);

/* The shadow trees of one DIR live in TREES (kw_matrix_trees()), beside those
 * of other DIRs. Marks TREES used now (its .used file), and removes each
 * sibling whose .used (else its own time) is older than days: the trees of
 * DIRs no matrix ran for since. The number removed, or -errno. */
int kw_shadow_keep(const char *trees, unsigned days);
