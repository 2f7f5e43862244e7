/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * symbolize.c — see symbolize.h. The copies are memfds, so addr2line can
 * open one as /dev/fd/3 and nothing is left on disk. The symbol table is
 * read here (ELF64 little-endian: x86_64 and arm64 modules), every offset
 * checked against the image.
 */
#include "symbolize.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spawn.h"

#define KW_MAX_IMAGES 32
#define KW_MAX_KO (64u << 20)
#define KW_ADDR2LINE_MS 3000

struct image {
        char name[64];
        int fd; /* memfd, -1: free */
};

struct kw_symbolizer {
        char dir[PATH_MAX];
        char cross[128];
        struct image images[KW_MAX_IMAGES];
        unsigned next; /* round-robin victim when full */
};

int kw_symbolizer_new(const char *dir, const char *cross_compile, struct kw_symbolizer **ret)
{
        struct kw_symbolizer *z = calloc(1, sizeof(*z));

        if (!z)
                return -ENOMEM;
        snprintf(z->dir, sizeof(z->dir), "%s", dir);
        snprintf(z->cross, sizeof(z->cross), "%s", cross_compile ? cross_compile : "");
        for (int i = 0; i < KW_MAX_IMAGES; i++)
                z->images[i].fd = -1;
        *ret = z;
        return 0;
}

void kw_symbolizer_free(struct kw_symbolizer *z)
{
        if (!z)
                return;
        for (int i = 0; i < KW_MAX_IMAGES; i++)
                if (z->images[i].fd >= 0)
                        close(z->images[i].fd);
        free(z);
}

static struct image *find(struct kw_symbolizer *z, const char *name)
{
        for (int i = 0; i < KW_MAX_IMAGES; i++)
                if (z->images[i].fd >= 0 && strcmp(z->images[i].name, name) == 0)
                        return &z->images[i];
        return NULL;
}

static int copy_fd(int in, int out)
{
        char buf[65536];
        ssize_t n;

        while ((n = read(in, buf, sizeof(buf))) != 0) {
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t)(n - off));
                        if (w < 0)
                                return -errno;
                        off += w;
                }
        }
        return 0;
}

int kw_symbolizer_snapshot(struct kw_symbolizer *z, const char *name, const char *path)
{
        int in = open(path, O_RDONLY | O_CLOEXEC);

        if (in < 0)
                return -errno;
        int fd = memfd_create("kmod-watch-ko", MFD_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                close(in);
                return r;
        }
        int r = copy_fd(in, fd);
        close(in);
        if (r < 0) {
                close(fd);
                return r;
        }
        struct image *im = find(z, name);
        if (!im)
                for (int i = 0; i < KW_MAX_IMAGES && !im; i++)
                        if (z->images[i].fd < 0)
                                im = &z->images[i];
        if (!im) {
                im = &z->images[z->next++ % KW_MAX_IMAGES];
        }
        if (im->fd >= 0)
                close(im->fd);
        im->fd = fd;
        snprintf(im->name, sizeof(im->name), "%s", name);
        return 0;
}

/* ---- the symbol table ---- */

static bool inside(size_t len, uint64_t off, uint64_t size)
{
        return off <= len && size <= len - off;
}

/* Section name and value of the function (or any symbol) called name. */
static int elf_symbol(const uint8_t *p, size_t len, const char *name, char *section, size_t size,
                      uint64_t *value)
{
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *)p;

        if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
            eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
                return -ENOEXEC;
        if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % 8 || eh->e_shstrndx >= eh->e_shnum ||
            !inside(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
                return -ENOEXEC;
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(p + eh->e_shoff);
        const Elf64_Shdr *shstr = &sh[eh->e_shstrndx];
        if (!inside(len, shstr->sh_offset, shstr->sh_size))
                return -ENOEXEC;
        bool found = false;
        for (unsigned i = 0; i < eh->e_shnum && !found; i++) {
                if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
                    sh[i].sh_link >= eh->e_shnum || sh[i].sh_offset % 8 ||
                    !inside(len, sh[i].sh_offset, sh[i].sh_size))
                        continue;
                const Elf64_Shdr *str = &sh[sh[i].sh_link];
                if (!inside(len, str->sh_offset, str->sh_size))
                        continue;
                const Elf64_Sym *sym = (const Elf64_Sym *)(p + sh[i].sh_offset);
                size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
                const Elf64_Sym *best = NULL;
                for (size_t k = 0; k < n; k++) {
                        if (sym[k].st_name >= str->sh_size || sym[k].st_shndx == SHN_UNDEF ||
                            sym[k].st_shndx >= eh->e_shnum)
                                continue;
                        const char *s = (const char *)p + str->sh_offset + sym[k].st_name;
                        size_t max = str->sh_size - sym[k].st_name;
                        if (strnlen(s, max) == max || strcmp(s, name) != 0)
                                continue;
                        if (!best || ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC)
                                best = &sym[k];
                }
                if (!best)
                        continue;
                uint32_t sname = sh[best->st_shndx].sh_name;
                if (sname >= shstr->sh_size)
                        return -ENOEXEC;
                const char *s = (const char *)p + shstr->sh_offset + sname;
                size_t max = shstr->sh_size - sname;
                if (strnlen(s, max) == max)
                        return -ENOEXEC;
                snprintf(section, size, "%s", s);
                *value = best->st_value;
                found = true;
        }
        return found ? 0 : -ENOENT;
}

