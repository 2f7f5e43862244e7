/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-modinfo.c — reading a module's name, depends= and vermagic= from ELF.
 * The images are built here, byte by byte, for every class and byte order the
 * parser claims to handle, then damaged; a real x86_64 hello.ko (built from
 * examples/ and kept with the fuzz seeds) is read as well when present.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "test-config.h"
#include "modinfo.h"
#include "test.h"

struct sec {
        const char *name;
        const void *data;
        size_t size;
        uint32_t type; /* 0 means SHT_PROGBITS */
};

struct img {
        uint8_t *p;
        size_t len, cap;
        int is64, be;
};

static void put(struct img *im, size_t off, uint64_t v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                im->p[off + i] = (uint8_t)(v >> (8 * (im->be ? n - 1 - i : i)));
}

static size_t append(struct img *im, const void *data, size_t n, size_t align)
{
        size_t off = (im->len + align - 1) / align * align;

        if (off + n > im->cap)
                abort();
        memset(im->p + im->len, 0, off - im->len);
        if (n)
                memcpy(im->p + off, data, n);
        im->len = off + n;
        return off;
}

/* A minimal ET_REL: header, section data, .shstrtab, section headers. */
static size_t build_elf(uint8_t *buf, size_t cap, int is64, int be, uint16_t machine,
                        const struct sec *secs, size_t nsecs)
{
        struct img im = { .p = buf, .cap = cap, .is64 = is64, .be = be };
        size_t ehsize = is64 ? 64 : 52, shentsize = is64 ? 64 : 40;
        size_t offs[16], names[16], strtab_off, strtab_len = 1, shoff, shnum = nsecs + 2;
        char strtab[512] = "";

        if (nsecs > 14)
                abort();
        memset(buf, 0, ehsize);
        im.len = ehsize;
        for (size_t i = 0; i < nsecs; i++) {
                offs[i] = append(&im, secs[i].data, secs[i].size, 8);
                names[i] = strtab_len;
                strcpy(strtab + strtab_len, secs[i].name);
                strtab_len += strlen(secs[i].name) + 1;
        }
        names[nsecs] = strtab_len;
        strcpy(strtab + strtab_len, ".shstrtab");
        strtab_len += 10;
        strtab_off = append(&im, strtab, strtab_len, 1);
        shoff = append(&im, NULL, 0, 8);
        append(&im, NULL, 0, 1);
        if (shoff + shnum * shentsize > cap)
                abort();
        memset(buf + shoff, 0, shnum * shentsize);
        im.len = shoff + shnum * shentsize;

        memcpy(buf, "\177ELF", 4);
        buf[4] = is64 ? 2 : 1;
        buf[5] = be ? 2 : 1;
        buf[6] = 1;
        put(&im, 16, 1, 2); /* ET_REL */
        put(&im, 18, machine, 2);
        put(&im, 20, 1, 4);
        if (is64)
                put(&im, 40, shoff, 8);
        else
                put(&im, 32, shoff, 4);
        put(&im, ehsize - 12, ehsize, 2);
        put(&im, ehsize - 6, shentsize, 2);
        put(&im, ehsize - 4, shnum, 2);
        put(&im, ehsize - 2, shnum - 1, 2);

        for (size_t i = 0; i <= nsecs; i++) {
                size_t sh = shoff + (i + 1) * shentsize;
                uint32_t type = i < nsecs ? (secs[i].type ? secs[i].type : 1) : 3;
                uint64_t off = i < nsecs ? offs[i] : strtab_off;
                uint64_t size = i < nsecs ? secs[i].size : strtab_len;

                put(&im, sh, names[i], 4);
                put(&im, sh + 4, type, 4);
                put(&im, sh + (is64 ? 24 : 16), off, is64 ? 8 : 4);
                put(&im, sh + (is64 ? 32 : 20), size, is64 ? 8 : 4);
        }
        return im.len;
}

static const char modinfo[] = "description=test\0license=GPL\0depends=foo,bar\0"
                              "name=hello\0vermagic=6.1.0 SMP mod_unload";
static uint8_t elf[8192];

