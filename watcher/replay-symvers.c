/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-symvers.c — modpost's input cut to what the modules name (see
 * replay-symvers.h): the objects' symbol tables read, the matching lines of
 * KDIR's Module.symvers written to a file of our own.
 */
#include "replay-symvers.h"

#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KSYMTAB "__ksymtab_"

static int add_name(char ***names, size_t *n, const char *s, size_t len)
{
        char **v = realloc(*names, (*n + 1) * sizeof(*v));

        if (!v)
                return -ENOMEM;
        *names = v;
        v[*n] = strndup(s, len);
        if (!v[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

/* One symbol: its name at strtab[name] (bounded by the string table). */
static int take(char ***names, size_t *n, const char *strtab, size_t strsz, uint32_t name, unsigned bind)
{
        if (name >= strsz)
                return -EBADMSG;
        const char *s = strtab + name;
        size_t l = strnlen(s, strsz - name);

        if (l == strsz - name)
                return -EBADMSG; /* not terminated inside the table */
        if (!l)
                return 0;
        if (l > strlen(KSYMTAB) && strncmp(s, KSYMTAB, strlen(KSYMTAB)) == 0) {
                int e = add_name(names, n, s + strlen(KSYMTAB), l - strlen(KSYMTAB));
                if (e < 0)
                        return e;
        }
        if (bind != STB_GLOBAL && bind != STB_WEAK)
                return 0;
        return add_name(names, n, s, l);
}

static bool inside(size_t len, uint64_t off, uint64_t size)
{
        return off <= len && size <= len - off;
}

/* The two ELF classes differ only in their structs' sizes: one body for each. */
#define ELF_NAMES(Ehdr, Shdr, Sym, ST_BIND)                                                                    \
        do {                                                                                                   \
                const Ehdr *eh = elf;                                                                          \
                if (len < sizeof(*eh) || eh->e_type != ET_REL || eh->e_shentsize != sizeof(Shdr) ||            \
                    !inside(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Shdr)))                          \
                        return -EBADMSG;                                                                       \
                const Shdr *sh = (const Shdr *)((const char *)elf + eh->e_shoff);                              \
                for (unsigned i = 0; i < eh->e_shnum; i++) {                                                   \
                        if (sh[i].sh_type != SHT_SYMTAB)                                                       \
                                continue;                                                                      \
                        if (sh[i].sh_link >= eh->e_shnum || sh[i].sh_entsize != sizeof(Sym) ||                 \
                            !inside(len, sh[i].sh_offset, sh[i].sh_size))                                      \
                                return -EBADMSG;                                                               \
                        const Shdr *st = &sh[sh[i].sh_link];                                                   \
                        if (!inside(len, st->sh_offset, st->sh_size))                                          \
                                return -EBADMSG;                                                               \
                        const Sym *sym = (const Sym *)((const char *)elf + sh[i].sh_offset);                   \
                        const char *strtab = (const char *)elf + st->sh_offset;                                \
                        for (size_t k = 0; k < sh[i].sh_size / sizeof(Sym); k++) {                             \
                                int e = take(names, n, strtab, st->sh_size, sym[k].st_name,                    \
                                             ST_BIND(sym[k].st_info));                                         \
                                if (e < 0)                                                                     \
                                        return e;                                                              \
                        }                                                                                      \
                }                                                                                              \
                return 0;                                                                                      \
        } while (0)

int kw_symvers_elf_names(const void *elf, size_t len, char ***names, size_t *n)
{
        const unsigned char *id = elf;

        if (len < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG) != 0 ||
            id[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB))
                return -ENOEXEC;
        if (id[EI_CLASS] == ELFCLASS64)
                ELF_NAMES(Elf64_Ehdr, Elf64_Shdr, Elf64_Sym, ELF64_ST_BIND);
        if (id[EI_CLASS] == ELFCLASS32)
                ELF_NAMES(Elf32_Ehdr, Elf32_Shdr, Elf32_Sym, ELF32_ST_BIND);
        return -ENOEXEC;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is the field [s, s+l) one of names (sorted)? */
static bool named(const char *s, size_t l, char *const *names, size_t n)
{
        size_t lo = 0, hi = n;

        if (l == strlen("module_layout") && memcmp(s, "module_layout", l) == 0)
                return true;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strncmp(names[mid], s, l);
                if (c == 0 && names[mid][l])
                        c = 1;
                if (c == 0)
                        return true;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

char *kw_symvers_cut_text(const char *text, size_t len, char *const *names, size_t n, size_t *ret_len)
{
        char *out = malloc(4096);
        size_t cap = 4096, used = 0;
        bool vmlinux = false;

        if (!out)
                return NULL;
        for (size_t pos = 0; pos < len;) {
                const char *line = text + pos;
                const char *nl = memchr(line, '\n', len - pos);
                size_t ll = nl ? (size_t)(nl - line) + 1 : len - pos;
                pos += ll;
                /* CRC \t SYMBOL \t MODULE \t EXPORT \t NAMESPACE */
                const char *t1 = memchr(line, '\t', ll);
                if (!t1)
                        continue;
                const char *sym = t1 + 1;
                const char *t2 = memchr(sym, '\t', (size_t)(line + ll - sym));
                if (!t2)
                        continue;
                const char *mod = t2 + 1;
                const char *t3 = memchr(mod, '\t', (size_t)(line + ll - mod));
                bool first_vmlinux = !vmlinux && t3 && t3 - mod == 7 && memcmp(mod, "vmlinux", 7) == 0;
                if (!first_vmlinux && !named(sym, (size_t)(t2 - sym), names, n))
                        continue;
                vmlinux = vmlinux || first_vmlinux;
                if (used + ll + 2 > cap) {
                        while (used + ll + 2 > cap)
                                cap *= 2;
                        char *p = realloc(out, cap);
                        if (!p) {
                                free(out);
                                return NULL;
                        }
                        out = p;
                }
                memcpy(out + used, line, ll);
                used += ll;
                if (line[ll - 1] != '\n')
                        out[used++] = '\n';
        }
        out[used] = 0;
        *ret_len = used;
        return out;
}

static void *map_file(const char *path, size_t *len)
{
        struct stat st;
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
                close(fd);
                errno = EINVAL;
                return NULL;
        }
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
                return NULL;
        *len = (size_t)st.st_size;
        return p;
}

bool kw_symvers_may_export(const char *obj)
{
        size_t len;
        void *p = map_file(obj, &len);

        if (!p)
                return true; /* let the scripts see for themselves */
        bool found = memmem(p, len, "__ksymtab", 9) != NULL;
        munmap(p, len);
        return found;
}

static int write_all(const char *path, const char *s, size_t len)
{
        char tmp[PATH_MAX + 8];

        if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
                return -ENAMETOOLONG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        for (size_t off = 0; off < len;) {
                ssize_t w = write(fd, s + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        int e = -errno;
                        close(fd);
                        unlink(tmp);
                        return e;
                }
                off += (size_t)w;
        }
        if (close(fd) < 0 || rename(tmp, path) < 0) {
                int e = -errno;
                unlink(tmp);
                return e;
        }
        return 0;
}

int kw_symvers_cut(const char *symvers, char *const *objs, size_t n_objs, const char *out)
{
        char **names = NULL;
        size_t n = 0, len = 0, cut_len = 0;
        int e = 0;

        for (size_t i = 0; e == 0 && i < n_objs; i++) {
                void *p = map_file(objs[i], &len);
                if (!p) {
                        e = -errno;
                        break;
                }
                e = kw_symvers_elf_names(p, len, &names, &n);
                munmap(p, len);
        }
        char *text = e == 0 ? map_file(symvers, &len) : NULL;
        if (e == 0 && !text)
                e = -errno;
        if (e == 0) {
                qsort(names, n, sizeof(*names), cmp_str);
                char *cut = kw_symvers_cut_text(text, len, names, n, &cut_len);
                e = cut ? write_all(out, cut, cut_len) : -ENOMEM;
                free(cut);
        }
        if (text)
                munmap(text, len);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return e;
}
