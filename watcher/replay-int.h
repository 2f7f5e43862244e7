/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-int.h — what replay.c (learning, the decision) and replay-run.c (the
 * steps) share: the learned state and the plan being run. Private to them.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "replay-cmd.h"
#include "replay.h"

struct kw_replay {
        struct kw_rp_state *state; /* NULL: nothing learned (no successful make yet) */
        struct kw_rp_plan plan;    /* the last decision */
        char nm[128];              /* the toolchain's nm (check-local-export, genksyms' test) */
        char srctree[PATH_MAX];    /* $(srctree): where scripts/check-local-export is */
        bool modversions;          /* CONFIG_MODVERSIONS: genksyms for objects that export */
        bool btf;                  /* CONFIG_DEBUG_INFO_BTF_MODULES (KDIR has no vmlinux: a message) */
        bool local_export;         /* kbuild has scripts/check-local-export */
};
