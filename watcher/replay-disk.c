/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-disk.c — the replay state kept between runs (see replay.h:
 * kw_replay_use_disk), so that the first build of a run, `--once` included,
 * can replay instead of making.
 *
 * What is written after each successful build is not the state itself (the
 * .cmd files kbuild wrote are that, and are read again) but what says whether
 * it still holds: the fingerprint (KDIR's real path and kernel release, its
 * config, Module.symvers and tools, the make command, ARCH, CROSS_COMPILE, the
 * KBUILD_* environment), the stat (mtime, size, inode) of every build product
 * and .cmd file, and of every source in DIR the watch's filter takes. The next
 * run replays only when the products are exactly as they were (no make by
 * hand, no `make clean`) and the fingerprint is the same; the sources whose
 * stat differs (edited while kmod-watch was not running, new, deleted) are the
 * batch kw_rp_plan() decides on, as if they had been saved while it watched.
 * A source whose mtime is not older than the build's start may have been
 * written during the build: it is recorded as unknown, so it counts as changed.
 *
 * The file: ${XDG_CACHE_HOME:-~/.cache}/kmod-watch/replay/<sha256 of DIR's real
 * path>, lines "kmod-watch replay 1", "dir\tPATH", "fp\tLABEL\tVALUE",
 * "out\tSTAT\tPATH", "src\tSTAT\tRELPATH". Files there untouched for 30 days are
 * removed when one is written.
 */
#include "replay-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "paths.h"
#include "sha256.h"
#include "ui.h"

#define KW_RP_MAGIC "kmod-watch replay 1"
#define KW_RP_MAX_SOURCES 20000
#define KW_RP_MAX_DEPTH 32
#define KW_RP_KEEP_DAYS 30

/* The state file for DIR, and its directory. */
static int state_path(const char *dir, char *path, size_t size, char *parent, size_t psize)
{
        char real[PATH_MAX], hex[2 * KW_SHA256_LEN + 1];
        uint8_t d[KW_SHA256_LEN];
        struct kw_sha256 c;

        if (!realpath(dir, real))
                return -errno;
        int e = kw_path_cache(parent, psize);
        if (e < 0)
                return e;
        if (strlen(parent) + 8 >= psize)
                return -ENAMETOOLONG;
        strcat(parent, "/replay");
        kw_sha256_init(&c);
        kw_sha256_update(&c, real, strlen(real));
        kw_sha256_final(&c, d);
        kw_sha256_hex(d, sizeof(d), hex);
        return (size_t)snprintf(path, size, "%s/%s", parent, hex) >= size ? -ENAMETOOLONG : 0;
}

