/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-proto.c — the wire codec: field round trips, the encoder's size limit,
 * and the stream decoder against everything a serial line can do to it
 * (garbage, split reads, false magic, corrupted frames, a full buffer).
 */
#include <errno.h>
#include <string.h>

#include "proto.h"
#include "test.h"

/* Static: struct kw_msg and struct kw_decoder are 60 KiB each. */
static struct kw_msg msg, msg2;
static struct kw_decoder dec;

static int build_hello(struct kw_msg *m, uint32_t id, const char *version)
{
        kw_msg_init(m, KW_HELLO, id);
        kw_msg_put_u64(m, KW_F_NONCE, 0x0123456789abcdefULL);
        kw_msg_put_u64(m, KW_F_PROTO, KW_PROTO_VERSION);
        kw_msg_put_str(m, KW_F_VERSION, version);
        return kw_msg_finish(m);
}

/* Feeds n bytes, draining frames whenever the buffer fills; returns the
 * number of frames seen and the last one's type and id. */
static int feed_all(struct kw_decoder *d, const uint8_t *p, size_t n, struct kw_frame *last)
{
        struct kw_frame f = { 0 };
        int frames = 0;

        while (n) {
                size_t k = kw_decoder_feed(d, p, n);

                p += k;
                n -= k;
                while (kw_decoder_next(d, &f) == 1) {
                        frames++;
                        if (last)
                                *last = f;
                }
        }
        return frames;
}

static void test_crc(void)
{
        /* The standard check value of CRC-32/ISO-HDLC (zlib's crc32). */
        CHECK_EQ(kw_crc32(0, "123456789", 9), 0xCBF43926u);
        CHECK_EQ(kw_crc32(kw_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
        CHECK_EQ(kw_crc32(0, "", 0), 0);
}

static void test_header_layout(void)
{
        int n = build_hello(&msg, 0x11223344, "0.1");

        CHECK_EQ(n, KW_FRAME_HDR + 3 * 3 + 8 + 8 + 3);
        CHECK(msg.buf[0] == 'K' && msg.buf[1] == 'W');
        CHECK_EQ(msg.buf[2], KW_PROTO_VERSION);
        CHECK_EQ(msg.buf[3], KW_HELLO);
        CHECK_EQ(msg.buf[4], 0x44);
        CHECK_EQ(msg.buf[7], 0x11);
        CHECK_EQ(msg.buf[8], n - KW_FRAME_HDR);
        CHECK_EQ(msg.buf[9] | msg.buf[10] | msg.buf[11], 0);
        /* First field: key, u16 LE length 8, value LE. */
        CHECK_EQ(msg.buf[16], KW_F_NONCE);
        CHECK_EQ(msg.buf[17], 8);
        CHECK_EQ(msg.buf[18], 0);
        CHECK_EQ(msg.buf[19], 0xef);
        CHECK_EQ(msg.buf[26], 0x01);

        uint32_t crc = kw_crc32(kw_crc32(0, msg.buf, 12), msg.buf + 16, (size_t)n - 16);
        CHECK_EQ(msg.buf[12] | msg.buf[13] << 8 | msg.buf[14] << 16 | (uint32_t)msg.buf[15] << 24, crc);
}

static void test_round_trip(void)
{
        static const uint8_t blob[] = { 0, 1, 2, 0xff, 'K', 'W' };
        struct kw_frame f = { 0 };
        char s[64];
        uint64_t v;
        const uint8_t *b;
        size_t bn, pos = 0;
        uint8_t key;
        int n, fields = 0;

        kw_decoder_init(&dec);
        kw_msg_init(&msg, KW_RESULT, 77);
        kw_msg_put_u64(&msg, KW_F_ERRNO, 0);
        kw_msg_put_u64(&msg, KW_F_USEC, UINT64_MAX);
        kw_msg_put_str(&msg, KW_F_ERROR, "Unknown symbol in module");
        kw_msg_put_str(&msg, KW_F_SYMBOL, "foo");
        kw_msg_put_str(&msg, KW_F_SYMBOL, "bar");
        kw_msg_put_str(&msg, KW_F_DEPS, "mc,videodev");
        kw_msg_put_str(&msg, KW_F_TEXT, "");
        kw_msg_put_bytes(&msg, KW_F_PARAMS, blob, sizeof(blob));
        n = kw_msg_finish(&msg);
        CHECK(n > 0);

        CHECK_EQ(kw_decoder_feed(&dec, msg.buf, (size_t)n), n);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(f.type, KW_RESULT);
        CHECK_EQ(f.id, 77);
        CHECK_EQ(f.len, (size_t)n - KW_FRAME_HDR);
        CHECK_EQ(kw_frame_validate(&f), 0);

        CHECK_EQ(kw_frame_u64(&f, KW_F_ERRNO, &v), 0);
        CHECK_EQ(v, 0);
        CHECK_EQ(kw_frame_u64(&f, KW_F_USEC, &v), 0);
        CHECK(v == UINT64_MAX);
        CHECK_EQ(kw_frame_str(&f, KW_F_ERROR, s, sizeof(s)), 0);
        CHECK(!strcmp(s, "Unknown symbol in module"));
        CHECK_EQ(kw_frame_str(&f, KW_F_SYMBOL, s, sizeof(s)), 0); /* the first one */
        CHECK(!strcmp(s, "foo"));
        CHECK_EQ(kw_frame_str(&f, KW_F_DEPS, s, sizeof(s)), 0);
        CHECK(!strcmp(s, "mc,videodev"));
        CHECK_EQ(kw_frame_u64(&f, KW_F_DEPS, &v), -EBADMSG); /* a string, not a u64 */
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, sizeof(s)), 0);
        CHECK(!strcmp(s, ""));
        CHECK_EQ(kw_frame_bytes(&f, KW_F_PARAMS, &b, &bn), 0);
        CHECK_EQ(bn, sizeof(blob));
        CHECK(!memcmp(b, blob, sizeof(blob)));
        CHECK_EQ(kw_frame_u64(&f, KW_F_SEQ, &v), -ENOENT);
        CHECK_EQ(kw_frame_str(&f, KW_F_PATH, s, sizeof(s)), -ENOENT);
        /* A string field is not a u64, and embedded NULs are not a string. */
        CHECK_EQ(kw_frame_u64(&f, KW_F_ERROR, &v), -EBADMSG);
        CHECK_EQ(kw_frame_str(&f, KW_F_PARAMS, s, sizeof(s)), -EBADMSG);

        while (kw_frame_next_field(&f, &pos, &key, &b, &bn) == 1)
                fields++;
        CHECK_EQ(fields, 8);
        CHECK_EQ(pos, f.len);
        CHECK_EQ(kw_decoder_next(&dec, &f), 0);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
}

