/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * proto.h — the kmod-watch wire protocol, shared by the host (kmod-watch) and
 * the guest (kmod-agent). One codec, compiled into both sides.
 *
 * The wire format is specified in doc/protocol.md; keep the two in step.
 *
 * Frame (all integers little-endian):
 *   0  u8[2] magic 'K' 'W'
 *   2  u8    protocol version (KW_PROTO_VERSION)
 *   3  u8    type (enum kw_type)
 *   4  u32   request id (0 = unsolicited)
 *   8  u32   payload length N (<= KW_MAX_PAYLOAD)
 *   12 u32   CRC-32 (IEEE 802.3) of bytes 0..11 followed by the payload
 *   16 u8[N] payload: fields, each  u8 key, u16 length L, u8[L] value
 *
 * Integer fields are 8 bytes (u64 LE); string fields are raw bytes, no NUL.
 * A stream decoder skips bytes until a frame whose magic, version, length and
 * CRC all check out, so garbage, partial reads and a reconnect mid-frame only
 * cost the bytes that were damaged; it counts what it skipped.
 *
 * Only proto.c knows these offsets: everyone else reads a frame through
 * kw_frame_header(), kw_msg_type()/kw_msg_id()/kw_msg_view() and kw_frame_*().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_PROTO_VERSION 1
#define KW_FRAME_HDR 16
#define KW_MAX_PAYLOAD (60 * 1024) /* a frame fits one 64 KiB buffer */
#define KW_MAX_FRAME (KW_FRAME_HDR + KW_MAX_PAYLOAD)
#define KW_PORT_NAME "org.kmodwatch.0"     /* the virtio-serial port the agent opens */
#define KW_SHARE_TAG "kmodwatch"          /* the 9p mount tag of a guest kmod-watch starts */
#define KW_GUEST_MOUNT "/mnt/kmod-watch"  /* where the agent mounts the 9p share */
#define KW_MODULES_TAG "kmodwatch-modules" /* 9p tag of the kernel's module tree (read-only),
                                            * mounted by the agent at /lib/modules/$(uname -r) */
#define KW_SYNC_BYTE 0xFF /* sent before SYNC: never valid frame start */

enum kw_type {
        KW_HELLO = 1,       /* agent → host: greeting; on connect, after SYNC, after boot */
        KW_SYNC = 2,        /* host → agent: resynchronise; agent answers HELLO with NONCE */
        KW_MOUNT = 3,       /* host → agent: mount 9p TAG at PATH → RESULT */
        KW_LOAD = 4,        /* host → agent: finit_module(PATH, PARAMS) → RESULT */
        KW_UNLOAD = 5,      /* host → agent: delete_module(MODULE, FLAGS) → RESULT */
        KW_RESULT = 6,      /* agent → host: answer to request ID */
        KW_KMSG = 7,        /* agent → host: one /dev/kmsg record */
        KW_KMSG_GAP = 8,    /* agent → host: COUNT records lost before SEQ */
        KW_KMSG_START = 9,  /* host → agent: stream /dev/kmsg from the tail (or SEQ) → RESULT */
        KW_PROTO_ERROR = 10, /* either way: "I skipped COUNT bytes of garbage" / bad request */
        KW_RUN = 11,        /* host → agent: run CMD with /bin/sh -c → OUTPUT…, RESULT(STATUS) */
        KW_OUTPUT = 12,     /* agent → host: TEXT from a RUN (STREAM 1 stdout, 2 stderr) */
        KW_MODULES = 13,    /* host → agent: list loaded modules → RESULT with MODULE… */
        KW_LOG_SYNC = 14,   /* host → agent: RESULT(SEQ) once every record logged before it was sent */
        KW_RELOAD = 15,     /* host → agent: UNLOAD(MODULE, FLAGS) then LOAD(PATH, PARAMS) → UNLOADED?, RESULT */
        KW_UNLOADED = 16,   /* agent → host: a RELOAD's unload is over (MODULE, ERRNO, USEC), its load starts */
        KW_STATS = 17,      /* host → agent: slab, memory and entry counts → RESULT(SLAB…, MEMINFO…, ENTRY…) */
        KW_PTY_OPEN = 18,   /* host → agent: a shell on a new pty (ROWS, COLS, TERM, PATH) → RESULT; its id names the pty */
        KW_PTY_DATA = 19,   /* either way: TEXT bytes of pty ID; host → agent may carry ACK (output passed on) */
        KW_PTY_RESIZE = 20, /* host → agent: pty ID's window is ROWS × COLS */
        KW_PTY_CLOSE = 21,  /* agent → host: pty ID's shell ended (STATUS); host → agent: hang it up */
        KW_TYPE_MAX,
};

