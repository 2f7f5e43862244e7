/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * matrix-plan.c — the pure rules of the matrix (matrix.h): a target's parts,
 * the worst of the targets' statuses, a child's command line.
 */
#include "matrix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kw_matrix_split(const char *target, char *arch, size_t arch_size, char *release, size_t release_size)
{
        const char *slash = strchr(target, '/');
        int n = slash ? (int)(slash - target) : (int)strlen(target);

        snprintf(arch, arch_size, "%.*s", n, target);
        snprintf(release, release_size, "%s", slash ? slash + 1 : "");
}

static int rank(int status)
{
        static const int order[] = { 0, 1, 2, 3, 5, 4 };

        for (int i = 0; i < 6; i++)
                if (order[i] == status)
                        return i;
        return status == KW_EXIT_USAGE ? 6 : 7;
}

int kw_matrix_worst(int a, int b)
{
        return rank(b) > rank(a) ? b : a;
}

const char *kw_matrix_status_words(int status)
{
        switch (status) {
        case 0: return "ok";
        case 1: return "expect failed";
        case 2: return "build failed";
        case 3: return "load failed";
        case 4: return "kernel report";
        case 5: return "no guest";
        case KW_EXIT_USAGE: return "usage error";
        default: return "stopped";
        }
}

/* The parent's own options: the results, the mode and the target. */
static bool parents(const char *name, size_t n)
{
        static const char *const own[] = { "target", "json", "junit", "ktap", "kcidb", "kcidb-origin", "lava",
                                           "arch", "release", "build-dir", "color", "no-color", "clear", "bell" };

        for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
                if (strlen(own[i]) == n && strncmp(own[i], name, n) == 0)
                        return true;
        return false;
}

char **kw_matrix_child_argv(int argc, char **argv, const char *exe, const char *arch, const char *release,
                            const char *bdir, bool compdb)
{
        char **v = calloc((size_t)argc + 12, sizeof(*v));
        size_t k = 0;

        if (!v)
                return NULL;
        v[k++] = (char *)exe;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        while (i < argc)
                                v[k++] = argv[i++];
                        break;
                }
                if (strncmp(a, "--", 2) == 0) {
                        const char *eq = strchr(a, '=');
                        size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
                        bool value = !eq && kw_opts_takes_value(a + 2, n) && i + 1 < argc;
                        if (parents(a + 2, n)) {
                                i += value;
                                continue;
                        }
                        v[k++] = argv[i];
                        if (value)
                                v[k++] = argv[++i];
                        continue;
                }
                v[k++] = argv[i];
                if (strcmp(a, "-j") == 0 && i + 1 < argc)
                        v[k++] = argv[++i];
        }
        v[k++] = "--json";
        v[k++] = "--arch";
        v[k++] = (char *)arch;
        if (release && *release) {
                v[k++] = "--release";
                v[k++] = (char *)release;
        }
        v[k++] = "--build-dir";
        v[k++] = (char *)bdir;
        if (!compdb)
                v[k++] = "--no-compile-commands";
        v[k] = NULL;
        return v;
}
