/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modinfo.c — reads a .ko's name, depends= and vermagic= straight from its ELF
 * image, for the agent (which name to delete_module) and the host (load order,
 * architecture check). Handles ELF32 and ELF64 of either byte order. The image
 * comes from a build directory and is fuzzed, so every offset and size is
 * checked against the buffer before it is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "modinfo.h"

#define ET_REL_ 1
#define SHT_NOBITS_ 8

struct elf {
        const uint8_t *p;
        size_t len;
        bool is64, be;
};

static uint64_t rd(const struct elf *e, size_t off, size_t n)
{
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v |= (uint64_t)e->p[off + i] << (8 * (e->be ? n - 1 - i : i));
        return v;
}

/* Is [off, off+size) inside the image? Written so it cannot wrap. */
static bool in_image(const struct elf *e, uint64_t off, uint64_t size)
{
        return off <= e->len && size <= e->len - off;
}

struct section {
        uint32_t name;
        uint32_t type;
        uint64_t off, size;
};

static void read_shdr(const struct elf *e, size_t at, struct section *s)
{
        s->name = (uint32_t)rd(e, at, 4);
        s->type = (uint32_t)rd(e, at + 4, 4);
        if (e->is64) {
                s->off = rd(e, at + 24, 8);
                s->size = rd(e, at + 32, 8);
        } else {
                s->off = rd(e, at + 16, 4);
                s->size = rd(e, at + 20, 4);
        }
}

/* Copies a NUL-free value; false when it does not fit. */
static bool copy_value(char *dst, size_t size, const char *v, size_t n)
{
        if (n >= size)
                return false;
        memcpy(dst, v, n);
        dst[n] = 0;
        return true;
}

/* depends= only ever loses whole names when cut short. */
static void copy_depends(char *dst, size_t size, const char *v, size_t n)
{
        if (copy_value(dst, size, v, n))
                return;
        n = size - 1;
        while (n && v[n] != ',')
                n--;
        copy_value(dst, size, v, n);
}

/* .modinfo is "key=value\0key=value\0…"; the first of each key wins. */
static void parse_modinfo(const char *p, size_t size, struct kw_modinfo *ret)
{
        bool have_name = false, have_dep = false, have_ver = false;

        while (size) {
                const char *nul = memchr(p, 0, size);
                size_t n = nul ? (size_t)(nul - p) : size;

                if (!have_name && n > 5 && !memcmp(p, "name=", 5))
                        have_name = copy_value(ret->name, sizeof(ret->name), p + 5, n - 5);
                else if (!have_dep && n >= 8 && !memcmp(p, "depends=", 8)) {
                        copy_depends(ret->depends, sizeof(ret->depends), p + 8, n - 8);
                        have_dep = true;
                } else if (!have_ver && n >= 9 && !memcmp(p, "vermagic=", 9))
                        have_ver = copy_value(ret->vermagic, sizeof(ret->vermagic), p + 9, n - 9);
                if (!nul)
                        break;
                p += n + 1;
                size -= n + 1;
        }
}

/* struct module begins with enum state and struct list_head, then the name. */
static void parse_this_module(const struct elf *e, const uint8_t *p, size_t size,
                              struct kw_modinfo *ret)
{
        size_t off = e->is64 ? 24 : 12, n;
        const uint8_t *nul;

        if (size <= off)
                return;
        n = size - off;
        if (n > KW_MODULE_NAME_LEN)
                n = KW_MODULE_NAME_LEN;
        nul = memchr(p + off, 0, n);
        if (!nul || nul == p + off)
                return;
        memcpy(ret->name, p + off, (size_t)(nul - (p + off)) + 1);
}

