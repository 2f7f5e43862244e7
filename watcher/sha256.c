/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sha256.c — see sha256.h. The plain textbook rounds: hashing a module of a
 * few hundred KiB takes about a millisecond, which is all it is used for.
 */
#include "sha256.h"

#include "blockbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, unsigned n)
{
        return x >> n | x << (32 - n);
}

static void block(void *ctx, const uint8_t *p)
{
        struct kw_sha256 *c = ctx;
        uint32_t w[64], v[8];

        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
                       p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
                uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
                uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        memcpy(v, c->h, sizeof(v));
        for (int i = 0; i < 64; i++) {
                uint32_t s1 = ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25);
                uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
                uint32_t t1 = v[7] + s1 + ch + K[i] + w[i];
                uint32_t s0 = ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22);
                uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
                memmove(v + 1, v, 7 * sizeof(v[0]));
                v[4] += t1;
                v[0] = t1 + s0 + maj;
        }
        for (int i = 0; i < 8; i++)
                c->h[i] += v[i];
}

void kw_sha256_init(struct kw_sha256 *c)
{
        static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

        memcpy(c->h, h0, sizeof(h0));
        c->len = 0;
        c->n = 0;
}

void kw_sha256_update(struct kw_sha256 *c, const void *data, size_t n)
{
        c->len += n;
        kw_blockbuf_feed(c->buf, &c->n, data, n, block, c);
}

void kw_sha256_final(struct kw_sha256 *c, uint8_t out[KW_SHA256_LEN])
{
        kw_blockbuf_pad(c->buf, &c->n, c->len, true, block, c);
        for (int i = 0; i < 8; i++) {
                out[4 * i] = (uint8_t)(c->h[i] >> 24);
                out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
                out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
                out[4 * i + 3] = (uint8_t)c->h[i];
        }
}

int kw_sha256_file(const char *path, uint8_t out[KW_SHA256_LEN])
{
        struct kw_sha256 c;
        uint8_t buf[65536];
        ssize_t n;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        kw_sha256_init(&c);
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                kw_sha256_update(&c, buf, (size_t)n);
        int r = n < 0 ? -errno : 0;
        close(fd);
        if (r == 0)
                kw_sha256_final(&c, out);
        return r;
}

void kw_sha256_hex(const uint8_t *d, size_t n, char *buf)
{
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = hex[d[i] >> 4];
                buf[2 * i + 1] = hex[d[i] & 15];
        }
        buf[2 * n] = 0;
}
