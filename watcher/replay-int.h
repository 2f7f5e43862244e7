/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-int.h — what replay.c (learning, the decision) and replay-run.c (the
 * steps) share: the learned state and the plan being run. Private to them.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <time.h>

#include "filter.h"
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
        const struct kw_filter *disk; /* the state is kept on disk (replay-disk.c): DIR's sources by this filter */
        bool disk_tried;              /* the first build looked there */
        struct timespec decided;      /* CLOCK_REALTIME_COARSE at the last decision: the build's start */
        struct kw_rp_fp fp[KW_RP_FP_MAX]; /* the fingerprint then: what the build saw, learned with it */
        size_t n_fp;
        const struct kw_recipe *rc;   /* learning due (kw_replay_use_loop): for this recipe, */
        bool due_ok;                  /* after a build that went so */
        size_t due_replayed;
        struct kw_timer *learn;
};

/* replay.c: learn DIR's .cmd files into r->state (its why_not says when DIR cannot be
 * replayed), with the fingerprint taken when the build started (or now). */
void kw_rp_learn(struct kw_replay *r, const struct kw_recipe *rc);
/* replay.c: the fingerprint now; the number of lines. */
size_t kw_rp_fingerprint(const struct kw_recipe *rc, struct kw_rp_fp *fp);

/* replay-disk.c: before the first build, the state the last run left: learned again
 * from the .cmd files, its fingerprint the saved one, and what changed in DIR since
 * then in changed. 0, or -errno with why make (then r->state may hold a why_not). */
int kw_rp_disk_load(struct kw_replay *r, const struct kw_recipe *rc, struct kw_batch *changed, char *why,
                    size_t size);
/* replay-disk.c: a file of the replay's own for DIR beside its state (the state's
 * name and ext), its directory made. 0 or -errno. */
int kw_rp_disk_side_file(const char *dir, const char *ext, char *path, size_t size);

/* replay-script.c: the sh scripts of a replay's steps, run in KDIR. NULL (or
 * -ENOMEM): no memory. An object's rule in two scripts: main_script, then exports
 * when the object has "__ksymtab" in its bytes (NULL when there is nothing to do);
 * depfile[PATH_MAX] is the compiler's depfile, removed when the step succeeds. */
int kw_rp_object_scripts(const struct kw_replay *r, const struct kw_cmdfile *f, char **main_script,
                         char **exports, char *depfile);
/* cmd_and_savecmd (the ld -r of a module's parts: with gen_objtooldep's line) */
char *kw_rp_savecmd_script(const struct kw_cmdfile *f, bool objtooldep);
/* modules.order written again, then modpost */
char *kw_rp_modpost_script(const struct kw_replay *r, const struct kw_recipe *rc);
/* a module's .mod.o (depfile as above) */
char *kw_rp_modo_script(const struct kw_cmdfile *f, char *depfile);
/* the .ko's link */
char *kw_rp_ko_script(const struct kw_replay *r, const struct kw_cmdfile *f);
