/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-cmd.c — kbuild's .cmd files read, make's escaping undone, and the
 * replay plan (see replay-cmd.h). Pure: strings in, strings out.
 */
#include "replay-cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push(char ***v, size_t *n, const char *s, size_t len)
{
        char **nv = realloc(*v, (*n + 1) * sizeof(**v));

        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (!(nv[*n] = strndup(s, len)))
                return -ENOMEM;
        (*n)++;
        return 0;
}

void kw_cmdfile_free(struct kw_cmdfile *f)
{
        if (!f)
                return;
        free(f->target);
        free(f->raw);
        free(f->source);
        for (size_t i = 0; i < f->n_deps; i++)
                free(f->deps[i]);
        free(f->deps);
        memset(f, 0, sizeof(*f));
}

/* "KEY_TARGET := value" on a line: the value, or NULL. */
static const char *value_of(const char *line, size_t len, const char *key, const char *target)
{
        size_t kl = strlen(key), tl = strlen(target);

        if (len < kl + tl + 4 || strncmp(line, key, kl) != 0 || strncmp(line + kl, target, tl) != 0 ||
            strncmp(line + kl + tl, " := ", 4) != 0)
                return NULL;
        return line + kl + tl + 4;
}

int kw_cmdfile_parse(const char *text, struct kw_cmdfile *ret)
{
        struct kw_cmdfile f = { 0 };
        bool in_deps = false;
        int r = 0;

        if (strncmp(text, "cmd_", 4) != 0)
                return -EBADMSG;
        const char *sep = strstr(text, " := ");
        const char *eol = strchr(text, '\n');
        if (!sep || (eol && eol < sep))
                return -EBADMSG;
        if (!eol)
                eol = text + strlen(text);
        f.target = strndup(text + 4, (size_t)(sep - text - 4));
        f.raw = strndup(sep + 4, (size_t)(eol - sep - 4));
        if (!f.target || !f.raw) {
                kw_cmdfile_free(&f);
                return -ENOMEM;
        }
        size_t tl = strlen(f.target);
        for (const char *p = *eol ? eol + 1 : eol; r == 0 && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                const char *v;
                if (in_deps) {
                        const char *s = p;
                        size_t l = len;
                        while (l && (*s == ' ' || *s == '\t'))
                                s++, l--;
                        bool more = l && s[l - 1] == '\\';
                        if (more)
                                l--;
                        while (l && s[l - 1] == ' ')
                                l--;
                        if (l && strncmp(s, "$(wildcard ", 11) != 0)
                                r = push(&f.deps, &f.n_deps, s, l);
                        in_deps = more;
                } else if ((v = value_of(p, len, "source_", f.target))) {
                        if (!(f.source = strndup(v, len - (size_t)(v - p))))
                                r = -ENOMEM;
                } else if (value_of(p, len, "deps_", f.target)) {
                        in_deps = true;
                } else if (len > tl && strncmp(p, f.target, tl) == 0 &&
                           strncmp(p + tl, ": $(wildcard ", 13) == 0 && memmem(p, len, "/objtool/objtool)", 17)) {
                        f.objtooldep = true;
                }
                p = nl ? nl + 1 : p + len;
        }
        if (r < 0) {
                kw_cmdfile_free(&f);
                return r;
        }
        *ret = f;
        return 0;
}

char *kw_cmd_unescape(const char *raw)
{
        char *out = malloc(strlen(raw) + 1), *o = out;

        if (!out)
                return NULL;
        for (const char *p = raw; *p;) {
                if (p[0] == '$' && p[1] == '$') {
                        *o++ = '$';
                        p += 2;
                } else if (strncmp(p, "$(pound)", 8) == 0) {
                        *o++ = '#';
                        p += 8;
                } else {
                        *o++ = *p++;
                }
        }
        *o = 0;
        return out;
}

