/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modules.c — which modules a save unloads and loads, in which order (pure).
 */
#include "modules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kw_modlist_add(struct kw_modlist *l, const struct kw_module *m)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 8;
                struct kw_module *v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = cap;
        }
        l->v[l->n++] = *m;
        return 0;
}

void kw_modlist_free(struct kw_modlist *l)
{
        free(l->v);
        *l = (struct kw_modlist){ 0 };
}

bool kw_module_depends_on(const struct kw_module *m, const char *name)
{
        size_t len = strlen(name);

        for (const char *p = m->depends; *p;) {
                size_t n = strcspn(p, ",");
                if (n == len && strncmp(p, name, len) == 0)
                        return true;
                p += n + (p[n] == ',');
        }
        return false;
}

const struct kw_module *kw_modules_find(const struct kw_module *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        return NULL;
}

void kw_modules_names(const struct kw_module *v, size_t n, char *buf, size_t size)
{
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n && used < size - 1; i++) {
                int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", v[i].name);
                if (w < 0)
                        break;
                used += (size_t)w;
        }
}

int kw_modules_order(struct kw_module *v, size_t n_v)
{
        struct kw_module *sorted = calloc(n_v ? n_v : 1, sizeof(*sorted));
        bool *placed = calloc(n_v ? n_v : 1, sizeof(*placed));
        size_t n = 0;
        int r = 0;

        if (!sorted || !placed) {
                r = -ENOMEM;
                goto out;
        }
        while (n < n_v) {
                size_t before = n;
                for (size_t i = 0; i < n_v; i++) {
                        if (placed[i])
                                continue;
                        bool ready = true;
                        for (size_t j = 0; j < n_v && ready; j++)
                                if (j != i && !placed[j] && kw_module_depends_on(&v[i], v[j].name))
                                        ready = false;
                        if (!ready)
                                continue;
                        sorted[n++] = v[i];
                        placed[i] = true;
                }
                if (n == before) {
                        r = -ELOOP;
                        goto out;
                }
        }
        memcpy(v, sorted, n * sizeof(sorted[0]));
out:
        free(sorted);
        free(placed);
        return r;
}

struct kw_plan kw_modules_plan(struct kw_module *built, size_t n_built, struct kw_modlist *loaded, bool force)
{
        struct kw_plan p = { 0 };

        /* a module of this build that an earlier run left loaded is stale: its hash is unknown */
        for (size_t i = 0; i < n_built; i++)
                if (!kw_modules_find(loaded->v, loaded->n, built[i].name)) {
                        struct kw_module stale = built[i];
                        memset(stale.hash, 0, sizeof(stale.hash));
                        (void)kw_modlist_add(loaded, &stale); /* no memory: not checked, as before */
                }
        for (size_t i = 0; i < n_built; i++) {
                struct kw_module *b = &built[i];
                const struct kw_module *l = kw_modules_find(loaded->v, loaded->n, b->name);
                b->reload = force || !l || memcmp(l->hash, b->hash, KW_SHA256_LEN) != 0;
                for (size_t j = 0; j < i && !b->reload; j++)
                        b->reload = built[j].reload && kw_module_depends_on(b, built[j].name);
                p.reload += b->reload;
        }
        /* stable partition: kept ones first, in load order; then the ones to unload */
        for (size_t j = 0; j < loaded->n; j++) {
                const struct kw_module *b = kw_modules_find(built, n_built, loaded->v[j].name);
                if (b && !b->reload) {
                        struct kw_module m = loaded->v[j];
                        memmove(&loaded->v[p.keep + 1], &loaded->v[p.keep], (j - p.keep) * sizeof(m));
                        loaded->v[p.keep++] = m;
                } else {
                        p.drop++;
                }
        }
        return p;
}

void kw_module_params(const char *const *param, size_t n_param, const char *module, char *buf, size_t size)
{
        size_t n = 0;
        size_t mlen = strlen(module);

        buf[0] = 0;
        for (size_t i = 0; i < n_param; i++) {
                const char *p = param[i];
                const char *eq = strchr(p, '=');
                const char *dot = eq ? memchr(p, '.', (size_t)(eq - p)) : NULL;
                if (dot) {
                        if ((size_t)(dot - p) != mlen || strncmp(p, module, mlen) != 0)
                                continue;
                        p = dot + 1;
                }
                int w = snprintf(buf + n, size - n, "%s%s", n ? " " : "", p);
                if (w < 0 || (size_t)w >= size - n)
                        break;
                n += (size_t)w;
        }
}
