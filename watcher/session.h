/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * session.h — the conversation with one agent over a channel: resync and
 * greeting (SYNC → HELLO), then MOUNT and KMSG_START, then requests matched
 * to their RESULTs by id, with kmsg records and --run output delivered as
 * they arrive. An unsolicited HELLO means the agent or the guest restarted:
 * pending requests fail, the set-up runs again, and the owner is told.
 *
 * Requests go out as typed calls (kw_session_load/unload/reload/run/ping): the
 * session builds the frame and hands back a struct kw_reply, saying whether
 * the RESULT came, the deadline passed, or the channel was lost; the
 * controller never builds a frame or reads a RESULT.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "proto.h"
#include "stats.h"
#include "transport.h"

struct kw_guest {
        char arch[32];
        char release[128];
        char version[64];
        char boot_id[64];
};

struct kw_session_ops {
        /* The agent is set up (share mounted, kmsg streaming). rebooted: the
         * guest booted again since the last ready (boot id changed). */
        void (*ready)(void *userdata, const struct kw_guest *g, bool rebooted);
        void (*kmsg)(void *userdata, uint64_t seq, unsigned level, uint64_t ts_usec, const char *text);
        void (*gap)(void *userdata, uint64_t seq, uint64_t count);
        void (*output)(void *userdata, uint32_t id, unsigned stream, const char *text, size_t len);
        /* Set-up failed in a way retrying will not fix (e.g. the mount). */
        void (*failed)(void *userdata, const char *reason);
};

struct kw_session;

/* tag and mount_path: the 9p share the agent mounts. An empty (or NULL) one
 * means no share (SSH: modules are copied instead), and no MOUNT request:
 * the set-up goes from the greeting straight to KMSG_START. */
int kw_session_new(struct kw_loop *l, const struct kw_session_ops *ops, void *userdata, const char *tag,
                   const char *mount_path, struct kw_session **ret);
/* Closes the channel; requests still pending are dropped without their
 * callbacks (kw_session_detach() first to have them fail). NULL is fine. */
void kw_session_free(struct kw_session *s);

/* Hand a fresh channel fd to the session (it owns the fd from here). */
int kw_session_attach_fd(struct kw_session *s, int fd);
/* The channel is gone (QEMU exited, socket closed): fail pending requests. */
void kw_session_detach(struct kw_session *s, const char *why);
bool kw_session_ready(const struct kw_session *s);
bool kw_session_attached(const struct kw_session *s);
const struct kw_guest *kw_session_guest(const struct kw_session *s);

/* How a request ended. */
enum kw_reply_kind {
        KW_REPLY_OK,      /* a RESULT came (err may still say the request failed) */
        KW_REPLY_TIMEOUT, /* no RESULT before the deadline; the channel is still up */
        KW_REPLY_LOST,    /* the channel went away (detach, agent restart) before a RESULT */
};
#define KW_REPLY_MAX_DEPS 64
struct kw_reply {
        enum kw_reply_kind kind;
        int err;           /* the RESULT's errno, 0 = success; EIO when kind != KW_REPLY_OK */
        uint64_t status;   /* RUN: the command's exit status (255 when unknown) */
        uint64_t usec;     /* LOAD: how long finit_module took in the guest */
        char error[1024];  /* the RESULT's error text, "" when none */
        /* LOAD: the in-kernel modules the agent loaded first (DEPS), in load order */
        char deps[KW_REPLY_MAX_DEPS][64];
        size_t n_deps;
        char deps_text[1024]; /* the same, joined by ", "; "" when none */
        char sections[512];   /* LOAD: "[0xTEXT] -s .data 0x… …" for gdb's add-symbol-file; "" when unknown */
        /* RELOAD: the RESULT says how its unload went (UNLOAD_ERRNO): unload_err 0 or
         * ENOENT, the load was tried; else err is the unload's and no load was. An agent
         * without RELOAD answers err EOPNOTSUPP without it. */
        bool has_unload;
        int unload_err;
        const char *why;   /* kind != KW_REPLY_OK: why no RESULT came (valid during the callback) */
};
typedef void (*kw_result_fn)(void *userdata, const struct kw_reply *r);
/* Each sends one request; fn runs exactly once (not before the call returns); timeout_ms 0: none.
 * Return <0 (-ENOTCONN, -EBUSY, …) and never call fn when the request cannot be sent. */
