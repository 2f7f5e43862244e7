/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * jsonline.c — see jsonline.h. A recursive-descent reader of exactly what
 * ui.c writes: \uXXXX escapes (surrogate pairs too) become UTF-8 again.
 */
#include "jsonline.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct rd {
        const char *p, *end;
};

static void ws(struct rd *r)
{
        while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
                r->p++;
}

static bool eat(struct rd *r, char c)
{
        ws(r);
        if (r->p < r->end && *r->p == c) {
                r->p++;
                return true;
        }
        return false;
}

static int hex4(const char *p, unsigned *ret)
{
        unsigned v = 0;

        for (int i = 0; i < 4; i++) {
                char c = p[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f')
                        v |= (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        v |= (unsigned)(c - 'A' + 10);
                else
                        return -EINVAL;
        }
        *ret = v;
        return 0;
}

static size_t utf8(uint32_t c, char *o)
{
        if (c < 0x80) {
                o[0] = (char)c;
                return 1;
        }
        if (c < 0x800) {
                o[0] = (char)(0xc0 | (c >> 6));
                o[1] = (char)(0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                o[0] = (char)(0xe0 | (c >> 12));
                o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                o[2] = (char)(0x80 | (c & 0x3f));
                return 3;
        }
        o[0] = (char)(0xf0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[3] = (char)(0x80 | (c & 0x3f));
        return 4;
}

/* A string at r->p (after ws): malloc'd, unescaped. */
static int string(struct rd *r, char **ret)
{
        if (!eat(r, '"'))
                return -EINVAL;
        char *o = malloc((size_t)(r->end - r->p) + 1);
        size_t n = 0;
        if (!o)
                return -ENOMEM;
        while (r->p < r->end && *r->p != '"') {
                char c = *r->p++;
                if (c != '\\') {
                        o[n++] = c;
                        continue;
                }
                if (r->p >= r->end)
                        break;
                c = *r->p++;
                const char *simple = strchr("\"\\/bfnrt", c);
                if (simple && c) {
                        static const char to[] = "\"\\/\b\f\n\r\t";
                        o[n++] = to[simple - "\"\\/bfnrt"];
                        continue;
                }
                unsigned u, lo;
                if (c != 'u' || r->end - r->p < 4 || hex4(r->p, &u) < 0)
                        goto bad;
                r->p += 4;
                uint32_t cp = u;
                if (u >= 0xd800 && u < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u' &&
                    hex4(r->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                        cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                        r->p += 6;
                }
                n += utf8(cp, o + n); /* at most 4 bytes from at least 6 read */
        }
        if (r->p >= r->end)
                goto bad;
        r->p++;
        o[n] = 0;
        *ret = o;
        return 0;
bad:
        free(o);
        return -EINVAL;
}

static int value(struct rd *r, struct kw_jfield *f)
{
        ws(r);
        if (r->p >= r->end)
                return -EINVAL;
        if (*r->p == '"') {
                f->type = KW_JV_STR;
                return string(r, &f->text);
        }
        if (*r->p == '[') {
                r->p++;
                f->type = KW_JV_LIST;
                if (eat(r, ']'))
                        return 0;
                do {
                        char *s;
                        int e = string(r, &s);
                        if (e < 0)
                                return e;
                        char **v = realloc(f->items, (f->n_items + 1) * sizeof(*v));
                        if (!v) {
                                free(s);
                                return -ENOMEM;
                        }
                        f->items = v;
                        f->items[f->n_items++] = s;
                } while (eat(r, ','));
                return eat(r, ']') ? 0 : -EINVAL;
        }
        static const struct { const char *word; enum kw_jv_type type; } words[] = {
                { "true", KW_JV_BOOL }, { "false", KW_JV_BOOL }, { "null", KW_JV_NULL }
        };
        for (size_t i = 0; i < 3; i++) {
                size_t n = strlen(words[i].word);
                if ((size_t)(r->end - r->p) >= n && memcmp(r->p, words[i].word, n) == 0) {
                        r->p += n;
                        f->type = words[i].type;
                        f->text = strdup(f->type == KW_JV_NULL ? "" : words[i].word);
                        return f->text ? 0 : -ENOMEM;
                }
        }
        const char *s = r->p;
        while (r->p < r->end && strchr("+-.0123456789eE", *r->p) && *r->p)
                r->p++;
        if (r->p == s)
                return -EINVAL;
        f->type = KW_JV_NUM;
        f->text = strndup(s, (size_t)(r->p - s));
        return f->text ? 0 : -ENOMEM;
}

int kw_jline_parse(const char *line, size_t len, struct kw_jline *ret)
{
        struct rd r = { line, line + len };
        int e = 0;

        *ret = (struct kw_jline){ 0 };
        if (!eat(&r, '{'))
                return -EINVAL;
        if (!eat(&r, '}')) {
                do {
                        struct kw_jfield *v = realloc(ret->f, (ret->n + 1) * sizeof(*v));
                        if (!v) {
                                e = -ENOMEM;
                                break;
                        }
                        ret->f = v;
                        struct kw_jfield *f = &ret->f[ret->n++];
                        *f = (struct kw_jfield){ 0 };
                        if ((e = string(&r, &f->key)) < 0 || (e = eat(&r, ':') ? 0 : -EINVAL) < 0 ||
                            (e = value(&r, f)) < 0)
                                break;
                } while (eat(&r, ','));
                if (e == 0 && !eat(&r, '}'))
                        e = -EINVAL;
        }
        ws(&r);
        if (e == 0 && r.p != r.end)
                e = -EINVAL;
        if (e < 0)
                kw_jline_free(ret);
        return e;
}

const struct kw_jfield *kw_jline_get(const struct kw_jline *j, const char *key)
{
        for (size_t i = 0; i < j->n; i++)
                if (j->f[i].key && strcmp(j->f[i].key, key) == 0)
                        return &j->f[i];
        return NULL;
}

const char *kw_jline_str(const struct kw_jline *j, const char *key)
{
        const struct kw_jfield *f = kw_jline_get(j, key);

        return f && f->text ? f->text : "";
}

void kw_jline_free(struct kw_jline *j)
{
        for (size_t i = 0; i < j->n; i++) {
                free(j->f[i].key);
                free(j->f[i].text);
                for (size_t k = 0; k < j->f[i].n_items; k++)
                        free(j->f[i].items[k]);
                free(j->f[i].items);
        }
        free(j->f);
        *j = (struct kw_jline){ 0 };
}
