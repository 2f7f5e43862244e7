/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-cpio.c — the newc writer against GNU cpio: archives written by
 * watcher/cpio.c are listed (`cpio -t`) and extracted (`cpio -i`) into a
 * temporary directory, then names, types, modes, contents and link targets
 * are checked, and the raw bytes for the header layout, the trailer and the
 * 4-byte alignment that the kernel's initramfs unpacker needs. Also the
 * kit.env parser (pure). Skips (TAP) if cpio is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpio.h"
#include "kit.h"
#include "test.h"

static char tmp[256]; /* short: every path below fits PATH_MAX */

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
        char cmd[3 * PATH_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        if (fd < 0)
                return;
        if (write(fd, text, strlen(text)) < 0)
                perror(path);
        close(fd);
        chmod(path, mode);
}

/* The whole file into a malloc'd buffer; *len its size. */
static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t size = 0;

        *len = 0;
        if (!f)
                return NULL;
        for (;;) {
                buf = realloc(buf, size + 4096 + 1);
                size_t n = fread(buf + size, 1, 4096, f);
                size += n;
                if (n < 4096)
                        break;
        }
        fclose(f);
        buf[size] = 0;
        *len = size;
        return buf;
}

static int file_is(const char *path, const char *want)
{
        size_t len;
        char *got = slurp(path, &len);
        int ok = got && len == strlen(want) && memcmp(got, want, len) == 0;

        free(got);
        return ok;
}

static mode_t mode_of(const char *path)
{
        struct stat st;

        return lstat(path, &st) == 0 ? st.st_mode : 0;
}

/* A sample archive: every entry type, odd sizes for the padding. */
static int write_sample(const char *archive, off_t lead)
{
        char src[PATH_MAX];
        struct kw_cpio c;
        int r;

        snprintf(src, sizeof(src), "%s/src-agent", tmp);
        write_file(src, "#!/bin/sh\necho agent\n", 0700);
        int fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (lead > 0 && write(fd, "LEADING", (size_t)lead) != lead) {
                close(fd);
                return -EIO;
        }
        if ((r = kw_cpio_open(&c, fd)) < 0 ||
            (r = kw_cpio_add_dir(&c, "/sbin", 0755)) < 0 ||
            (r = kw_cpio_add_dir(&c, "etc", 0700)) < 0 ||
            (r = kw_cpio_add_file(&c, "sbin/kmod-agent", 0755, src)) < 0 ||
            (r = kw_cpio_add_file(&c, "./etc/own-mode", (mode_t)-1, src)) < 0 ||
            (r = kw_cpio_add_data(&c, "etc/five", 0640, "12345", 5)) < 0 ||
            (r = kw_cpio_add_data(&c, "etc/empty", 0600, "", 0)) < 0 ||
            (r = kw_cpio_add_symlink(&c, "etc/link", "/sbin/kmod-agent")) < 0 ||
            (r = kw_cpio_finish(&c)) < 0) {
                close(fd);
                return r;
        }
        close(fd);
        return 0;
}

static void test_list(void)
{
        char archive[PATH_MAX], list[PATH_MAX];
        size_t len;

        snprintf(archive, sizeof(archive), "%s/list.cpio", tmp);
        snprintf(list, sizeof(list), "%s/list.txt", tmp);
        CHECK_EQ(write_sample(archive, 0), 0);
        CHECK_EQ(run("cpio -t --quiet < '%s' > '%s'", archive, list), 0);
        char *got = slurp(list, &len);
        CHECK(got != NULL);
        if (got)
                CHECK(strcmp(got, "sbin\netc\nsbin/kmod-agent\netc/own-mode\netc/five\netc/empty\netc/link\n") == 0);
        if (got && strcmp(got, "sbin\netc\nsbin/kmod-agent\netc/own-mode\netc/five\netc/empty\netc/link\n"))
                printf("# cpio -t said:\n%s", got);
        free(got);
}

