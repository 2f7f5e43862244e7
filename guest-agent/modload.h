/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modload.h — LOAD and UNLOAD: finit_module()/delete_module() with the
 * kernel's reasons turned into words the user can act on.
 *
 * Neither blocks the agent's loop. finit_module() runs the module's init,
 * which may take seconds or hang (a bug the user is hunting): it runs in a
 * child process, so the kernel log keeps streaming and SYNC is answered
 * meanwhile. An UNLOAD that gets EBUSY (module still coming or going) is
 * retried on a timer for about a second. One LOAD or UNLOAD at a time.
 *
 * RELOAD is the two in one request: the unload as UNLOAD does it, then, when
 * it succeeded (or the module was not loaded), the load as LOAD does it. The
 * agent says UNLOADED in between (request.c), and the RESULT of either half
 * that ends it carries the unload's outcome (UNLOAD_ERRNO, UNLOAD_USEC).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "deps.h"
#include "modinfo.h"
#include "proto.h"

enum modop_kind { MODOP_NONE, MODOP_LOAD, MODOP_UNLOAD };

struct modop {
        enum modop_kind kind;     /* the operation in progress */
        uint32_t id;              /* its request */
        char name[KW_MODULE_NAME_LEN];
        uint64_t start_usec;
        pid_t pid;                /* LOAD: the child inside finit_module() */
        int log_fd;               /* LOAD: /dev/kmsg reader placed before it */
        char path[4096];          /* LOAD: the .ko */
        char params[4096];        /* LOAD: its parameters */
        char depends[512];        /* LOAD: its depends= */
        struct deps_plan deps;    /* LOAD: in-kernel modules to load first */
        int timer_fd;             /* UNLOAD: EBUSY retry; armed only then */
        unsigned flags;           /* UNLOAD: KW_UNLOAD_FORCE */
        unsigned delay_ms;        /* UNLOAD: next retry delay */
        bool reload;              /* RELOAD: the load follows the unload */
        int unload_err;           /* the last unload's errno (0: unloaded) */
        uint64_t unload_usec;     /* and how long it took */
};

int modop_init(struct modop *op); /* -errno (fatal) */
bool modop_busy(const struct modop *op);

/* LOAD(PATH, PARAMS?). true: reply is complete (it failed before loading);
 * false: loading, the RESULT comes from modop_load_done(). */
bool modop_load(struct modop *op, const struct kw_frame *req, struct kw_msg *reply);
/* The load of op->path with op->params, for request op->id (a RELOAD's second
 * half); returns as modop_load(). */
bool modop_load_start(struct modop *op, struct kw_msg *reply);
/* The load's child exited with status: fills the RESULT (MODULE, USEC,
 * ERRNO, ERROR, SYMBOL…) into reply, started for op->id. */
void modop_load_done(struct modop *op, int status, struct kw_msg *reply);

/* UNLOAD(MODULE, FLAGS?). true: reply is complete; false: retry pending. */
bool modop_unload(struct modop *op, const struct kw_frame *req, struct kw_msg *reply);
/* The retry timer fired. true: reply (started for op->id) is complete. */
bool modop_unload_retry(struct modop *op, struct kw_msg *reply);

/* RELOAD(MODULE, FLAGS?, PATH, PARAMS?): starts with the unload and returns
 * as modop_unload(). Once the unload's reply is complete,
 * modop_reload_loads() says whether the load follows (then the reply is not
 * sent: UNLOADED is, and modop_load_start() runs). */
bool modop_reload(struct modop *op, const struct kw_frame *req, struct kw_msg *reply);
bool modop_reload_loads(const struct modop *op);
/* UNLOADED's fields: MODULE, ERRNO, USEC of the unload just done. */
void modop_put_unloaded(const struct modop *op, struct kw_msg *m);
/* Into a RESULT that ends a RELOAD: UNLOAD_ERRNO, UNLOAD_USEC (nothing for
 * other requests); the RELOAD is over. */
void modop_put_unload_outcome(struct modop *op, struct kw_msg *reply);
