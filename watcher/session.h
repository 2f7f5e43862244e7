/* SPDX-License-Identifier: MIT */
/*
 * session.h — the conversation with one agent over a channel: resync and
 * greeting (SYNC → HELLO), then MOUNT and KMSG_START, then requests matched
 * to their RESULTs by id, with kmsg records and --run output delivered as
 * they arrive. An unsolicited HELLO means the agent or the guest restarted:
 * pending requests fail, the set-up runs again, and the owner is told.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"
#include "proto.h"
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

/* f is the RESULT frame, or NULL when the agent went away or timed out
 * (why says which). */
typedef void (*kw_reply_fn)(void *userdata, const struct kw_frame *f, const char *why);

struct kw_session;

/* tag and mount_path: the 9p share the agent mounts. An empty (or NULL) one
 * means no share (SSH: modules are copied instead), and no MOUNT request:
 * the set-up goes from the greeting straight to KMSG_START. */
int kw_session_new(struct kw_loop *l, const struct kw_session_ops *ops, void *userdata, const char *tag,
                   const char *mount_path, struct kw_session **ret);
struct kw_session *kw_session_free(struct kw_session *s);

/* Hand a fresh channel fd to the session (it owns the fd from here). */
int kw_session_attach_fd(struct kw_session *s, int fd);
/* The channel is gone (QEMU exited, socket closed): fail pending requests. */
void kw_session_detach(struct kw_session *s, const char *why);
bool kw_session_ready(const struct kw_session *s);
bool kw_session_attached(const struct kw_session *s);

/* The next request id, for kw_msg_init(). */
uint32_t kw_session_next_id(struct kw_session *s);
/* Send a request built with kw_msg_init(m, TYPE, kw_session_next_id(s)).
 * timeout_ms 0: none. The reply function runs exactly once. */
int kw_session_call(struct kw_session *s, struct kw_msg *m, unsigned timeout_ms, kw_reply_fn fn,
                    void *userdata);
const struct kw_guest *kw_session_guest(const struct kw_session *s);
