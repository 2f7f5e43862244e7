/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * utf8.h — text from the guest made safe for every output: the kernel and a
 * module may print bytes that are not UTF-8 and control characters, and a
 * chunk of --run output may end inside a character. JSON, XML, KTAP and KCIDB
 * writers pass their text through here; an invalid byte becomes the four
 * characters "\xNN" (as the kernel's /dev/kmsg writes unprintable bytes), so
 * nothing is lost and every output stays valid UTF-8.
 * Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The length (1–4) of the valid UTF-8 character at s (n bytes available), or
 * 0 when the byte at s does not start one (overlong, surrogate, past U+10FFFF,
 * a stray continuation byte, or cut short). */
size_t kw_utf8_char(const char *s, size_t n);

/* How much of s[0..n) to pass on now so no character is split: n, less a
 * trailing start of a character that the next chunk may complete (≤ 3 bytes). */
size_t kw_utf8_whole(const char *s, size_t n);

/* Flags for kw_utf8_clean(). */
#define KW_UTF8_CONTROLS 1 /* also write C0 controls but \t and \n, and DEL, as "\xNN" (XML, KTAP) */

/* A malloc'd NUL-terminated copy of s[0..n) with invalid bytes (and controls,
 * with KW_UTF8_CONTROLS) as "\xNN"; NULL without memory. */
char *kw_utf8_clean(const char *s, size_t n, unsigned flags);