char *kw_cmd_shquote(const char *s)
{
        size_t n = 0;

        for (const char *p = s; *p; p++)
                n += *p == '\'' ? 4 : 1;
        char *out = malloc(n + 3), *o = out;
        if (!out)
                return NULL;
        *o++ = '\'';
        for (const char *p = s; *p; p++) {
                if (*p == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else {
                        *o++ = *p;
                }
        }
        *o++ = '\'';
        *o = 0;
        return out;
}

static int copy(char *buf, size_t size, const char *s, size_t len)
{
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(buf, s, len);
        buf[len] = 0;
        return 0;
}

int kw_cmd_split_cc(const char *cmd, char *cc, size_t cc_size, char *flags, size_t flags_size, char *depfile,
                    size_t depfile_size)
{
        const char *p = cmd + strspn(cmd, " ");
        size_t wl = strcspn(p, " ");
        const char *c = strstr(p, " -c -o ");
        const char *d = strstr(p, "-Wp,-MMD,");

        if (!wl || !c || c < p + wl || !d || d > c)
                return -EINVAL;
        int r = copy(cc, cc_size, p, wl);
        const char *f = p + wl + strspn(p + wl, " ");
        if (r == 0)
                r = copy(flags, flags_size, f, f < c ? (size_t)(c - f) : 0);
        if (r == 0)
                r = copy(depfile, depfile_size, d + 9, strcspn(d + 9, " "));
        return r;
}

int kw_rp_obj_local(struct kw_rp_obj *o, const char *dir)
{
        size_t dl = strlen(dir);

        for (size_t i = 0; i <= o->f.n_deps; i++) {
                const char *d = i < o->f.n_deps ? o->f.deps[i] : o->f.source; /* fixdep lists the source apart */
                if (!d || strncmp(d, dir, dl) != 0 || d[dl] != '/')
                        continue; /* KDIR's headers: the fingerprint covers them */
                int e = push(&o->local, &o->n_local, d + dl + 1, strlen(d + dl + 1));
                if (e < 0)
                        return e;
        }
        return 0;
}

void kw_rp_state_free(struct kw_rp_state *s)
{
        if (!s)
                return;
        free(s->why_not);
        for (size_t i = 0; i < s->n_obj; i++) {
                kw_cmdfile_free(&s->obj[i].f);
                for (size_t j = 0; j < s->obj[i].n_local; j++)
                        free(s->obj[i].local[j]);
                free(s->obj[i].local);
        }
        free(s->obj);
        for (size_t i = 0; i < s->n_mod; i++) {
                kw_cmdfile_free(&s->mod[i].ko);
                kw_cmdfile_free(&s->mod[i].modo);
                kw_cmdfile_free(&s->mod[i].link);
        }
        free(s->mod);
        kw_cmdfile_free(&s->order);
        kw_cmdfile_free(&s->symvers);
        memset(s, 0, sizeof(*s));
}

void kw_rp_plan_free(struct kw_rp_plan *p)
{
        free(p->obj);
        p->obj = NULL;
        p->n = 0;
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s ? s + 1 : path;
}

static bool is_recipe_file(const char *path)
{
        const char *b = base_name(path);

        return strcmp(b, "Makefile") == 0 || strcmp(b, "makefile") == 0 || strcmp(b, "GNUmakefile") == 0 ||
               strcmp(b, "Kbuild") == 0 || strcmp(b, "Kconfig") == 0 || strcmp(b, "dkms.conf") == 0 ||
               strcmp(b, ".kmod-watch") == 0;
}

static bool is_source(const char *path)
{
        const char *dot = strrchr(base_name(path), '.');

        return dot && (strcmp(dot, ".c") == 0 || strcmp(dot, ".h") == 0 || strcmp(dot, ".S") == 0 ||
                       strcmp(dot, ".rs") == 0);
}

static bool depends_on(const struct kw_rp_obj *o, const char *rel)
{
        for (size_t i = 0; i < o->n_local; i++)
                if (strcmp(o->local[i], rel) == 0)
                        return true;
        return false;
}

/* make, and why: a, b and c one after the other */
static int make(struct kw_rp_plan *p, const char *a, const char *b, const char *c)
{
        snprintf(p->why, sizeof(p->why), "%s%s%s", a, b, c);
        return 0;
}

int kw_rp_plan(const struct kw_rp_state *s, const struct kw_rp_fp *fp, size_t n_fp, const struct kw_batch *b,
               kw_rp_exists_fn exists, void *ud, struct kw_rp_plan *p)
{
        *p = (struct kw_rp_plan){ 0 };
        if (!s)
                return make(p, "no replay state yet", "", "");
        if (s->why_not)
                return make(p, s->why_not, "", "");
        if (!b || !b->n)
                return make(p, "not a build after a save", "", "");
        for (size_t i = 0; i < s->n_fp; i++) {
                bool same = false;
                for (size_t j = 0; j < n_fp; j++)
                        if (strcmp(fp[j].label, s->fp[i].label) == 0)
                                same = strcmp(fp[j].value, s->fp[i].value) == 0;
                if (!same)
                        return make(p, s->fp[i].label, " changed", "");
        }
        if (n_fp != s->n_fp)
                return make(p, "the build's inputs changed", "", "");
        if (!(p->obj = calloc(s->n_obj ? s->n_obj : 1, sizeof(*p->obj))))
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                const char *path = b->paths[i];
                if (strcmp(path, ".") == 0)
                        return make(p, "the module directory was replaced", "", "");
                if (is_recipe_file(path))
                        return make(p, path, " changed", "");
                bool there = exists(ud, path), dep = false;
                for (size_t o = 0; o < s->n_obj; o++)
                        if (depends_on(&s->obj[o], path)) {
                                dep = true;
                                p->obj[o] = true;
                        }
                if (dep && !there)
                        return make(p, path, " deleted", "");
                if (!dep && there)
                        return is_source(path) ? make(p, "new source file ", path, "")
                                               : make(p, path, " is not a dependency of any object", "");
                if (!dep && is_source(path))
                        return make(p, path, " deleted", "");
                /* else: gone, and nothing was built from it */
        }
        for (size_t o = 0; o < s->n_obj; o++) {
                if (s->obj[o].pending)
                        p->obj[o] = true;
                if (p->obj[o])
                        p->n++;
        }
        if (!p->n)
                return make(p, "no object depends on the change", "", "");
        return (int)p->n;
}

