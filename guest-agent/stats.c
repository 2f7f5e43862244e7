/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stats.c — the STATS request (see stats.h and doc/protocol.md).
 *
 * /proc/slabinfo's active_objs counts the objects of the slabs a CPU holds as
 * in use (SLUB), so an object freed or leaked moves the count by a whole slab
 * now and then; with KW_STATS_SHRINK each cache is flushed first (its sysfs
 * `shrink`), which makes the count exact. Listings are names only: nothing
 * here opens an entry a module left behind, whose code may be gone.
 */
#include "stats.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define ROOM_AFTER 96 /* ERRNO, COUNT, KMEMLEAK and USEC still fit after the lists */
#define KMEMLEAK "/sys/kernel/debug/kmemleak"

static void write_one(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0)
                return;
        (void)!write(fd, text, strlen(text));
        close(fd);
}

/* Flushes every slab cache (merged caches are listed once as a directory,
 * their other names are symlinks to it). */
static void shrink_caches(void)
{
        DIR *d = opendir("/sys/kernel/slab");
        struct dirent *e;
        char path[512];

        if (!d)
                return;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || e->d_type != DT_DIR)
                        continue;
                snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", e->d_name);
                write_one(path, "1");
        }
        closedir(d);
}

static int put(struct kw_msg *m, enum kw_field key, const char *text, uint64_t *left_out)
{
        size_t n = strlen(text);

        if (!kw_msg_fits(m, n + ROOM_AFTER)) {
                (*left_out)++;
                return -ENOBUFS;
        }
        kw_msg_put_bytes(m, key, text, n);
        return 0;
}

/* "name active_objs num_objs objsize …" → "name active objsize" */
static int slabinfo(struct kw_msg *m, uint64_t *left_out)
{
        FILE *f = fopen("/proc/slabinfo", "re");
        char line[512], name[128], out[200];
        unsigned long long active, total, size;

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "%127s %llu %llu %llu", name, &active, &total, &size) != 4)
                        continue; /* the version line and the column header */
                snprintf(out, sizeof(out), "%s %llu %llu", name, active, size);
                (void)put(m, KW_F_SLAB, out, left_out);
        }
        fclose(f);
        return 0;
}

/* "MemFree:  123 kB" → "MemFree 123" */
static void meminfo(struct kw_msg *m, uint64_t *left_out)
{
        FILE *f = fopen("/proc/meminfo", "re");
        char line[256], key[64], out[100];
        unsigned long long kb;

        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                if (sscanf(line, "%63[^:]: %llu", key, &kb) != 2)
                        continue;
                snprintf(out, sizeof(out), "%s %llu", key, kb);
                (void)put(m, KW_F_MEMINFO, out, left_out);
        }
        fclose(f);
}

static bool numeric(const char *s)
{
        for (; *s; s++)
                if (*s < '0' || *s > '9')
                        return false;
        return true;
}

/* The names in dir (depth 2: and in each of its subdirectories), processes left out. */
static void list(struct kw_msg *m, const char *dir, int depth, uint64_t *left_out)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char path[1024];

        if (!d)
                return;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.' || numeric(e->d_name))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                if (depth > 1)
                        list(m, path, depth - 1, left_out);
                else
                        (void)put(m, KW_F_ENTRY, path, left_out);
        }
        closedir(d);
}

/* kmemleak has a parameter (verbose), so a kernel with it has /sys/module/kmemleak:
 * no need to mount debugfs just to ask. */
static bool have_kmemleak(void)
{
        return access("/sys/module/kmemleak", F_OK) == 0;
}

/* kmemleak's report after a scan (the scan blocks for a while: only when asked). */
static void kmemleak_report(struct kw_msg *m)
{
        static char text[KW_MAX_PAYLOAD];
        int fd;
        ssize_t n;
        size_t len = 0;

        if (access(KMEMLEAK, F_OK) < 0)
                (void)mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
        write_one(KMEMLEAK, "scan");
        fd = open(KMEMLEAK, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        while (len < sizeof(text) - 1 && (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
                len += (size_t)n;
        close(fd);
        text[len] = 0;
        if (len && kw_msg_fits(m, 64 + ROOM_AFTER))
                kw_msg_put_str_trunc(m, KW_F_TEXT, text);
}

void stats_request(const struct kw_frame *f, struct kw_msg *m)
{
        uint64_t flags = 0, left_out = 0, start = now_usec();
        bool kmemleak;
        int r;

        if (kw_frame_u64(f, KW_F_FLAGS, &flags) == -EBADMSG) {
                result_error(m, EBADMSG, "bad FLAGS");
                return;
        }
        if (flags & KW_STATS_SHRINK)
                shrink_caches();
        r = slabinfo(m, &left_out);
        if (r < 0) {
                result_error(m, -r, "cannot read /proc/slabinfo: %s", strerror(-r));
                return;
        }
        meminfo(m, &left_out);
        kmemleak = have_kmemleak();
        kw_msg_put_u64(m, KW_F_KMEMLEAK, kmemleak);
        list(m, "/sys/module", 1, &left_out);
        list(m, "/sys/class", 2, &left_out);
        list(m, "/sys/kernel", 1, &left_out);
        list(m, "/proc", 1, &left_out);
        if (kmemleak && (flags & KW_STATS_KMEMLEAK))
                kmemleak_report(m);
        if (left_out)
                kw_msg_put_u64(m, KW_F_COUNT, left_out);
        kw_msg_put_u64(m, KW_F_USEC, now_usec() - start);
}
