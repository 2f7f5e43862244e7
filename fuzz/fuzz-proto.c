/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-proto.c — libFuzzer target for the stream decoder and field accessors.
 * The input is a byte stream as it might arrive on the virtio-serial port. It
 * is decoded twice, once in one piece and once in pseudo-random chunks (some
 * through feed(), some through space()/commit()), and both must find the same
 * frames and account for every byte. Every field of every frame is walked and
 * read with each accessor, and a valid frame must re-encode to itself.
 * Random bytes seldom carry a right CRC, so the input is also wrapped as the
 * payload of a correct frame, which must then decode to exactly that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static struct kw_decoder dec;
static struct kw_msg msg;

struct summary {
        unsigned frames;
        uint32_t crc;    /* over every frame's bytes, in order */
        uint64_t bytes;  /* frame bytes handed out */
        uint64_t skipped;
};

/* hdr: the frame's 16 header bytes. The payload is read from an exactly sized
 * heap copy, so that ASan sees any read past its end. */
static void check_frame(const uint8_t *hdr, const struct kw_frame *orig)
{
        struct kw_frame copy = *orig, *f = &copy;
        uint8_t *heap = malloc(orig->len ? orig->len : 1);
        size_t pos = 0, n, last = 0;
        const uint8_t *v;
        uint8_t key;
        uint64_t u;
        char s[64];
        int r, valid;

        if (!heap)
                abort();
        memcpy(heap, orig->payload, orig->len);
        copy.payload = heap;
        valid = kw_frame_validate(f);
        if (f->len > KW_MAX_PAYLOAD || (valid && valid != -EBADMSG))
                abort();
        (void)kw_type_name(f->type);

        kw_msg_init(&msg, (enum kw_type)f->type, f->id);
        while ((r = kw_frame_next_field(f, &pos, &key, &v, &n)) > 0) {
                if (pos <= last || pos > f->len || v < f->payload || v + n > f->payload + f->len)
                        abort();
                last = pos;
                kw_msg_put_bytes(&msg, (enum kw_field)key, v, n);
        }
        if (r < 0 && !valid)
                abort();
        /* A frame whose fields all parse is exactly what the encoder makes,
         * header and CRC included. */
        if (r == 0) {
                struct kw_frame again;

                if (kw_msg_finish(&msg) != (int)(KW_FRAME_HDR + f->len) ||
                    memcmp(msg.buf, hdr, KW_FRAME_HDR))
                        abort();
                kw_msg_view(&msg, &again);
                if (again.len != f->len || memcmp(again.payload, f->payload, f->len))
                        abort();
        }

        for (unsigned k = 0; k < 32; k++) {
                r = kw_frame_u64(f, (enum kw_field)k, &u);
                if (r && r != -ENOENT && r != -EBADMSG)
                        abort();
                r = kw_frame_bytes(f, (enum kw_field)k, &v, &n);
                if (!r && (v < f->payload || v + n > f->payload + f->len))
                        abort();
                r = kw_frame_str(f, (enum kw_field)k, s, 1 + k % sizeof(s));
                if (!r && strlen(s) > k % sizeof(s))
                        abort();
        }
        free(heap);
}

static void frame_done(struct summary *sum, const struct kw_frame *f)
{
        uint8_t hdr[KW_FRAME_HDR];
        struct kw_frame_hdr h;

        /* The header is behind the payload in the decoder's buffer. */
        memcpy(hdr, f->payload - KW_FRAME_HDR, sizeof(hdr));
        if (kw_frame_header(hdr, sizeof(hdr), &h) < 0 || h.type != f->type || h.id != f->id ||
            h.total != KW_FRAME_HDR + f->len)
                abort();
        sum->frames++;
        sum->bytes += KW_FRAME_HDR + f->len;
        sum->crc = kw_crc32(sum->crc, hdr, sizeof(hdr));
        sum->crc = kw_crc32(sum->crc, f->payload, f->len);
        check_frame(hdr, f);
}

