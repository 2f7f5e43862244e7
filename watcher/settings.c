/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * settings.c — the .kmod-watch settings file read into long options (see
 * settings.h). Values are taken verbatim after trimming (no quoting rules to
 * learn): `expect = a  b` expects "a  b".
 *
 * Problems are printed with fprintf, not ui.h's kw_err: the settings are read
 * before the output is set up, since they may hold --json or --no-color.
 */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *trim(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = 0;
        return s;
}

int kw_settings_parse(const char *text, char ***ret_argv, size_t *ret_n, unsigned *ret_line)
{
        char **v = NULL;
        size_t n = 0;
        unsigned lineno = 0;
        int r = 0;
        char *copy = strdup(text);

        if (!copy)
                return -ENOMEM;
        for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                /* strtok_r skips empty lines: count them in the original text */
                lineno = 1;
                for (const char *p = text; p < text + (line - copy); p++)
                        lineno += *p == '\n';
                char *s = trim(line);
                if (!*s || *s == '#' || *s == ';' || *s == '[')
                        continue;
                char *eq = strchr(s, '=');
                char *name = s, *value = NULL;
                if (eq) {
                        *eq = 0;
                        name = trim(s);
                        value = trim(eq + 1);
                }
                if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name) ||
                    name[0] == '-') {
                        r = -EINVAL;
                        break;
                }
                char **nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                if (asprintf(&v[n], "--%s%s%s", name, value ? "=" : "", value ? value : "") < 0) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        free(copy);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
                free(v);
                if (ret_line)
                        *ret_line = lineno;
                return r;
        }
        *ret_argv = v;
        *ret_n = n;
        return 0;
}

/* v[i] is "--NAME" or "--NAME=…" */
static bool is_option(const char *arg, const char *name)
{
        size_t len = strlen(name);
        return !strncmp(arg, "--", 2) && !strncmp(arg + 2, name, len) && (arg[2 + len] == 0 || arg[2 + len] == '=');
}

bool kw_settings_has(char *const *v, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (is_option(v[i], name))
                        return true;
        return false;
}

size_t kw_settings_drop(char **v, size_t *n, const char *name)
{
        size_t k = 0, dropped = 0;

        for (size_t i = 0; i < *n; i++) {
                if (is_option(v[i], name)) {
                        free(v[i]);
                        dropped++;
                        continue;
                }
                v[k++] = v[i];
        }
        *n = k;
        return dropped;
}

int kw_settings_user_path(char *buf, size_t size)
{
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        int n;

        if (xdg && xdg[0] == '/')
                n = snprintf(buf, size, "%s/kmod-watch/config", xdg);
        else if (home && home[0])
                n = snprintf(buf, size, "%s/.config/kmod-watch/config", home);
        else
                return -ENOENT;
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kw_settings_load(const char *path, bool must_exist, char ***ret_argv, size_t *ret_n)
{
        *ret_argv = NULL;
        *ret_n = 0;
        FILE *f = fopen(path, "re");
        if (!f) {
                if (!must_exist && errno == ENOENT)
                        return 0;
                int r = -errno;
                fprintf(stderr, "kmod-watch: cannot read the settings file %s: %s\n", path, strerror(-r));
                return r;
        }
        char *text = NULL;
        size_t cap = 0;
        ssize_t len = getdelim(&text, &cap, '\0', f);
        fclose(f);
        if (len < 0) {
                free(text);
                return 0; /* empty file */
        }
        unsigned line = 0;
        int r = kw_settings_parse(text, ret_argv, ret_n, &line);
        free(text);
        if (r == -EINVAL)
                fprintf(stderr, "kmod-watch: %s:%u: not 'option = value' (an option is a long option's "
                        "name, like: arch = arm64)\n", path, line);
        return r;
}

int kw_settings_gather(const char *user, const char *project, bool project_must_exist, bool once,
                       char ***ret_argv, size_t *ret_n, size_t *ret_un, size_t *ret_pn)
{
        char **uset = NULL, **pset = NULL, **set = NULL;
        size_t un = 0, pn = 0, n;
        int r = 0;

        if (user[0])
                r = kw_settings_load(user, false, &uset, &un);
        if (r >= 0)
                r = kw_settings_load(project, project_must_exist, &pset, &pn);
        n = un + pn;
        if (r >= 0 && n && !(set = calloc(n, sizeof(*set))))
                r = -ENOMEM;
        if (r < 0) {
                for (size_t i = 0; i < un; i++)
                        free(uset[i]);
                for (size_t i = 0; i < pn; i++)
                        free(pset[i]);
                free(uset);
                free(pset);
                return r;
        }
        if (n) {
                memcpy(set, uset, un * sizeof(*set));
                memcpy(set + un, pset, pn * sizeof(*set));
        }
        free(uset);
        free(pset);
        if (!once && !kw_settings_has(set, n, "once"))
                (void)kw_settings_drop(set, &n, "expect");
        *ret_argv = set;
        *ret_n = n;
        *ret_un = un;
        *ret_pn = pn;
        return 0;
}
