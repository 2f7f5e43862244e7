/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * port.h — everything the cycle needs of the world, as one table: make, the
 * source watch, the guest and the agent's session. world.c fills it with the
 * real things (build.c, watch.c, guest.c, session.c); the controller's unit
 * test fills it with fakes. Nothing under cycle/ but world.c calls those
 * modules directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "debounce.h"
#include "modules.h"
#include "session.h"

/* A build's result: shown is what of its output a person wants (the compiler's
 * words without kbuild's chatter, kw_build_filter_output), "" when nothing. */
struct kw_port_build {
        bool ok;
        const char *shown;
        uint64_t ms;
        size_t replayed;      /* objects replayed (replay.h); 0: make ran */
        const char *why_make; /* make ran: why not a replay ("Makefile changed") */
};
typedef void (*kw_port_built_fn)(void *core, const struct kw_port_build *res);
typedef void (*kw_port_delivered_fn)(void *ud, int err);

struct kw_cycle_port {
        /* building: one build at a time, make or a replay of what changed in b (NULL: not
         * after a save), the world decides which; cancel kills it (done is not called) */
        int (*build_start)(void *impl, const struct kw_batch *b, kw_port_built_fn done, void *core);
        void (*build_cancel)(void *impl);
        /* (optional) would a build of b be quick and cheap to undo (a replay)? Then a save
         * builds as soon as its files are closed, without the debounce window */
        bool (*build_quick)(void *impl, const struct kw_batch *b);
        /* (optional) newer changes came: stop the running build if it is a replay (its
         * objects stay due; nothing half-written is left) and say true; make runs on */
        bool (*build_supersede)(void *impl);
        /* adds the modules the last successful make wrote to ret (empty), in modules.order
         * order; 0 or -errno (the problem was already said in one line) */
        int (*collect)(void *impl, struct kw_modlist *ret);

        /* watching: moves the changes seen since the last call into d; <0: the watch
         * stopped (already said) */
        int (*watch_drain)(void *impl, struct kw_debounce *d, uint64_t now_ms);

        /* the guest */
        bool (*channel_up)(void *impl);       /* the agent is set up and answering */
        bool (*can_restart)(void *impl);      /* a guest kmod-watch started and can boot again */
        int (*restart)(void *impl, const char *reason); /* -EAGAIN: too often lately */
        void (*detach)(void *impl, const char *why);    /* fail pending requests: the channel is gone */
        void (*ready_ack)(void *impl);        /* the boot is over */
        const char *(*transport)(void *impl); /* "virtio-serial", "unix:…", "ssh:…" */
        /* makes m loadable in the guest: path to load into ret_path; done(ud, 0 or -errno)
         * runs once the file is there (maybe before returning); <0: it cannot start */
        int (*deliver)(void *impl, const struct kw_module *m, char *ret_path, size_t size,
                       kw_port_delivered_fn done, void *ud);

        /* requests to the agent (session.h's typed calls) */
        int (*load)(void *impl, const char *path, const char *params, unsigned timeout_ms, kw_result_fn fn,
                    void *ud);
        int (*unload)(void *impl, const char *module, bool force, unsigned timeout_ms, kw_result_fn fn,
                      void *ud);
        /* unload module then load path, one request (kw_session_reload); -EOPNOTSUPP: not
         * here (then unload and load go one by one) */
        int (*reload)(void *impl, const char *module, bool force, const char *path, const char *params,
                      unsigned timeout_ms, kw_result_fn unloaded, kw_result_fn fn, void *ud);
        int (*run)(void *impl, const char *cmd, unsigned timeout_ms, kw_result_fn fn, void *ud);
        int (*ping)(void *impl, unsigned timeout_ms, kw_result_fn fn, void *ud);
        /* every kernel record logged so far has reached us when fn runs */
        int (*log_sync)(void *impl, unsigned timeout_ms, kw_result_fn fn, void *ud);
        /* the guest's counters (--repeat): slab caches, meminfo, listings */
        int (*stats)(void *impl, unsigned flags, unsigned timeout_ms, kw_stats_fn fn, void *ud);
};
