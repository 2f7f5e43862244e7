/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-kmsg.c — libFuzzer target for the /dev/kmsg record parser. The record
 * is not NUL-terminated (libFuzzer's buffer ends exactly at size), and an
 * accepted record's text must lie inside it and stop before any newline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *rec = (const char *)data;
        struct kw_kmsg_rec r;
        int ret = kw_kmsg_parse(rec, size, &r);

        if (ret == -EBADMSG)
                return 0;
        if (ret != 0)
                abort();
        if (r.level > 7 || r.text < rec || r.text_len > size || r.text > rec + size - r.text_len)
                abort();
        if (memchr(r.text, '\n', r.text_len))
                abort();
        /* The prefix ends with the first ';', just before the text. */
        if (r.text == rec || r.text[-1] != ';' || memchr(rec, ';', (size_t)(r.text - rec) - 1))
                abort();
        if (r.flag == ',' || r.flag == ';' || r.flag == '\n')
                abort();
        return 0;
}
