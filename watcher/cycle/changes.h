/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * changes.h — batches of source changes: drains the watch into the debounce
 * (debounce.c), arms its timer, and reports each finished batch up with the
 * time of its first change (where save-to-printk latency counts from).
 * Whether to build now is the cycle's decision: while it says it is busy,
 * the batch waits, and kw_changes_rearm() looks again.
 *
 * A batch is finished when the debounce says so (its quiet window), or at
 * once when every file in it is closed and the port says its build is quick
 * and cheap to undo (a replay: port.h build_quick). Changes while busy ask the
 * core to supersede the build (a replay is stopped, make runs on); after that,
 * until a build ends, the window applies and builds run to their end, as make
 * does: a stream of saves gives one stopped replay and a build or two, not one
 * per save.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "debounce.h"
#include "loop.h"
#include "port.h"

struct kw_changes_hooks {
        bool (*busy)(void *core); /* make is running: keep the batch */
        void (*batch)(void *core, const struct kw_batch *b, uint64_t first_ms);
        /* changes came while busy: the core stops the build if it can (true) */
        bool (*supersede)(void *core);
};

struct kw_changes {
        const struct kw_changes_hooks *hooks;
        void *core;
        const struct kw_cycle_port *port;
        void *impl;
        struct kw_loop *loop;
        struct kw_debounce deb;
        struct kw_timer *timer;
        uint64_t first_ms; /* first change of the batch being gathered */
        bool patient;      /* a build was superseded: the window, and no more of that, until one ends */
};

int kw_changes_init(struct kw_changes *ch, struct kw_loop *l, unsigned debounce_ms, const struct kw_cycle_port *port,
                    void *impl, const struct kw_changes_hooks *hooks, void *core);
void kw_changes_fini(struct kw_changes *ch);
/* The watch has news: take it. <0: the watch stopped (already said). */
int kw_changes_drain(struct kw_changes *ch);
/* Changes are waiting (a build that ran meanwhile is stale). */
bool kw_changes_pending(const struct kw_changes *ch);
/* Arms the timer for the waiting batch, if any. */
void kw_changes_rearm(struct kw_changes *ch);
/* A build ended (not superseded): saves may start builds at once again. Arms the timer. */
void kw_changes_build_ended(struct kw_changes *ch);
