/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kdeps.c — modules.dep and friends, read as text (see kdeps.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kdeps.h"

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\r';
}

static char norm(char c)
{
        return c == '-' ? '_' : c;
}

/* Equal as module names: a is len bytes, b NUL-terminated. */
static bool name_eq_n(const char *a, size_t len, const char *b)
{
        size_t i;

        for (i = 0; i < len && b[i]; i++)
                if (norm(a[i]) != norm(b[i]))
                        return false;
        return i == len && b[i] == '\0';
}

bool kw_kdeps_name_eq(const char *a, const char *b)
{
        return name_eq_n(a, strlen(a), b);
}

void kw_kdeps_name_of(const char *path, size_t len, char *buf, size_t size)
{
        const char *base = path;
        size_t n;

        if (size == 0)
                return;
        for (size_t i = 0; i < len; i++)
                if (path[i] == '/')
                        base = path + i + 1;
        n = len - (size_t)(base - path);
        for (size_t i = 0; i + 3 <= n; i++)
                if (memcmp(base + i, ".ko", 3) == 0 && (i + 3 == n || base[i + 3] == '.')) {
                        n = i;
                        break;
                }
        if (n >= size)
                n = size - 1;
        for (size_t i = 0; i < n; i++)
                buf[i] = norm(base[i]);
        buf[n] = '\0';
}

/* The next line of text at *pos: its start and length (no newline). */
static bool next_line(const char *text, size_t *pos, const char **ret, size_t *ret_len)
{
        const char *p, *nl;

        if (!text || !text[*pos])
                return false;
        p = text + *pos;
        nl = strchr(p, '\n');
        *ret = p;
        *ret_len = nl ? (size_t)(nl - p) : strlen(p);
        *pos += *ret_len + (nl ? 1 : 0);
        return true;
}

/* The next word in [*p, end): start and length; false at the end. */
static bool next_word(const char **p, const char *end, const char **ret, size_t *ret_len)
{
        while (*p < end && is_space(**p))
                (*p)++;
        if (*p >= end)
                return false;
        *ret = *p;
        while (*p < end && !is_space(**p))
                (*p)++;
        *ret_len = (size_t)(*p - *ret);
        return true;
}

bool kw_kdeps_builtin(const char *builtin, const char *name)
{
        size_t pos = 0, len;
        const char *line;
        char n[KW_MODULE_NAME_LEN];

        while (next_line(builtin, &pos, &line, &len)) {
                kw_kdeps_name_of(line, len, n, sizeof(n));
                if (n[0] && kw_kdeps_name_eq(n, name))
                        return true;
        }
        return false;
}

/* modules.dep: "kernel/x/a.ko: kernel/y/b.ko kernel/z/c.ko". The line of
 * module name: its path, and where its dependencies start and end. */
static bool dep_find(const char *dep, const char *name, const char **ret_path, size_t *ret_path_len,
                     const char **ret_deps, const char **ret_end)
{
        size_t pos = 0, len;
        const char *line;
        char n[KW_MODULE_NAME_LEN];

        while (next_line(dep, &pos, &line, &len)) {
                const char *colon = memchr(line, ':', len);

                if (!colon || line[0] == '#')
                        continue;
                kw_kdeps_name_of(line, (size_t)(colon - line), n, sizeof(n));
                if (!n[0] || !kw_kdeps_name_eq(n, name))
                        continue;
                *ret_path = line;
                *ret_path_len = (size_t)(colon - line);
                *ret_deps = colon + 1;
                *ret_end = line + len;
                return true;
        }
        return false;
}

/* "alias PREFIXNAME MODULE" lines (modules.alias, modules.symbols with
 * prefix "symbol:"): the first MODULE for exactly that key, into buf. */
static bool alias_find(const char *text, const char *prefix, const char *name, char *buf, size_t size)
{
        size_t pos = 0, len, pl = strlen(prefix), nl = strlen(name);
        const char *line;

        while (next_line(text, &pos, &line, &len)) {
                const char *p = line, *end = line + len, *w;
                size_t wl;

                if (!next_word(&p, end, &w, &wl) || wl != 5 || memcmp(w, "alias", 5) != 0)
                        continue;
                if (!next_word(&p, end, &w, &wl) || wl != pl + nl || memcmp(w, prefix, pl) != 0 ||
                    memcmp(w + pl, name, nl) != 0)
                        continue;
                if (!next_word(&p, end, &w, &wl) || wl >= size)
                        continue;
                memcpy(buf, w, wl);
                buf[wl] = '\0';
                return true;
        }
        return false;
}

