/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-utf8.c — libFuzzer target for the UTF-8 rules (watcher/utf8.c) every
 * output relies on: whatever bytes a module prints, kw_utf8_clean() gives
 * valid UTF-8 (checked here by a decoder of its own, not by utf8.c) with no
 * control but tab and newline; text that was valid already comes back the
 * same (bar its controls); kw_utf8_whole() holds back at most 3 bytes, and
 * only the start of a character.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* An independent decoder: the length of the valid character at s, or 0. */
static size_t decode(const uint8_t *s, size_t n)
{
        uint32_t c;
        size_t len;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0)
                len = 2, c = s[0] & 0x1f;
        else if ((s[0] & 0xf0) == 0xe0)
                len = 3, c = s[0] & 0x0f;
        else if ((s[0] & 0xf8) == 0xf0)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
                return 0;
        return len;
}

static bool valid(const uint8_t *s, size_t n)
{
        for (size_t i = 0; i < n;) {
                size_t len = decode(s + i, n - i);
                if (!len)
                        return false;
                i += len;
        }
        return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *in = (const char *)data;

        for (size_t i = 0; i < size; i++)
                if (kw_utf8_char(in + i, size - i) != decode(data + i, size - i))
                        abort();
        char *out = kw_utf8_clean(in, size, KW_UTF8_CONTROLS);
        if (!out)
                return 0;
        size_t n = strlen(out);
        if (!valid((const uint8_t *)out, n))
                abort();
        for (size_t i = 0; i < n; i++)
                if (((uint8_t)out[i] < 0x20 && out[i] != '\t' && out[i] != '\n') || out[i] == 0x7f)
                        abort();
        bool controls = false;
        for (size_t i = 0; i < size; i++)
                controls |= (data[i] < 0x20 && data[i] != '\t' && data[i] != '\n') || data[i] == 0x7f;
        if (valid(data, size) && !controls && (n != size || memcmp(out, data, size) != 0))
                abort();
        free(out);

        size_t whole = kw_utf8_whole(in, size);
        if (whole > size || size - whole > 3)
                abort();
        if (whole < size && (data[whole] < 0xc2 || data[whole] > 0xf4 || decode(data + whole, size - whole)))
                abort(); /* held back: the start of a character, not complete yet */
        return 0;
}
