/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-sha256.c — watcher/sha256.c against the FIPS 180-4 example vectors,
 * fed whole and in awkward pieces, and over a file.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "test.h"

static void hex_of(const void *p, size_t n, char out[65])
{
        struct kw_sha256 c;
        uint8_t d[KW_SHA256_LEN];

        kw_sha256_init(&c);
        kw_sha256_update(&c, p, n);
        kw_sha256_final(&c, d);
        kw_sha256_hex(d, sizeof(d), out);
}

static void test_vectors(void)
{
        char h[65];

        hex_of("", 0, h);
        CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
        hex_of("abc", 3, h);
        CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
        const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        hex_of(m, strlen(m), h);
        CHECK(strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
}

static void test_pieces(void)
{
        /* a million 'a's, in pieces of 1..97 bytes: block boundaries everywhere */
        static char a[1000000];
        struct kw_sha256 c;
        uint8_t d[KW_SHA256_LEN];
        char h[65];

        memset(a, 'a', sizeof(a));
        kw_sha256_init(&c);
        for (size_t off = 0, step = 1; off < sizeof(a); off += step, step = step % 97 + 1)
                kw_sha256_update(&c, a + off, off + step > sizeof(a) ? sizeof(a) - off : step);
        kw_sha256_final(&c, d);
        kw_sha256_hex(d, sizeof(d), h);
        CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
        kw_sha256_hex(d, 6, h);
        CHECK(strcmp(h, "cdc76e5c9914") == 0);
}

static void test_file(void)
{
        char path[] = "/tmp/kw-test-sha256-XXXXXX";
        int fd = mkstemp(path);
        uint8_t d[KW_SHA256_LEN];
        char h[65];

        CHECK(fd >= 0);
        CHECK(write(fd, "abc", 3) == 3);
        close(fd);
        CHECK_EQ(kw_sha256_file(path, d), 0);
        kw_sha256_hex(d, sizeof(d), h);
        CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
        unlink(path);
        CHECK(kw_sha256_file(path, d) < 0);
}

int main(void)
{
        RUN(test_vectors);
        RUN(test_pieces);
        RUN(test_file);
        TEST_DONE();
}
