/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * runcmd.h — --run: one command in the guest after a load, its run event and
 * its line; the exit status is reported up (with --once it is part of the
 * verdict, which the cycle decides).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "opts.h"
#include "port.h"

struct kw_runcmd {
        const struct kw_cycle_port *port;
        void *impl;
        struct kw_loop *loop;
        const struct kw_opts *o;
        void (*done)(void *core, int status);
        void *core;
        bool busy;
        uint64_t start_us;
};

void kw_runcmd_init(struct kw_runcmd *rc, struct kw_loop *l, const struct kw_opts *o,
                    const struct kw_cycle_port *port, void *impl, void (*done)(void *core, int status), void *core);
/* Starts --run; -EBUSY (said) while the last one runs, or the send error (said). */
int kw_runcmd_start(struct kw_runcmd *rc);
