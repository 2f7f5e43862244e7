/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * watch.c — libinotifytools in its own thread → a pipe → the main poll loop
 * (see watch.h for the contract).
 *
 * The watch thread is in watch-thread.c, the pipe between it and the loop
 * in watch-pipe.c; here: starting and stopping them, and the messages.
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
 * - Stopping is a write to the stop eventfd and a join (see watch-thread.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inotifytools/inotifytools.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch-internal.h"

/* libinotifytools keeps one instance in globals: one kw_watch at a time. */
static atomic_flag watch_active = ATOMIC_FLAG_INIT;

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
        watch_forget_all(w);
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
