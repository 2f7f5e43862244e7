/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-symvers.c — modpost's input cut (replay-symvers.c): the symbol names of
 * an ELF relocatable object (one built here, section by section, as gcc lays
 * it out), and the lines of a Module.symvers those names keep.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "replay-symvers.h"
#include "test.h"

/* An ET_REL object: header, .symtab, .strtab, then the section headers. */
struct obj {
        Elf64_Ehdr eh;
        Elf64_Sym sym[6];
        char str[96];
        Elf64_Shdr sh[3];
};

static size_t add_str(struct obj *o, size_t *at, const char *s)
{
        size_t off = *at;

        strcpy(o->str + off, s);
        *at += strlen(s) + 1;
        return off;
}

static void make_obj(struct obj *o)
{
        size_t at = 1;

        memset(o, 0, sizeof(*o));
        memcpy(o->eh.e_ident, ELFMAG, SELFMAG);
        o->eh.e_ident[EI_CLASS] = ELFCLASS64;
        o->eh.e_ident[EI_DATA] = ELFDATA2LSB;
        o->eh.e_type = ET_REL;
        o->eh.e_shoff = offsetof(struct obj, sh);
        o->eh.e_shentsize = sizeof(Elf64_Shdr);
        o->eh.e_shnum = 3;
        /* sym[0] is the null symbol */
        o->sym[1] = (Elf64_Sym){ .st_name = add_str(o, &at, "_printk"),
                                 .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE) }; /* undefined */
        o->sym[2] = (Elf64_Sym){ .st_name = add_str(o, &at, "helper"),
                                 .st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC), .st_shndx = 1 };
        o->sym[3] = (Elf64_Sym){ .st_name = add_str(o, &at, "__ksymtab_my_export"),
                                 .st_info = ELF64_ST_INFO(STB_LOCAL, STT_OBJECT), .st_shndx = 1 };
        o->sym[4] = (Elf64_Sym){ .st_name = add_str(o, &at, "maybe_there"),
                                 .st_info = ELF64_ST_INFO(STB_WEAK, STT_NOTYPE) };
        o->sym[5] = (Elf64_Sym){ .st_name = add_str(o, &at, "init_module"),
                                 .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), .st_shndx = 1 };
        o->sh[1] = (Elf64_Shdr){ .sh_type = SHT_SYMTAB, .sh_offset = offsetof(struct obj, sym),
                                 .sh_size = sizeof(o->sym), .sh_link = 2, .sh_entsize = sizeof(Elf64_Sym) };
        o->sh[2] = (Elf64_Shdr){ .sh_type = SHT_STRTAB, .sh_offset = offsetof(struct obj, str),
                                 .sh_size = at };
}

static bool has(char **v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

static void free_names(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void test_elf_names(void)
{
        struct obj o;
        char **v = NULL;
        size_t n = 0;

        make_obj(&o);
        CHECK_EQ(kw_symvers_elf_names(&o, sizeof(o), &v, &n), 0);
        CHECK_EQ(n, 4);
        CHECK(has(v, n, "_printk"));     /* what it imports */
        CHECK(has(v, n, "maybe_there")); /* weak */
        CHECK(has(v, n, "init_module")); /* what it defines */
        CHECK(has(v, n, "my_export"));   /* __ksymtab_my_export: what it exports */
        CHECK(!has(v, n, "helper") && !has(v, n, "__ksymtab_my_export"));
        free_names(v, n);
}

static void test_elf_bad(void)
{
        struct obj o;
        char **v = NULL;
        size_t n = 0;

        make_obj(&o);
        CHECK_EQ(kw_symvers_elf_names("not an object at all", 20, &v, &n), -ENOEXEC);
        CHECK_EQ(kw_symvers_elf_names(&o, 8, &v, &n), -ENOEXEC);
        o.sh[1].sh_size = 1u << 20; /* the symbol table past the end */
        CHECK_EQ(kw_symvers_elf_names(&o, sizeof(o), &v, &n), -EBADMSG);
        make_obj(&o);
        o.sym[5].st_name = 4000; /* a name outside the string table */
        CHECK_EQ(kw_symvers_elf_names(&o, sizeof(o), &v, &n), -EBADMSG);
        make_obj(&o);
        o.eh.e_shoff = sizeof(o); /* the section headers past the end */
        CHECK_EQ(kw_symvers_elf_names(&o, sizeof(o), &v, &n), -EBADMSG);
        make_obj(&o);
        o.eh.e_type = ET_EXEC;
        CHECK_EQ(kw_symvers_elf_names(&o, sizeof(o), &v, &n), -EBADMSG);
        free_names(v, n);
}

static const char symvers[] = "0x11111111\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n"
                              "0x22222222\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n"
                              "0x33333333\tsnd_card_new\tsound/core/snd\tEXPORT_SYMBOL\t\n"
                              "malformed line without tabs\n"
                              "0x44444444\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
                              "0x55555555\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL_GPL\tCRC\n"
                              "0x66666666\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n"
                              "0x77777777\t_printk_x\tvmlinux\tEXPORT_SYMBOL\t";

static void test_cut(void)
{
        char *names[] = { "_printk", "crc_itu_t", "init_module" }; /* sorted */
        size_t len = 0;
        char *cut = kw_symvers_cut_text(symvers, strlen(symvers), names, 3, &len);

        CHECK(cut);
        /* vmlinux's first line, the names (not their prefixes or extensions), module_layout;
         * in the file's order */
        CHECK(cut && strcmp(cut, "0x11111111\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n"
                                 "0x22222222\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n"
                                 "0x44444444\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n"
                                 "0x55555555\tcrc_itu_t\tlib/crc-itu-t\tEXPORT_SYMBOL_GPL\tCRC\n") == 0);
        CHECK_EQ(len, cut ? strlen(cut) : 0);
        free(cut);

        char *last[] = { "_printk_x" }; /* the last line, without its newline: given one */
        cut = kw_symvers_cut_text(symvers, strlen(symvers), last, 1, &len);
        CHECK(cut && strstr(cut, "\t_printk_x\tvmlinux\tEXPORT_SYMBOL\t\n"));
        CHECK(cut && !strstr(cut, "\t_printk\t"));
        free(cut);

        cut = kw_symvers_cut_text("", 0, names, 3, &len);
        CHECK(cut && len == 0 && !cut[0]);
        free(cut);
}

int main(void)
{
        RUN(test_elf_names);
        RUN(test_elf_bad);
        RUN(test_cut);
        TEST_DONE();
}
