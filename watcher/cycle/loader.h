/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loader.h — the unload/load sequence: unload what a reload replaces (last
 * loaded first), then load the new build in dependency order, one request at
 * a time (the last unload and the first load as one RELOAD request when the
 * agent knows it), each with its load/unload event and its line on failure (a module
 * that fails is reported and the others are still tried; those that depend on
 * it are skipped, said as such). It keeps
 * the list of what is loaded. How the sequence ended is reported up; what
 * follows (the --once status, a restart, --run) is the cycle's decision.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "modules.h"
#include "opts.h"
#include "port.h"

enum kw_loader_step { KW_STEP_IDLE, KW_STEP_UNLOAD, KW_STEP_LOAD, KW_STEP_QUIT_UNLOAD, KW_STEP_UNLOAD_ONLY };

enum kw_loader_end {
        KW_END_DONE,        /* the reload sequence is over (failed says whether all went well) */
        KW_END_UNLOADED,    /* kw_loader_unload_all() is over */
        KW_END_QUIT,        /* kw_loader_quit() is over: what we loaded is unloaded (or not: failed) */
        KW_END_HUNG,        /* a request passed its deadline: the agent is stuck with it (wedged) */
        KW_END_LOST,        /* the guest went away during the sequence */
        KW_END_COPY_FAILED, /* a module could not be copied to the guest */
        KW_END_NOT_SENT,    /* a request could not be sent */
};

struct kw_loader_report {
        enum kw_loader_end end;
        bool failed;       /* some unload or load of the sequence failed */
        bool in_load;      /* HUNG/LOST: during a load (else an unload) */
        const char *what;  /* HUNG: "loading hello", "unloading hello" */
};

struct kw_loader_hooks {
        void (*ended)(void *core, const struct kw_loader_report *r);
        /* show any kernel report still waiting, before a failure line */
        void (*flush_reports)(void *core);
};

struct kw_loader {
        const struct kw_cycle_port *port;
        void *impl;
        const struct kw_loader_hooks *hooks;
        void *core;
        const struct kw_opts *o;
        const char *crash_what;   /* set by the cycle: the kernel crashed in this boot, so */
        struct kw_modlist loaded; /* what is loaded, in load order */
        size_t n_keep;
        struct kw_modlist built; /* the build being loaded: a copy (a new build may come meanwhile) */
        enum kw_loader_step step;
        size_t idx;
        uint64_t load_start_us, load_total_us;
        bool failed;
        char not_loaded[1024]; /* this sequence's modules that failed or were skipped, "a,b" */
        bool suspect; /* the build is (partly) in this kernel: a crash now is likely its */
        bool wedged;  /* a request never came back: the agent is stuck with it */
        bool logging; /* kernel log lines now belong to a load or unload */
        /* the last unload and the first load of a reload go as one RELOAD request */
        bool no_reload;      /* the agent does not know RELOAD: one request each */
        bool fused;          /* a RELOAD is out: loaded[idx] is unloaded, then built[fuse_idx] loaded */
        bool fused_unloaded; /* its unload is over (UNLOADED came): what is left is the load */
        size_t fuse_idx;
        struct kw_loop *loop;
        char load_path[PATH_MAX + 64];
};

void kw_loader_init(struct kw_loader *ld, struct kw_loop *l, const struct kw_opts *o,
                    const struct kw_cycle_port *port, void *impl, const struct kw_loader_hooks *hooks, void *core);

void kw_loader_fini(struct kw_loader *ld);

/* Runs the plan made by kw_modules_plan() over ld->loaded: unloads the
 * modules after plan->keep, then loads built[i] for every i with .reload. */
void kw_loader_reload(struct kw_loader *ld, const struct kw_module *built, size_t n_built,
                      const struct kw_plan *plan);
/* Unloads everything (the u key). */
void kw_loader_unload_all(struct kw_loader *ld);
/* Unloads everything before the run ends; false when there is nothing to do
 * (then no report follows). */
bool kw_loader_quit(struct kw_loader *ld);
/* A new kernel: nothing of ours is loaded, nothing in flight. */
void kw_loader_reset(struct kw_loader *ld);

bool kw_loader_idle(const struct kw_loader *ld);
/* Is this kernel log line one of ours (during a load, or "name: …")? */
bool kw_loader_owns_line(const struct kw_loader *ld, const char *text);