enum kw_field {
        KW_F_NONCE = 1,    /* u64 */
        KW_F_PROTO = 2,    /* u64: protocol version the agent speaks */
        KW_F_VERSION = 3,  /* str: agent version */
        KW_F_ARCH = 4,     /* str: uname -m */
        KW_F_RELEASE = 5,  /* str: uname -r */
        KW_F_BOOT_ID = 6,  /* str: /proc/sys/kernel/random/boot_id */
        KW_F_MOUNT = 7,    /* str: "TAG PATH", repeated: 9p mounts present */
        KW_F_PATH = 8,     /* str */
        KW_F_PARAMS = 9,   /* str: module parameters, "a=1 b=2" */
        KW_F_MODULE = 10,  /* str: module name (repeated in MODULES results) */
        KW_F_ERRNO = 11,   /* u64: positive errno, 0 = success */
        KW_F_ERROR = 12,   /* str: the reason, in words */
        KW_F_USEC = 13,    /* u64: time the operation took in the guest */
        KW_F_SEQ = 14,     /* u64: kmsg sequence number */
        KW_F_LEVEL = 15,   /* u64: syslog level 0–7 */
        KW_F_TS = 16,      /* u64: kmsg timestamp, µs since guest boot */
        KW_F_TEXT = 17,    /* str */
        KW_F_COUNT = 18,   /* u64 */
        KW_F_TAG = 19,     /* str: 9p mount tag */
        KW_F_FLAGS = 20,   /* u64: request flags (KW_UNLOAD_FORCE) */
        KW_F_CMD = 21,     /* str */
        KW_F_STATUS = 22,  /* u64: exit status of a RUN (128+sig when killed) */
        KW_F_STREAM = 23,  /* u64: 1 stdout, 2 stderr */
        KW_F_FACILITY = 24, /* u64: syslog facility of a kmsg record */
        KW_F_SYMBOL = 25,  /* str: unknown symbol named by the kernel (repeated) */
        KW_F_DEPS = 26,    /* str: in-kernel modules a LOAD loaded first, "a,b" in load order */
        KW_F_UNLOAD_ERRNO = 27, /* u64: a RELOAD's RESULT: its unload's errno (0, ENOENT: load tried) */
        KW_F_UNLOAD_USEC = 28,  /* u64: a RELOAD's RESULT: how long its unload took in the guest */
        KW_F_SLAB = 29,    /* str: "NAME ACTIVE_OBJS OBJSIZE", one per slab cache (repeated) */
        KW_F_MEMINFO = 30, /* str: "KEY KB", one per /proc/meminfo line (repeated) */
        KW_F_ENTRY = 31,   /* str: a path present in a listed directory (repeated) */
        KW_F_KMEMLEAK = 32, /* u64: 1 when the guest kernel has kmemleak */
        KW_F_SECTIONS = 33, /* str: a good LOAD's RESULT: "[TEXTADDR] -s .init.text ADDR -s .data ADDR …" (gdb's add-symbol-file) */
        KW_F_ROWS = 34,    /* u64: a pty's window height */
        KW_F_COLS = 35,    /* u64: a pty's window width */
        KW_F_TERM = 36,    /* str: $TERM for a PTY_OPEN's shell */
        KW_F_ACK = 37,     /* u64: PTY_DATA host → agent: output bytes of this pty passed on since the last ACK */
};

#define KW_UNLOAD_FORCE 1u
#define KW_STATS_SHRINK 1u   /* STATS: flush the slab caches first, so the counts are exact */
#define KW_STATS_KMEMLEAK 2u /* STATS: scan with kmemleak and send its report (TEXT) */
/* PTY_DATA agent → host: output bytes of one pty the host has not ACKed yet, at most.
 * The agent stops reading the pty there, so a flooding shell waits for the terminal. */
#define KW_PTY_WINDOW (64 * 1024)

/* Building one frame. Fields are appended; kw_msg_finish() writes the header. */
struct kw_msg {
        uint8_t buf[KW_MAX_FRAME];
        size_t len;    /* bytes used in buf, header included */
        bool overflow; /* a put did not fit: finish fails with -EMSGSIZE */
};

