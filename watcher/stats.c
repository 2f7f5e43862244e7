/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stats.c — a STATS RESULT read into struct kw_stats (see stats.h).
 */
#include "stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_stat(struct kw_stat **v, size_t *n, const uint8_t *p, size_t len, bool sized)
{
        char text[256];
        unsigned long long value = 0, size = 0;
        struct kw_stat *nv;
        int fields;

        if (len >= sizeof(text))
                return 0; /* nothing real is this long: skipped */
        memcpy(text, p, len);
        text[len] = 0;
        nv = realloc(*v, (*n + 1) * sizeof(**v));
        if (!nv)
                return -ENOMEM;
        *v = nv;
        nv += *n;
        fields = sscanf(text, "%63s %llu %llu", nv->name, &value, &size);
        if (fields < (sized ? 3 : 2))
                return 0;
        nv->value = value;
        nv->size = sized ? size : 0;
        (*n)++;
        return 0;
}

static int add_entry(struct kw_stats *st, const uint8_t *p, size_t len)
{
        char **nv = realloc(st->entries, (st->n_entries + 1) * sizeof(*nv));

        if (!nv)
                return -ENOMEM;
        st->entries = nv;
        nv[st->n_entries] = strndup((const char *)p, len);
        if (!nv[st->n_entries])
                return -ENOMEM;
        st->n_entries++;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int kw_stats_parse(const struct kw_frame *f, struct kw_stats *ret)
{
        struct kw_stats st = { 0 };
        const uint8_t *val;
        size_t pos = 0, len;
        uint8_t key;
        uint64_t u = 0;
        int r;

        while ((r = kw_frame_next_field(f, &pos, &key, &val, &len)) == 1) {
                if (key == KW_F_SLAB)
                        r = add_stat(&st.slab, &st.n_slab, val, len, true);
                else if (key == KW_F_MEMINFO)
                        r = add_stat(&st.mem, &st.n_mem, val, len, false);
                else if (key == KW_F_ENTRY)
                        r = add_entry(&st, val, len);
                else
                        r = 0;
                if (r < 0)
                        break;
        }
        if (r == 0 && kw_frame_u64(f, KW_F_KMEMLEAK, &u) == 0)
                st.kmemleak = u != 0;
        (void)kw_frame_u64(f, KW_F_COUNT, &st.left_out);
        (void)kw_frame_u64(f, KW_F_USEC, &st.usec);
        if (r == 0 && kw_frame_bytes(f, KW_F_TEXT, &val, &len) == 0 && len) {
                st.kmemleak_report = strndup((const char *)val, len);
                if (!st.kmemleak_report)
                        r = -ENOMEM;
        }
        if (r < 0) {
                kw_stats_free(&st);
                *ret = (struct kw_stats){ 0 };
                return r;
        }
        if (st.n_entries)
                qsort(st.entries, st.n_entries, sizeof(*st.entries), cmp_str);
        *ret = st;
        return 0;
}

void kw_stats_free(struct kw_stats *st)
{
        if (!st)
                return;
        for (size_t i = 0; i < st->n_entries; i++)
                free(st->entries[i]);
        free(st->entries);
        free(st->slab);
        free(st->mem);
        free(st->kmemleak_report);
        *st = (struct kw_stats){ 0 };
}

bool kw_stats_has_entry(const struct kw_stats *st, const char *path)
{
        return st->n_entries &&
               bsearch(&path, st->entries, st->n_entries, sizeof(*st->entries), cmp_str) != NULL;
}