static void test_extract(void)
{
        char archive[PATH_MAX], out[PATH_MAX], p[PATH_MAX + 32];

        snprintf(archive, sizeof(archive), "%s/x.cpio", tmp);
        snprintf(out, sizeof(out), "%s/out", tmp);
        CHECK_EQ(write_sample(archive, 0), 0);
        CHECK_EQ(mkdir(out, 0755), 0);
        CHECK_EQ(run("cd '%s' && cpio -i -d --quiet < '%s'", out, archive), 0);

        snprintf(p, sizeof(p), "%s/sbin", out);
        CHECK(S_ISDIR(mode_of(p)));
        CHECK_EQ(mode_of(p) & 07777, 0755);
        snprintf(p, sizeof(p), "%s/etc", out);
        CHECK(S_ISDIR(mode_of(p)));
        CHECK_EQ(mode_of(p) & 07777, 0700);
        snprintf(p, sizeof(p), "%s/sbin/kmod-agent", out);
        CHECK(S_ISREG(mode_of(p)));
        CHECK_EQ(mode_of(p) & 07777, 0755);
        CHECK(file_is(p, "#!/bin/sh\necho agent\n"));
        snprintf(p, sizeof(p), "%s/etc/own-mode", out);
        CHECK_EQ(mode_of(p) & 07777, 0700);
        CHECK(file_is(p, "#!/bin/sh\necho agent\n"));
        snprintf(p, sizeof(p), "%s/etc/five", out);
        CHECK_EQ(mode_of(p) & 07777, 0640);
        CHECK(file_is(p, "12345"));
        snprintf(p, sizeof(p), "%s/etc/empty", out);
        CHECK(S_ISREG(mode_of(p)));
        CHECK(file_is(p, ""));
        snprintf(p, sizeof(p), "%s/etc/link", out);
        CHECK(S_ISLNK(mode_of(p)));
        char target[PATH_MAX] = "";
        ssize_t n = readlink(p, target, sizeof(target) - 1);
        CHECK_EQ(n, (long long)strlen("/sbin/kmod-agent"));
        if (n > 0)
                target[n] = 0;
        CHECK(strcmp(target, "/sbin/kmod-agent") == 0);
}

/* Header layout, 4-byte alignment of every header, the trailer. */
static void test_raw(void)
{
        char archive[PATH_MAX];
        size_t len;

        snprintf(archive, sizeof(archive), "%s/raw.cpio", tmp);
        CHECK_EQ(write_sample(archive, 0), 0);
        char *a = slurp(archive, &len);
        CHECK(a != NULL);
        if (!a)
                return;
        CHECK_EQ(len % 4, 0);
        CHECK(memcmp(a, "070701", 6) == 0);
        size_t off = 0, entries = 0;
        int trailer = 0;
        while (off + 110 <= len && !trailer) {
                CHECK_EQ(off % 4, 0);
                CHECK(memcmp(a + off, "070701", 6) == 0);
                if (memcmp(a + off, "070701", 6) != 0)
                        break;
                char f[9] = "";
                memcpy(f, a + off + 6 + 6 * 8, 8);
                unsigned long size = strtoul(f, NULL, 16);
                memcpy(f, a + off + 6 + 11 * 8, 8);
                unsigned long namesize = strtoul(f, NULL, 16);
                const char *name = a + off + 110;
                CHECK_EQ(name[namesize - 1], 0);
                trailer = strcmp(name, "TRAILER!!!") == 0;
                off = (off + 110 + namesize + 3) & ~(size_t)3;
                off = (off + size + 3) & ~(size_t)3;
                entries++;
        }
        CHECK(trailer);
        CHECK_EQ(entries, 8);
        CHECK_EQ(off, len); /* nothing after the trailer's padding */
        free(a);
}

/* Appending after a file whose length is not a multiple of 4: zero padding,
 * then the archive; what the kernel needs after a gzip'd base initramfs. */
static void test_align(void)
{
        char archive[PATH_MAX];
        size_t len;

        snprintf(archive, sizeof(archive), "%s/align.cpio", tmp);
        CHECK_EQ(write_sample(archive, 5), 0);
        char *a = slurp(archive, &len);
        CHECK(a != NULL);
        if (!a)
                return;
        CHECK_EQ(len % 4, 0);
        CHECK(memcmp(a, "LEADI", 5) == 0);
        CHECK(a[5] == 0 && a[6] == 0 && a[7] == 0);
        CHECK(memcmp(a + 8, "070701", 6) == 0);
        free(a);
        /* cpio itself reads the archive after the leading bytes. */
        CHECK_EQ(run("tail -c +9 '%s' | cpio -t --quiet | grep -qx sbin/kmod-agent", archive), 0);
}

