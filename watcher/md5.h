/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * md5.h — MD5 (RFC 1321), small and dependency-free. Not for security: the
 * SSH transport checks a copy made over an exec channel against what a board
 * computes with the tools it has, and some boards have md5sum but no
 * sha256sum.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KW_MD5_LEN 16

struct kw_md5 {
        uint32_t h[4];
        uint64_t len;
        uint8_t buf[64];
        size_t n;
};

void kw_md5_init(struct kw_md5 *c);
void kw_md5_update(struct kw_md5 *c, const void *p, size_t n);
void kw_md5_final(struct kw_md5 *c, uint8_t out[KW_MD5_LEN]);