int kw_rp_disk_side_file(const char *dir, const char *ext, char *path, size_t size)
{
        char parent[PATH_MAX];
        int e = state_path(dir, path, size, parent, sizeof(parent));

        if (e < 0)
                return e;
        if (strlen(path) + strlen(ext) >= size)
                return -ENAMETOOLONG;
        strcat(path, ext);
        char *slash = strrchr(parent, '/');
        *slash = 0; /* the cache directory, then its replay/ */
        (void)mkdir(parent, 0700);
        *slash = '/';
        if (mkdir(parent, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static void stat_of(const char *path, char *buf, size_t size)
{
        struct stat st;

        if (stat(path, &st) < 0)
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%lld.%09ld %lld %llu", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         (long long)st.st_size, (unsigned long long)st.st_ino);
}

static int add_file(struct kw_rp_files *fs, const char *path)
{
        char st[80];

        if (!path)
                return 0;
        stat_of(path, st, sizeof(st));
        return kw_rp_files_add(fs, path, st);
}

/* target and the .cmd kbuild keeps beside it */
static int add_target(struct kw_rp_files *fs, const char *target)
{
        char cmd[PATH_MAX * 2];
        const char *slash = target ? strrchr(target, '/') : NULL;

        if (!slash)
                return 0;
        snprintf(cmd, sizeof(cmd), "%.*s/.%s.cmd", (int)(slash - target), target, slash + 1);
        int e = add_file(fs, target);
        return e < 0 ? e : add_file(fs, cmd);
}

/* Every file the build made or kbuild keeps its records in. */
static int products(const struct kw_rp_state *s, struct kw_rp_files *fs)
{
        char mod[PATH_MAX];
        int e = 0;

        for (size_t i = 0; e == 0 && i < s->n_obj; i++)
                e = add_target(fs, s->obj[i].f.target);
        for (size_t i = 0; e == 0 && i < s->n_mod; i++) {
                const struct kw_rp_mod *m = &s->mod[i];
                size_t kl = strlen(m->ko.target);
                e = add_target(fs, m->ko.target);
                if (e == 0)
                        e = add_target(fs, m->modo.target);
                if (e == 0)
                        e = add_file(fs, m->modo.source);
                if (e == 0 && m->has_link)
                        e = add_target(fs, m->link.target);
                if (e == 0 && kl > 3) {
                        snprintf(mod, sizeof(mod), "%.*s.mod", (int)(kl - 3), m->ko.target);
                        e = add_file(fs, mod);
                }
        }
        if (e == 0)
                e = add_target(fs, s->order.target);
        if (e == 0)
                e = add_target(fs, s->symvers.target);
        kw_rp_files_sort(fs);
        return e;
}

/* The sources under root/rel the filter takes; since: a file not older is "unknown". */
static int walk(const char *root, const char *rel, const struct kw_filter *f, const struct timespec *since,
                struct kw_rp_files *fs, int depth)
{
        char path[PATH_MAX * 2], sub[PATH_MAX];
        struct stat st;

        snprintf(path, sizeof(path), "%s%s%s", root, rel[0] ? "/" : "", rel);
        DIR *d = opendir(path);
        if (!d)
                return depth ? 0 : -errno; /* a sub-directory gone meanwhile: its files are gone */
        int e = 0;
        for (struct dirent *de; e == 0 && (de = readdir(d));) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= sizeof(sub) ||
                    strpbrk(de->d_name, "\t\n")) {
                        e = -ENAMETOOLONG; /* not a name this file can hold */
                        break;
                }
                snprintf(path, sizeof(path), "%s/%s", root, sub);
                if (stat(path, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (!kw_filter_dir_ignored(f, sub))
                                e = depth < KW_RP_MAX_DEPTH ? walk(root, sub, f, since, fs, depth + 1) : -ELOOP;
                } else if (kw_filter_match(f, sub)) {
                        if (fs->n >= KW_RP_MAX_SOURCES) {
                                e = -EFBIG;
                                break;
                        }
                        bool during = since && (st.st_mtim.tv_sec > since->tv_sec ||
                                                (st.st_mtim.tv_sec == since->tv_sec &&
                                                 st.st_mtim.tv_nsec >= since->tv_nsec));
                        char v[80];
                        if (during)
                                snprintf(v, sizeof(v), "written during the build");
                        else
                                snprintf(v, sizeof(v), "%lld.%09ld %lld %llu", (long long)st.st_mtim.tv_sec,
                                         st.st_mtim.tv_nsec, (long long)st.st_size, (unsigned long long)st.st_ino);
                        e = kw_rp_files_add(fs, sub, v);
                }
        }
        closedir(d);
        return e;
}

static void prune(const char *parent)
{
        char path[PATH_MAX * 2];
        struct stat st;
        DIR *d = opendir(parent);
        time_t old = time(NULL) - (time_t)KW_RP_KEEP_DAYS * 86400;

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
                if (de->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < old)
                        unlink(path);
        }
        closedir(d);
}

static int write_state(const struct kw_replay *r, const char *dir, const char *path, const struct kw_rp_files *out,
                       const struct kw_rp_files *src)
{
        char tmp[PATH_MAX * 2 + 32], real[PATH_MAX];

        if (!realpath(dir, real))
                return -errno;
        snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
        FILE *f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fprintf(f, "%s\ndir\t%s\n", KW_RP_MAGIC, real);
        for (size_t i = 0; i < r->state->n_fp; i++)
                fprintf(f, "fp\t%s\t%s\n", r->state->fp[i].label, r->state->fp[i].value);
        for (size_t i = 0; i < out->n; i++)
                fprintf(f, "out\t%s\t%s\n", out->v[i].stat, out->v[i].path);
        for (size_t i = 0; i < src->n; i++)
                fprintf(f, "src\t%s\t%s\n", src->v[i].stat, src->v[i].path);
        int e = ferror(f) ? -EIO : 0;
        if (fclose(f) != 0 && e == 0)
                e = -errno;
        if (e == 0 && rename(tmp, path) < 0)
                e = -errno;
        if (e < 0)
                unlink(tmp);
        return e;
}

void kw_replay_persist(struct kw_replay *r, const struct kw_recipe *rc)
{
        char path[PATH_MAX * 2], parent[PATH_MAX];
        struct kw_rp_files out = { 0 }, src = { 0 };

        if (!r->disk || state_path(rc->dir, path, sizeof(path), parent, sizeof(parent)) < 0)
                return;
        int e = -EINVAL; /* nothing replayable learned: no file, no stale one */
        if (r->state && !r->state->why_not) {
                e = products(r->state, &out);
                if (e == 0)
                        e = walk(rc->dir, "", r->disk, &r->decided, &src, 0);
                if (e == 0) {
                        kw_rp_files_sort(&src);
                        (void)mkdir(parent, 0700);
                        prune(parent);
                        e = write_state(r, rc->dir, path, &out, &src);
                }
        }
        if (e < 0) {
                unlink(path);
                kw_debug("replay: no state kept for the next run (%s)", strerror(-e));
        }
        kw_rp_files_free(&out);
        kw_rp_files_free(&src);
}

/* The saved file read: the fingerprint into fp, the products and the sources. */
static int read_state(const char *path, const char *dir, struct kw_rp_fp *fp, size_t *n_fp, struct kw_rp_files *out,
                      struct kw_rp_files *src)
{
        char real[PATH_MAX];
        FILE *f = fopen(path, "re");
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int e = 0, n = 0;

        if (!f)
                return -errno;
        if (!realpath(dir, real))
                e = -errno;
        for (; e == 0 && (len = getline(&line, &cap, f)) > 0; n++) {
                if (line[len - 1] == '\n')
                        line[--len] = 0;
                char *tab = strchr(line, '\t'), *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
                if (n == 0) {
                        e = strcmp(line, KW_RP_MAGIC) == 0 ? 0 : -EBADMSG;
                } else if (n == 1) {
                        e = strncmp(line, "dir\t", 4) == 0 && strcmp(line + 4, real) == 0 ? 0 : -EBADMSG;
                } else if (!tab2) {
                        e = -EBADMSG;
                } else if (strncmp(line, "fp\t", 3) == 0) {
                        if (*n_fp >= KW_RP_FP_MAX) {
                                e = -EBADMSG;
                                break;
                        }
                        *tab2 = 0;
                        snprintf(fp[*n_fp].label, sizeof(fp[*n_fp].label), "%s", tab + 1);
                        snprintf(fp[*n_fp].value, sizeof(fp[*n_fp].value), "%s", tab2 + 1);
                        (*n_fp)++;
                } else if (strncmp(line, "out\t", 4) == 0 || strncmp(line, "src\t", 4) == 0) {
                        *tab2 = 0;
                        e = kw_rp_files_add(line[0] == 'o' ? out : src, tab2 + 1, tab + 1);
                } else {
                        e = -EBADMSG;
                }
        }
        free(line);
        fclose(f);
        if (e == 0 && n < 2)
                e = -EBADMSG;
        kw_rp_files_sort(out);
        kw_rp_files_sort(src);
        return e;
}

int kw_rp_disk_load(struct kw_replay *r, const struct kw_recipe *rc, struct kw_batch *changed, char *why,
                    size_t size)
{
        char path[PATH_MAX * 2], parent[PATH_MAX];
        struct kw_rp_fp fp[KW_RP_FP_MAX];
        struct kw_rp_files out = { 0 }, src = { 0 }, now = { 0 };
        struct kw_batch differ = { 0 };
        size_t n_fp = 0;

        snprintf(why, size, "no replay state yet");
        int e = state_path(rc->dir, path, sizeof(path), parent, sizeof(parent));
        if (e == 0)
                e = read_state(path, rc->dir, fp, &n_fp, &out, &src);
        if (e < 0) {
                if (e != -ENOENT)
                        kw_debug("replay: %s: %s", path, strerror(-e));
                goto out;
        }
        kw_rp_learn(r, rc); /* the .cmd files as they are now */
        if (r->state->why_not) {
                snprintf(why, size, "the last build's records are gone (make clean?): %s", r->state->why_not);
                e = -EINVAL;
                goto out;
        }
        e = products(r->state, &now);
        if (e == 0 && (e = kw_rp_files_diff(&out, &now, &differ)) > 0) {
                const char *p = strrchr(differ.paths[0], '/');
                snprintf(why, size, "the build's products changed since the last build (%s: a make by hand?)",
                         p ? p + 1 : differ.paths[0]);
                e = -ESTALE;
        }
        kw_rp_files_free(&now);
        if (e == 0)
                e = walk(rc->dir, "", r->disk, NULL, &now, 0);
        if (e == 0) {
                kw_rp_files_sort(&now);
                e = kw_rp_files_diff(&src, &now, changed);
        }
        if (e < 0) {
                if (e != -ESTALE)
                        snprintf(why, size, "the last run's replay state cannot be used: %s", strerror(-e));
                goto out;
        }
        memcpy(r->state->fp, fp, sizeof(fp)); /* the plan compares then with now */
        r->state->n_fp = n_fp;
        kw_debug("replay: the last run's state: %zu object%s, %zu source%s changed since", r->state->n_obj,
                 r->state->n_obj == 1 ? "" : "s", changed->n, changed->n == 1 ? "" : "s");
        e = 0;
out:
        if (e < 0 && r->state && !r->state->why_not) {
                kw_rp_state_free(r->state);
                free(r->state);
                r->state = NULL;
        }
        kw_rp_files_free(&out);
        kw_rp_files_free(&src);
        kw_rp_files_free(&now);
        kw_batch_free(&differ);
        return e < 0 ? e : 0;
}
