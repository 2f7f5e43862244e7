/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * utf8.c — see utf8.h. The validity rules are RFC 3629's table (section 4):
 * no overlong forms, no surrogates, nothing past U+10FFFF.
 */
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t kw_utf8_char(const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;
        unsigned char lo = 0x80, hi = 0xbf;
        size_t len;

        if (!n)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4;
        else
                return 0;
        /* the second byte's range excludes overlongs, surrogates, > U+10FFFF */
        if (s[0] == 0xe0)
                lo = 0xa0;
        else if (s[0] == 0xed)
                hi = 0x9f;
        else if (s[0] == 0xf0)
                lo = 0x90;
        else if (s[0] == 0xf4)
                hi = 0x8f;
        if (n < len)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

/* Could s[0..n) (n < the needed length) still become a valid character? */
static bool valid_prefix(const unsigned char *s, size_t n)
{
        unsigned char buf[4] = { 0 };

        memcpy(buf, s, n);
        for (size_t i = n; i < 4; i++)
                buf[i] = i == 1 && s[0] == 0xe0 ? 0xa0 : i == 1 && s[0] == 0xf0 ? 0x90 : 0x80;
        return kw_utf8_char((const char *)buf, 4) > n;
}

size_t kw_utf8_whole(const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;

        /* look back at most 3 bytes for the start of a character */
        for (size_t back = 1; back <= 3 && back <= n; back++) {
                unsigned char c = s[n - back];
                if (c >= 0x80 && c <= 0xbf)
                        continue; /* a continuation byte: its start is further back */
                if (c >= 0xc2 && c <= 0xf4 && valid_prefix(s + n - back, back))
                        return n - back;
                break;
        }
        return n;
}

char *kw_utf8_clean(const char *s, size_t n, unsigned flags)
{
        char *out = malloc(n * 4 + 1); /* each byte grows to "\xNN" at most */
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char)s[i];
                size_t len = kw_utf8_char(s + i, n - i);
                bool control = (flags & KW_UTF8_CONTROLS) && ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f);
                if (!len || control || !c) {
                        o += (size_t)sprintf(out + o, "\\x%02x", c);
                        i++;
                        continue;
                }
                memcpy(out + o, s + i, len);
                o += len;
                i += len;
        }
        out[o] = 0;
        return out;
}
