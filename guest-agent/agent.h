/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * agent.h — the agent's whole state, shared by the poll loop (main.c) and
 * the request dispatcher (request.c).
 */
#pragma once

#include <stdbool.h>

#include "chan.h"
#include "kmsgstream.h"
#include "modload.h"
#include "port.h"
#include "pty.h"
#include "run.h"

struct agent {
        bool stdio;      /* --stdio: stdin/stdout, there until EOF */
        struct port port;
        struct chan chan;
        struct kmsgstream kmsg;
        struct run run;
        struct ptys ptys; /* kmod-watch shell */
        struct modop modop; /* the LOAD or UNLOAD in progress */
        int sig_fd;      /* SIGIO, SIGCHLD */
        bool log_sync;   /* a LOG_SYNC waits for /dev/kmsg to be drained */
        uint32_t log_sync_id;
};

/* Decodes and handles requests while there is room for their replies. */
void request_process(struct agent *a);
/* The UNLOAD retry timer fired. */
void request_unload_timer(struct agent *a);
/* SIGCHLD: reap children, answer the RUN or LOAD that ended. */
void request_reap(struct agent *a);
/* /dev/kmsg was pumped (drained: everything logged so far is sent): answer a
 * waiting LOG_SYNC. */
void request_log_pumped(struct agent *a, bool drained);
/* Queue a greeting ahead of everything (a host just connected). */
void request_greet(struct agent *a);