/* kmod-watch's use: kit initramfs (gzip'd, any length) + the agent. */
static void test_append_agent(void)
{
        char base[PATH_MAX], agent[PATH_MAX], out[PATH_MAX], p[PATH_MAX + 32];

        snprintf(base, sizeof(base), "%s/initrd.img", tmp);
        snprintf(agent, sizeof(agent), "%s/agent-bin", tmp);
        snprintf(out, sizeof(out), "%s/agent-out", tmp);
        write_file(agent, "\177ELF fake agent", 0644);
        CHECK_EQ(run("printf 'gzip-ish-3' > '%s'", base), 0);
        int fd = open(base, O_WRONLY | O_APPEND | O_CLOEXEC);
        CHECK(fd >= 0);
        if (fd < 0)
                return;
        CHECK_EQ(kw_cpio_append_agent(fd, agent), 0);
        close(fd);
        CHECK_EQ(mkdir(out, 0755), 0);
        /* 10 bytes of "base", 2 of padding, then the archive at 12. */
        CHECK_EQ(run("cd '%s' && tail -c +13 '%s' | cpio -i -d --quiet", out, base), 0);
        snprintf(p, sizeof(p), "%s/sbin/kmod-agent", out);
        CHECK(S_ISREG(mode_of(p)));
        CHECK_EQ(mode_of(p) & 07777, 0755);
        CHECK(file_is(p, "\177ELF fake agent"));
        fd = open(base, O_WRONLY | O_APPEND | O_CLOEXEC);
        CHECK_EQ(kw_cpio_append_agent(fd, "/nonexistent/agent"), -ENOENT);
        close(fd);
}

/* A pipe has no offset: the archive starts at 0. */
static void test_pipe(void)
{
        int p[2];
        struct kw_cpio c;
        char buf[4096];

        CHECK_EQ(pipe(p), 0);
        CHECK_EQ(kw_cpio_open(&c, p[1]), 0);
        CHECK_EQ(kw_cpio_add_data(&c, "x", 0644, "y", 1), 0);
        CHECK_EQ(kw_cpio_finish(&c), 0);
        close(p[1]);
        ssize_t n = read(p[0], buf, sizeof(buf));
        close(p[0]);
        CHECK(n > 0);
        CHECK_EQ(n % 4, 0);
        CHECK_EQ((long long)c.offset, n);
        CHECK(n > 6 && memcmp(buf, "070701", 6) == 0);
}

static void test_errors(void)
{
        char archive[PATH_MAX], name[PATH_MAX + 16];
        struct kw_cpio c;

        snprintf(archive, sizeof(archive), "%s/err.cpio", tmp);
        int fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        CHECK_EQ(kw_cpio_open(&c, fd), 0);
        CHECK_EQ(kw_cpio_add_dir(&c, "", 0755), -EINVAL);
        CHECK_EQ(kw_cpio_add_dir(&c, "/", 0755), -EINVAL);
        CHECK_EQ(kw_cpio_add_file(&c, "f", 0644, "/nonexistent/file"), -ENOENT);
        CHECK_EQ(kw_cpio_add_file(&c, "d", 0644, "/"), -EINVAL);
        CHECK_EQ(kw_cpio_add_symlink(&c, "l", ""), -EINVAL);
        CHECK_EQ(kw_cpio_add_node(&c, "n", S_IFREG, 0600, 1, 3), -EINVAL);
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = 0;
        CHECK_EQ(kw_cpio_add_dir(&c, name, 0755), -ENAMETOOLONG);
        /* None of that wrote anything: the archive is still fine. */
        CHECK_EQ(c.offset, 0);
        CHECK_EQ(kw_cpio_add_node(&c, "console", S_IFCHR, 0600, 5, 1), 0);
        CHECK_EQ(kw_cpio_finish(&c), 0);
        close(fd);
        char list[PATH_MAX];
        snprintf(list, sizeof(list), "%s/err.txt", tmp);
        CHECK_EQ(run("cpio -tv --quiet < '%s' > '%s'", archive, list), 0);
        size_t len;
        char *got = slurp(list, &len);
        CHECK(got && got[0] == 'c' && strstr(got, "5,") && strstr(got, "console"));
        free(got);

        /* A failed write sticks. */
        int p[2];
        CHECK_EQ(pipe(p), 0);
        close(p[0]);
        signal(SIGPIPE, SIG_IGN);
        CHECK_EQ(kw_cpio_open(&c, p[1]), 0);
        CHECK_EQ(kw_cpio_add_dir(&c, "a", 0755), -EPIPE);
        CHECK_EQ(kw_cpio_add_data(&c, "b", 0644, "x", 1), -EPIPE);
        CHECK_EQ(kw_cpio_finish(&c), -EPIPE);
        close(p[1]);
}

