/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow.c — see shadow.h. One walk of the sources per build: cheap next to
 * the compiler, and it picks up files made or deleted since the last one.
 */
#include "shadow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int ends(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);

        return n > m && strcmp(s + n - m, suffix) == 0;
}

int kw_shadow_skip(const char *name)
{
        static const char *const products[] = { ".o", ".ko", ".mod", ".mod.c", ".a", ".order", ".symvers", ".dwo" };

        if (name[0] == '.' || strcmp(name, "compile_commands.json") == 0)
                return 1;
        for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++)
                if (ends(name, products[i]))
                        return 1;
        return 0;
}

/* The links in dst whose source is gone (deleted, renamed) go too. */
static void prune(const char *dst)
{
        DIR *d = opendir(dst);
        struct dirent *e;

        if (!d)
                return;
        while ((e = readdir(d))) {
                char p[PATH_MAX];
                struct stat st;
                if (e->d_name[0] == '.' || (size_t)snprintf(p, sizeof(p), "%s/%s", dst, e->d_name) >= sizeof(p))
                        continue;
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISLNK(st.st_mode) && stat(p, &st) < 0)
                        (void)unlink(p);
                else if (S_ISDIR(st.st_mode))
                        prune(p);
        }
        closedir(d);
}

static int sync_dir(const char *src, const char *dst, const char *top_dst, unsigned depth)
{
        if (depth > 16)
                return 0;
        if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                return -errno;
        DIR *d = opendir(src);
        if (!d)
                return -errno;
        struct dirent *e;
        int r = 0;
        while ((e = readdir(d)) && r >= 0) {
                char s[PATH_MAX], t[PATH_MAX], cur[PATH_MAX];
                struct stat st;
                if (kw_shadow_skip(e->d_name))
                        continue;
                if ((size_t)snprintf(s, sizeof(s), "%s/%s", src, e->d_name) >= sizeof(s) ||
                    (size_t)snprintf(t, sizeof(t), "%s/%s", dst, e->d_name) >= sizeof(t))
                        continue;
                if (stat(s, &st) < 0 || strcmp(s, top_dst) == 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        r = sync_dir(s, t, top_dst, depth + 1);
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                ssize_t n = readlink(t, cur, sizeof(cur) - 1);
                if (n >= 0) {
                        cur[n] = 0;
                        if (strcmp(cur, s) == 0)
                                continue;
                }
                (void)unlink(t);
                if (symlink(s, t) < 0)
                        r = -errno;
        }
        closedir(d);
        return r;
}

int kw_shadow_sync(const char *src, const char *dst)
{
        int r = sync_dir(src, dst, dst, 0);

        if (r >= 0)
                prune(dst);
        return r;
}

/* Where the next whole mention of the shadow tree (itself, or a path in it) starts, or NULL. */
static const char *mention(const char *p, const char *shadow, size_t n)
{
        for (; (p = strstr(p, shadow)); p += n) {
                char c = p[n];
                if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') && !strchr("._+-", c))
                        return p;
                if (c == 0)
                        return p;
        }
        return NULL;
}

char *kw_shadow_unmap(const char *text, const char *shadow, const char *src)
{
        size_t fn = strlen(shadow), sn = strlen(src), n = 0;

        for (const char *p = text; (p = mention(p, shadow, fn)); p += fn)
                n++;
        char *out = malloc(strlen(text) + n * sn + 1), *o = out;
        if (!out)
                return NULL;
        for (const char *p = text, *q; *p; p = q + fn) {
                q = mention(p, shadow, fn);
                if (!q) {
                        strcpy(o, p);
                        return out;
                }
                memcpy(o, p, (size_t)(q - p));
                o += q - p;
                memcpy(o, src, sn);
                o += sn;
        }
        *o = 0;
        return out;
}

int kw_shadow_copy_back(const char *shadow, const char *src, const char *name)
{
        char from[PATH_MAX], to[PATH_MAX], tmp[PATH_MAX + 8];

        if ((size_t)snprintf(from, sizeof(from), "%s/%s", shadow, name) >= sizeof(from) ||
            (size_t)snprintf(to, sizeof(to), "%s/%s", src, name) >= sizeof(to))
                return -ENAMETOOLONG;
        snprintf(tmp, sizeof(tmp), "%s.tmp", to);
        FILE *f = fopen(from, "re");
        if (!f)
                return -errno;
        char *text = NULL;
        size_t size = 0, n;
        char buf[8192];
        FILE *m = open_memstream(&text, &size);
        while (m && (n = fread(buf, 1, sizeof(buf), f)) > 0)
                fwrite(buf, 1, n, m);
        fclose(f);
        if (!m || fclose(m) != 0) {
                free(text);
                return -ENOMEM;
        }
        char *real = kw_shadow_unmap(text, shadow, src);
        free(text);
        if (!real)
                return -ENOMEM;
        int r = 0;
        FILE *o = fopen(tmp, "we");
        if (!o)
                r = -errno;
        else if (fputs(real, o) < 0 || fclose(o) != 0)
                r = -EIO;
        if (r == 0 && rename(tmp, to) < 0)
                r = -errno;
        if (r < 0)
                (void)unlink(tmp);
        free(real);
        return r;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        (void)remove(path);
        return 0;
}

int kw_shadow_keep(const char *trees, unsigned days)
{
        char parent[PATH_MAX], p[PATH_MAX * 2], stamp[PATH_MAX * 2 + 8];
        const char *slash = strrchr(trees, '/');
        time_t old = time(NULL) - (time_t)days * 86400;
        struct stat st;
        int n = 0;

        if (!slash || slash == trees || (size_t)(slash - trees) >= sizeof(parent))
                return -EINVAL;
        snprintf(stamp, sizeof(stamp), "%s/.used", trees);
        int fd = open(stamp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || futimens(fd, NULL) < 0) {
                int e = -errno;
                if (fd >= 0)
                        close(fd);
                return e;
        }
        close(fd);
        snprintf(parent, sizeof(parent), "%.*s", (int)(slash - trees), trees);
        DIR *d = opendir(parent);
        if (!d)
                return -errno;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.' || (size_t)snprintf(p, sizeof(p), "%s/%s", parent, e->d_name) >= sizeof(p) ||
                    strcmp(p, trees) == 0 || lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                snprintf(stamp, sizeof(stamp), "%s/.used", p);
                if (stat(stamp, &st) < 0 && lstat(p, &st) < 0)
                        continue;
                if (st.st_mtime < old && nftw(p, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 && lstat(p, &st) < 0)
                        n++;
        }
        closedir(d);
        return n;
}