/* struct module with the name where the kernel puts it. */
static size_t this_module(uint8_t *p, int is64, const char *name)
{
        size_t off = is64 ? 24 : 12;

        memset(p, 0xaa, off);
        memset(p + off, 0, 64 + 16);
        memcpy(p + off, name, strlen(name));
        return off + 64 + 16;
}

static void test_every_class_and_order(void)
{
        for (int is64 = 0; is64 <= 1; is64++)
                for (int be = 0; be <= 1; be++) {
                        uint8_t mod[128];
                        size_t mn = this_module(mod, is64, "other");
                        struct sec secs[] = {
                                { ".text", "\x90\x90", 2 },
                                { ".gnu.linkonce.this_module", mod, mn },
                                { ".modinfo", modinfo, sizeof(modinfo) },
                        };
                        size_t len = build_elf(elf, sizeof(elf), is64, be, is64 ? 183 : 40, secs, 3);
                        struct kw_modinfo mi;

                        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);
                        CHECK(!strcmp(mi.name, "hello")); /* .modinfo wins */
                        CHECK(!strcmp(mi.depends, "foo,bar"));
                        CHECK(!strcmp(mi.vermagic, "6.1.0 SMP mod_unload"));
                        CHECK_EQ(mi.machine, is64 ? 183 : 40);
                        CHECK_EQ(mi.elf_class, is64 ? 2 : 1);
                }
}

static void test_this_module_fallback(void)
{
        for (int is64 = 0; is64 <= 1; is64++) {
                uint8_t mod[128];
                size_t mn = this_module(mod, is64, "fallback_name");
                static const char info[] = "license=GPL\0depends=";
                struct sec secs[] = {
                        { ".modinfo", info, sizeof(info) },
                        { ".gnu.linkonce.this_module", mod, mn },
                };
                size_t len = build_elf(elf, sizeof(elf), is64, 0, 62, secs, 2);
                struct kw_modinfo mi;

                CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);
                CHECK(!strcmp(mi.name, "fallback_name"));
                CHECK(!strcmp(mi.depends, ""));
                CHECK(!strcmp(mi.vermagic, ""));

                /* Only the section, no .modinfo at all. */
                len = build_elf(elf, sizeof(elf), is64, 0, 62, secs + 1, 1);
                CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);
                CHECK(!strcmp(mi.name, "fallback_name"));
        }
}

static void test_no_name(void)
{
        uint8_t mod[128];
        struct kw_modinfo mi;
        struct sec secs[2] = { { ".modinfo", "license=GPL", 12 } };
        size_t len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 1);

        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOENT);

        /* SHT_NOBITS has no bytes in the file, whatever its offset says. */
        secs[0] = (struct sec){ ".modinfo", "name=x", 7, 8 };
        len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 1);
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOENT);

        /* A name that fills the whole field has no NUL: not a name. */
        memset(mod, 'x', sizeof(mod));
        memset(mod, 0, 24);
        secs[1] = (struct sec){ ".gnu.linkonce.this_module", mod, sizeof(mod) };
        len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 2);
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOENT);

        /* Nor is a section too short to reach the name, or an empty one. */
        secs[1].size = 24;
        len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 2);
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOENT);
        memset(mod, 0, sizeof(mod));
        secs[1].size = sizeof(mod);
        len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 2);
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOENT);

        /* A name of exactly KW_MODULE_NAME_LEN - 1 characters fits. */
        memset(mod + 24, 'n', KW_MODULE_NAME_LEN - 1);
        len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 2);
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);
        CHECK_EQ(strlen(mi.name), KW_MODULE_NAME_LEN - 1);
}