static void test_empty_payload(void)
{
        struct kw_frame f = { 0 };
        size_t pos = 0, bn;
        const uint8_t *b;
        uint8_t key;

        kw_decoder_init(&dec);
        kw_msg_init(&msg, KW_SYNC, 0);
        CHECK_EQ(kw_msg_finish(&msg), KW_FRAME_HDR);
        kw_decoder_feed(&dec, msg.buf, msg.len);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(f.type, KW_SYNC);
        CHECK_EQ(f.len, 0);
        CHECK_EQ(kw_frame_validate(&f), 0);
        CHECK_EQ(kw_frame_next_field(&f, &pos, &key, &b, &bn), 0);
}

static void test_overflow(void)
{
        static char big[KW_MAX_PAYLOAD + 1];
        struct kw_frame f = { 0 };
        char s[8];
        size_t bn;
        const uint8_t *b;

        memset(big, 'x', sizeof(big) - 1);

        /* The largest field that fits exactly. */
        kw_msg_init(&msg, KW_OUTPUT, 1);
        CHECK(kw_msg_fits(&msg, KW_MAX_PAYLOAD - 3));
        CHECK(!kw_msg_fits(&msg, KW_MAX_PAYLOAD - 2));
        kw_msg_put_bytes(&msg, KW_F_TEXT, big, KW_MAX_PAYLOAD - 3);
        CHECK(!kw_msg_fits(&msg, 0)); /* not even an empty field */
        CHECK_EQ(kw_msg_finish(&msg), KW_MAX_FRAME);

        /* One more byte does not, and poisons the message. */
        kw_msg_init(&msg, KW_OUTPUT, 1);
        kw_msg_put_bytes(&msg, KW_F_TEXT, big, KW_MAX_PAYLOAD - 2);
        CHECK(msg.overflow);
        CHECK(!kw_msg_fits(&msg, 0)); /* an overflowed message takes nothing more */
        kw_msg_put_u64(&msg, KW_F_STREAM, 1);
        CHECK_EQ(kw_msg_finish(&msg), -EMSGSIZE);

        kw_msg_init(&msg, KW_OUTPUT, 1);
        kw_msg_put_str(&msg, KW_F_TEXT, big);
        CHECK_EQ(kw_msg_finish(&msg), -EMSGSIZE);

        /* _trunc keeps what fits, and the frame still decodes. */
        kw_msg_init(&msg, KW_OUTPUT, 2);
        kw_msg_put_u64(&msg, KW_F_STREAM, 1);
        kw_msg_put_str_trunc(&msg, KW_F_TEXT, big);
        CHECK(!msg.overflow);
        CHECK_EQ(kw_msg_finish(&msg), KW_MAX_FRAME);
        kw_decoder_init(&dec);
        CHECK_EQ(kw_decoder_feed(&dec, msg.buf, msg.len), KW_MAX_FRAME);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(kw_frame_bytes(&f, KW_F_TEXT, &b, &bn), 0);
        CHECK_EQ(bn, KW_MAX_PAYLOAD - 11 - 3);
        /* kw_frame_str truncates to the buffer. */
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, sizeof(s)), 0);
        CHECK(!strcmp(s, "xxxxxxx"));

        /* _trunc with less than a field header left: overflow, not a write
         * past the end. */
        kw_msg_init(&msg, KW_OUTPUT, 3);
        kw_msg_put_bytes(&msg, KW_F_TEXT, big, KW_MAX_PAYLOAD - 4);
        kw_msg_put_str_trunc(&msg, KW_F_TEXT, "abc");
        CHECK(msg.overflow);
        CHECK_EQ(msg.len, KW_MAX_FRAME - 1);
        /* And with exactly a field header left: an empty field. */
        kw_msg_init(&msg, KW_OUTPUT, 3);
        kw_msg_put_bytes(&msg, KW_F_TEXT, big, KW_MAX_PAYLOAD - 6);
        kw_msg_put_str_trunc(&msg, KW_F_TEXT, "abc");
        CHECK_EQ(kw_msg_finish(&msg), KW_MAX_FRAME);
}

