/* SPDX-License-Identifier: MIT */
/*
 * watch.c — libinotifytools in its own thread → a pipe → the main poll loop
 * (see watch.h for the contract).
 *
 * How the library is used, and why this way (libinotifytools 3.22.6):
 *
 * - The library owns the inotify instance (inotifytools_initialize) and the
 *   reading and buffering of events (inotifytools_next_events). It has no
 *   accessor for its fd, and inotify_init() leaves that fd inheritable, so it
 *   would leak into every make and QEMU we spawn. We find it in /proc/self/fd
 *   (the one anon_inode:inotify that was not there before initialising) and
 *   set FD_CLOEXEC at once. kw_watch_start() does this on the caller's thread,
 *   which is the thread that forks, so there is no window for a fork.
 *
 * - The thread sleeps in poll() on that fd and a stop eventfd, with no
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
 *
 * The pipe carries records {u8 kind, u8 0, u16 len, len bytes}: kind is an
 * enum kw_change (payload: the path relative to DIR) or REC_ERROR (payload:
 * a positive errno as int32). One writer, so records never interleave; the
 * reader keeps a partial record for the next drain.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch.h"

#define WATCH_MASK                                                                             \
        (IN_CLOSE_WRITE | IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |   \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)

enum { REC_ERROR = 0x80 };

struct rec_hdr {
        uint8_t kind;
        uint8_t zero;
        uint16_t len;
};

#define REC_MAX (sizeof(struct rec_hdr) + PATH_MAX)
#define RBUF_SIZE (64 * 1024)

struct wd_entry {
        int wd;
        char *rel; /* "" for DIR itself */
};

struct kw_watch {
        const struct kw_filter *filter;
        int ino_fd; /* libinotifytools' fd: not ours to close */
        int pipe_r, pipe_w;
        int stop_fd;
        pthread_t thread;
        bool thread_started;
        bool lib_initialized;

        /* The watching side: the caller's thread during kw_watch_start(),
         * then only the watch thread. */
        struct wd_entry *wds; /* sorted by wd */
        size_t n_wds, cap_wds;
        int root_wd;
        char path[PATH_MAX]; /* absolute path being walked; starts with DIR */
        size_t root_len;
        unsigned char rec[REC_MAX];
        _Atomic unsigned n_dirs;

        /* The main loop's side. */
        size_t rlen;
        int error; /* last reported problem, -errno, taken by kw_watch_error() */
        int fatal; /* once the thread is gone: why */
        bool eof;
        unsigned char rbuf[RBUF_SIZE];
};

/* libinotifytools keeps one instance in globals: one kw_watch at a time. */
static atomic_flag watch_active = ATOMIC_FLAG_INIT;

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

/* ---- thread → pipe ---- */

/* Blocks only while the pipe is full, and then still wakes for a stop. */
static int write_all(struct kw_watch *w, const void *buf, size_t len)
{
        const unsigned char *p = buf;

        while (len > 0) {
                ssize_t n = write(w->pipe_w, p, len);

                if (n >= 0) {
                        p += n;
                        len -= (size_t)n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;

                struct pollfd pfd[2] = {
                        { .fd = w->pipe_w, .events = POLLOUT },
                        { .fd = w->stop_fd, .events = POLLIN },
                };
                if (poll(pfd, 2, -1) < 0 && errno != EINTR)
                        return -errno;
                if (pfd[1].revents)
                        return -ECANCELED;
        }
        return 0;
}

static int forward(struct kw_watch *w, unsigned kind, const void *payload, size_t len)
{
        struct rec_hdr h = { .kind = (uint8_t)kind, .len = (uint16_t)len };

        if (len > PATH_MAX)
                return 0; /* cannot be a path we could build anyway */
        memcpy(w->rec, &h, sizeof(h));
        memcpy(w->rec + sizeof(h), payload, len);
        return write_all(w, w->rec, sizeof(h) + len);
}

static int forward_change(struct kw_watch *w, enum kw_change kind, const char *rel)
{
        return forward(w, kind, rel, strlen(rel));
}

static int forward_error(struct kw_watch *w, int err)
{
        int32_t e = err < 0 ? -err : err;

        return forward(w, REC_ERROR, &e, sizeof(e));
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
                        r = forward_change(w, KW_CHANGE_MOVED_IN, path_rel(w));
                path_pop(w, old);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

/* Walks REL (relative to DIR) with watch_tree(). */
static int watch_rel(struct kw_watch *w, const char *rel, bool emit)
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
                        r = forward_error(w, r);
                if (r < 0)
                        return r;
                r = forward_change(w, KW_CHANGE_WRITE_DONE, ".");
                if (r < 0)
                        return r;
                return forward_error(w, EOVERFLOW);
        }
        if (ev->wd == w->root_wd && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)))
                return forward_error(w, ENOENT);
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
                                r = forward_error(w, r);
                        return r;
                }
                if (ev->mask & IN_MOVED_FROM) {
                        unwatch_tree(w, rel);
                        return forward_change(w, KW_CHANGE_GONE, rel);
                }
                return 0; /* IN_DELETE: it was empty; its files were reported */
        }

        if (!kw_filter_match(w->filter, rel))
                return 0;
        return forward_change(w, file_change(w, ev->mask, rel), rel);
}