/* ---- addr2line ---- */

/* Runs "${cross}addr2line -e /dev/fd/3 -j SECTION 0xADDR" on image fd; its first output line. */
static int addr2line(const struct kw_symbolizer *z, int fd, const char *section, uint64_t addr, char *out,
                     size_t size)
{
        char prog[192], sect[128], a[32];

        snprintf(prog, sizeof(prog), "%saddr2line", z->cross);
        snprintf(sect, sizeof(sect), "%s", section);
        snprintf(a, sizeof(a), "0x%" PRIx64, addr);
        char *argv[] = { prog, "-e", "/dev/fd/3", "-j", sect, a, NULL };
        int r = kw_spawn_capture(argv, fd, KW_ADDR2LINE_MS, out, size);
        if (r == 127 && z->cross[0]) { /* no cross binutils: the host's may still read it */
                argv[0] = "addr2line";
                r = kw_spawn_capture(argv, fd, KW_ADDR2LINE_MS, out, size);
        }
        if (r < 0)
                return r;
        out[strcspn(out, "\n")] = 0;
        if (r != 0)
                return r == 127 ? -ENOENT : -EIO;
        return 0;
}

int kw_symbolizer_resolve(struct kw_symbolizer *z, const struct kw_oops_frame *f, char *ret_path, size_t size,
                          unsigned *ret_line)
{
        struct image *im = f->module[0] ? find(z, f->module) : NULL;
        struct stat st;
        char section[128], out[PATH_MAX + 64];
        uint64_t value;

        if (!im)
                return -ENOENT;
        if (fstat(im->fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || (uint64_t)st.st_size > KW_MAX_KO)
                return -ENOEXEC;
        size_t len = (size_t)st.st_size;
        void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, im->fd, 0);
        if (p == MAP_FAILED)
                return -errno;
        int r = elf_symbol(p, len, f->function, section, sizeof(section), &value);
        munmap(p, len);
        if (r < 0)
                return r;
        /* A return address points after its call: the call's line is one byte back. */
        uint64_t addr = value + f->offset - (!f->exact && f->offset > 0 ? 1 : 0);
        r = addr2line(z, im->fd, section, addr, out, sizeof(out));
        if (r < 0)
                return r;
        /* "/abs/hello.c:12", "/abs/hello.c:12 (discriminator 1)", "??:0", "??:?" */
        out[strcspn(out, " ")] = 0;
        char *colon = strrchr(out, ':');
        if (!colon || colon == out || strncmp(out, "??", 2) == 0)
                return -ENOENT;
        *colon = 0;
        char *end;
        unsigned long line = strtoul(colon + 1, &end, 10);
        if (end == colon + 1 || *end || line == 0 || line > UINT_MAX)
                return -ENOENT;
        snprintf(ret_path, size, "%s", out);
        *ret_line = (unsigned)line;
        return 0;
}

void kw_symbolizer_shown(const struct kw_symbolizer *z, const char *path, unsigned line, char *buf, size_t size)
{
        size_t n = strlen(z->dir);
        const char *p = path;

        if (n && strncmp(path, z->dir, n) == 0 && path[n] == '/')
                p = path + n + 1;
        snprintf(buf, size, "%s:%u", p, line);
}

int kw_source_line(const char *path, unsigned line, char *buf, size_t size)
{
        FILE *f = fopen(path, "re");
        char text[1024];
        unsigned n = 0;

        if (!f)
                return -errno;
        while (fgets(text, sizeof(text), f)) {
                size_t len = strlen(text);
                bool whole = len > 0 && text[len - 1] == '\n';
                if (++n == line) {
                        text[strcspn(text, "\r\n")] = 0;
                        snprintf(buf, size, "%s", text);
                        fclose(f);
                        return 0;
                }
                /* a line longer than the buffer: skip the rest of it */
                while (!whole && fgets(text, sizeof(text), f)) {
                        len = strlen(text);
                        whole = len > 0 && text[len - 1] == '\n';
                }
        }
        fclose(f);
        return -ENOENT;
}
