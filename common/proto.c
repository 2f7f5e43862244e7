/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proto.c — the one codec for the kmod-watch wire protocol (see proto.h and
 * doc/protocol.md): building frames, finding them again in a byte stream that
 * may hold garbage or half a frame, and reading their fields without trusting
 * a single length. Compiled into both the host and the static guest agent, so
 * it allocates nothing and keeps no global state.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

/* zlib's CRC-32 (reflected 0xEDB88320): any zlib or Python can check a frame. */
static const uint32_t crc_table[256] = {
        0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f,
        0xe963a535, 0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
        0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2,
        0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
        0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9,
        0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
        0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
        0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
        0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423,
        0xcfba9599, 0xb8bda50f, 0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
        0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d, 0x76dc4190, 0x01db7106,
        0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
        0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d,
        0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
        0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950,
        0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
        0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7,
        0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
        0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9, 0x5005713c, 0x270241aa,
        0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
        0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
        0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
        0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84,
        0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
        0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb,
        0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
        0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8, 0xa1d1937e,
        0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
        0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55,
        0x316e8eef, 0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
        0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28,
        0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
        0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f,
        0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
        0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
        0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
        0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69,
        0x616bffd3, 0x166ccf45, 0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
        0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db, 0xaed16a4a, 0xd9d65adc,
        0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
        0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693,
        0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
        0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

uint32_t kw_crc32(uint32_t crc, const void *p, size_t n)
{
        const uint8_t *b = p;

        crc = ~crc;
        while (n--)
                crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
        return ~crc;
}

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = v & 0xff;
        p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (v >> (8 * i)) & 0xff;
}

static uint16_t get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
        return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* The CRC of a frame whose header (length included) sits at hdr. */
static uint32_t frame_crc(const uint8_t *hdr, const uint8_t *payload, size_t n)
{
        return kw_crc32(kw_crc32(0, hdr, 12), payload, n);
}

/* ---- building ---- */

void kw_msg_init(struct kw_msg *m, enum kw_type type, uint32_t id)
{
        memset(m->buf, 0, KW_FRAME_HDR);
        m->buf[0] = 'K';
        m->buf[1] = 'W';
        m->buf[2] = KW_PROTO_VERSION;
        m->buf[3] = (uint8_t)type;
        put_le32(m->buf + 4, id);
        m->len = KW_FRAME_HDR;
        m->overflow = false;
}

bool kw_msg_fits(const struct kw_msg *m, size_t n)
{
        return !m->overflow && n <= UINT16_MAX && n + 3 <= KW_MAX_FRAME - m->len;
}

/* Reserves a field of n value bytes; NULL (and the overflow flag) if it does
 * not fit. */
static uint8_t *put_field(struct kw_msg *m, enum kw_field key, size_t n)
{
        uint8_t *p;

        if (!kw_msg_fits(m, n)) {
                m->overflow = true;
                return NULL;
        }
        p = m->buf + m->len;
        p[0] = (uint8_t)key;
        put_le16(p + 1, (uint16_t)n);
        m->len += 3 + n;
        return p + 3;
}

void kw_msg_put_u64(struct kw_msg *m, enum kw_field key, uint64_t v)
{
        uint8_t *p = put_field(m, key, 8);

        if (!p)
                return;
        put_le32(p, (uint32_t)v);
        put_le32(p + 4, (uint32_t)(v >> 32));
}

void kw_msg_put_bytes(struct kw_msg *m, enum kw_field key, const void *p, size_t n)
{
        uint8_t *v = put_field(m, key, n);

        if (v && n)
                memcpy(v, p, n);
}

void kw_msg_put_str(struct kw_msg *m, enum kw_field key, const char *s)
{
        kw_msg_put_bytes(m, key, s, s ? strlen(s) : 0);
}

void kw_msg_put_str_trunc(struct kw_msg *m, enum kw_field key, const char *s)
{
        size_t n = s ? strlen(s) : 0, room;

        if (m->overflow)
                return;
        room = KW_MAX_FRAME - m->len;
        if (room < 3) {
                m->overflow = true;
                return;
        }
        if (n > room - 3)
                n = room - 3;
        kw_msg_put_bytes(m, key, s, n);
}

int kw_msg_finish(struct kw_msg *m)
{
        size_t n = m->len - KW_FRAME_HDR;

        if (m->overflow)
                return -EMSGSIZE;
        put_le32(m->buf + 8, (uint32_t)n);
        put_le32(m->buf + 12, frame_crc(m->buf, m->buf + KW_FRAME_HDR, n));
        return (int)m->len;
}

enum kw_type kw_msg_type(const struct kw_msg *m)
{
        return (enum kw_type)m->buf[3];
}

uint32_t kw_msg_id(const struct kw_msg *m)
{
        return get_le32(m->buf + 4);
}