static void test_modinfo_edges(void)
{
        /* No trailing NUL, an empty entry, a key without '=', a too-long
         * name= (ignored, the next one is used) and a too-long depends=. */
        static char info[2048];
        struct kw_modinfo mi;
        size_t n = 0, len;
        struct sec secs[1] = { { ".modinfo", info, 0 } };

        n += (size_t)sprintf(info + n, "name=") + 1;
        n += (size_t)sprintf(info + n, "%c", 0);
        n += (size_t)sprintf(info + n, "name") + 1;
        n += (size_t)sprintf(info + n, "name=%0*d", KW_MODULE_NAME_LEN, 0) + 1;
        n += (size_t)sprintf(info + n, "name=second") + 1;
        n += (size_t)sprintf(info + n, "name=third") + 1;
        n += (size_t)sprintf(info + n, "depends=") + 1;
        for (int i = 0; i < 100; i++)
                n += (size_t)sprintf(info + n - 1, "%smod%03d", i ? "," : "", i);
        n += (size_t)sprintf(info + n, "vermagic=abc");
        secs[0].size = n;
        len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 1);
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);
        CHECK(!strcmp(mi.name, "second"));
        CHECK(!strcmp(mi.vermagic, "abc"));
        /* Cut at a comma, so no half name. */
        CHECK(strlen(mi.depends) < sizeof(mi.depends));
        CHECK(strlen(mi.depends) > sizeof(mi.depends) - 8);
        CHECK(!strncmp(mi.depends, "mod000,mod001,", 14));
        CHECK_EQ(strlen(mi.depends) % 7, 6);
}

static void test_not_a_module(void)
{
        static const char modinfo_only[] = "name=x";
        struct sec secs[] = { { ".modinfo", modinfo_only, sizeof(modinfo_only) } };
        size_t len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 1);
        struct kw_modinfo mi;

        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);

        CHECK_EQ(kw_modinfo_parse("", 0, &mi), -ENOEXEC);
        CHECK_EQ(kw_modinfo_parse("#!/bin/sh\nexit 0\n", 17, &mi), -ENOEXEC);

        /* Every truncation: either parses (the tail held nothing it needs)
         * or fails cleanly. Section headers are last, so all fail. */
        for (size_t i = 0; i < len; i++)
                CHECK_EQ(kw_modinfo_parse(elf, i, &mi), -ENOEXEC);

        elf[16] = 2; /* ET_EXEC */
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOEXEC);
        elf[16] = 1;
        elf[4] = 3; /* no such class */
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOEXEC);
        elf[4] = 2;
        elf[5] = 0;
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), -ENOEXEC);
        elf[5] = 1;
        CHECK_EQ(kw_modinfo_parse(elf, len, &mi), 0);
}

/* Header fields pointing outside the image, one at a time. */
static void test_bad_offsets(void)
{
        static const uint64_t evil[] = { 0, 1, 0x7fffffff, 0xffffffff, 0xfffffffffffffff0ull,
                                         UINT64_MAX };
        static uint8_t copy[sizeof(elf)];
        struct sec secs[] = { { ".modinfo", modinfo, sizeof(modinfo) } };
        size_t len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 1);
        size_t shoff = elf[40] | (size_t)elf[41] << 8;
        /* e_shoff, and of section 1 (.modinfo) and 2 (.shstrtab): name,
         * offset and size. */
        const size_t fields[][2] = {
                { 40, 8 },
                { shoff + 64, 4 }, { shoff + 64 + 24, 8 }, { shoff + 64 + 32, 8 },
                { shoff + 128, 4 }, { shoff + 128 + 24, 8 }, { shoff + 128 + 32, 8 },
                { 58, 2 }, { 60, 2 }, { 62, 2 },
        };
        struct kw_modinfo mi;

        for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
                for (size_t e = 0; e < sizeof(evil) / sizeof(evil[0]); e++) {
                        struct img im = { .p = copy, .cap = sizeof(copy) };
                        int r;

                        memcpy(copy, elf, len);
                        put(&im, fields[f][0], evil[e], fields[f][1]);
                        r = kw_modinfo_parse(copy, len, &mi);
                        CHECK(r == 0 || r == -ENOEXEC || r == -ENOENT);
                        CHECK(strlen(mi.name) < sizeof(mi.name));
                }
}