static void *watch_thread(void *arg)
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
                (void)forward_error(w, r);
                close(w->pipe_w);
                w->pipe_w = -1;
        }
        return NULL;
}

/* ---- the main loop's side ---- */

static int parse_records(struct kw_watch *w, struct kw_debounce *d, uint64_t now_ms, int *count)
{
        size_t off = 0;
        int r = 0;

        while (w->rlen - off >= sizeof(struct rec_hdr)) {
                struct rec_hdr h;
                char path[PATH_MAX + 1];

                memcpy(&h, w->rbuf + off, sizeof(h));
                if (w->rlen - off < sizeof(h) + h.len)
                        break;
                if (h.kind == REC_ERROR) {
                        int32_t e = 0;

                        if (h.len == sizeof(e))
                                memcpy(&e, w->rbuf + off + sizeof(h), sizeof(e));
                        w->error = -(int)e;
                } else if (h.kind <= KW_CHANGE_GONE && h.len <= PATH_MAX) {
                        memcpy(path, w->rbuf + off + sizeof(h), h.len);
                        path[h.len] = '\0';
                        r = kw_debounce_add(d, path, (enum kw_change)h.kind, now_ms);
                        if (r < 0)
                                break;
                        (*count)++;
                }
                off += sizeof(h) + h.len;
        }
        memmove(w->rbuf, w->rbuf + off, w->rlen - off);
        w->rlen -= off;
        return r;
}

int kw_watch_drain(struct kw_watch *w, struct kw_debounce *d, uint64_t now_ms)
{
        int count = 0;

        while (!w->eof) {
                ssize_t n = read(w->pipe_r, w->rbuf + w->rlen, sizeof(w->rbuf) - w->rlen);
                int r;

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                if (n == 0) {
                        /* the thread died; its last record said why */
                        w->eof = true;
                        w->fatal = w->error < 0 ? w->error : -EPIPE;
                        break;
                }
                w->rlen += (size_t)n;
                r = parse_records(w, d, now_ms, &count);
                if (r < 0)
                        return r;
        }
        if (w->eof)
                return w->fatal;
        return count;
}

int kw_watch_fd(const struct kw_watch *w)
{
        return w->pipe_r;
}

int kw_watch_error(struct kw_watch *w)
{
        int r = w->error;

        w->error = 0;
        return r;
}

unsigned kw_watch_count(const struct kw_watch *w)
{
        return atomic_load(&((struct kw_watch *)w)->n_dirs);
}

/* ---- start and stop ---- */

/* The inotify fds open in this process. */
static int inotify_fds(int *fds, size_t max, size_t *ret_n)
{
        struct dirent *de;
        size_t n = 0;
        DIR *d;

        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char target[64];
                ssize_t len;
                char *end;
                long fd;

                fd = strtol(de->d_name, &end, 10);
                if (*end || end == de->d_name || fd == dirfd(d))
                        continue;
                len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (len < 0)
                        continue;
                target[len] = '\0';
                if (strcmp(target, "anon_inode:inotify") != 0)
                        continue;
                if (n == max) {
                        closedir(d);
                        return -EMFILE;
                }
                fds[n++] = (int)fd;
        }
        closedir(d);
        *ret_n = n;
        return 0;
}

/* inotifytools_initialize() and the search for its fd, which then gets
 * FD_CLOEXEC so make and QEMU do not inherit it. */
static int lib_init(struct kw_watch *w)
{
        int before[64], after[64];
        size_t n_before, n_after;
        int fd = -1, r;

        r = inotify_fds(before, 64, &n_before);
        if (r < 0)
                return r;
        if (!inotifytools_initialize()) {
                r = inotifytools_error();
                return r > 0 ? -r : -EMFILE;
        }
        w->lib_initialized = true;
        r = inotify_fds(after, 64, &n_after);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_after; i++) {
                bool old = false;

                for (size_t j = 0; j < n_before; j++)
                        old |= after[i] == before[j];
                if (old)
                        continue;
                if (fd >= 0)
                        return -ENOTUNIQ; /* another thread made one meanwhile */
                fd = after[i];
        }
        if (fd < 0)
                return -ENOENT;
        r = fcntl(fd, F_GETFD);
        if (r < 0 || fcntl(fd, F_SETFD, r | FD_CLOEXEC) < 0)
                return -errno;
        w->ino_fd = fd;
        return 0;
}