static void test_one_byte_at_a_time(void)
{
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 5, "one-byte"), got = 0;
        char s[32];

        kw_decoder_init(&dec);
        for (int round = 0; round < 3; round++)
                for (int i = 0; i < n; i++) {
                        size_t room;
                        uint8_t *p = kw_decoder_space(&dec, &room);

                        CHECK(room > 0);
                        *p = msg.buf[i];
                        kw_decoder_commit(&dec, 1);
                        if (kw_decoder_next(&dec, &f) == 1) {
                                CHECK_EQ(i, n - 1);
                                CHECK_EQ(kw_frame_str(&f, KW_F_VERSION, s, sizeof(s)), 0);
                                CHECK(!strcmp(s, "one-byte"));
                                got++;
                        }
                }
        CHECK_EQ(got, 3);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
}

static void test_garbage(void)
{
        static uint8_t stream[4096];
        static const char junk[] = "login: \r\n[    0.000000] Linux version K\xffKW";
        struct kw_frame last = { 0 };
        size_t len = 0;
        int n = build_hello(&msg, 9, "g");

        memcpy(stream + len, junk, sizeof(junk) - 1);
        len += sizeof(junk) - 1;
        memcpy(stream + len, msg.buf, (size_t)n);
        len += (size_t)n;
        memcpy(stream + len, junk, sizeof(junk) - 1);
        len += sizeof(junk) - 1;
        memcpy(stream + len, msg.buf, (size_t)n);
        len += (size_t)n;

        /* Whole, then in every chunk size: same frames, same skip count. */
        for (size_t chunk = 0; chunk <= 64; chunk++) {
                size_t pos = 0;
                int frames = 0;

                kw_decoder_init(&dec);
                while (pos < len) {
                        size_t k = chunk ? chunk : len;

                        if (k > len - pos)
                                k = len - pos;
                        frames += feed_all(&dec, stream + pos, k, &last);
                        pos += k;
                }
                CHECK_EQ(frames, 2);
                CHECK_EQ(last.id, 9);
                /* The junk's one sync byte is not counted. */
                CHECK_EQ(kw_decoder_take_skipped(&dec), 2 * (sizeof(junk) - 2));
                CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
        }
}

/* A frame whose CRC is wrong costs one byte; the good frame right after it
 * (and one starting inside it) still comes through. */
static void test_bad_crc(void)
{
        static uint8_t stream[256];
        struct kw_frame f = { 0 };
        int n1 = build_hello(&msg, 1, "bad"), n2 = build_hello(&msg2, 2, "good");

        memcpy(stream, msg.buf, (size_t)n1);
        stream[n1 - 1] ^= 1;
        memcpy(stream + n1, msg2.buf, (size_t)n2);

        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, stream, (size_t)(n1 + n2));
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(f.id, 2);
        CHECK_EQ(kw_decoder_next(&dec, &f), 0);
        CHECK_EQ(kw_decoder_take_skipped(&dec), n1);

        /* A damaged header (version byte) is skipped as well. */
        memcpy(stream, msg.buf, (size_t)n1);
        stream[2] = 7;
        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, stream, (size_t)(n1 + n2));
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(f.id, 2);
        CHECK_EQ(kw_decoder_take_skipped(&dec), n1);
}

