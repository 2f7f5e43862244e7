/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-md5.c — watcher/md5.c against RFC 1321's test suite, fed whole and in
 * awkward pieces.
 */
#include <string.h>

#include "md5.h"
#include "sha256.h"
#include "test.h"

static int is(const char *msg, const char *want)
{
        struct kw_md5 c;
        uint8_t d[KW_MD5_LEN];
        char h[2 * KW_MD5_LEN + 1];

        kw_md5_init(&c);
        kw_md5_update(&c, msg, strlen(msg));
        kw_md5_final(&c, d);
        kw_sha256_hex(d, sizeof(d), h);
        if (strcmp(h, want) != 0)
                printf("# md5('%s') = %s, want %s\n", msg, h, want);
        return strcmp(h, want) == 0;
}

static void test_rfc1321(void)
{
        CHECK(is("", "d41d8cd98f00b204e9800998ecf8427e"));
        CHECK(is("a", "0cc175b9c0f1b6a831c399e269772661"));
        CHECK(is("abc", "900150983cd24fb0d6963f7d28e17f72"));
        CHECK(is("message digest", "f96b697d7cb7938d525a2f31aaf161d0"));
        CHECK(is("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"));
        CHECK(is("12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                 "57edf4a22be3c955ac49da2e2107b67a"));
}

static void test_pieces(void)
{
        static char a[1000000];
        struct kw_md5 c;
        uint8_t d[KW_MD5_LEN];
        char h[2 * KW_MD5_LEN + 1];

        memset(a, 'a', sizeof(a));
        kw_md5_init(&c);
        for (size_t off = 0, step = 1; off < sizeof(a); off += step, step = step % 97 + 1)
                kw_md5_update(&c, a + off, off + step > sizeof(a) ? sizeof(a) - off : step);
        kw_md5_final(&c, d);
        kw_sha256_hex(d, sizeof(d), h);
        CHECK(strcmp(h, "7707d6ae4e027c70eea2a935c2296f21") == 0);
}

int main(void)
{
        RUN(test_rfc1321);
        RUN(test_pieces);
        TEST_DONE();
}
