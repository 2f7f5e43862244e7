/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * build.h — one build of the module directory, as a child of the loop: the
 * recipe's command (recipe.h) in DIR with PWD=DIR, output captured (shown as
 * the compiler printed it when it matters), and the list of .ko files taken
 * from kbuild's modules.order files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "recipe.h"

struct kw_build;

/* output: everything make printed (stdout and stderr, interleaved as printed). */
typedef void (*kw_build_done_fn)(void *userdata, bool ok, const char *output, size_t len, uint64_t ms);

int kw_build_start(struct kw_loop *l, const struct kw_recipe *r, kw_build_done_fn fn, void *userdata,
                   struct kw_build **ret);
/* Kills a running make (its whole process group); the callback is not called. */
void kw_build_cancel(struct kw_build *b);

/* The .ko files kbuild produced, from every modules.order under DIR (hidden
 * directories skipped; a recipe's sub-makes leave theirs in sub-directories),
 * as paths relative to DIR ("hello.ko", "sub/x.ko"), each once, in the order
 * found (DIR's own first). -ENOENT when there is no modules.order. Free with
 * kw_strv_free(). */
int kw_build_modules(const char *dir, char ***ret, size_t *ret_n);
void kw_strv_free(char **v, size_t n);

/* What of make's output to show: the compiler's lines (errors, warnings, notes
 * and their context) without kbuild's "  CC [M]" chatter and make's
 * "Entering directory" lines. Writes into a new string. */
char *kw_build_filter_output(const char *out, size_t len);