void kw_msg_view(const struct kw_msg *m, struct kw_frame *ret)
{
        *ret = (struct kw_frame){
                .type = m->buf[3],
                .id = get_le32(m->buf + 4),
                .payload = m->buf + KW_FRAME_HDR,
                .len = m->len - KW_FRAME_HDR,
        };
}

/* ---- decoding a stream ---- */

void kw_decoder_init(struct kw_decoder *d)
{
        d->len = 0;
        d->consumed = 0;
        d->skipped = 0;
}

void kw_decoder_reset(struct kw_decoder *d)
{
        /* What was buffered is lost, not skipped: the caller knows why. */
        d->len = 0;
        d->consumed = 0;
}

uint64_t kw_decoder_take_skipped(struct kw_decoder *d)
{
        uint64_t n = d->skipped;

        d->skipped = 0;
        return n;
}

/* next() only advances d->consumed, so the frame it returned stays put; the
 * dead bytes are squeezed out here, when room is asked for. */
static void compact(struct kw_decoder *d)
{
        if (!d->consumed)
                return;
        memmove(d->buf, d->buf + d->consumed, d->len - d->consumed);
        d->len -= d->consumed;
        d->consumed = 0;
}

uint8_t *kw_decoder_space(struct kw_decoder *d, size_t *ret_room)
{
        compact(d);
        *ret_room = sizeof(d->buf) - d->len;
        return d->buf + d->len;
}

void kw_decoder_commit(struct kw_decoder *d, size_t n)
{
        size_t room = sizeof(d->buf) - d->len;

        d->len += n < room ? n : room;
}

size_t kw_decoder_feed(struct kw_decoder *d, const void *p, size_t n)
{
        size_t room;
        uint8_t *dst = kw_decoder_space(d, &room);

        if (n > room)
                n = room;
        if (n)
                memcpy(dst, p, n);
        d->len += n;
        return n;
}

/* Sync bytes are padding a sender puts in on purpose, not damage: they are
 * dropped like garbage but not counted, so a resync is not reported back as
 * a protocol error. */
static void skip(struct kw_decoder *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                d->skipped += d->buf[d->consumed + i] != KW_SYNC_BYTE;
        d->consumed += n;
}

enum { HDR_BAD = -1, HDR_SHORT = 0 };

/* Checks as much of a frame header as avail bytes show, so a false start is
 * dropped as early as possible. Returns the whole frame's length, HDR_SHORT
 * when more bytes are needed to tell, or HDR_BAD. */
static long check_header(const uint8_t *p, size_t avail)
{
        uint32_t n;

        if (avail >= 1 && p[0] != 'K')
                return HDR_BAD;
        if (avail >= 2 && p[1] != 'W')
                return HDR_BAD;
        if (avail >= 3 && p[2] != KW_PROTO_VERSION)
                return HDR_BAD;
        if (avail < 12)
                return HDR_SHORT;
        n = get_le32(p + 8);
        if (n > KW_MAX_PAYLOAD)
                return HDR_BAD;
        return KW_FRAME_HDR + (long)n;
}

int kw_frame_header(const uint8_t *h, size_t n, struct kw_frame_hdr *ret)
{
        long total = check_header(h, n);

        if (total == HDR_BAD)
                return -EBADMSG;
        if (n < KW_FRAME_HDR)
                return -EAGAIN;
        *ret = (struct kw_frame_hdr){
                .type = h[3],
                .id = get_le32(h + 4),
                .len = get_le32(h + 8),
                .total = (size_t)total,
        };
        return 0;
}

size_t kw_decoder_skip_sync(struct kw_decoder *d)
{
        size_t n = 0;

        while (d->consumed < d->len && d->buf[d->consumed] == KW_SYNC_BYTE) {
                d->consumed++;
                n++;
        }
        return n;
}

int kw_decoder_next(struct kw_decoder *d, struct kw_frame *ret)
{
        for (;;) {
                const uint8_t *p = d->buf + d->consumed, *k;
                size_t avail = d->len - d->consumed;
                long total;

                if (!avail)
                        return 0;
                k = memchr(p, 'K', avail);
                if (!k) {
                        skip(d, avail);
                        return 0;
                }
                skip(d, (size_t)(k - p));
                p = k;
                avail = d->len - d->consumed;

                total = check_header(p, avail);
                if (total == HDR_SHORT || (total > 0 && avail < (size_t)total))
                        return 0;
                /* Drop only the 'K': a real frame may start inside a false one. */
                if (total == HDR_BAD ||
                    get_le32(p + 12) != frame_crc(p, p + KW_FRAME_HDR, (size_t)total - KW_FRAME_HDR)) {
                        skip(d, 1);
                        continue;
                }
                *ret = (struct kw_frame){
                        .type = p[3],
                        .id = get_le32(p + 4),
                        .payload = p + KW_FRAME_HDR,
                        .len = (size_t)total - KW_FRAME_HDR,
                };
                d->consumed += (size_t)total;
                return 1;
        }
}

