/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jsonline.h — reading back one of our own JSON event lines (ui.c writes
 * them, doc/contract.md lists them): a flat object whose values are strings,
 * numbers, true/false/null or lists of strings. A matrix's parent reads its
 * children's events with it. Not a general JSON parser: nested objects and
 * lists of anything but strings are refused.
 */
#pragma once

#include <stddef.h>

enum kw_jv_type { KW_JV_STR, KW_JV_NUM, KW_JV_BOOL, KW_JV_NULL, KW_JV_LIST };

struct kw_jfield {
        char *key;
        enum kw_jv_type type;
        char *text;    /* a string unescaped; a number as written; "true"/"false"; "" for null */
        char **items;  /* KW_JV_LIST: its strings */
        size_t n_items;
};

struct kw_jline {
        struct kw_jfield *f;
        size_t n;
};

/* Parses line (len bytes, no newline needed) into *ret. 0, -EINVAL (not such
 * an object) or -ENOMEM; on failure *ret is empty. */
int kw_jline_parse(const char *line, size_t len, struct kw_jline *ret);
/* The field named key, or NULL. */
const struct kw_jfield *kw_jline_get(const struct kw_jline *j, const char *key);
/* Its text, or "" when absent. */
const char *kw_jline_str(const struct kw_jline *j, const char *key);
void kw_jline_free(struct kw_jline *j);