/* "KW\1" plus a plausible length inside garbage claims the bytes after it;
 * the real frame that follows must still be found once the false one fails
 * its CRC, not be swallowed with it. */
static void test_false_magic(void)
{
        static uint8_t stream[512];
        static const uint8_t fake[16] = { 'K', 'W', KW_PROTO_VERSION, KW_HELLO, 0, 0, 0, 0,
                                          40, 0, 0, 0, 1, 2, 3, 4 };
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 3, "real"), frames;
        size_t len = 0;

        memcpy(stream, fake, sizeof(fake));
        len += sizeof(fake);
        memcpy(stream + len, msg.buf, (size_t)n);
        len += (size_t)n;

        /* The fake claims 40 payload bytes, fewer than the real frame has. */
        kw_decoder_init(&dec);
        frames = feed_all(&dec, stream, len, &f);
        CHECK_EQ(frames, 1);
        CHECK_EQ(f.id, 3);
        CHECK_EQ(kw_decoder_take_skipped(&dec), sizeof(fake));

        /* Byte by byte the same. */
        kw_decoder_init(&dec);
        frames = 0;
        for (size_t i = 0; i < len; i++)
                frames += feed_all(&dec, stream + i, 1, &f);
        CHECK_EQ(frames, 1);
        CHECK_EQ(f.id, 3);

        /* A fake claiming more than the rest of the stream holds the real
         * frame back until enough bytes arrive to prove it false; then the
         * real frame is still there. */
        stream[8] = 200;
        kw_decoder_init(&dec);
        CHECK_EQ(feed_all(&dec, stream, len, &f), 0);
        memset(stream, 0, 256);
        CHECK_EQ(feed_all(&dec, stream, 256, &f), 1);
        CHECK_EQ(f.id, 3);
}

static void test_oversize_length(void)
{
        static uint8_t stream[256];
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 4, "x");

        /* A header claiming more than KW_MAX_PAYLOAD is garbage at once: no
         * waiting for 4 GiB. */
        memcpy(stream, msg.buf, (size_t)n);
        stream[8] = 0x01;
        stream[9] = 0xf0;
        stream[10] = 0;
        stream[11] = 0;
        memcpy(stream + n, msg.buf, (size_t)n);
        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, stream, (size_t)n);
        CHECK_EQ(kw_decoder_next(&dec, &f), 0);
        CHECK_EQ(kw_decoder_take_skipped(&dec), n);
        kw_decoder_feed(&dec, stream + n, (size_t)n);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(f.id, 4);

        /* The encoder never writes such a length: its largest is the cap. */
        stream[9] = 0xff;
        stream[11] = 0xff;
        kw_decoder_init(&dec);
        CHECK_EQ(feed_all(&dec, stream, (size_t)(2 * n), &f), 1);
}

static void test_truncated(void)
{
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 6, "trunc");

        /* Every prefix: nothing yet, and nothing thrown away. */
        for (int i = 0; i < n; i++) {
                kw_decoder_init(&dec);
                kw_decoder_feed(&dec, msg.buf, (size_t)i);
                CHECK_EQ(kw_decoder_next(&dec, &f), 0);
                CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
                kw_decoder_feed(&dec, msg.buf + i, (size_t)(n - i));
                CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        }

        /* reset drops a half frame (a reconnect), without counting it. */
        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, msg.buf, 20);
        kw_decoder_reset(&dec);
        kw_decoder_feed(&dec, msg.buf, (size_t)n);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
}

static size_t count_ff(const uint8_t *p, size_t n)
{
        size_t c = 0;

        while (n--)
                c += *p++ == KW_SYNC_BYTE;
        return c;
}