static void test_kit_env(void)
{
        struct kw_kit k;
        const char *env = "# kit\n"
                          "KW_KIT_ARCH=x86_64\n"
                          "KW_KIT_RELEASE=6.1.0-56-amd64\r\n"
                          "  KW_KIT_KERNEL=/k/vmlinux\n"
                          "\n"
                          "KW_KIT_INITRD=\"/k/initramfs.cpio.gz\"\n"
                          "KW_KIT_KDIR=/k/kdir\n"
                          "KW_KIT_MACHINE=\n"
                          "KW_KIT_CONSOLE=ttyS0\n"
                          "KW_KIT_SOMETHING_NEW=ignored\n"
                          "KW_KIT_CPU=max";

        CHECK_EQ(kw_kit_parse_env(env, &k), 0);
        CHECK(strcmp(k.arch, "x86_64") == 0);
        CHECK(strcmp(k.release, "6.1.0-56-amd64") == 0);
        CHECK(strcmp(k.kernel, "/k/vmlinux") == 0);
        CHECK(strcmp(k.initrd, "/k/initramfs.cpio.gz") == 0);
        CHECK(strcmp(k.kdir, "/k/kdir") == 0);
        CHECK(strcmp(k.machine, "") == 0);
        CHECK(strcmp(k.console, "ttyS0") == 0);
        CHECK(strcmp(k.cpu, "max") == 0);
        CHECK(strcmp(k.qemu, "") == 0);
        CHECK_EQ(kw_kit_parse_env("KW_KIT_ARCH=x86_64\n", &k), -EBADMSG);
        CHECK_EQ(kw_kit_parse_env("not a line\n", &k), -EBADMSG);
        CHECK_EQ(kw_kit_parse_env("KW_KIT_ARCH=x86_64\nKW_KIT_RELEASE=r\nKW_KIT_KERNEL=k\nKW_KIT_INITRD=i\n"
                                  "KW_KIT_KDIR=\n",
                                  &k),
                 -EBADMSG);
        CHECK_EQ(kw_kit_parse_env("KW_KIT_ARCH=x86_64_but_far_too_long_for_the_field\n", &k), -ENAMETOOLONG);
}

