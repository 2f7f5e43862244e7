/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modules.h — the modules of a build and of the guest, and what a save
 * changes between them (pure: no I/O, no state of its own). The cycle asks
 * here which modules a reload unloads, which it loads and in what order;
 * collecting them from a finished build is products.c's job.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "modinfo.h"
#include "sha256.h"

struct kw_module {
        char name[KW_MODULE_NAME_LEN];
        char relpath[PATH_MAX];      /* the .ko relative to DIR */
        char depends[512];           /* from .modinfo, comma-separated */
        uint8_t hash[KW_SHA256_LEN]; /* of the .ko; all zero: unknown (a stale module) */
        bool reload;                 /* part of this reload (changed, or depends on one that is) */
};

/* A growing list of modules (no limit on how many a directory builds). */
struct kw_modlist {
        struct kw_module *v;
        size_t n, cap;
};

int kw_modlist_add(struct kw_modlist *l, const struct kw_module *m); /* 0 or -ENOMEM */
void kw_modlist_free(struct kw_modlist *l);

/* What a reload does, from kw_modules_plan(). */
struct kw_plan {
        size_t reload; /* built modules to load */
        size_t keep;   /* loaded[0..keep) stay loaded */
        size_t drop;   /* loaded[keep..keep+drop) are unloaded, last first */
};

bool kw_module_depends_on(const struct kw_module *m, const char *name);
const struct kw_module *kw_modules_find(const struct kw_module *v, size_t n, const char *name);
/* "a, b, c" into buf (cut to size). */
void kw_modules_names(const struct kw_module *v, size_t n, char *buf, size_t size);

/* v[] in dependency order (depends=): each module after every module of v it
 * uses, otherwise in the given (modules.order) order. -ELOOP: a circle;
 * -ENOMEM. */
int kw_modules_order(struct kw_module *v, size_t n);

/* Plans a reload of built[] (in dependency order) over loaded[]: modules of
 * the build that are loaded but unknown to us (left by an earlier run) are
 * added to loaded[] as stale; built[i].reload is set for each module whose .ko
 * differs from the loaded one (all of them with force) and for each that
 * depends on one of those; loaded[] is reordered to the modules kept, in load
 * order, then the ones to unload. Nothing to do: reload == drop == 0. */
struct kw_plan kw_modules_plan(struct kw_module *built, size_t n_built, struct kw_modlist *loaded, bool force);

/* The --param values for MODULE ("NAME=V" for all, "MODULE.NAME=V" for one),
 * space-separated, into buf. */
void kw_module_params(const char *const *param, size_t n_param, const char *module, char *buf, size_t size);
