/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch-thread.c — the file watcher's thread (see watch.h for the contract,
 * watch.c for how it starts): it keeps wd → directory, walks new
 * directories, turns inotify events into changes and forwards those the
 * filter keeps (watch-pipe.c).
 *
 * How the library is used here, and why this way (libinotifytools 3.22.6):
 *
 * - The thread sleeps in poll() on the library's inotify fd and a stop eventfd, with no
 *   timeout, then drains with inotifytools_next_events(0, 1) until it
 *   returns NULL. Timeout 0 makes the library's select() non-blocking (note:
 *   inotifytools_next_event(0) would block — it maps 0 to "forever"); n = 1
 *   because n > 1 spins on FIONREAD until that many events are queued.
 *   Draining to NULL also empties the library's private buffer, which poll()
 *   cannot see. Stopping is a write to the eventfd and a join: no
 *   pthread_cancel, so the library is never interrupted between its static
 *   buffer and its read(), and nothing is left half-updated for the next
 *   kw_watch. (The library's own timeouts are whole seconds, and a 1 s
 *   timeout loop checking a flag would be a periodic wakeup.)
 *
 * - Watches are added and removed with inotify_add_watch/inotify_rm_watch on
 *   the library's fd, and wd → directory is kept here, not in the library's
 *   tables: when a watched directory is deleted the kernel drops the watch
 *   (IN_IGNORED) and the library cannot forget it (its remove functions call
 *   inotify_rm_watch, which then fails and prints to stderr), after which
 *   inotifytools_wd_from_filename() answers with the dead wd for a directory
 *   re-created under the same name; and after a directory is renamed its
 *   filename_from_wd() is stale unless every move is replayed into it. The
 *   library's include/exclude regex is not used either: in 3.22.6 it also
 *   drops the directory-create events we need. We filter here, in the
 *   thread, so the pipe carries only changes worth a build.
 */
#include <dirent.h>
#include <errno.h>
#include <inotifytools/inotifytools.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch-internal.h"

/* ---- wd → directory (relative to DIR) ---- */

static size_t wd_lookup(const struct kw_watch *w, int wd, bool *found)
{
        size_t lo = 0, hi = w->n_wds;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (w->wds[mid].wd == wd) {
                        *found = true;
                        return mid;
                }
                if (w->wds[mid].wd < wd)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = false;
        return lo;
}

static const char *wd_rel(const struct kw_watch *w, int wd)
{
        bool found;
        size_t i = wd_lookup(w, wd, &found);

        return found ? w->wds[i].rel : NULL;
}

/* inotify_add_watch() returns the existing wd for an inode already watched:
 * then only the name is updated. */
static int wd_set(struct kw_watch *w, int wd, const char *rel)
{
        bool found;
        size_t i = wd_lookup(w, wd, &found);
        char *copy;

        if (found && strcmp(w->wds[i].rel, rel) == 0)
                return 0;
        copy = strdup(rel);
        if (!copy)
                return -ENOMEM;
        if (found) {
                free(w->wds[i].rel);
                w->wds[i].rel = copy;
                return 0;
        }
        if (w->n_wds == w->cap_wds) {
                size_t cap = w->cap_wds ? w->cap_wds * 2 : 64;
                struct wd_entry *v = realloc(w->wds, cap * sizeof(*v));

                if (!v) {
                        free(copy);
                        return -ENOMEM;
                }
                w->wds = v;
                w->cap_wds = cap;
        }
        memmove(&w->wds[i + 1], &w->wds[i], (w->n_wds - i) * sizeof(w->wds[0]));
        w->wds[i] = (struct wd_entry){ .wd = wd, .rel = copy };
        w->n_wds++;
        atomic_store(&w->n_dirs, (unsigned)w->n_wds);
        return 0;
}

static void wd_forget(struct kw_watch *w, int wd)
{
        bool found;
        size_t i = wd_lookup(w, wd, &found);

        if (!found)
                return;
        free(w->wds[i].rel);
        memmove(&w->wds[i], &w->wds[i + 1], (w->n_wds - i - 1) * sizeof(w->wds[0]));
        w->n_wds--;
        atomic_store(&w->n_dirs, (unsigned)w->n_wds);
}