int kw_session_load(struct kw_session *s, const char *path, const char *params, unsigned timeout_ms,
                    kw_result_fn fn, void *userdata);       /* params NULL or "" : none */
int kw_session_unload(struct kw_session *s, const char *module, bool force, unsigned timeout_ms,
                      kw_result_fn fn, void *userdata);     /* force: KW_UNLOAD_FORCE flag */
/* RELOAD: unload module, then (if that went well) load path, in one request. unloaded runs
 * when the agent says the unload is over (UNLOADED: err, error, usec of the unload), at most
 * once and before fn, which then has the load's RESULT; the deadline starts again there, so
 * each half has timeout_ms. When the unload fails, fn alone runs, with the unload's RESULT. */
int kw_session_reload(struct kw_session *s, const char *module, bool force, const char *path, const char *params,
                      unsigned timeout_ms, kw_result_fn unloaded, kw_result_fn fn, void *userdata);
int kw_session_run(struct kw_session *s, const char *cmd, unsigned timeout_ms, kw_result_fn fn,
                   void *userdata);
int kw_session_ping(struct kw_session *s, unsigned timeout_ms, kw_result_fn fn, void *userdata);
/* A barrier in the kernel log (LOG_SYNC): fn runs after every record the
 * guest logged before the request was sent has been delivered. An agent
 * without it answers err EOPNOTSUPP. */
int kw_session_log_sync(struct kw_session *s, unsigned timeout_ms, kw_result_fn fn, void *userdata); /* a KW_MODULES request */

/* The guest's counters (STATS; flags KW_STATS_SHRINK, KW_STATS_KMEMLEAK): st is NULL unless a
 * RESULT came with err 0, and valid during the callback. An older agent answers EOPNOTSUPP. */
typedef void (*kw_stats_fn)(void *userdata, const struct kw_reply *r, const struct kw_stats *st);
int kw_session_stats(struct kw_session *s, unsigned flags, unsigned timeout_ms, kw_stats_fn fn, void *userdata);

/* kmod-watch shell's side door (shellsrv.c): the frames of open shells
 * (PTY_DATA, PTY_CLOSE from the agent), and when the agent is ready or gone
 * (detached, restarted: every shell on it is gone too). One tap; NULL: none. */
struct kw_session_tap {
        void (*frame)(void *userdata, const struct kw_frame *f);
        void (*ready)(void *userdata);
        void (*lost)(void *userdata, const char *why);
};
void kw_session_set_tap(struct kw_session *s, const struct kw_session_tap *tap, void *userdata);
/* Queues a frame that is no request (PTY_DATA, PTY_RESIZE, PTY_CLOSE): no
 * RESULT comes. -ENOTCONN unless ready; else kw_chan_send()'s errors. */
int kw_session_send(struct kw_session *s, struct kw_msg *m);

/* The low-level path, for the session's own set-up (MOUNT, KMSG_START) and
 * for reload.c until it moves to the typed calls above: the caller builds the
 * frame and reads the RESULT itself. New code uses the typed calls. */

/* f is the RESULT frame, or NULL when the agent went away or timed out
 * (why says which: "timed out" for the deadline). */
typedef void (*kw_reply_fn)(void *userdata, const struct kw_frame *f, const char *why);
/* The next request id, for kw_msg_init(). */
uint32_t kw_session_next_id(struct kw_session *s);
/* Send a request built with kw_msg_init(m, TYPE, kw_session_next_id(s)).
 * timeout_ms 0: none. The reply function runs exactly once. */
int kw_session_call(struct kw_session *s, struct kw_msg *m, unsigned timeout_ms, kw_reply_fn fn,
                    void *userdata);

