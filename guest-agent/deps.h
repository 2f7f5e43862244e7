/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * deps.h — a module's in-kernel dependencies in the guest: the kernel's own
 * module tree /lib/modules/$(uname -r) (the kit's, shared read-only over 9p
 * in a guest kmod-watch starts; the target's own elsewhere), the closure of
 * a .ko's depends= through its index (common/kdeps.h), loading that closure
 * before the module, and which module provides an unknown symbol.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "kdeps.h"
#include "proto.h"

/* What to load before one module. */
struct deps_plan {
        struct kw_kdeps_list list; /* not loaded yet, in load order */
        char tree[256];            /* /lib/modules/<release> */
        bool no_tree;              /* it has no modules.dep */
};

/* "/lib/modules/<release>" into buf. */
void deps_tree(char *buf, size_t size);
/* Mounts the kit's module tree (9p tag KW_MODULES_TAG, read-only) at
 * deps_tree() unless a modules.dep is there already; logs what it did. A
 * guest without that tag (--connect, --ssh) keeps its own tree. */
void deps_mount_tree(void);
/* The closure of depends (comma-separated), less what is loaded already. */
void deps_plan(const char *depends, struct deps_plan *ret);
/* In the load's child: finit_module() of each planned module in order;
 * EEXIST (loaded meanwhile) is fine. 0, or the errno of the first failure. */
int deps_load(const struct deps_plan *p);
/* After the child: the planned modules now loaded, "a,b", into buf; and
 * the first one that is not (the one that failed), or NULL. */
const char *deps_loaded(const struct deps_plan *p, char *buf, size_t size);
/* Words for an unknown symbol: "needs SYM from module M (not loaded: …)",
 * "nothing in /lib/modules/R provides SYM", … into buf. depends: the
 * module's own depends=. */
void deps_explain_symbol(const char *sym, const char *depends, char *buf, size_t size);
