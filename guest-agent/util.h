/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.h — the agent's small shared helpers: logging to the guest console,
 * the monotonic clock, reading tiny /proc and /sys files, taking strings out
 * of request frames without silent truncation, and building RESULT replies.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* stderr is the guest console (or the SSH session's stderr): one line each. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

uint64_t now_usec(void); /* CLOCK_MONOTONIC */

/* Reads up to size-1 bytes, NUL-terminates, strips trailing whitespace.
 * Returns the length or -errno. */
int read_text_file(const char *path, char *buf, size_t size);

/* kw_frame_str() truncates silently; a truncated path would name another file,
 * so this refuses instead: 0, -ENOENT (absent), -EBADMSG (embedded NUL),
 * -ENAMETOOLONG (does not fit in size-1). */
int frame_string(const struct kw_frame *f, enum kw_field key, char *buf, size_t size);

/* Starts a RESULT for request id; result_error() adds the failure, and
 * result_default_ok() adds ERRNO=0 when nothing did, so every RESULT says. */
void result_init(struct kw_msg *m, uint32_t id);
void result_default_ok(struct kw_msg *m);
/* Adds ERRNO=err (positive) and ERROR=formatted text to a RESULT. */
void result_error(struct kw_msg *m, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
