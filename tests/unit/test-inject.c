/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-inject.c — `inject-agent` on real files: a gzip'd initramfs and a plain
 * one (written with cpio.c) get the agent and /kmod-watch-init appended
 * while their own bytes stay identical; the gzip'd result lists both
 * segments through zcat | cpio -t; the plain result has the new segment at
 * a 4-byte aligned offset; IN == OUT and junk are refused. The agent is any
 * executable (KMOD_WATCH_AGENT). Also the magic sniffing (pure). Skips when
 * cpio or gzip is missing.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpio.h"
#include "inject.h"
#include "test.h"

static char tmp[256];

__attribute__((format(printf, 1, 2))) static int run(const char *fmt, ...)
{
        char cmd[3 * PATH_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd);
}

static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;

        *len = 0;
        if (!f)
                return NULL;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
                *len = (size_t)n;
                buf[n] = 0;
        }
        fclose(f);
        return buf;
}

/* A user's initramfs: init + bin/ + an odd-sized file, so the end is not aligned. */
static void user_archive(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        struct kw_cpio c;

        if (fd < 0)
                return;
        kw_cpio_open(&c, fd);
        kw_cpio_add_data(&c, "init", 0755, "#!/bin/sh\necho user\n", 20);
        kw_cpio_add_dir(&c, "bin", 0755);
        kw_cpio_add_data(&c, "bin/odd", 0644, "abcde", 5);
        kw_cpio_finish(&c);
        close(fd);
}

static int inject(const char *in, const char *out)
{
        struct kw_opts o = { .arch = "x86_64", .args = { in, out }, .n_args = 2 };

        /* its report goes to stdout, which is TAP here */
        fflush(stdout);
        int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        dup2(null, STDOUT_FILENO);
        int r = kw_inject_main(&o);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        close(null);
        return r;
}

static void kinds(void)
{
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"070701000", 9), KW_INITRD_CPIO);
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"070702000", 9), KW_INITRD_CPIO);
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"\x1f\x8b\x08", 3), KW_INITRD_GZIP);
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"\xfd" "7zXZ\0", 6), KW_INITRD_COMPRESSED);
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"\x28\xb5\x2f\xfd", 4), KW_INITRD_COMPRESSED);
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"hello!", 6), KW_INITRD_UNKNOWN);
        CHECK_EQ(kw_initrd_kind((const unsigned char *)"07", 2), KW_INITRD_UNKNOWN);
}

static void gzipped(void)
{
        char in[PATH_MAX], out[PATH_MAX], plain[PATH_MAX];
        size_t in_len, out_len;

        snprintf(plain, sizeof(plain), "%s/user.cpio", tmp);
        snprintf(in, sizeof(in), "%s/user.cpio.gz", tmp);
        snprintf(out, sizeof(out), "%s/out.cpio.gz", tmp);
        user_archive(plain);
        CHECK_EQ(run("gzip -n -c %s > %s", plain, in), 0);
        CHECK_EQ(inject(in, out), 0);
        char *a = slurp(in, &in_len), *b = slurp(out, &out_len);
        CHECK(a && b && out_len > in_len && memcmp(a, b, in_len) == 0);
        /* the appended segment is a second gzip member */
        CHECK(b && out_len > in_len + 2 && (unsigned char)b[in_len] == 0x1f && (unsigned char)b[in_len + 1] == 0x8b);
        free(a);
        free(b);
        char list[PATH_MAX];
        snprintf(list, sizeof(list), "%s/list", tmp);
        /* GNU cpio stops at the first trailer: list each member on its own */
        CHECK_EQ(run("zcat %s | cpio -t --quiet > %s 2>/dev/null", out, list), 0);
        char *l = slurp(list, &in_len);
        CHECK(l && strstr(l, "init\n") && strstr(l, "bin/odd\n"));
        free(l);
        size_t n;
        char *g = slurp(in, &n); /* in_len was reused above */
        free(g);
        CHECK_EQ(run("tail -c +%zu %s | zcat | cpio -t --quiet > %s 2>/dev/null", n + 1, out, list), 0);
        l = slurp(list, &in_len);
        CHECK(l && strstr(l, "kmod-watch-init\n") && strstr(l, "kmod-watch/kmod-agent\n") && strstr(l, "dev/kmsg\n") && !strstr(l, "dev/null") && !strstr(l, "sbin"));
        free(l);
        /* the starter and the agent come out executable */
        CHECK_EQ(run("cd %s && mkdir -p x && cd x && tail -c +%zu ../out.cpio.gz | zcat | cpio -i -d --quiet "
                     "2>/dev/null", tmp, n + 1), 0);
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/x/kmod-watch-init", tmp);
        char target[PATH_MAX];
        ssize_t tn = readlink(path, target, sizeof(target) - 1);
        CHECK(tn > 0 && (target[tn] = 0, strcmp(target, "kmod-watch/kmod-agent") == 0));
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0755);
        snprintf(path, sizeof(path), "%s/x/kmod-watch/kmod-agent", tmp);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0755);
}

static void plain_cpio(void)
{
        char in[PATH_MAX], out[PATH_MAX];
        size_t in_len, out_len;

        snprintf(in, sizeof(in), "%s/user2.cpio", tmp);
        snprintf(out, sizeof(out), "%s/out2.cpio.gz", tmp);
        user_archive(in);
        /* an unaligned end, as some tools leave it */
        CHECK_EQ(run("printf 'x' >> %s", in), 0);
        CHECK_EQ(inject(in, out), 0);
        char *a = slurp(in, &in_len), *b = slurp(out, &out_len);
        CHECK(a && b && out_len > in_len && memcmp(a, b, in_len) == 0);
        size_t seg = (in_len + 3) & ~(size_t)3;
        CHECK(b && out_len > seg + 6 && memcmp(b + seg, "070701", 6) == 0);
        for (size_t i = in_len; b && i < seg; i++)
                CHECK_EQ(b[i], 0);
        CHECK(b && memmem(b + seg, out_len - seg, "kmod-watch-init", 15) != NULL);
        /* the starter is the agent: a link, no script */
        CHECK(b && memmem(b + seg, out_len - seg, "kmod-watch/kmod-agent", 21) != NULL);
        CHECK(b && memmem(b + seg, out_len - seg, "#!/bin/sh", 9) == NULL);
        free(a);
        free(b);
}

static void refusals(void)
{
        char in[PATH_MAX], junk[PATH_MAX], out[PATH_MAX];

        snprintf(in, sizeof(in), "%s/user.cpio.gz", tmp);
        snprintf(junk, sizeof(junk), "%s/junk", tmp);
        snprintf(out, sizeof(out), "%s/never", tmp);
        CHECK(inject(in, in) != 0);
        CHECK_EQ(run("printf 'hello world' > %s", junk), 0);
        CHECK(inject(junk, out) != 0);
        CHECK(access(out, F_OK) != 0);
        CHECK(inject("/nonexistent/kmod-watch", out) != 0);
}

int main(void)
{
        if (system("cpio --version >/dev/null 2>&1") != 0 || system("gzip --version >/dev/null 2>&1") != 0) {
                printf("1..0 # SKIP cpio or gzip is not installed\n");
                return 77;
        }
        snprintf(tmp, sizeof(tmp), "/tmp/kw-test-inject.XXXXXX");
        if (!mkdtemp(tmp))
                return 1;
        setenv("KMOD_WATCH_AGENT", "/bin/true", 1);
        RUN(kinds);
        RUN(gzipped);
        RUN(plain_cpio);
        RUN(refusals);
        run("rm -rf %s", tmp);
        TEST_DONE();
}