static void test_sync_bytes(void)
{
        static uint8_t ff[KW_MAX_FRAME], xs[KW_MAX_PAYLOAD];
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 8, "s");

        memset(ff, KW_SYNC_BYTE, sizeof(ff));
        memset(xs, 'x', sizeof(xs));
        /* Dropped, but not garbage: nothing to report. */
        kw_decoder_init(&dec);
        CHECK_EQ(feed_all(&dec, ff, 100, NULL), 0);
        CHECK_EQ(feed_all(&dec, msg.buf, (size_t)n, &f), 1);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
        /* Sync bytes between frames and inside garbage alike. */
        CHECK_EQ(feed_all(&dec, (const uint8_t *)"ab\xff\xff" "c", 5, NULL), 0);
        CHECK_EQ(feed_all(&dec, msg.buf, (size_t)n, &f), 1);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 3);

        /* A half frame followed by a full frame's worth of sync bytes is
         * flushed, whatever length its header claimed. */
        kw_msg_init(&msg2, KW_OUTPUT, 1);
        kw_msg_put_bytes(&msg2, KW_F_TEXT, xs, KW_MAX_PAYLOAD - 3);
        CHECK_EQ(kw_msg_finish(&msg2), KW_MAX_FRAME);
        kw_decoder_init(&dec);
        CHECK_EQ(feed_all(&dec, msg2.buf, 1000, NULL), 0);
        CHECK_EQ(feed_all(&dec, ff, sizeof(ff), NULL), 0);
        CHECK_EQ(feed_all(&dec, msg.buf, (size_t)n, &f), 1);
        CHECK_EQ(f.id, 8);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 1000 - count_ff(msg2.buf, 1000));
}

/* A buffer full of bytes that never form a frame must not wedge the decoder. */
static void test_full_of_garbage(void)
{
        static uint8_t junk[3 * KW_MAX_FRAME];
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 10, "after");
        size_t room;

        /* No magic at all, then a stream of 'K's (each one a possible start),
         * then "KW\1" starts with plausible lengths. */
        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (uint8_t)(i < KW_MAX_FRAME ? 'A' + i % 7 : 'K');
        for (size_t i = 2 * KW_MAX_FRAME; i + 16 <= sizeof(junk); i += 16)
                memcpy(junk + i, "KW\1\6\0\0\0\0\x40\0\0\0\0\0\0\0", 16);

        kw_decoder_init(&dec);
        CHECK_EQ(kw_decoder_feed(&dec, junk, KW_MAX_FRAME), KW_MAX_FRAME);
        kw_decoder_space(&dec, &room);
        CHECK_EQ(room, 0);
        CHECK_EQ(kw_decoder_next(&dec, &f), 0);
        kw_decoder_space(&dec, &room);
        CHECK(room > 0);

        CHECK_EQ(feed_all(&dec, junk + KW_MAX_FRAME, sizeof(junk) - KW_MAX_FRAME, NULL), 0);
        /* The last false starts claim 64 bytes beyond the garbage; until
         * that many arrive they cannot be told from a real frame, which is
         * what sync bytes before a SYNC are for. */
        memset(junk, KW_SYNC_BYTE, 64);
        CHECK_EQ(feed_all(&dec, junk, 64, NULL), 0);
        CHECK_EQ(feed_all(&dec, msg.buf, (size_t)n, &f), 1);
        CHECK_EQ(f.id, 10);
        CHECK_EQ(kw_decoder_take_skipped(&dec), sizeof(junk));
}

/* A frame returned by next() survives the next frame's decoding only until
 * the following feed; check that it is intact up to then. */
static void test_frame_lifetime(void)
{
        struct kw_frame a, b;
        char s[16];
        int n1 = build_hello(&msg, 1, "first"), n2 = build_hello(&msg2, 2, "second");

        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, msg.buf, (size_t)n1);
        kw_decoder_feed(&dec, msg2.buf, (size_t)n2);
        CHECK_EQ(kw_decoder_next(&dec, &a), 1);
        CHECK_EQ(kw_frame_str(&a, KW_F_VERSION, s, sizeof(s)), 0);
        CHECK(!strcmp(s, "first"));
        CHECK_EQ(kw_decoder_next(&dec, &b), 1);
        CHECK_EQ(kw_frame_str(&b, KW_F_VERSION, s, sizeof(s)), 0);
        CHECK(!strcmp(s, "second"));
        CHECK_EQ(kw_decoder_next(&dec, &b), 0);
}