static bool is_under(const char *rel, const char *dir)
{
        size_t n = strlen(dir);

        return strncmp(rel, dir, n) == 0 && (rel[n] == '\0' || rel[n] == '/');
}

/* A directory moved away: its watches would keep reporting its files under
 * the old names, wherever it went. */
static void unwatch_tree(struct kw_watch *w, const char *reldir)
{
        size_t j = 0;

        for (size_t i = 0; i < w->n_wds; i++) {
                if (is_under(w->wds[i].rel, reldir)) {
                        /* the IN_IGNORED that follows finds no entry: fine */
                        (void)inotify_rm_watch(w->ino_fd, w->wds[i].wd);
                        free(w->wds[i].rel);
                        continue;
                }
                w->wds[j++] = w->wds[i];
        }
        w->n_wds = j;
        atomic_store(&w->n_dirs, (unsigned)w->n_wds);
}

void watch_forget_all(struct kw_watch *w)
{
        for (size_t i = 0; i < w->n_wds; i++)
                free(w->wds[i].rel);
        free(w->wds);
        w->wds = NULL;
        w->n_wds = w->cap_wds = 0;
}

/* ---- walking ---- */

/* w->path holds DIR + "/" + rel; rel is the part after the root. */
static const char *path_rel(const struct kw_watch *w)
{
        const char *rel = w->path + w->root_len;

        return *rel == '/' ? rel + 1 : rel;
}

/* Appends "/name" to w->path; returns the old length, or (size_t)-1. */
static size_t path_push(struct kw_watch *w, const char *name)
{
        size_t old = strlen(w->path);
        size_t n = strlen(name);
        size_t at = old;

        if (old + 1 + n >= sizeof(w->path))
                return (size_t)-1;
        if (old == 0 || w->path[old - 1] != '/') /* DIR may be "/" */
                w->path[at++] = '/';
        memcpy(w->path + at, name, n + 1);
        return old;
}

static void path_pop(struct kw_watch *w, size_t old)
{
        w->path[old] = '\0';
}

/*
 * Watches the directory at w->path and every directory below it that the
 * filter keeps. The watch is added before the directory is listed, so a file
 * created meanwhile is either listed or reported by the watch. With emit,
 * every source file found is forwarded as MOVED_IN: they may have been
 * written before the watch existed (mkdir sub && echo > sub/x.c).
 *
 * A directory that vanished or cannot be read is skipped. Returns 0, or
 * -errno for what makes going on pointless (-ENOSPC, -ENOMEM, -ECANCELED).
 */
