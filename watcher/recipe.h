/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recipe.h — how a module directory is built, tried in this order:
 *   1. --make CMD (or `make = CMD` in .kmod-watch): the user's command, /bin/sh -c;
 *   2. dkms.conf: DKMS's own recipe (MAKE[n], BUILT_MODULE_*, BUILD_EXCLUSIVE_*),
 *      bound as DKMS binds it, the build directory being DIR itself;
 *   3. kbuild: `make -C KDIR M=DIR modules` when DIR has a Kbuild file or its
 *      Makefile sets obj-m;
 *   4. DIR's own Makefile: `make -C DIR KDIR=…` with every name third-party
 *      Makefiles use for the kernel tree set to KDIR.
 * Every one runs in DIR with PWD=DIR. The choice and the parsing are pure (unit
 * tested); kw_dkms_read() sources dkms.conf in bash, a child, and reads back what
 * it set — dkms.conf is a shell fragment, and only a shell parses shell.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

enum kw_recipe_kind {
        KW_RECIPE_MAKE,     /* --make CMD */
        KW_RECIPE_DKMS,     /* dkms.conf */
        KW_RECIPE_KBUILD,   /* make -C KDIR M=DIR modules */
        KW_RECIPE_MAKEFILE, /* make -C DIR KDIR=… */
};

#define KW_DKMS_MAX 16

struct kw_dkms {
        char package_name[128];
        char package_version[128];
        char make[KW_DKMS_MAX][1024];       /* MAKE[n]; "" when unset */
        char make_match[KW_DKMS_MAX][256];  /* MAKE_MATCH[n] (regex on the kernel release) */
        char name[KW_DKMS_MAX][128];        /* BUILT_MODULE_NAME[n] (no .ko) */
        char location[KW_DKMS_MAX][256];    /* BUILT_MODULE_LOCATION[n], relative to the build dir */
        size_t n_modules;                   /* highest BUILT_MODULE_* index + 1 */
        char exclusive_kernel[256];         /* BUILD_EXCLUSIVE_KERNEL (regex) */
        char exclusive_arch[128];           /* BUILD_EXCLUSIVE_ARCH (regex) */
        char exclusive_config[256];         /* BUILD_EXCLUSIVE_CONFIG: "CONFIG_A !CONFIG_B" */
        char pre_build[1024];               /* PRE_BUILD: a script in the build dir, run before MAKE */
};

/* What a build needs to know; the strings are the caller's. */
struct kw_recipe {
        enum kw_recipe_kind kind;
        const char *dir;           /* the module directory, absolute */
        const char *kdir;          /* the kernel tree to build against (may be NULL) */
        const char *release;       /* the guest kernel's release ("6.1.0-56-amd64"); "" if unknown */
        const char *machine;       /* uname -m of the guest (DKMS's $arch): "x86_64", "aarch64" */
        const char *kbuild_arch;   /* ARCH= or NULL */
        const char *cross_compile; /* CROSS_COMPILE= or NULL */
        const char *make_cmd;      /* --make */
        unsigned jobs;
        struct kw_dkms dkms;       /* KW_RECIPE_DKMS: filled by kw_recipe_prepare() */
        char dkms_tree[PATH_MAX];  /* its $dkms_tree: NAME/VERSION/build there is a link to dir */
};

/* The kernel release KDIR is for: its UTS_RELEASE (include/generated/utsrelease.h),
 * else include/config/kernel.release. 0 or -errno. */
int kw_kdir_release(const char *kdir, char *buf, size_t size);

/* Which recipe builds dir (make_cmd: --make or NULL). Reads dir's files. */
enum kw_recipe_kind kw_recipe_choose(const char *dir, const char *make_cmd);
/* The recipe in the words of "building with …": "--make", "dkms.conf", "kbuild", "your Makefile". */
const char *kw_recipe_name(enum kw_recipe_kind kind);

/* (pure) Does this Makefile text set obj-m (obj-m, obj-$(CONFIG_…), outside comments)? */
bool kw_makefile_sets_obj_m(const char *text);
/* (pure) Which variable this Makefile reads for the kernel tree: "KDIR", "KERNEL_DIR",
 * "KERNELDIR", "KSRC", "KERNEL_SRC", "KERNEL_TREE", "uname -r" (hard-coded
 * /lib/modules/$(shell uname -r)/build), or NULL when it says nothing we know. */
const char *kw_makefile_kdir_var(const char *text);

/* (pure) The lines `KEY=value` / `KEY[n]=value` printed back by the dkms.conf
 * reader into *ret. 0 or -EBADMSG (no PACKAGE_NAME or PACKAGE_VERSION). */
int kw_dkms_parse(const char *text, struct kw_dkms *ret);
/* (pure) BUILD_EXCLUSIVE_KERNEL/_ARCH/_CONFIG against release, machine and the
 * kernel's .config text (NULL: not checked, as DKMS without a config): 0 when it
 * may be built, else -EPERM and one line saying why in why. */
int kw_dkms_check(const struct kw_dkms *d, const char *release, const char *machine, const char *config,
                  char *why, size_t size);
/* (pure) The command DKMS would run: MAKE[n] chosen by MAKE_MATCH, MAKE[0], or
 * `make -C KDIR M=TREE/NAME/VERSION/build`; a leading "make" becomes
 * "make -jN KERNELRELEASE=RELEASE" as DKMS does. -ENAMETOOLONG. */
int kw_dkms_command(const struct kw_dkms *d, const char *release, const char *kdir, const char *tree,
                    unsigned jobs, char *buf, size_t size);

/* Reads dkms.conf (KW_RECIPE_DKMS) and makes its $dkms_tree; checks
 * BUILD_EXCLUSIVE_*. Says what is wrong (one line) and returns -errno
 * (-EPERM: excluded). Other recipes: 0. */
int kw_recipe_prepare(struct kw_recipe *r);

/* Removes the $dkms_tree link kw_recipe_prepare() made, and its directories
 * (made again, the same, by the next run's first build). */
void kw_recipe_cleanup(struct kw_recipe *r);

/* The command line and environment of the build. */
struct kw_recipe_cmd {
        char *argv[24];
        char **envp;
};
int kw_recipe_cmd(const struct kw_recipe *r, struct kw_recipe_cmd *ret);
void kw_recipe_cmd_free(struct kw_recipe_cmd *c);

/* The .ko files the recipe names when kbuild's modules.order does not (dkms:
 * BUILT_MODULE_LOCATION + NAME + .ko), relative to dir. 0 with *ret_n = 0 when
 * none. Free with kw_strv_free(). */
int kw_recipe_modules(const struct kw_recipe *r, char ***ret, size_t *ret_n);