static void test_bad_fields(void)
{
        /* Hand-built payloads: the accessors must not read past len. */
        static const uint8_t short_hdr[] = { KW_F_TEXT, 1 };
        static const uint8_t long_len[] = { KW_F_TEXT, 5, 0, 'a', 'b' };
        static const uint8_t u64_short[] = { KW_F_SEQ, 4, 0, 1, 2, 3, 4 };
        static const uint8_t good_then_bad[] = { KW_F_SEQ, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, KW_F_TEXT, 9 };
        static const uint8_t nul_in_str[] = { KW_F_TEXT, 3, 0, 'a', 0, 'b' };
        static const uint8_t unknown_key[] = { 200, 2, 0, 'h', 'i' };
        struct kw_frame f = { .type = KW_KMSG };
        uint64_t v;
        char s[8];
        size_t pos = 0, bn;
        const uint8_t *b;
        uint8_t key;

        f.payload = short_hdr;
        f.len = sizeof(short_hdr);
        CHECK_EQ(kw_frame_validate(&f), -EBADMSG);
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, sizeof(s)), -EBADMSG);
        CHECK_EQ(kw_frame_next_field(&f, &pos, &key, &b, &bn), -EBADMSG);

        f.payload = long_len;
        f.len = sizeof(long_len);
        CHECK_EQ(kw_frame_validate(&f), -EBADMSG);
        CHECK_EQ(kw_frame_bytes(&f, KW_F_TEXT, &b, &bn), -EBADMSG);

        f.payload = u64_short;
        f.len = sizeof(u64_short);
        CHECK_EQ(kw_frame_validate(&f), -EBADMSG);
        CHECK_EQ(kw_frame_u64(&f, KW_F_SEQ, &v), -EBADMSG);

        /* A good field before a broken one is not an excuse. */
        f.payload = good_then_bad;
        f.len = sizeof(good_then_bad);
        CHECK_EQ(kw_frame_u64(&f, KW_F_SEQ, &v), -EBADMSG);

        f.payload = nul_in_str;
        f.len = sizeof(nul_in_str);
        CHECK_EQ(kw_frame_validate(&f), 0);
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, sizeof(s)), -EBADMSG);
        CHECK_EQ(kw_frame_bytes(&f, KW_F_TEXT, &b, &bn), 0);
        CHECK_EQ(bn, 3);

        /* Unknown keys are skipped over, for a peer that knows more. */
        f.payload = unknown_key;
        f.len = sizeof(unknown_key);
        CHECK_EQ(kw_frame_validate(&f), 0);
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, sizeof(s)), -ENOENT);

        pos = 100;
        CHECK_EQ(kw_frame_next_field(&f, &pos, &key, &b, &bn), -EBADMSG);

        f.payload = NULL;
        f.len = 0;
        CHECK_EQ(kw_frame_validate(&f), 0);
        CHECK_EQ(kw_frame_u64(&f, KW_F_SEQ, &v), -ENOENT);
}

/* A RELOAD's RESULT: the unload's outcome in fields of its own, u64 like ERRNO and USEC. */
static void test_reload_result_fields(void)
{
        static const uint8_t short_unload_errno[] = { KW_F_UNLOAD_ERRNO, 4, 0, 16, 0, 0, 0 };
        static const uint8_t short_unload_usec[] = { KW_F_UNLOAD_USEC, 1, 0, 7 };
        static struct kw_msg m;
        struct kw_frame f = { .type = KW_RESULT };
        uint64_t v = 0;

        f.payload = short_unload_errno;
        f.len = sizeof(short_unload_errno);
        CHECK_EQ(kw_frame_validate(&f), -EBADMSG);
        f.payload = short_unload_usec;
        f.len = sizeof(short_unload_usec);
        CHECK_EQ(kw_frame_validate(&f), -EBADMSG);

        kw_msg_init(&m, KW_RESULT, 9);
        kw_msg_put_u64(&m, KW_F_ERRNO, 0);
        kw_msg_put_u64(&m, KW_F_UNLOAD_ERRNO, 2);
        kw_msg_put_u64(&m, KW_F_UNLOAD_USEC, 345);
        CHECK(kw_msg_finish(&m) > 0);
        kw_msg_view(&m, &f);
        CHECK_EQ(kw_frame_validate(&f), 0);
        CHECK_EQ(kw_frame_u64(&f, KW_F_UNLOAD_ERRNO, &v), 0);
        CHECK_EQ(v, 2);
        CHECK_EQ(kw_frame_u64(&f, KW_F_UNLOAD_USEC, &v), 0);
        CHECK_EQ(v, 345);
        CHECK_EQ(kw_frame_u64(&f, KW_F_USEC, &v), -ENOENT);
}

static void test_str_truncation(void)
{
        struct kw_frame f = { 0 };
        char s[5];

        kw_msg_init(&msg, KW_KMSG, 0);
        kw_msg_put_str(&msg, KW_F_TEXT, "hello world");
        kw_msg_finish(&msg);
        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, msg.buf, msg.len);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        memset(s, 'z', sizeof(s));
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, sizeof(s)), 0);
        CHECK(!strcmp(s, "hell"));
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, 1), 0);
        CHECK(!strcmp(s, ""));
        CHECK_EQ(kw_frame_str(&f, KW_F_TEXT, s, 0), -EINVAL);
}

