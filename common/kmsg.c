/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kmsg.c — splits one /dev/kmsg record into its prefix fields and message
 * text (format: Documentation/ABI/testing/dev-kmsg). The agent parses what the
 * kernel gives it and forwards text verbatim; the record is not NUL-terminated
 * and is fuzzed, so everything goes by length.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "kmsg.h"

/* A decimal u64 ending at the byte `end`; advances *pos past that byte. */
static bool parse_u64(const char *rec, size_t len, size_t *pos, char end, uint64_t *ret)
{
        size_t i = *pos;
        uint64_t v = 0;

        if (i >= len || rec[i] < '0' || rec[i] > '9')
                return false;
        for (; i < len && rec[i] >= '0' && rec[i] <= '9'; i++) {
                unsigned d = (unsigned)(rec[i] - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return false;
                v = v * 10 + d;
        }
        if (i >= len || rec[i] != end)
                return false;
        *pos = i + 1;
        *ret = v;
        return true;
}

int kw_kmsg_parse(const char *rec, size_t len, struct kw_kmsg_rec *ret)
{
        uint64_t prio, seq, ts;
        size_t pos = 0;
        const char *nl;
        char flag;

        if (!parse_u64(rec, len, &pos, ',', &prio) || !parse_u64(rec, len, &pos, ',', &seq) ||
            !parse_u64(rec, len, &pos, ',', &ts))
                return -EBADMSG;
        /* facility is 8 bits wide in struct kw_kmsg_rec (and 5 in the kernel). */
        if (prio >> 3 > UINT8_MAX)
                return -EBADMSG;

        /* FLAGS is one character; later kernels append more fields (the caller
         * id, "caller=T123"), which are skipped up to the ';'. */
        if (pos + 1 >= len || rec[pos] == ',' || rec[pos] == ';' || rec[pos] == '\n')
                return -EBADMSG;
        if (rec[pos + 1] != ',' && rec[pos + 1] != ';')
                return -EBADMSG;
        flag = rec[pos++];
        while (pos < len && rec[pos] != ';') {
                if (rec[pos] == '\n')
                        return -EBADMSG;
                pos++;
        }
        if (pos >= len)
                return -EBADMSG;
        pos++;

        ret->flag = flag;
        ret->level = prio & 7;
        ret->facility = (uint8_t)(prio >> 3);
        ret->seq = seq;
        ret->ts_usec = ts;
        ret->text = rec + pos;
        /* The text ends at its newline; " KEY=value" dictionary lines follow. */
        nl = memchr(rec + pos, '\n', len - pos);
        ret->text_len = nl ? (size_t)(nl - (rec + pos)) : len - pos;
        return 0;
}
