/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * inject.c — see inject.h. The segment matches the user's compression when
 * that is gzip (a gzip member after theirs: `zcat OUT | cpio -t` lists both,
 * and the kernel decompresses member after member); after anything else it
 * is plain newc, which every kernel unpacks. The agent does not live in
 * /sbin: in a merged-/usr initramfs sbin is a symlink, and a "sbin"
 * directory entry would replace it (and hide their /sbin/init). For the same
 * reason the segment has no "dev" entry, only dev/kmsg. /kmod-watch-init is
 * a symbolic link to the agent: run as PID 1, the agent is the starter
 * (guest-agent/rdinit.c), so the initramfs needs no shell.
 */
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpio.h"
#include "paths.h"
#include "spawn.h"
#include "ui.h"

enum kw_initrd_kind kw_initrd_kind(const unsigned char *p, size_t n)
{
        static const struct {
                const char *magic;
                size_t len;
        } compressed[] = {
                { "\xfd\x37\x7a\x58\x5a\x00", 6 }, /* xz */
                { "\x28\xb5\x2f\xfd", 4 },         /* zstd */
                { "\x02\x21\x4c\x18", 4 },         /* lz4 legacy */
                { "BZh", 3 },                      /* bzip2 */
                { "\x5d\x00\x00", 3 },             /* lzma */
                { "\x89\x4c\x5a\x4f", 4 },         /* lzo */
        };

        if (n >= 6 && (memcmp(p, "070701", 6) == 0 || memcmp(p, "070702", 6) == 0))
                return KW_INITRD_CPIO;
        if (n >= 2 && p[0] == 0x1f && (p[1] == 0x8b || p[1] == 0x9e))
                return KW_INITRD_GZIP;
        for (size_t i = 0; i < sizeof(compressed) / sizeof(compressed[0]); i++)
                if (n >= compressed[i].len && memcmp(p, compressed[i].magic, compressed[i].len) == 0)
                        return KW_INITRD_COMPRESSED;
        return KW_INITRD_UNKNOWN;
}

static int write_segment(int fd, const char *agent)
{
        struct kw_cpio c;
        int r = kw_cpio_open(&c, fd);

        if (r >= 0)
                r = kw_cpio_add_dir(&c, "kmod-watch", 0755);
        if (r >= 0)
                r = kw_cpio_add_file(&c, KW_INJECT_AGENT, 0755, agent);
        if (r >= 0)
                r = kw_cpio_add_symlink(&c, KW_INJECT_INIT, KW_INJECT_AGENT);
        /* Where the starter says, before anything is mounted, that no init
         * can run. No "dev" entry: theirs stays as it is (the kernel's
         * built-in initramfs has one), and if they have a dev/kmsg already,
         * the kernel keeps theirs. */
        if (r >= 0)
                r = kw_cpio_add_node(&c, "dev/kmsg", S_IFCHR, 0644, 1, 11);
        if (r >= 0)
                r = kw_cpio_finish(&c);
        return r;
}

/* The segment through `gzip -n` onto out (at its current offset). */
static int write_segment_gzip(int out, const char *agent)
{
        static const struct kw_spawn_opts so = { .same_group = true };
        char *argv[] = { "gzip", "-n", "-9", "-c", NULL };
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        const struct kw_spawn_fds fds = { .in = p[0], .out = out, .err = KW_SPAWN_KEEP, .fd3 = KW_SPAWN_NULL };
        int r = kw_spawn_run(argv, &so, &fds, &pid);
        close(p[0]);
        if (r < 0) {
                close(p[1]);
                return r;
        }
        r = write_segment(p[1], agent);
        close(p[1]);
        int st = kw_spawn_wait(pid);
        if (r < 0)
                return r;
        if (st < 0)
                return st;
        return st == 0 ? 0 : st == 127 ? -ENOENT : -EIO;
}