/* What a frame being built says about itself, without its byte offsets. */
static void test_msg_accessors(void)
{
        struct kw_frame view;
        uint64_t v = 0;
        char str[16];

        kw_msg_init(&msg, KW_UNLOAD, 0xdeadbeef);
        CHECK_EQ(kw_msg_type(&msg), KW_UNLOAD);
        CHECK_EQ(kw_msg_id(&msg), 0xdeadbeef);
        kw_msg_view(&msg, &view);
        CHECK_EQ(view.len, 0);
        CHECK_EQ(kw_frame_u64(&view, KW_F_FLAGS, &v), -ENOENT);

        kw_msg_put_str(&msg, KW_F_MODULE, "m");
        kw_msg_put_u64(&msg, KW_F_FLAGS, KW_UNLOAD_FORCE);
        kw_msg_view(&msg, &view); /* before finish: the fields are readable already */
        CHECK_EQ(view.type, KW_UNLOAD);
        CHECK_EQ(view.id, 0xdeadbeef);
        CHECK_EQ(kw_frame_u64(&view, KW_F_FLAGS, &v), 0);
        CHECK_EQ(v, KW_UNLOAD_FORCE);
        CHECK_EQ(kw_frame_str(&view, KW_F_MODULE, str, sizeof(str)), 0);
        CHECK(strcmp(str, "m") == 0);
        CHECK(kw_msg_finish(&msg) > 0);
        CHECK_EQ(kw_msg_id(&msg), 0xdeadbeef); /* finish leaves them be */
        CHECK_EQ(kw_msg_type(&msg), KW_UNLOAD);
}

static void test_frame_header(void)
{
        struct kw_frame_hdr h = { 0 };
        uint8_t bad[KW_FRAME_HDR];
        int n = build_hello(&msg, 0x01020304, "hdr");

        CHECK_EQ(kw_frame_header(msg.buf, (size_t)n, &h), 0);
        CHECK_EQ(h.type, KW_HELLO);
        CHECK_EQ(h.id, 0x01020304);
        CHECK_EQ(h.len, n - KW_FRAME_HDR);
        CHECK_EQ(h.total, n);
        /* Exactly a header is enough; less is "not yet", or wrong already. */
        CHECK_EQ(kw_frame_header(msg.buf, KW_FRAME_HDR, &h), 0);
        CHECK_EQ(h.total, n);
        CHECK_EQ(kw_frame_header(msg.buf, KW_FRAME_HDR - 1, &h), -EAGAIN);
        CHECK_EQ(kw_frame_header(msg.buf, 0, &h), -EAGAIN);
        CHECK_EQ(kw_frame_header((const uint8_t *)"KX", 2, &h), -EBADMSG);
        CHECK_EQ(kw_frame_header((const uint8_t *)"x", 1, &h), -EBADMSG);

        memcpy(bad, msg.buf, sizeof(bad));
        bad[2] = KW_PROTO_VERSION + 1;
        CHECK_EQ(kw_frame_header(bad, sizeof(bad), &h), -EBADMSG);
        memcpy(bad, msg.buf, sizeof(bad));
        bad[10] = 0xff; /* payload length far over KW_MAX_PAYLOAD */
        CHECK_EQ(kw_frame_header(bad, sizeof(bad), &h), -EBADMSG);
        CHECK_EQ(kw_frame_header(bad, 12, &h), -EBADMSG); /* told as soon as the length shows */

        /* The largest frame there is. */
        static uint8_t xs[KW_MAX_PAYLOAD - 3];
        kw_msg_init(&msg2, KW_OUTPUT, 1);
        kw_msg_put_bytes(&msg2, KW_F_TEXT, xs, sizeof(xs));
        CHECK_EQ(kw_msg_finish(&msg2), KW_MAX_FRAME);
        CHECK_EQ(kw_frame_header(msg2.buf, KW_FRAME_HDR, &h), 0);
        CHECK_EQ(h.type, KW_OUTPUT);
        CHECK_EQ(h.total, KW_MAX_FRAME);
}

/* The agent counts the sync bytes before a frame on their own. */
static void test_skip_sync(void)
{
        struct kw_frame f = { 0 };
        int n = build_hello(&msg, 9, "s");

        kw_decoder_init(&dec);
        CHECK_EQ(kw_decoder_skip_sync(&dec), 0);
        CHECK_EQ(kw_decoder_feed(&dec, "\xff\xff\xff", 3), 3);
        CHECK_EQ(kw_decoder_feed(&dec, msg.buf, (size_t)n), n);
        CHECK_EQ(kw_decoder_skip_sync(&dec), 3);
        CHECK_EQ(kw_decoder_skip_sync(&dec), 0);
        CHECK_EQ(kw_decoder_next(&dec, &f), 1);
        CHECK_EQ(f.id, 9);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 0);
        /* Only where a frame would start: garbage first stops it. */
        CHECK_EQ(kw_decoder_feed(&dec, "a\xff", 2), 2);
        CHECK_EQ(kw_decoder_skip_sync(&dec), 0);
        CHECK_EQ(kw_decoder_next(&dec, &f), 0);
        CHECK_EQ(kw_decoder_take_skipped(&dec), 1);
}

