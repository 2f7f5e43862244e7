/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-cmd.h — the pure half of the replay build (replay.h): reading the
 * `.*.cmd` files kbuild writes, what the replay state holds, and the plan: for
 * a batch of changed paths, which objects to compile again with the commands
 * kbuild recorded, or why make must run instead. No I/O here: the caller reads
 * the files and says which paths exist.
 *
 * A .cmd file (6.1's Kbuild.include, fixdep):
 *     cmd_/abs/hello.o := <the command, make-escaped: $ as $$, # as $(pound)>
 *
 *     source_/abs/hello.o := /abs/hello.c
 *
 *     deps_/abs/hello.o := \
 *       /abs/hello.c \
 *       …/include/linux/module.h \
 *         $(wildcard include/config/MODULES) \
 *
 *     /abs/hello.o: $(deps_/abs/hello.o)
 *     …
 *     /abs/hello.o: $(wildcard ./tools/objtool/objtool)     (gen_objtooldep)
 *     #SYMVER sym 0x…                                         (genksyms)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "debounce.h"

/* One .cmd file as read. */
struct kw_cmdfile {
        char *target; /* what follows cmd_ */
        char *raw;    /* the command as written (make-escaped) */
        char *source; /* source_…, or NULL */
        char **deps;  /* deps_… files (the $(wildcard …) config entries left out) */
        size_t n_deps;
        bool objtooldep; /* gen_objtooldep's line is there */
};

/* 0, -EBADMSG (no cmd_ line), -ENOMEM. Free with kw_cmdfile_free(). */
int kw_cmdfile_parse(const char *text, struct kw_cmdfile *ret);
void kw_cmdfile_free(struct kw_cmdfile *f);

/* make's reading of a recorded command: $$ → $, $(pound) → #. NULL: no memory. */
char *kw_cmd_unescape(const char *raw);
/* s inside single quotes for sh, as Kbuild's escsq does ('…'\''…'). */
char *kw_cmd_shquote(const char *s);
/* In an unescaped compile command "CC FLAGS -c -o TARGET SOURCE …", the
 * compiler (first word) and the flags between it and " -c -o ", and the
 * -Wp,-MMD,DEPFILE name; each into its buffer. -EINVAL when it is not of that
 * form, -ENAMETOOLONG. */
int kw_cmd_split_cc(const char *cmd, char *cc, size_t cc_size, char *flags, size_t flags_size, char *depfile,
                    size_t depfile_size);

/* One object kbuild compiled from a .c file. */
struct kw_rp_obj {
        struct kw_cmdfile f; /* its .cmd */
        char **local;        /* its dependencies inside DIR, relative to DIR (the source among them) */
        size_t n_local;
        size_t module;       /* index in kw_rp_state.mod */
        bool pending;        /* a replay of it did not finish: replayed next time whatever changed */
};

/* One module: its .ko, its .mod.o, and the ld -r of its parts when it has several. */
struct kw_rp_mod {
        struct kw_cmdfile ko, modo;
        struct kw_cmdfile link; /* target NULL: the module is one object */
        bool has_link;
};

/* One line of the fingerprint: "KDIR" = "/path". */
struct kw_rp_fp {
        char label[64];
        char value[512];
};
#define KW_RP_FP_MAX 16

/* What the last successful make left, learned from its .cmd files. */
struct kw_rp_state {
        char *why_not; /* when learning found DIR cannot be replayed: why (then nothing else is set) */
        struct kw_rp_fp fp[KW_RP_FP_MAX];
        size_t n_fp;
        struct kw_rp_obj *obj;
        size_t n_obj;
        struct kw_rp_mod *mod;
        size_t n_mod;
        struct kw_cmdfile order, symvers; /* modules.order and Module.symvers (modpost) */
};

/* o->local from o->f: the source and the dependencies under dir, relative to it. 0 or -ENOMEM. */
int kw_rp_obj_local(struct kw_rp_obj *o, const char *dir);
void kw_rp_state_free(struct kw_rp_state *s);

/* The plan: replay n objects (marked in obj[], as many as state->n_obj), or
 * make (n = 0) for the reason in why. */
struct kw_rp_plan {
        size_t n;
        bool *obj;
        char why[256];
};

/* exists(ud, rel): is this path (relative to DIR) there now? */
typedef bool (*kw_rp_exists_fn)(void *ud, const char *rel);

/* (pure) The decision. state: NULL when nothing was learned yet; fp: the
 * fingerprint now; b: the changed paths (NULL: a build not from a save).
 * Returns the number of objects to replay (0: make, why says why), or -ENOMEM. */
int kw_rp_plan(const struct kw_rp_state *state, const struct kw_rp_fp *fp, size_t n_fp, const struct kw_batch *b,
               kw_rp_exists_fn exists, void *ud, struct kw_rp_plan *ret);
void kw_rp_plan_free(struct kw_rp_plan *p);

/* One file of a snapshot (replay-disk.c): its path and "MTIME SIZE INODE". */
struct kw_rp_file {
        char *path;
        char stat[80];
};
struct kw_rp_files {
        struct kw_rp_file *v; /* sorted by path (strcmp) */
        size_t n;
};
/* 0 or -ENOMEM. kw_rp_files_sort() before a diff. */
int kw_rp_files_add(struct kw_rp_files *fs, const char *path, const char *stat);
void kw_rp_files_sort(struct kw_rp_files *fs);
void kw_rp_files_free(struct kw_rp_files *fs);
/* (pure) The paths in then or now (both sorted) that are not in both with the same
 * stat: changed, new or gone; appended to ret (kw_batch_free()). The count, or -ENOMEM. */
int kw_rp_files_diff(const struct kw_rp_files *then, const struct kw_rp_files *now, struct kw_batch *ret);