int kw_modinfo_parse(const void *elf, size_t len, struct kw_modinfo *ret)
{
        struct elf e = { .p = elf, .len = len };
        size_t ehsize, shentsize;
        uint64_t shoff, shnum, shstrndx;
        struct section strtab, s, modinfo = { 0 }, this_module = { 0 };
        bool have_modinfo = false, have_this = false;

        memset(ret, 0, sizeof(*ret));
        if (len < 16 || memcmp(elf, "\177ELF", 4))
                return -ENOEXEC;
        if (e.p[4] != 1 && e.p[4] != 2)
                return -ENOEXEC;
        if (e.p[5] != 1 && e.p[5] != 2)
                return -ENOEXEC;
        e.is64 = e.p[4] == 2;
        e.be = e.p[5] == 2;
        ehsize = e.is64 ? 64 : 52;
        shentsize = e.is64 ? 64 : 40;
        if (len < ehsize || rd(&e, 16, 2) != ET_REL_)
                return -ENOEXEC;

        ret->elf_class = e.p[4];
        ret->machine = (uint16_t)rd(&e, 18, 2);
        shoff = e.is64 ? rd(&e, 40, 8) : rd(&e, 32, 4);
        /* e_shentsize, e_shnum, e_shstrndx: the last three u16 of the header. */
        if (rd(&e, ehsize - 6, 2) != shentsize)
                return -ENOEXEC;
        shnum = rd(&e, ehsize - 4, 2);
        shstrndx = rd(&e, ehsize - 2, 2);
        /* shnum 0 means "extended numbering", which the kernel refuses too. */
        if (!shnum || shstrndx >= shnum || !in_image(&e, shoff, shnum * shentsize))
                return -ENOEXEC;

        read_shdr(&e, (size_t)(shoff + shstrndx * shentsize), &strtab);
        if (strtab.type == SHT_NOBITS_ || !in_image(&e, strtab.off, strtab.size))
                return -ENOEXEC;

        for (uint64_t i = 1; i < shnum; i++) {
                const char *name;
                size_t room;

                read_shdr(&e, (size_t)(shoff + i * shentsize), &s);
                if (s.name >= strtab.size)
                        continue;
                name = (const char *)e.p + strtab.off + s.name;
                room = (size_t)(strtab.size - s.name);
                if (s.type == SHT_NOBITS_ || !in_image(&e, s.off, s.size))
                        continue;
                if (!have_modinfo && room > 8 && !memcmp(name, ".modinfo", 9)) {
                        modinfo = s;
                        have_modinfo = true;
                } else if (!have_this && room > 25 &&
                           !memcmp(name, ".gnu.linkonce.this_module", 26)) {
                        this_module = s;
                        have_this = true;
                }
        }

        if (have_modinfo)
                parse_modinfo((const char *)e.p + modinfo.off, (size_t)modinfo.size, ret);
        if (!ret->name[0] && have_this)
                parse_this_module(&e, e.p + this_module.off, (size_t)this_module.size, ret);
        if (!ret->name[0])
                return -ENOENT;
        return 0;
}

int kw_modinfo_read_file(const char *path, struct kw_modinfo *ret)
{
        struct stat st;
        void *p;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode) || st.st_size < 16 || (uint64_t)st.st_size > SIZE_MAX) {
                close(fd);
                return S_ISDIR(st.st_mode) ? -EISDIR : -ENOEXEC;
        }
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        r = p == MAP_FAILED ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        r = kw_modinfo_parse(p, (size_t)st.st_size, ret);
        munmap(p, (size_t)st.st_size);
        return r;
}

const char *kw_elf_machine_name(uint16_t machine, char *buf, size_t size)
{
        switch (machine) {
        case 3:
                return "i386";
        case 40:
                return "arm";
        case 62:
                return "x86_64";
        case 183:
                return "aarch64";
        case 243:
                return "riscv";
        }
        if (!buf || !size)
                return "machine ?";
        snprintf(buf, size, "machine %u", machine);
        return buf;
}

const char *kw_vermagic_release(const char *vermagic, char *buf, size_t size)
{
        size_t n = 0;

        while (*vermagic == ' ')
                vermagic++;
        while (vermagic[n] && vermagic[n] != ' ')
                n++;
        snprintf(buf, size, "%.*s", (int)n, vermagic);
        return buf;
}
