/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stats.h — the STATS request: what a load/unload cycle may leave behind in
 * the guest kernel, counted for the host's --repeat (slab caches, memory,
 * the entries of the directories a module adds to, kmemleak where there is one).
 */
#pragma once

#include "proto.h"

/* Fills the RESULT m for a STATS request f. */
void stats_request(const struct kw_frame *f, struct kw_msg *m);
