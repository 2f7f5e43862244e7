/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmsg.h — parser for one /dev/kmsg record (Documentation/ABI/testing/dev-kmsg):
 *   "PRIO,SEQ,TS_USEC,FLAGS[,…];TEXT\n" then optional " KEY=value\n" lines.
 * PRIO = facility << 3 | level. TEXT keeps the kernel's \xNN escapes (so it is
 * always safe to print). Pure; unit-tested and fuzzed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct kw_kmsg_rec {
        uint64_t seq;
        uint64_t ts_usec;
        uint8_t level;      /* 0–7 */
        uint8_t facility;
        char flag;          /* '-' normal, 'c' continuation start, '+' continued */
        const char *text;   /* points into the record; not NUL-terminated */
        size_t text_len;    /* without the trailing newline and KEY=value lines */
};

/* 0 or -EBADMSG. */
int kw_kmsg_parse(const char *rec, size_t len, struct kw_kmsg_rec *ret);