static int watch_tree(struct kw_watch *w, bool emit)
{
        const char *rel = path_rel(w);
        struct dirent *de;
        DIR *d;
        int wd, r = 0;

        if (kw_filter_dir_ignored(w->filter, rel))
                return 0;

        wd = inotify_add_watch(w->ino_fd, w->path, WATCH_MASK);
        if (wd < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP)
                        return 0;
                return -errno;
        }
        r = wd_set(w, wd, rel);
        if (r < 0)
                return r;

        d = opendir(w->path);
        if (!d)
                return 0; /* gone again, or not readable: the watch says the rest */

        while ((de = readdir(d))) {
                unsigned char type = de->d_type;
                size_t old;

                if (de->d_name[0] == '.')
                        continue; /* ".", "..", and hidden: always ignored */
                old = path_push(w, de->d_name);
                if (old == (size_t)-1)
                        continue;
                if (type == DT_UNKNOWN) { /* some filesystems do not say */
                        struct stat st;

                        if (lstat(w->path, &st) == 0)
                                type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
                }
                if (type == DT_DIR)
                        r = watch_tree(w, emit);
                else if (emit && type != DT_UNKNOWN && kw_filter_match(w->filter, path_rel(w)))
                        r = watch_forward_change(w, KW_CHANGE_MOVED_IN, path_rel(w));
                path_pop(w, old);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

/* Walks REL (relative to DIR) with watch_tree(). */
int watch_rel(struct kw_watch *w, const char *rel, bool emit)
{
        size_t old = rel[0] ? path_push(w, rel) : strlen(w->path);
        int r;

        if (old == (size_t)-1)
                return 0;
        r = watch_tree(w, emit);
        path_pop(w, old);
        return r;
}

/* ---- events ---- */

static enum kw_change file_change(struct kw_watch *w, uint32_t mask, const char *rel)
{
        if (mask & IN_CLOSE_WRITE)
                return KW_CHANGE_WRITE_DONE;
        if (mask & IN_MOVED_TO)
                return KW_CHANGE_MOVED_IN;
        if (mask & (IN_DELETE | IN_MOVED_FROM))
                return KW_CHANGE_GONE;
        if (mask & IN_CREATE) {
                /* a symlink is complete when it appears; no close will follow */
                struct stat st;
                size_t old = path_push(w, rel);

                if (old != (size_t)-1) {
                        bool link = lstat(w->path, &st) == 0 && S_ISLNK(st.st_mode);

                        path_pop(w, old);
                        if (link)
                                return KW_CHANGE_MOVED_IN;
                }
        }
        return KW_CHANGE_WRITE_OPEN; /* IN_CREATE, IN_MODIFY */
}

/* Returns 0, or -ECANCELED when a stop came while the pipe was full. Other
 * problems are forwarded as REC_ERROR and the thread goes on. */
static int handle_event(struct kw_watch *w, const struct inotify_event *ev)
{
        char rel[PATH_MAX];
        const char *dir;
        int r, n;

        if (ev->mask & IN_Q_OVERFLOW) {
                /* Lost events may include directory creations: rewatch, then
                 * rebuild everything once. */
                r = watch_rel(w, "", false);
                if (r < 0 && r != -ECANCELED)
                        r = watch_forward_error(w, r);
                if (r < 0)
                        return r;
                r = watch_forward_change(w, KW_CHANGE_WRITE_DONE, ".");
                if (r < 0)
                        return r;
                return watch_forward_error(w, EOVERFLOW);
        }
        if (ev->wd == w->root_wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)))
                return watch_forward_error(w, ENOENT);
        if (ev->mask & IN_IGNORED) {
                wd_forget(w, ev->wd);
                return 0;
        }
        if (ev->len == 0 || !ev->name[0])
                return 0; /* about a watched directory itself: its parent said it */
        dir = wd_rel(w, ev->wd);
        if (!dir)
                return 0; /* a watch already dropped (moved away) */
        n = snprintf(rel, sizeof(rel), "%s%s%s", dir, dir[0] ? "/" : "", ev->name);
        if (n < 0 || (size_t)n >= sizeof(rel))
                return 0;

        if (ev->mask & IN_ISDIR) {
                if (kw_filter_dir_ignored(w->filter, rel))
                        return 0;
                if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                        r = watch_rel(w, rel, true);
                        if (r < 0 && r != -ECANCELED)
                                r = watch_forward_error(w, r);
                        return r;
                }
                if (ev->mask & IN_MOVED_FROM) {
                        unwatch_tree(w, rel);
                        return watch_forward_change(w, KW_CHANGE_GONE, rel);
                }
                return 0; /* IN_DELETE: it was empty; its files were reported */
        }

        if (!kw_filter_match(w->filter, rel))
                return 0;
        return watch_forward_change(w, file_change(w, ev->mask, rel), rel);
}

void *watch_thread(void *arg)
{
        struct kw_watch *w = arg;
        struct inotify_event *ev;
        int r = 0;

        for (;;) {
                struct pollfd pfd[2] = {
                        { .fd = w->ino_fd, .events = POLLIN },
                        { .fd = w->stop_fd, .events = POLLIN },
                };

                if (poll(pfd, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (pfd[1].revents)
                        break;
                if (pfd[0].revents & (POLLERR | POLLNVAL)) {
                        r = -EIO;
                        break;
                }
                while ((ev = inotifytools_next_events(0, 1))) {
                        r = handle_event(w, ev);
                        if (r < 0)
                                goto out;
                }
                r = inotifytools_error();
                if (r && r != EINTR && r != EAGAIN) {
                        r = -r;
                        break;
                }
                r = 0;
        }
out:
        /* Leave the library's private buffer empty for the next kw_watch; the
         * bound is for an event storm that would otherwise keep us here. */
        for (unsigned i = 0; i < 65536 && inotifytools_next_events(0, 1); i++)
                ;
        if (r < 0 && r != -ECANCELED) {
                /* Tell the loop why, then EOF tells it the thread is gone. */
                (void)watch_forward_error(w, r);
                close(w->pipe_w);
                w->pipe_w = -1;
        }
        return NULL;
}
