/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch.h — the file watcher: libinotifytools in its own thread, watching DIR
 * and every directory under it that the filter does not prune, forwarding
 * each relevant change through a pipe into the main poll loop.
 *
 * Usage, in the one poll loop:
 *
 *     kw_watch_start(dir, &filter, &w);          // every watch is in place on return
 *     kw_loop_add(loop, kw_watch_fd(w), POLLIN, on_watch, …);
 *     on_watch: kw_watch_drain(w, &debounce, kw_now_ms());
 *               kw_watch_error(w) → show it (kw_watch_strerror);
 *               re-arm the debounce timer for kw_debounce_deadline();
 *     on timer: kw_debounce_take(&debounce, kw_now_ms(), &batch) → build.
 *     …
 *     kw_watch_stop(w);
 *
 * Only source changes reach the pipe (kw_filter_match), already mapped to
 * enum kw_change; build outputs and editor temp files never wake the main
 * loop. A directory created or moved in is watched at once and rescanned,
 * and the source files already in it are reported as KW_CHANGE_MOVED_IN
 * (mkdir sub && cp x.c sub/ can finish before the watch on sub exists). A
 * directory moved away is reported as a GONE change of its own path, since
 * no event will name the files that left with it.
 *
 * Idle costs nothing: the thread sleeps in poll() on the inotify fd and a
 * stop eventfd, with no timeout. libinotifytools has global state, so only
 * one kw_watch can exist at a time (a second start gets -EBUSY). Needs
 * /proc (to find the library's inotify fd). The filter must outlive the
 * watch and not change while it runs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "debounce.h"
#include "filter.h"

struct kw_watch;

/* Watches DIR recursively and starts the thread. 0, or -errno: -ENOENT,
 * -ENOTDIR, -EACCES for DIR; -ENOSPC (watch limit) and -EMFILE (instance
 * limit) — give those to kw_watch_strerror(); -EBUSY when a kw_watch already
 * exists. *ret is written on success only. */
int kw_watch_start(const char *dir, const struct kw_filter *f, struct kw_watch **ret);

/* Readable (POLLIN) when changes are waiting; non-blocking, close-on-exec. */
int kw_watch_fd(const struct kw_watch *w);

/* Reads everything waiting and feeds it to d with the time NOW_MS. Returns
 * the number of changes fed (0 is normal: a read can end mid-record), or
 * -errno: -ENOMEM, or — once the thread has died, the fd then stays readable
 * and must leave the poll set — the error that killed it (-EPIPE if none). */
int kw_watch_drain(struct kw_watch *w, struct kw_debounce *d, uint64_t now_ms);

/* The last problem the thread reported since the previous call, as -errno,
 * or 0. The watcher keeps running after each of these:
 *   -ENOSPC     a new directory could not be watched: watch limit reached
 *   -EOVERFLOW  the kernel's event queue overflowed; a change of "." (the
 *               whole DIR) was fed to the debounce, so one build follows
 *   -ENOENT     DIR itself was deleted, moved or unmounted
 *   -ENOMEM, …  a new directory could not be watched
 * (A subdirectory that cannot be read, or vanishes while being walked, is
 * skipped silently, at start as later, as inotifywait -r does.) */
int kw_watch_error(struct kw_watch *w);

/* Directories currently watched. */
unsigned kw_watch_count(const struct kw_watch *w);

/* Stops and joins the thread, closes everything, frees w. NULL is fine. */
void kw_watch_stop(struct kw_watch *w);

/* A sentence for an error from kw_watch_start() or kw_watch_error(), with the
 * fix where there is one, e.g. for -ENOSPC: "inotify watch limit reached
 * (fs.inotify.max_user_watches = 8192); raise it with: sysctl
 * fs.inotify.max_user_watches=524288". Returns buf. */
const char *kw_watch_strerror(int err, char *buf, size_t len);