/* kw_kit_load_from() on a fake cache. */
static void test_kit_load(void)
{
        char d[PATH_MAX], p[PATH_MAX + 64], env[4 * PATH_MAX];
        struct kw_kit k;

        snprintf(d, sizeof(d), "%s/cache/kits/x86_64/6.1.0-1-amd64", tmp);
        CHECK_EQ(run("mkdir -p '%s/kdir' && ln -s 6.1.0-1-amd64 '%s/../current'", d, d), 0);
        CHECK_EQ(kw_kit_load_from("/nonexistent", "x86_64", NULL, &k), -ENOENT);
        snprintf(p, sizeof(p), "%s/cache", tmp);
        CHECK_EQ(kw_kit_load_from(p, "x86_64", NULL, &k), -ENOENT); /* no kit.env */
        snprintf(env, sizeof(env),
                 "KW_KIT_ARCH=x86_64\nKW_KIT_RELEASE=6.1.0-1-amd64\nKW_KIT_KERNEL=%s/vmlinux\n"
                 "KW_KIT_INITRD=%s/initramfs.cpio.gz\nKW_KIT_KDIR=%s/kdir\n",
                 d, d, d);
        snprintf(p, sizeof(p), "%s/kit.env", d);
        write_file(p, env, 0644);
        snprintf(p, sizeof(p), "%s/cache", tmp);
        CHECK_EQ(kw_kit_load_from(p, "x86_64", NULL, &k), -ENOENT); /* no kernel file */
        snprintf(p, sizeof(p), "%s/vmlinux", d);
        write_file(p, "k", 0644);
        snprintf(p, sizeof(p), "%s/initramfs.cpio.gz", d);
        write_file(p, "i", 0644);
        snprintf(p, sizeof(p), "%s/cache", tmp);
        CHECK_EQ(kw_kit_load_from(p, "x86_64", NULL, &k), 0);
        CHECK(strcmp(k.dir, d) == 0 || strstr(k.dir, "6.1.0-1-amd64") != NULL);
        CHECK(strcmp(k.release, "6.1.0-1-amd64") == 0);
        CHECK_EQ(kw_kit_load_from(p, "arm64", NULL, &k), -ENOENT);
        /* the same kit copied into another cache: kit.env still names the old
         * place, which is gone; its files are found under the copy */
        CHECK_EQ(run("cp -a '%s/cache' '%s/moved' && rm -rf '%s/cache'", tmp, tmp, tmp), 0);
        snprintf(p, sizeof(p), "%s/moved", tmp);
        CHECK_EQ(kw_kit_load_from(p, "x86_64", NULL, &k), 0);
        CHECK(strncmp(k.kernel, k.dir, strlen(k.dir)) == 0 && strcmp(k.kernel + strlen(k.dir), "/vmlinux") == 0);
        CHECK(strcmp(k.kdir + strlen(k.dir), "/kdir") == 0 && strstr(k.dir, "/moved/") != NULL);
        /* a kit made from an installed tree (kmod-watch-kit from-root) in a
         * directory not named by its release: its paths are the tree's, even
         * a tree inside another kit (…/kits/x86_64/6.1.0-1-amd64/…) */
        snprintf(d, sizeof(d), "%s/moved/kits/x86_64/root-1-6.1.0-1-amd64", tmp);
        CHECK_EQ(run("mkdir -p '%s' && : > '%s/initramfs.cpio.gz'", d, d), 0);
        snprintf(env, sizeof(env),
                 "KW_KIT_ARCH=x86_64\nKW_KIT_RELEASE=6.1.0-1-amd64\n"
                 "KW_KIT_KERNEL=%s/moved/kits/x86_64/6.1.0-1-amd64/vmlinux\n"
                 "KW_KIT_INITRD=%s/initramfs.cpio.gz\nKW_KIT_KDIR=%s/moved/kits/x86_64/6.1.0-1-amd64/kdir\n",
                 tmp, d, tmp);
        snprintf(p, sizeof(p), "%s/kit.env", d);
        write_file(p, env, 0644);
        CHECK_EQ(kw_kit_load_dir(d, "x86_64", &k), 0);
        CHECK(strstr(k.kernel, "/moved/kits/x86_64/6.1.0-1-amd64/vmlinux") != NULL);
        CHECK(strstr(k.dir, "/root-1-6.1.0-1-amd64") != NULL && strstr(k.initrd, "/root-1-6.1.0-1-amd64/") != NULL);
        CHECK_EQ(kw_kit_load_dir(d, "arm64", &k), -EBADMSG);
}

int main(void)
{
        if (system("cpio --version >/dev/null 2>&1") != 0) {
                printf("1..0 # SKIP cpio is not installed\n");
                return 0;
        }
        snprintf(tmp, sizeof(tmp), "%s/test-cpio.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmp)) {
                perror("mkdtemp");
                return 1;
        }
        RUN(test_list);
        RUN(test_extract);
        RUN(test_raw);
        RUN(test_align);
        RUN(test_append_agent);
        RUN(test_pipe);
        RUN(test_errors);
        RUN(test_kit_env);
        RUN(test_kit_load);
        run("rm -rf '%s'", tmp);
        TEST_DONE();
}
