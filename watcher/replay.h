/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay.h — the replay build: after a save, compile again only the objects
 * whose recorded dependencies changed, with the very commands kbuild recorded
 * in their .cmd files (and what kbuild's rule runs beside them: fixdep,
 * check-local-export, objtool's dependency line, genksyms), then modpost,
 * `.mod.o` when modpost's `.mod.c` changed, and the `.ko` links — what make
 * would do, in a third of the time, because make re-reads all of kbuild's
 * makefiles to find it out.
 *
 * Safe only when the last build was a successful make (or replay) of the
 * kbuild recipe with the same fingerprint (KDIR, its config and
 * Module.symvers, the command line, kbuild's tools), every changed path is a
 * recorded dependency of some object, and no Makefile, Kbuild or dkms.conf
 * changed, no source came or went. The state is learned from the files make
 * wrote after every successful make; anything else is make, with one line
 * saying why. The tree a replay leaves is the tree make leaves: the same
 * objects, the same .cmd files (fixdep writes them), so a later make has
 * nothing to do. Kbuild 6.1's rules (the kit's kernel); other versions: make.
 *
 * The decision (replay-cmd.c: kw_rp_plan) is pure; this file reads the disk
 * for it, and replay-run.c runs the steps as children of the loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "build.h"
#include "debounce.h"
#include "filter.h"
#include "loop.h"
#include "recipe.h"

struct kw_replay;
struct kw_replay_run;

int kw_replay_new(struct kw_replay **ret);
void kw_replay_free(struct kw_replay *r);

/* After a make: learn what it wrote (ok) or forget everything (!ok). */
void kw_replay_after_make(struct kw_replay *r, const struct kw_recipe *rc, bool ok);
/* After a build (replayed: a replay of that many objects): learn what make or fixdep
 * wrote and keep it on disk (ok), forget (a failed make), or keep the objects of a
 * failed replay due. Off the critical path: after the load request went out, and
 * later still with kw_replay_use_loop(). */
void kw_replay_after_build(struct kw_replay *r, const struct kw_recipe *rc, bool ok, size_t replayed);

/* Replay or make for this batch (NULL: a build not after a save)? The number of
 * objects to replay, or 0 with the reason for make in why. disabled: --no-replay. */
size_t kw_replay_decide(struct kw_replay *r, const struct kw_recipe *rc, bool disabled, const struct kw_batch *b,
                        char *why, size_t size);

/* Keep the state on disk too (replay-disk.c), so that the first build of a later
 * run (--once as well) can replay: after every successful build kw_replay_persist()
 * writes what it learned, the fingerprint, the stat of every build product and
 * of every source f matches in DIR, to ${XDG_CACHE_HOME:-~/.cache}/kmod-watch/
 * replay/<sha256 of DIR's real path>; the first kw_replay_decide() reads it back
 * and replays only when the products and the fingerprint are as they were then,
 * with the sources changed since then as the batch. f must outlive r.
 * With l, the learning after a build runs on l's timer, KW_REPLAY_LEARN_DELAY_MS
 * later, not at once: reading the .cmd files and writing the state take 5-30 ms of
 * the loop while the guest's answers to the load request come in. The next
 * kw_replay_decide() and kw_replay_free() learn first if the timer has not fired. */
int kw_replay_use_disk(struct kw_replay *r, const struct kw_filter *f, struct kw_loop *l);
#define KW_REPLAY_LEARN_DELAY_MS 300
void kw_replay_persist(struct kw_replay *r, const struct kw_recipe *rc);

/* Runs what kw_replay_decide() planned. fn as for make (build.h): ok, the
 * output as make would have printed it, the time. */
int kw_replay_start(struct kw_replay *r, struct kw_loop *l, const struct kw_recipe *rc, kw_build_done_fn fn,
                    void *userdata, struct kw_replay_run **ret);
/* Kills it (every step's process group) and deletes the targets of the steps that
 * were running (no half-written .o make would take as up to date); the replay's
 * objects stay due; fn is not called. */
void kw_replay_cancel(struct kw_replay_run *run);