/* kmod-watch shell's frames: raw bytes both ways, sizes and ACKs as u64. */
static void test_pty_fields(void)
{
        static const uint8_t raw[] = { 'l', 's', 0, 0x1b, '[', 'A', 0x03, 0xff };
        static const uint8_t rows_short[] = { KW_F_ROWS, 4, 0, 24, 0, 0, 0 };
        static struct kw_msg m;
        struct kw_frame f = { .type = KW_PTY_RESIZE };
        const uint8_t *b;
        uint64_t v = 0;
        size_t n = 0;

        kw_msg_init(&m, KW_PTY_DATA, 77);
        kw_msg_put_bytes(&m, KW_F_TEXT, raw, sizeof(raw));
        kw_msg_put_u64(&m, KW_F_ACK, KW_PTY_WINDOW);
        CHECK(kw_msg_finish(&m) > 0);
        kw_msg_view(&m, &f);
        CHECK_EQ(f.type, KW_PTY_DATA);
        CHECK_EQ(f.id, 77);
        CHECK_EQ(kw_frame_validate(&f), 0);
        CHECK_EQ(kw_frame_bytes(&f, KW_F_TEXT, &b, &n), 0);
        CHECK(n == sizeof(raw) && !memcmp(b, raw, n));
        CHECK_EQ(kw_frame_u64(&f, KW_F_ACK, &v), 0);
        CHECK_EQ(v, KW_PTY_WINDOW);

        f = (struct kw_frame){ .type = KW_PTY_RESIZE, .payload = rows_short, .len = sizeof(rows_short) };
        CHECK_EQ(kw_frame_validate(&f), -EBADMSG); /* ROWS is a u64: 8 bytes or malformed */

        CHECK(!strcmp(kw_type_name(KW_PTY_OPEN), "PTY_OPEN"));
        CHECK(!strcmp(kw_type_name(KW_PTY_DATA), "PTY_DATA"));
        CHECK(!strcmp(kw_type_name(KW_PTY_RESIZE), "PTY_RESIZE"));
        CHECK(!strcmp(kw_type_name(KW_PTY_CLOSE), "PTY_CLOSE"));
        CHECK_EQ(KW_PTY_OPEN, 18);
        CHECK_EQ(KW_PTY_CLOSE, 21);
        CHECK_EQ(KW_F_ROWS, 34);
        CHECK_EQ(KW_F_ACK, 37);
}

static void test_type_names(void)
{
        CHECK(!strcmp(kw_type_name(KW_HELLO), "HELLO"));
        CHECK(!strcmp(kw_type_name(KW_KMSG_GAP), "KMSG_GAP"));
        CHECK(!strcmp(kw_type_name(KW_PROTO_ERROR), "PROTO_ERROR"));
        CHECK(!strcmp(kw_type_name(KW_MODULES), "MODULES"));
        CHECK(!strcmp(kw_type_name(KW_RELOAD), "RELOAD"));
        CHECK(!strcmp(kw_type_name(KW_UNLOADED), "UNLOADED"));
        CHECK(!strcmp(kw_type_name(0), "?"));
        CHECK(!strcmp(kw_type_name(KW_TYPE_MAX), "?"));
        CHECK(!strcmp(kw_type_name(255), "?"));
        for (int t = 1; t < KW_TYPE_MAX; t++)
                CHECK(strcmp(kw_type_name((uint8_t)t), "?"));
}

int main(void)
{
        RUN(test_crc);
        RUN(test_reload_result_fields);
        RUN(test_header_layout);
        RUN(test_round_trip);
        RUN(test_empty_payload);
        RUN(test_overflow);
        RUN(test_one_byte_at_a_time);
        RUN(test_garbage);
        RUN(test_bad_crc);
        RUN(test_false_magic);
        RUN(test_oversize_length);
        RUN(test_truncated);
        RUN(test_sync_bytes);
        RUN(test_full_of_garbage);
        RUN(test_frame_lifetime);
        RUN(test_bad_fields);
        RUN(test_str_truncation);
        RUN(test_msg_accessors);
        RUN(test_frame_header);
        RUN(test_skip_sync);
        RUN(test_type_names);
        RUN(test_pty_fields);
        TEST_DONE();
}
