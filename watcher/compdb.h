/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compdb.h — compile_commands.json for clangd, written in DIR after each
 * successful build from the compile commands kbuild recorded (`.*.o.cmd`,
 * read with replay-cmd.h): one entry per object compiled from a .c file, run
 * in KDIR as kbuild runs it, with absolute paths, the compiler named "clang"
 * (and --target for a cross build), and the gcc-only flags clang refuses left
 * out. Written to a hidden temporary file and renamed over, so clangd never
 * reads half a file; the watch ignores it (filter.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes DIR/compile_commands.json for the objects under dir (hidden
 * directories skipped). kdir: where kbuild ran the commands. Returns the number
 * of entries (0: no recorded compile command, nothing written) or -errno. */
int kw_compdb_write(const char *dir, const char *kdir);

/* (pure) A gcc flag clang (and so clangd) does not take, and leaving it out
 * changes nothing clangd needs to know: -mrecord-mcount, -fconserve-stack,
 * -mindirect-branch=…, -fno-allow-store-data-races, … */
bool kw_compdb_drop_flag(const char *flag);

/* (pure) The --target clang wants for a cross compiler's name
 * ("aarch64-linux-gnu-gcc" → "aarch64-linux-gnu"), "" for a native one. */
void kw_compdb_target(const char *cc, char *buf, size_t size);
