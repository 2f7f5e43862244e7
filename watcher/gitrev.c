/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gitrev.c — see gitrev.h. Reads gitrepository-layout(5)'s files: HEAD,
 * refs/…, packed-refs, and a worktree's gitdir and commondir.
 */
#include "gitrev.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The first line of a file, without its newline; -errno. */
static int first_line(const char *path, char *buf, size_t size)
{
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        bool got = fgets(buf, (int)size, f) != NULL;
        fclose(f);
        if (!got)
                return -ENOENT;
        buf[strcspn(buf, "\r\n")] = 0;
        return 0;
}

static bool is_hash(const char *s)
{
        return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* The .git directory of DIR or a parent: gitdir (HEAD), common (refs). */
static int find_git(const char *dir, char *gitdir, char *common)
{
        char path[PATH_MAX], line[PATH_MAX];
        struct stat st;

        if (!realpath(dir, path))
                return -errno;
        for (;;) {
                size_t n = strlen(path);
                snprintf(path + n, sizeof(path) - n, "/.git");
                if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
                        snprintf(gitdir, PATH_MAX, "%s", path);
                        snprintf(common, PATH_MAX, "%s", path);
                        return 0;
                }
                if (stat(path, &st) == 0 && first_line(path, line, sizeof(line)) == 0 &&
                    strncmp(line, "gitdir: ", 8) == 0) {
                        path[n] = 0;
                        if (line[8] == '/')
                                snprintf(gitdir, PATH_MAX, "%s", line + 8);
                        else
                                snprintf(gitdir, PATH_MAX, "%.2000s/%.2000s", path, line + 8);
                        snprintf(path, sizeof(path), "%.4000s/commondir", gitdir);
                        if (first_line(path, line, sizeof(line)) < 0)
                                snprintf(common, PATH_MAX, "%s", gitdir);
                        else if (line[0] == '/')
                                snprintf(common, PATH_MAX, "%s", line);
                        else
                                snprintf(common, PATH_MAX, "%.2000s/%.2000s", gitdir, line);
                        return 0;
                }
                path[n] = 0;
                char *slash = strrchr(path, '/');
                if (!slash || slash == path)
                        return -ENOENT;
                *slash = 0;
        }
}

static int packed_ref(const char *common, const char *ref, char *commit)
{
        char path[PATH_MAX + 16], line[1024];
        FILE *f;

        snprintf(path, sizeof(path), "%s/packed-refs", common);
        f = fopen(path, "re");
        if (!f)
                return -ENOENT;
        int r = -ENOENT;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\r\n")] = 0;
                if (strlen(line) > 41 && line[40] == ' ' && strcmp(line + 41, ref) == 0) {
                        snprintf(commit, 41, "%.40s", line);
                        r = 0;
                        break;
                }
        }
        fclose(f);
        return r;
}

int kw_gitrev(const char *dir, struct kw_gitrev *ret)
{
        char gitdir[PATH_MAX], common[PATH_MAX], path[PATH_MAX + 300], head[240];

        *ret = (struct kw_gitrev){ 0 };
        if (find_git(dir, gitdir, common) < 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "%s/HEAD", gitdir);
        if (first_line(path, head, sizeof(head)) < 0)
                return -ENOENT;
        if (strncmp(head, "ref: ", 5) != 0) {
                snprintf(ret->commit, sizeof(ret->commit), "%.40s", head);
                return is_hash(ret->commit) ? 0 : -ENOENT;
        }
        const char *ref = head + 5;
        if (strncmp(ref, "refs/heads/", 11) == 0)
                snprintf(ret->branch, sizeof(ret->branch), "%s", ref + 11);
        snprintf(path, sizeof(path), "%s/%s", common, ref);
        if (first_line(path, ret->commit, sizeof(ret->commit)) < 0 && packed_ref(common, ref, ret->commit) < 0)
                return -ENOENT;
        return is_hash(ret->commit) ? 0 : -ENOENT;
}