struct walk {
        const struct kw_kdeps_db *db;
        struct kw_kdeps_list *out;
        char seen[KW_KDEPS_MAX * 2][KW_MODULE_NAME_LEN];
        int n_seen;
};

static void add_missing(struct kw_kdeps_list *out, const char *name)
{
        size_t off = strlen(out->missing);

        snprintf(out->missing + off, sizeof(out->missing) - off, "%s%s", off ? "," : "", name);
}

static void visit(struct walk *w, const char *name, int depth);

/* Each word of [p, end) that names a module, visited. */
static void visit_words(struct walk *w, const char *p, const char *end, bool paths, int depth)
{
        const char *word;
        size_t len;
        char n[KW_MODULE_NAME_LEN];

        while (next_word(&p, end, &word, &len)) {
                if (paths) {
                        kw_kdeps_name_of(word, len, n, sizeof(n));
                } else {
                        if (len >= sizeof(n))
                                continue;
                        memcpy(n, word, len);
                        n[len] = '\0';
                }
                if (n[0])
                        visit(w, n, depth + 1);
        }
}

/* modules.softdep: "softdep NAME pre: a b post: c": NAME's pre: modules. */
static void visit_softdeps(struct walk *w, const char *name, int depth)
{
        size_t pos = 0, len;
        const char *line;

        while (next_line(w->db->softdep, &pos, &line, &len)) {
                const char *p = line, *end = line + len, *word, *pre = NULL;
                size_t wl;

                if (!next_word(&p, end, &word, &wl) || wl != 7 || memcmp(word, "softdep", 7) != 0)
                        continue;
                if (!next_word(&p, end, &word, &wl) || !name_eq_n(word, wl, name))
                        continue;
                while (next_word(&p, end, &word, &wl)) {
                        if (wl == 4 && memcmp(word, "pre:", 4) == 0) {
                                pre = p;
                        } else if (pre && word[wl - 1] == ':') {
                                visit_words(w, pre, word, false, depth);
                                pre = NULL;
                        }
                }
                if (pre)
                        visit_words(w, pre, end, false, depth);
        }
}

static void visit(struct walk *w, const char *name, int depth)
{
        const char *path, *deps, *end;
        size_t path_len;
        char real[KW_MODULE_NAME_LEN];
        struct kw_kdeps_mod *m;

        for (int i = 0; i < w->n_seen; i++)
                if (kw_kdeps_name_eq(w->seen[i], name))
                        return;
        if (w->n_seen == (int)(sizeof(w->seen) / sizeof(w->seen[0])) || depth > KW_KDEPS_MAX) {
                w->out->truncated = true;
                return;
        }
        snprintf(w->seen[w->n_seen++], sizeof(w->seen[0]), "%s", name);
        if (kw_kdeps_builtin(w->db->builtin, name))
                return;
        if (!dep_find(w->db->dep, name, &path, &path_len, &deps, &end)) {
                /* A softdep may name an alias ("crypto-crc32c"). */
                if (alias_find(w->db->alias, "", name, real, sizeof(real)) && !kw_kdeps_name_eq(real, name))
                        visit(w, real, depth + 1);
                else
                        add_missing(w->out, name);
                return;
        }
        visit_softdeps(w, name, depth);
        visit_words(w, deps, end, true, depth);
        if (w->out->n == KW_KDEPS_MAX || path_len >= KW_KDEPS_PATH) {
                w->out->truncated = true;
                return;
        }
        m = &w->out->mod[w->out->n++];
        kw_kdeps_name_of(path, path_len, m->name, sizeof(m->name));
        memcpy(m->path, path, path_len);
        m->path[path_len] = '\0';
}

void kw_kdeps_closure(const struct kw_kdeps_db *db, const char *depends, struct kw_kdeps_list *ret)
{
        static struct walk w; /* ~7 KiB: not on a small agent stack */
        const char *p = depends ? depends : "";

        memset(ret, 0, sizeof(*ret));
        memset(&w, 0, sizeof(w));
        w.db = db;
        w.out = ret;
        while (*p) {
                size_t len = strcspn(p, ",");
                char n[KW_MODULE_NAME_LEN];

                if (len > 0 && len < sizeof(n)) {
                        memcpy(n, p, len);
                        n[len] = '\0';
                        visit(&w, n, 0);
                }
                p += len + (p[len] == ',');
        }
}

int kw_kdeps_provider(const char *symbols, const char *sym, char *buf, size_t size)
{
        return alias_find(symbols, "symbol:", sym, buf, size) ? 0 : -ENOENT;
}