static void watch_free(struct kw_watch *w)
{
        if (w->lib_initialized)
                inotifytools_cleanup(); /* closes ino_fd */
        if (w->pipe_r >= 0)
                close(w->pipe_r);
        if (w->pipe_w >= 0)
                close(w->pipe_w);
        if (w->stop_fd >= 0)
                close(w->stop_fd);
        for (size_t i = 0; i < w->n_wds; i++)
                free(w->wds[i].rel);
        free(w->wds);
        free(w);
        atomic_flag_clear(&watch_active);
}

int kw_watch_start(const char *dir, const struct kw_filter *f, struct kw_watch **ret)
{
        struct kw_watch *w;
        int pipefd[2];
        sigset_t all, old;
        struct stat st;
        char *abs;
        int r;

        if (atomic_flag_test_and_set(&watch_active))
                return -EBUSY;
        w = calloc(1, sizeof(*w));
        if (!w) {
                atomic_flag_clear(&watch_active);
                return -ENOMEM;
        }
        w->filter = f;
        w->ino_fd = w->pipe_r = w->pipe_w = w->stop_fd = -1;

        /* absolute, so the thread does not depend on the cwd */
        abs = realpath(dir, NULL);
        if (!abs) {
                r = -errno;
                goto fail;
        }
        if (strlen(abs) >= sizeof(w->path)) {
                free(abs);
                r = -ENAMETOOLONG;
                goto fail;
        }
        strcpy(w->path, abs);
        free(abs);
        w->root_len = strlen(w->path);
        if (stat(w->path, &st) < 0) {
                r = -errno;
                goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
                r = -ENOTDIR;
                goto fail;
        }

        r = lib_init(w);
        if (r < 0)
                goto fail;
        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
                r = -errno;
                goto fail;
        }
        w->pipe_r = pipefd[0];
        w->pipe_w = pipefd[1];
        w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->stop_fd < 0) {
                r = -errno;
                goto fail;
        }

        /* DIR itself must be watchable, unlike a subdirectory that raced */
        w->root_wd = inotify_add_watch(w->ino_fd, w->path, WATCH_MASK);
        if (w->root_wd < 0) {
                r = -errno;
                goto fail;
        }
        r = watch_rel(w, "", false);
        if (r < 0)
                goto fail;

        /* The thread takes no signals: they belong to the loop's signalfd. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&w->thread, NULL, watch_thread, w);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                goto fail;
        w->thread_started = true;
        (void)pthread_setname_np(w->thread, "kw-watch"); /* for top -H, gdb */
        *ret = w;
        return 0;
fail:
        watch_free(w);
        return r;
}

void kw_watch_stop(struct kw_watch *w)
{
        if (!w)
                return;
        if (w->thread_started) {
                (void)eventfd_write(w->stop_fd, 1);
                pthread_join(w->thread, NULL);
        }
        watch_free(w);
}

static long read_sysctl(const char *name)
{
        char path[128], buf[32];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/sys/fs/inotify/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        return strtol(buf, NULL, 10);
}

const char *kw_watch_strerror(int err, char *buf, size_t len)
{
        if (err < 0)
                err = -err;
        switch (err) {
        case ENOSPC:
                snprintf(buf, len,
                         "inotify watch limit reached (fs.inotify.max_user_watches = %ld); "
                         "raise it with: sysctl fs.inotify.max_user_watches=524288",
                         read_sysctl("max_user_watches"));
                break;
        case EMFILE:
                snprintf(buf, len,
                         "inotify instance limit reached (fs.inotify.max_user_instances = %ld) "
                         "or too many open files; raise it with: "
                         "sysctl fs.inotify.max_user_instances=1024",
                         read_sysctl("max_user_instances"));
                break;
        case EOVERFLOW:
                snprintf(buf, len,
                         "inotify event queue overflowed (fs.inotify.max_queued_events = %ld): "
                         "some changes were missed, rebuilding",
                         read_sysctl("max_queued_events"));
                break;
        case ENOTUNIQ:
                snprintf(buf, len, "cannot tell libinotifytools' inotify fd apart from "
                                   "another one created at the same moment");
                break;
        default:
                snprintf(buf, len, "%s", strerror(err));
                break;
        }
        return buf;
}