void kw_msg_init(struct kw_msg *m, enum kw_type type, uint32_t id);
void kw_msg_put_u64(struct kw_msg *m, enum kw_field key, uint64_t v);
void kw_msg_put_bytes(struct kw_msg *m, enum kw_field key, const void *p, size_t n);
void kw_msg_put_str(struct kw_msg *m, enum kw_field key, const char *s);
/* Truncates the string to what still fits (kmsg text, command output). */
void kw_msg_put_str_trunc(struct kw_msg *m, enum kw_field key, const char *s);
/* Whether one more field of n value bytes still fits (and nothing overflowed). */
bool kw_msg_fits(const struct kw_msg *m, size_t n);
/* Fills in length and CRC. Returns the frame length, or -EMSGSIZE. */
int kw_msg_finish(struct kw_msg *m);
/* What kw_msg_init() was given, read back from the frame being built. */
enum kw_type kw_msg_type(const struct kw_msg *m);
uint32_t kw_msg_id(const struct kw_msg *m);

/* A decoded frame. payload points into the decoder; valid until the next
 * kw_decoder_feed()/kw_decoder_next() call. */
struct kw_frame {
        uint8_t type;
        uint32_t id;
        const uint8_t *payload;
        size_t len;
};

/* The fields put so far, as a frame to read with kw_frame_*() (valid while m
 * is not changed). */
void kw_msg_view(const struct kw_msg *m, struct kw_frame *ret);

/* A frame header, parsed. */
struct kw_frame_hdr {
        uint8_t type;
        uint32_t id;
        uint32_t len; /* payload bytes */
        size_t total; /* the whole frame: KW_FRAME_HDR + len */
};

/* Parses the header at h (n bytes available there; the CRC is not checked,
 * it covers the payload). 0; -EAGAIN when n < KW_FRAME_HDR and what there is
 * looks right so far; -EBADMSG for a wrong magic, version or length. */
int kw_frame_header(const uint8_t *h, size_t n, struct kw_frame_hdr *ret);

struct kw_decoder {
        uint8_t buf[KW_MAX_FRAME];
        size_t len;        /* bytes buffered */
        size_t consumed;   /* bytes of buf[] already handed out as a frame */
        uint64_t skipped;  /* garbage bytes dropped since the last take */
};

void kw_decoder_init(struct kw_decoder *d);
/* Copies as much of p as fits; returns how many bytes were taken. */
size_t kw_decoder_feed(struct kw_decoder *d, const void *p, size_t n);
/* Where to read() directly into, and how much room there is; then
 * kw_decoder_commit(d, n) for the n bytes read. */
uint8_t *kw_decoder_space(struct kw_decoder *d, size_t *ret_room);
void kw_decoder_commit(struct kw_decoder *d, size_t n);
/* 1: *ret holds the next good frame; 0: need more bytes. Garbage is skipped. */
int kw_decoder_next(struct kw_decoder *d, struct kw_frame *ret);
/* Garbage bytes skipped since the last call (KW_SYNC_BYTEs are dropped but
 * not counted); resets the count. */
uint64_t kw_decoder_take_skipped(struct kw_decoder *d);
/* Drops the KW_SYNC_BYTEs where the next frame would start, uncounted, and
 * returns how many (kw_decoder_next() drops them too, but cannot say). */
size_t kw_decoder_skip_sync(struct kw_decoder *d);
/* Forget everything buffered (a reconnect). */
void kw_decoder_reset(struct kw_decoder *d);

/* Field access. All return 0, -ENOENT (absent) or -EBADMSG (malformed). */
int kw_frame_validate(const struct kw_frame *f); /* every field well-formed */
int kw_frame_u64(const struct kw_frame *f, enum kw_field key, uint64_t *ret);
/* Points at the raw bytes (not NUL-terminated). */
int kw_frame_bytes(const struct kw_frame *f, enum kw_field key, const uint8_t **ret, size_t *ret_len);
/* Copies into buf with a NUL; truncates to size-1. Embedded NULs: -EBADMSG. */
int kw_frame_str(const struct kw_frame *f, enum kw_field key, char *buf, size_t size);
/* Iterate over every field: *pos starts at 0. 1 = a field, 0 = end, -EBADMSG. */
int kw_frame_next_field(const struct kw_frame *f, size_t *pos, uint8_t *ret_key,
                        const uint8_t **ret_val, size_t *ret_len);

const char *kw_type_name(uint8_t type); /* "HELLO", …, or "?" */
uint32_t kw_crc32(uint32_t crc, const void *p, size_t n);
