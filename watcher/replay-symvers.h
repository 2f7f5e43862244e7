/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-symvers.h — modpost's input cut to what the modules name. kbuild's
 * modpost for an external module reads KDIR's whole Module.symvers (25,000
 * lines for Debian's 6.1: 60–80 ms of a replay) to look up the few symbols
 * the module imports. Its outputs (the .mod.c, DIR's Module.symvers) and its
 * messages depend only on the lines of the symbols the module's objects name
 * (what they import, what they define and export), on module_layout (modpost
 * adds it under CONFIG_MODVERSIONS), and on vmlinux being among the dump's
 * modules. The replay runs modpost on a copy holding just those lines; the
 * byte-for-byte test (tests/e2e/test_replay.py) holds it to make's output.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The global and weak symbol names of an ELF relocatable object (defined or
 * undefined), plus NAME for each __ksymtab_NAME; appended to *names (*n of
 * them, realloc'd; each malloc'd). 0, -ENOEXEC (not an ELF object of this
 * byte order), -EBADMSG (a section out of bounds), -errno. Pure over the bytes. */
int kw_symvers_elf_names(const void *elf, size_t len, char ***names, size_t *n);

/* (pure) The lines of Module.symvers text (len bytes) whose symbol (the second
 * tab-separated field) is one of names (sorted with strcmp), or is
 * module_layout, and the first line of module vmlinux; in the file's order.
 * A malloc'd string (*ret_len bytes, NUL-terminated) or NULL (no memory). */
char *kw_symvers_cut_text(const char *text, size_t len, char *const *names, size_t n, size_t *ret_len);

/* Writes to out the cut (above) of the file symvers for the objects objs.
 * 0 or -errno: then modpost is to read the whole file. */
int kw_symvers_cut(const char *symvers, char *const *objs, size_t n_objs, const char *out);

/* Has the object "__ksymtab" in its bytes (grep -qa, without the child)? Else it
 * exports nothing, for certain. true too when it cannot be read. */
bool kw_symvers_may_export(const char *obj);