static void drain(struct summary *sum)
{
        struct kw_frame f;

        while (kw_decoder_next(&dec, &f) == 1)
                frame_done(sum, &f);
}

/* Every byte is handed out in a frame, skipped, still buffered, or a sync
 * byte dropped without being counted. */
static void check_accounting(const uint8_t *data, size_t size, uint64_t frame_bytes, uint64_t skipped)
{
        uint64_t seen = frame_bytes + skipped + (dec.len - dec.consumed), ff = 0;

        for (size_t i = 0; i < size; i++)
                ff += data[i] == KW_SYNC_BYTE;
        if (seen > size || size - seen > ff)
                abort();
}

static uint64_t leftover(void)
{
        return dec.len - dec.consumed;
}

/* xorshift32: chunk sizes that are mostly small, sometimes large. */
static size_t next_chunk(uint32_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        switch (*x & 3) {
        case 0:
                return 1;
        case 1:
                return 1 + (*x >> 8) % 16;
        case 2:
                return 1 + (*x >> 8) % 512;
        default:
                return 1 + (*x >> 8) % (2 * KW_MAX_FRAME);
        }
}

/* The input as the payload of one correct frame, behind a little garbage
 * (3 bytes of it counted; the sync byte is not). */
static void wrapped(const uint8_t *data, size_t size)
{
        uint8_t hdr[KW_FRAME_HDR] = { 'K', 'W', KW_PROTO_VERSION };
        struct summary sum = { 0 };
        struct kw_frame f;
        uint32_t crc;

        if (size > KW_MAX_PAYLOAD)
                return;
        hdr[3] = size ? data[0] : 0;
        hdr[8] = size & 0xff;
        hdr[9] = (size >> 8) & 0xff;
        crc = kw_crc32(kw_crc32(0, hdr, 12), data, size);
        for (int i = 0; i < 4; i++)
                hdr[12 + i] = (crc >> (8 * i)) & 0xff;

        kw_decoder_init(&dec);
        kw_decoder_feed(&dec, "K\xffKW", 4);
        kw_decoder_feed(&dec, hdr, sizeof(hdr));
        if (kw_decoder_feed(&dec, data, size) != size)
                abort();
        if (kw_decoder_next(&dec, &f) != 1 || f.len != size || memcmp(f.payload, data, size))
                abort();
        frame_done(&sum, &f);
        if (kw_decoder_next(&dec, &f) != 0 || kw_decoder_take_skipped(&dec) != 3 || leftover())
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct summary whole = { 0 }, chunked = { 0 };
        uint32_t x = kw_crc32(0, data, size) | 1;
        size_t pos = 0;

        kw_decoder_init(&dec);
        while (pos < size) {
                size_t k = kw_decoder_feed(&dec, data + pos, size - pos);

                pos += k;
                drain(&whole);
                if (!k && leftover() >= KW_MAX_FRAME)
                        abort(); /* full and nothing given up: a deadlock */
        }
        whole.skipped = kw_decoder_take_skipped(&dec);
        check_accounting(data, size, whole.bytes, whole.skipped);

        kw_decoder_init(&dec);
        for (pos = 0; pos < size;) {
                size_t want = next_chunk(&x), room;

                if (want > size - pos)
                        want = size - pos;
                if (x & 0x100) {
                        uint8_t *p = kw_decoder_space(&dec, &room);

                        if (want > room)
                                want = room;
                        memcpy(p, data + pos, want);
                        kw_decoder_commit(&dec, want);
                } else {
                        want = kw_decoder_feed(&dec, data + pos, want);
                }
                pos += want;
                drain(&chunked);
        }
        chunked.skipped = kw_decoder_take_skipped(&dec);
        check_accounting(data, size, chunked.bytes, chunked.skipped);
        if (whole.frames != chunked.frames || whole.crc != chunked.crc || whole.skipped != chunked.skipped)
                abort();

        wrapped(data, size);
        return 0;
}