static int copy_fd(int in, int out, uint64_t *ret_bytes)
{
        char buf[65536];
        ssize_t n;

        *ret_bytes = 0;
        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t)(n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w < 0)
                                return -errno;
                        off += w;
                }
                *ret_bytes += (uint64_t)n;
        }
        return 0;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
        char msg[PATH_MAX * 2 + 256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        kw_err("inject-agent: %s", msg);
        return 1;
}

int kw_inject_main(const struct kw_opts *o)
{
        const char *in_path = o->args[0], *out_path = o->args[1];
        char agent[PATH_MAX], tmp[PATH_MAX + 16];
        unsigned char head[8];
        struct stat in_st, out_st;

        int r = kw_path_agent(o->arch, agent, sizeof(agent));
        if (r < 0)
                return fail("the %s agent is missing (%s): build kmod-watch with meson, or set KMOD_WATCH_AGENT",
                            o->arch, agent);
        int in = open(in_path, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return fail("%s: %s", in_path, strerror(errno));
        if (fstat(in, &in_st) < 0 || !S_ISREG(in_st.st_mode)) {
                close(in);
                return fail("%s is not a regular file", in_path);
        }
        if (stat(out_path, &out_st) == 0 && out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino) {
                close(in);
                return fail("OUT is IN: write the result to a new file (IN stays as it is)");
        }
        ssize_t n = pread(in, head, sizeof(head), 0);
        enum kw_initrd_kind kind = kw_initrd_kind(head, n > 0 ? (size_t)n : 0);
        if (kind == KW_INITRD_UNKNOWN) {
                close(in);
                return fail("%s is neither a cpio archive (newc) nor compressed in a way Linux unpacks "
                            "(gzip, xz, zstd, lz4, bzip2, lzma, lzo)", in_path);
        }

        snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out_path);
        int out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0) {
                close(in);
                return fail("cannot create %s: %s", tmp, strerror(errno));
        }
        uint64_t in_bytes;
        r = copy_fd(in, out, &in_bytes);
        close(in);
        if (r < 0) {
                fail("copying %s: %s", in_path, strerror(-r));
                goto failed;
        }
        signal(SIGPIPE, SIG_IGN); /* a gzip that dies is an error return, not our death */
        r = kind == KW_INITRD_GZIP ? write_segment_gzip(out, agent) : write_segment(out, agent);
        if (r < 0) {
                fail("writing the agent segment: %s%s", strerror(-r),
                     r == -ENOENT && kind == KW_INITRD_GZIP ? " (is gzip installed?)" : "");
                goto failed;
        }
        off_t total = lseek(out, 0, SEEK_END);
        if (fchmod(out, 0644) < 0 || fsync(out) < 0 || close(out) < 0) {
                out = -1;
                fail("writing %s: %s", tmp, strerror(errno));
                goto failed;
        }
        out = -1;
        if (rename(tmp, out_path) < 0) {
                fail("cannot rename %s to %s: %s", tmp, out_path, strerror(errno));
                goto failed;
        }
        printf("%s: %s unchanged (%llu bytes) + kmod-agent as /kmod-watch-init (%llu bytes%s)\n", out_path,
               in_path, (unsigned long long)in_bytes, (unsigned long long)((uint64_t)total - in_bytes),
               kind == KW_INITRD_GZIP ? ", gzip" : "");
        printf("Boot it with rdinit=/kmod-watch-init on the kernel command line (-append): the agent starts,\n"
               "then your own init runs as PID 1 (/init, else /sbin/init; kw_init=PATH picks another).\n"
               "The starter is the static agent itself: no shell is needed. If no init can run, it says\n"
               "why on the console before the kernel panics.\n"
               "Your guest kernel needs virtio_console, 9pnet_virtio and 9p, built in or loaded by your init\n"
               "('kmod-watch doctor --kdir KDIR' checks), and QEMU the arguments of 'kmod-watch qemu-args'.\n");
        return 0;
failed:
        if (out >= 0)
                close(out);
        unlink(tmp);
        return 1;
}