/* ---- fields ---- */

int kw_frame_next_field(const struct kw_frame *f, size_t *pos, uint8_t *ret_key,
                        const uint8_t **ret_val, size_t *ret_len)
{
        size_t left, n;

        if (*pos == f->len)
                return 0;
        if (*pos > f->len)
                return -EBADMSG;
        left = f->len - *pos;
        if (left < 3)
                return -EBADMSG;
        n = get_le16(f->payload + *pos + 1);
        if (n > left - 3)
                return -EBADMSG;
        *ret_key = f->payload[*pos];
        *ret_val = f->payload + *pos + 3;
        *ret_len = n;
        *pos += 3 + n;
        return 1;
}

static bool field_is_u64(uint8_t key)
{
        switch (key) {
        case KW_F_NONCE:
        case KW_F_PROTO:
        case KW_F_ERRNO:
        case KW_F_USEC:
        case KW_F_SEQ:
        case KW_F_LEVEL:
        case KW_F_TS:
        case KW_F_COUNT:
        case KW_F_FLAGS:
        case KW_F_STATUS:
        case KW_F_KMEMLEAK:
        case KW_F_STREAM:
        case KW_F_FACILITY:
        case KW_F_UNLOAD_ERRNO:
        case KW_F_UNLOAD_USEC:
        case KW_F_ROWS:
        case KW_F_COLS:
        case KW_F_ACK:
                return true;
        default:
                return false;
        }
}

int kw_frame_validate(const struct kw_frame *f)
{
        size_t pos = 0, n;
        const uint8_t *v;
        uint8_t key;
        int r;

        while ((r = kw_frame_next_field(f, &pos, &key, &v, &n)) > 0)
                if (field_is_u64(key) && n != 8)
                        return -EBADMSG;
        return r;
}

/* The first field with this key. The whole payload is walked even after a
 * match, so a frame with a broken tail is refused however it is read. */
static int find_field(const struct kw_frame *f, enum kw_field key, const uint8_t **ret_val,
                      size_t *ret_len)
{
        const uint8_t *v, *found = NULL;
        size_t pos = 0, n, found_len = 0;
        uint8_t k;
        int r;

        while ((r = kw_frame_next_field(f, &pos, &k, &v, &n)) > 0)
                if (k == key && !found) {
                        found = v;
                        found_len = n;
                }
        if (r < 0)
                return r;
        if (!found)
                return -ENOENT;
        *ret_val = found;
        *ret_len = found_len;
        return 0;
}

int kw_frame_u64(const struct kw_frame *f, enum kw_field key, uint64_t *ret)
{
        const uint8_t *v;
        size_t n;
        int r = find_field(f, key, &v, &n);

        if (r < 0)
                return r;
        if (n != 8)
                return -EBADMSG;
        *ret = get_le64(v);
        return 0;
}

int kw_frame_bytes(const struct kw_frame *f, enum kw_field key, const uint8_t **ret,
                   size_t *ret_len)
{
        return find_field(f, key, ret, ret_len);
}

int kw_frame_str(const struct kw_frame *f, enum kw_field key, char *buf, size_t size)
{
        const uint8_t *v;
        size_t n;
        int r;

        if (!size)
                return -EINVAL;
        r = find_field(f, key, &v, &n);
        if (r < 0)
                return r;
        if (memchr(v, 0, n))
                return -EBADMSG;
        if (n > size - 1)
                n = size - 1;
        memcpy(buf, v, n);
        buf[n] = 0;
        return 0;
}

const char *kw_type_name(uint8_t type)
{
        static const char *const names[KW_TYPE_MAX] = {
                [KW_HELLO] = "HELLO",
                [KW_SYNC] = "SYNC",
                [KW_MOUNT] = "MOUNT",
                [KW_LOAD] = "LOAD",
                [KW_UNLOAD] = "UNLOAD",
                [KW_RESULT] = "RESULT",
                [KW_KMSG] = "KMSG",
                [KW_KMSG_GAP] = "KMSG_GAP",
                [KW_KMSG_START] = "KMSG_START",
                [KW_PROTO_ERROR] = "PROTO_ERROR",
                [KW_RUN] = "RUN",
                [KW_OUTPUT] = "OUTPUT",
                [KW_MODULES] = "MODULES",
                [KW_LOG_SYNC] = "LOG_SYNC",
                [KW_RELOAD] = "RELOAD",
                [KW_UNLOADED] = "UNLOADED",
                [KW_STATS] = "STATS",
                [KW_PTY_OPEN] = "PTY_OPEN",
                [KW_PTY_DATA] = "PTY_DATA",
                [KW_PTY_RESIZE] = "PTY_RESIZE",
                [KW_PTY_CLOSE] = "PTY_CLOSE",
        };

        if (type >= KW_TYPE_MAX || !names[type])
                return "?";
        return names[type];
}