static void test_machine_names(void)
{
        char buf[32];

        CHECK(!strcmp(kw_elf_machine_name(62, buf, sizeof(buf)), "x86_64"));
        CHECK(!strcmp(kw_elf_machine_name(183, buf, sizeof(buf)), "aarch64"));
        CHECK(!strcmp(kw_elf_machine_name(3, buf, sizeof(buf)), "i386"));
        CHECK(!strcmp(kw_elf_machine_name(40, buf, sizeof(buf)), "arm"));
        CHECK(!strcmp(kw_elf_machine_name(243, buf, sizeof(buf)), "riscv"));
        CHECK(!strcmp(kw_elf_machine_name(9999, buf, sizeof(buf)), "machine 9999"));
        CHECK(!strcmp(kw_elf_machine_name(9999, buf, 6), "machi"));
}

static void test_read_file(void)
{
        char path[] = "/tmp/test-modinfo-XXXXXX";
        struct sec secs[] = { { ".modinfo", modinfo, sizeof(modinfo) } };
        size_t len = build_elf(elf, sizeof(elf), 1, 0, 62, secs, 1);
        struct kw_modinfo mi;
        int fd = mkstemp(path);

        CHECK(fd >= 0);
        CHECK_EQ(write(fd, elf, len), (long long)len);
        close(fd);
        CHECK_EQ(kw_modinfo_read_file(path, &mi), 0);
        CHECK(!strcmp(mi.name, "hello"));
        fd = open(path, O_WRONLY | O_TRUNC);
        close(fd);
        CHECK_EQ(kw_modinfo_read_file(path, &mi), -ENOEXEC);
        unlink(path);
        CHECK_EQ(kw_modinfo_read_file(path, &mi), -ENOENT);
        CHECK_EQ(kw_modinfo_read_file("/", &mi), -EISDIR);
}

/* The real thing, built from examples/00-kernel_module_hello with Debian's
 * 6.1 headers and stripped of debug info. */
static void test_real_module(void)
{
        static const char *const dir = KW_SOURCEDIR "/fuzz/corpus/fuzz-modinfo/";
        char path[512];
        struct kw_modinfo mi;

        snprintf(path, sizeof(path), "%shello.ko.bin", dir);
        if (access(path, R_OK) < 0) {
                printf("# skipped: no %s\n", path);
                return;
        }
        CHECK_EQ(kw_modinfo_read_file(path, &mi), 0);
        CHECK(!strcmp(mi.name, "hello"));
        CHECK(!strcmp(mi.depends, ""));
        CHECK(!strncmp(mi.vermagic, "6.1.0-56-amd64 SMP", 18));
        CHECK_EQ(mi.machine, 62);
        CHECK_EQ(mi.elf_class, 2);

        snprintf(path, sizeof(path), "%shello-nomodinfo.ko.bin", dir);
        CHECK_EQ(kw_modinfo_read_file(path, &mi), 0);
        CHECK(!strcmp(mi.name, "hello"));
        CHECK(!strcmp(mi.vermagic, ""));

        snprintf(path, sizeof(path), "%susecrc.ko.bin", dir);
        CHECK_EQ(kw_modinfo_read_file(path, &mi), 0);
        CHECK(!strcmp(mi.name, "usecrc"));
        CHECK(!strcmp(mi.depends, "libcrc32c,crc-t10dif"));
}

static void test_vermagic_release(void)
{
        char buf[64];

        CHECK(!strcmp(kw_vermagic_release("6.1.0-57-amd64 SMP preempt mod_unload modversions ", buf, sizeof(buf)),
                      "6.1.0-57-amd64"));
        CHECK(!strcmp(kw_vermagic_release("6.1.0-57-arm64", buf, sizeof(buf)), "6.1.0-57-arm64"));
        CHECK(!strcmp(kw_vermagic_release("", buf, sizeof(buf)), ""));
        CHECK(!strcmp(kw_vermagic_release("6.1.0-57-amd64 SMP", buf, 4), "6.1"));
}

int main(void)
{
        RUN(test_vermagic_release);
        RUN(test_every_class_and_order);
        RUN(test_this_module_fallback);
        RUN(test_no_name);
        RUN(test_modinfo_edges);
        RUN(test_not_a_module);
        RUN(test_bad_offsets);
        RUN(test_machine_names);
        RUN(test_read_file);
        RUN(test_real_module);
        TEST_DONE();
}
