/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blockbuf.h — the 64-byte block buffering and the length padding that
 * SHA-256 and MD5 share (sha256.c, md5.c): bytes are gathered into whole
 * blocks for the compression function, and the end is padded with 0x80,
 * zeros, and the length in bits (big-endian for SHA-256, little for MD5).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*kw_block_fn)(void *ctx, const uint8_t *block);

static inline void kw_blockbuf_feed(uint8_t buf[64], size_t *fill, const void *data, size_t n, kw_block_fn fn,
                                    void *ctx)
{
        const uint8_t *p = data;

        while (n > 0) {
                size_t take = 64 - *fill < n ? 64 - *fill : n;
                memcpy(buf + *fill, p, take);
                *fill += take;
                p += take;
                n -= take;
                if (*fill == 64) {
                        fn(ctx, buf);
                        *fill = 0;
                }
        }
}

/* The padding and the length of a message of len bytes. */
static inline void kw_blockbuf_pad(uint8_t buf[64], size_t *fill, uint64_t len, bool big_endian, kw_block_fn fn,
                                   void *ctx)
{
        uint64_t bits = len * 8;
        uint8_t pad = 0x80, zero = 0, lenb[8];

        kw_blockbuf_feed(buf, fill, &pad, 1, fn, ctx);
        while (*fill != 56)
                kw_blockbuf_feed(buf, fill, &zero, 1, fn, ctx);
        for (int i = 0; i < 8; i++)
                lenb[i] = (uint8_t)(bits >> (big_endian ? 56 - 8 * i : 8 * i));
        kw_blockbuf_feed(buf, fill, lenb, 8, fn, ctx);
}
