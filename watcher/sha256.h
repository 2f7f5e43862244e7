/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sha256.h — SHA-256 (FIPS 180-4), small and dependency-free: the SSH
 * transport names the remote agent directory after the agent's hash and
 * uploads a .ko again only when its hash changed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KW_SHA256_LEN 32

struct kw_sha256 {
        uint32_t h[8];
        uint64_t len;
        uint8_t buf[64];
        size_t n;
};

void kw_sha256_init(struct kw_sha256 *c);
void kw_sha256_update(struct kw_sha256 *c, const void *p, size_t n);
void kw_sha256_final(struct kw_sha256 *c, uint8_t out[KW_SHA256_LEN]);
/* The hash of a whole file; -errno. */
int kw_sha256_file(const char *path, uint8_t out[KW_SHA256_LEN]);
/* Lower-case hex of the first n bytes of a digest into buf (2n+1 bytes). */
void kw_sha256_hex(const uint8_t *d, size_t n, char *buf);
