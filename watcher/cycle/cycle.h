/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cycle.h — the cycle, kmod-watch's controller: a change → one build →
 * unload the old modules → load the new ones → their kernel log; a crash →
 * restart or hold; and --once, which runs it once and ends with a status.
 * Every decision of the run is taken in cycle.c; the pieces beside it
 * (modules, loader, recovery, crash, expect, verdict, runcmd) do one job each
 * and report up. The world reaches the cycle through port.h and calls the
 * kw_cycle_on_*() inputs below; world.c wires the real one.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "opts.h"
#include "port.h"
#include "session.h"
#include "verdict.h"

struct kw_cycle;
struct kw_symbolizer;

/* Runs kmod-watch [--once] DIR with the real world; returns the exit status. */
int kw_cycle_run(const struct kw_opts *o);

/* A cycle over any world (the unit test's fakes, or world.c's). dir is the
 * module directory (absolute); sym may be NULL (frames not resolved).
 * -EINVAL: a bad --expect (already said). */
int kw_cycle_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const struct kw_cycle_port *port,
                 void *impl, struct kw_symbolizer *sym, struct kw_cycle **ret);
void kw_cycle_free(struct kw_cycle *c);
/* Frames of our modules in kernel reports are resolved with sym from now on. */
void kw_cycle_set_symbolizer(struct kw_cycle *c, struct kw_symbolizer *sym);
/* The first build (or, with --postpone, the wait for the first change). */
void kw_cycle_start(struct kw_cycle *c);
/* The status the loop was told to exit with. */
int kw_cycle_status(const struct kw_cycle *c);

/* Inputs: what happened in the world. */
void kw_cycle_on_changes(struct kw_cycle *c);          /* the watch has changes to drain */
void kw_cycle_on_ready(struct kw_cycle *c, const struct kw_guest *g, bool rebooted); /* the agent is set up */
void kw_cycle_on_kmsg(struct kw_cycle *c, uint64_t seq, unsigned level, uint64_t ts_usec, const char *text);
void kw_cycle_on_gap(struct kw_cycle *c, uint64_t seq, uint64_t count);
void kw_cycle_on_console(struct kw_cycle *c, const char *line);
void kw_cycle_on_lost(struct kw_cycle *c, const char *why, bool fatal); /* the guest went away */
void kw_cycle_on_failed(struct kw_cycle *c, const char *reason);        /* the session cannot go on */
void kw_cycle_on_dir_back(struct kw_cycle *c); /* DIR was deleted and made again (a new inode) */
void kw_cycle_on_key(struct kw_cycle *c, char key);
void kw_cycle_on_signal(struct kw_cycle *c, int signo);
/* Ends the run with status (after unloading what we loaded). */
void kw_cycle_quit(struct kw_cycle *c, int status);
/* After the loop: the exit status, counting a kernel report that was still
 * open or completed after the exit was decided (--once). */
int kw_cycle_end(struct kw_cycle *c, int status);

extern const char kw_cycle_keys_help[];
