/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-kdeps.c — libFuzzer target for the module-index reader (common/kdeps.c).
 * The input is split at 0x01 bytes into modules.dep, modules.softdep,
 * modules.builtin, modules.alias, modules.symbols, then the depends= list and
 * a symbol name. Whatever the text, the closure stays within its bounds, lists
 * each module once, never a built-in one, and names are NUL-terminated.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kdeps.h"

#define PARTS 7

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct kw_kdeps_list l;
        char *text = malloc(size + 1), *part[PARTS] = { 0 };
        char m[KW_MODULE_NAME_LEN];
        int n = 0;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        part[n++] = text;
        for (size_t i = 0; i < size && n < PARTS; i++)
                if (text[i] == '\x01') {
                        text[i] = '\0';
                        part[n++] = text + i + 1;
                }
        const struct kw_kdeps_db db = { part[0], part[1], part[2], part[3] };

        kw_kdeps_closure(&db, part[5], &l);
        if (l.n < 0 || l.n > KW_KDEPS_MAX || !memchr(l.missing, 0, sizeof(l.missing)))
                abort();
        for (int i = 0; i < l.n; i++) {
                if (!memchr(l.mod[i].name, 0, sizeof(l.mod[i].name)) ||
                    !memchr(l.mod[i].path, 0, sizeof(l.mod[i].path)))
                        abort();
                if (kw_kdeps_builtin(part[2], l.mod[i].name))
                        abort();
                for (int j = 0; j < i; j++)
                        if (kw_kdeps_name_eq(l.mod[i].name, l.mod[j].name))
                                abort();
        }
        int r = kw_kdeps_provider(part[4], part[6] ? part[6] : "", m, sizeof(m));
        if ((r != 0 && r != -ENOENT) || (r == 0 && !memchr(m, 0, sizeof(m))))
                abort();
        free(text);
        return 0;
}