int kw_rp_files_add(struct kw_rp_files *fs, const char *path, const char *stat)
{
        struct kw_rp_file *nv = realloc(fs->v, (fs->n + 1) * sizeof(*nv));

        if (!nv)
                return -ENOMEM;
        fs->v = nv;
        if (!(nv[fs->n].path = strdup(path)))
                return -ENOMEM;
        snprintf(nv[fs->n].stat, sizeof(nv[fs->n].stat), "%s", stat);
        fs->n++;
        return 0;
}

static int cmp_file(const void *a, const void *b)
{
        return strcmp(((const struct kw_rp_file *)a)->path, ((const struct kw_rp_file *)b)->path);
}

void kw_rp_files_sort(struct kw_rp_files *fs)
{
        if (fs->n)
                qsort(fs->v, fs->n, sizeof(*fs->v), cmp_file);
}

void kw_rp_files_free(struct kw_rp_files *fs)
{
        for (size_t i = 0; i < fs->n; i++)
                free(fs->v[i].path);
        free(fs->v);
        fs->v = NULL;
        fs->n = 0;
}

static int batch_push(struct kw_batch *b, const char *path)
{
        return push(&b->paths, &b->n, path, strlen(path));
}

int kw_rp_files_diff(const struct kw_rp_files *then, const struct kw_rp_files *now, struct kw_batch *ret)
{
        size_t i = 0, j = 0;
        int n = 0;

        while (i < then->n || j < now->n) {
                int c = i == then->n ? 1 : j == now->n ? -1 : strcmp(then->v[i].path, now->v[j].path);
                const char *changed = NULL;
                if (c < 0) {
                        changed = then->v[i++].path; /* gone */
                } else if (c > 0) {
                        changed = now->v[j++].path; /* new */
                } else {
                        if (strcmp(then->v[i].stat, now->v[j].stat) != 0)
                                changed = now->v[j].path;
                        i++, j++;
                }
                if (changed) {
                        if (batch_push(ret, changed) < 0)
                                return -ENOMEM;
                        n++;
                }
        }
        return n;
}
