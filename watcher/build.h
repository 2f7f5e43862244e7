/* SPDX-License-Identifier: MIT */
/*
 * build.h — one `make` run in the module directory, as a child of the loop:
 * KDIR/ARCH/CROSS_COMPILE set for the guest, output captured (shown as the
 * compiler printed it when it matters), and the list of .ko files taken from
 * kbuild's modules.order.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct kw_build_opts {
        const char *dir;
        const char *kdir;
        const char *arch;          /* kernel ARCH= (x86_64 → none needed; arm64) or NULL */
        const char *cross_compile; /* CROSS_COMPILE= or NULL */
        unsigned jobs;
};

struct kw_build;

/* output: everything make printed (stdout and stderr, interleaved as printed). */
typedef void (*kw_build_done_fn)(void *userdata, bool ok, const char *output, size_t len, uint64_t ms);

int kw_build_start(struct kw_loop *l, const struct kw_build_opts *o, kw_build_done_fn fn, void *userdata,
                   struct kw_build **ret);
/* Kills a running make (its whole process group); the callback is not called. */
void kw_build_cancel(struct kw_build *b);

/* The .ko files kbuild produced, from DIR/modules.order, as paths relative
 * to DIR ("hello.ko", "sub/x.ko"). Free with kw_strv_free(). */
int kw_build_modules(const char *dir, char ***ret, size_t *ret_n);
void kw_strv_free(char **v, size_t n);

/* What of make's output to show: the compiler's lines (errors, warnings, notes
 * and their context) without kbuild's "  CC [M]" chatter and make's
 * "Entering directory" lines. Writes into a new string. */
char *kw_build_filter_output(const char *out, size_t len);
