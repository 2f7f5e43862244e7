/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pty.h — PTY_OPEN and its traffic: interactive shells on pseudo-terminals
 * for `kmod-watch shell`, a few at once. Output goes to the host as PTY_DATA
 * frames, at most KW_PTY_WINDOW bytes per pty that the host has not ACKed,
 * so a shell that floods its terminal waits for the person's terminal and
 * never crowds the kernel log out of the channel.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "chan.h"

#define PTY_MAX 4        /* shells open at once; one more is refused (EBUSY) */
#define PTY_IN_MAX 16384 /* host → shell bytes the pty has not taken yet */

struct pty {
        uint32_t id;       /* the PTY_OPEN request; 0: slot free */
        pid_t pid;         /* the shell; 0 once reaped */
        int fd;            /* the master; -1 once closed */
        uint64_t unacked;  /* output sent the host has not ACKed */
        bool orphan;       /* hung up (host gone, or its PTY_CLOSE): say nothing more */
        uint8_t in[PTY_IN_MAX];
        size_t in_len;
};

struct ptys {
        struct pty p[PTY_MAX];
};

void pty_init(struct ptys *t);
/* PTY_OPEN: fills reply (a RESULT) with the outcome. */
void pty_open(struct ptys *t, const struct kw_frame *f, struct kw_msg *reply);
/* PTY_DATA, PTY_RESIZE, PTY_CLOSE from the host (no answer). */
void pty_request(struct ptys *t, const struct kw_frame *f);
/* Whether slot i wants reading (output window open) or writing (input queued). */
bool pty_wants_read(const struct ptys *t, int i);
bool pty_wants_write(const struct ptys *t, int i);
int pty_fd(const struct ptys *t, int i);
/* Slot i's master is readable (or hung up) / writable. */
void pty_pump(struct ptys *t, int i, struct chan *c);
void pty_write(struct ptys *t, int i);
/* A child was reaped: if it was a shell, its last output and PTY_CLOSE go
 * out; true. */
bool pty_exited(struct ptys *t, pid_t pid, int status, struct chan *c);
/* The host went away: every shell is hung up (SIGHUP), nobody can reach it. */
void pty_hangup_all(struct ptys *t);
