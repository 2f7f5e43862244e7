/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * debounce.h — when a burst of file changes is over, so the build can start.
 * Pure logic: the caller passes the time (monotonic milliseconds, e.g.
 * kw_now_ms()) with every call; nothing here reads a clock or sleeps.
 *
 * Feed it the relevant events (already filtered) with kw_debounce_add(); arm
 * a timer for kw_debounce_deadline(); when it fires, kw_debounce_take() hands
 * over the batch — the changed paths, deduplicated and sorted — and starts
 * the next one empty.
 *
 * The rule. A batch is ready when, since its LAST event:
 *   - quiet_ms have passed (default 20), and
 *   - no file in it is still being written: a path whose last event is
 *     WRITE_OPEN (created or modified, not yet closed) holds the batch until
 *     it is closed, renamed or deleted, but for at most hold_ms (default 500)
 *     after that path's last event, so a writer that never closes (truncate
 *     by path, a hard link, an editor that keeps the file open) costs half a
 *     second, not forever; and
 *   - if every path in it is GONE (deleted or renamed away, nothing came
 *     back), gone_ms have passed (default 100).
 *
 * Why 20 ms. Every save sequence we must survive (vim's rename-away →
 * create → write → close, sed -i's write-temp → rename, JetBrains' three
 * renames, emacs' backup rename) runs its steps back to back: microseconds
 * to a few ms apart, measured on real editors. A slow writer (vim's fsync,
 * a big file) is covered by the WRITE_OPEN hold, not by the window, so the
 * window only has to bridge syscalls; 20 ms is watchman's settle and leaves a
 * loaded machine ten-fold slack. entr's 50 ms would add 30 ms to every save
 * for nothing we need (our filter already drops the temp files and build
 * outputs entr has to wait out). The all-GONE case gets longer because a
 * lone disappearance is usually the first half of an atomic save seen early,
 * and building then fails ("No rule to make target hello.c") one save in a
 * hundred; a real delete is rare and can wait 100 ms.
 *
 * Build running: the caller simply does not call kw_debounce_take() while a
 * build runs. Changes keep accumulating into one batch; when the build ends
 * the caller checks kw_debounce_deadline() again and, if it has passed,
 * takes the batch at once: exactly one more build, however many saves came
 * in meanwhile.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_DEBOUNCE_QUIET_MS 20
#define KW_DEBOUNCE_HOLD_MS 500
#define KW_DEBOUNCE_GONE_MS 100
#define KW_DEBOUNCE_NEVER UINT64_MAX

enum kw_change {
        KW_CHANGE_WRITE_OPEN, /* IN_CREATE, IN_MODIFY: a writer may still be writing */
        KW_CHANGE_WRITE_DONE, /* IN_CLOSE_WRITE */
        KW_CHANGE_MOVED_IN,   /* IN_MOVED_TO (or found by a rescan): complete by construction */
        KW_CHANGE_GONE,       /* IN_DELETE, IN_MOVED_FROM */
};

struct kw_debounce_entry {
        char *path;
        uint64_t last_ms;    /* time of this path's last event */
        enum kw_change last; /* kind of this path's last event */
};

struct kw_debounce {
        unsigned quiet_ms, hold_ms, gone_ms;
        struct kw_debounce_entry *v; /* sorted by path, unique */
        size_t n, cap;
        uint64_t last_ms; /* the batch's last event */
};

/* A taken batch: n paths relative to DIR, sorted (strcmp), unique. */
struct kw_batch {
        char **paths;
        size_t n;
};

/* Times in ms; pass 0 for hold_ms/gone_ms to get the defaults above.
 * quiet_ms is used as given (0 is allowed: "as soon as nothing is open"). */
void kw_debounce_init(struct kw_debounce *d, unsigned quiet_ms, unsigned hold_ms, unsigned gone_ms);
void kw_debounce_free(struct kw_debounce *d);

/* Records one event for PATH at NOW_MS. 0 or -ENOMEM (the state is unchanged). */
int kw_debounce_add(struct kw_debounce *d, const char *path, enum kw_change kind, uint64_t now_ms);

/* Is any change waiting? */
bool kw_debounce_pending(const struct kw_debounce *d);

/* Is every path of the waiting batch complete: its last event a close after a
 * write or a rename into place (none open, none gone)? The window may still be
 * open: a caller that can undo a build cheaply may start one now (see cycle's
 * changes.c) instead of waiting quiet_ms. */
bool kw_debounce_settled(const struct kw_debounce *d);

/* When the batch is ready (monotonic ms), or KW_DEBOUNCE_NEVER when empty. It
 * may move later with every event; re-arm the timer after each drain. */
uint64_t kw_debounce_deadline(const struct kw_debounce *d);

/* If the batch is ready at NOW_MS, moves it into *ret (which the caller frees
 * with kw_batch_free) and starts an empty one: returns the number of paths.
 * Returns 0 with *ret empty when nothing is ready yet (NOW_MS =
 * KW_DEBOUNCE_NEVER takes whatever is pending), -ENOMEM (state unchanged). */
int kw_debounce_take(struct kw_debounce *d, uint64_t now_ms, struct kw_batch *ret);

void kw_batch_free(struct kw_batch *b);
