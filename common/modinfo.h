/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modinfo.h — what a .ko says about itself, read from its ELF image: the module
 * name (.modinfo "name=", fallback .gnu.linkonce.this_module), its "depends=",
 * and the ELF machine. Used by the agent (the name to delete_module) and the
 * host (dependency order, wrong-architecture check). Pure on a buffer, so it
 * can be unit-tested and fuzzed; kw_modinfo_read_file() maps a file.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KW_MODULE_NAME_LEN 56 /* the kernel's MODULE_NAME_LEN (64 - sizeof(unsigned long)) */

struct kw_modinfo {
        char name[KW_MODULE_NAME_LEN];
        char depends[512];   /* comma-separated, as in .modinfo; "" when none */
        char vermagic[128];  /* "" when absent */
        uint16_t machine;    /* e_machine: EM_X86_64 (62), EM_AARCH64 (183), … */
        uint8_t elf_class;   /* ELFCLASS32 / ELFCLASS64 */
};

/* 0, or -ENOEXEC (not an ELF relocatable / truncated / malformed),
 * -ENOENT (no module name found). Never reads outside [elf, elf+len). */
int kw_modinfo_parse(const void *elf, size_t len, struct kw_modinfo *ret);
/* As above for a file; -errno of open/mmap too. */
int kw_modinfo_read_file(const char *path, struct kw_modinfo *ret);
/* "x86_64", "aarch64", … or "machine N" in buf. */
const char *kw_elf_machine_name(uint16_t machine, char *buf, size_t size);
/* The kernel release a vermagic string names (its first word: "6.1.0-56-amd64"
 * of "6.1.0-56-amd64 SMP preempt mod_unload modversions "), "" when none. */
const char *kw_vermagic_release(const char *vermagic, char *buf, size_t size);
