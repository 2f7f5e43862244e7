/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * world-dir.c — the real world's watch of DIR: the source watch (watch.c,
 * filter.c) started with --include/--exclude, and DIR's name in its parent
 * (reappear.c), so a DIR deleted and made again is watched again, its lock
 * and shell socket moved to the new directory, and everything in it built.
 */
#include "world-int.h"

#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirlock.h"
#include "reappear.h"
#include "shellsrv.h"
#include "ui.h"
#include "watch.h"

static void remember_dir(struct world *w);

static int on_watch(void *userdata, int fd, short revents)
{
        kw_cycle_on_changes(((struct world *)userdata)->cycle);
        return 0;
}

/* ---- DIR deleted and made again ---- */

static void dir_back(struct world *w)
{
        struct kw_watch *watch;
        pid_t holder = 0;

        w->away = false;
        /* libinotifytools has one instance per process: the old watch goes first */
        kw_loop_del(w->loop, kw_watch_fd(w->watch));
        kw_watch_stop(w->watch);
        w->watch = NULL;
        int r = kw_watch_start(w->dir, &w->filter, &watch);
        if (r < 0) {
                char err[512];
                kw_err("%s is back, but cannot be watched: %s", w->dir, kw_watch_strerror(r, err, sizeof(err)));
                kw_cycle_quit(w->cycle, KW_EXIT_GUEST);
                return;
        }
        w->watch = watch;
        remember_dir(w);
        (void)kw_loop_add(w->loop, kw_watch_fd(w->watch), POLLIN, on_watch, w);
        if (w->lock_fd >= 0)
                close(w->lock_fd);
        w->lock_fd = kw_dirlock_take(w->dir, &holder); /* the lock was on the old directory */
        kw_shellsrv_moved(w->shells, w->dir);             /* and so was the shell socket's name */
        kw_info("%s is back: watching it again", w->dir);
        kw_cycle_on_dir_back(w->cycle);
        w->rescan = true;
        kw_cycle_on_changes(w->cycle);
}

static void remember_dir(struct world *w)
{
        struct stat st;

        if (stat(w->dir, &st) == 0) {
                w->dir_dev = st.st_dev;
                w->dir_ino = st.st_ino;
        }
}

/* DIR itself went away: wait for it to come back. */
void kw_world_dir_gone(struct world *w)
{
        if (w->away)
                return;
        w->away = true;
        if (!w->parent) {
                kw_warn("%s was deleted or moved away, and its parent cannot be watched: saves there are "
                        "not seen until kmod-watch is started again", w->dir);
                return;
        }
        kw_warn("%s was deleted or moved away: waiting for it to come back", w->dir);
        if (kw_reappear_here(w->parent)) /* replaced already (a rename over it, a fast re-clone) */
                dir_back(w);
}

/* DIR's name came and went in its parent: is it still the directory we watch? */
static int on_parent(void *userdata, int fd, short revents)
{
        struct world *w = userdata;
        struct stat st;

        if (!kw_reappear_named(w->parent))
                return 0;
        if (w->away) {
                if (kw_reappear_here(w->parent))
                        dir_back(w);
                return 0;
        }
        if (stat(w->dir, &st) < 0 || st.st_ino != w->dir_ino || st.st_dev != w->dir_dev)
                kw_world_dir_gone(w);
        return 0;
}

int kw_world_setup_watch(struct world *w)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < w->o->n_include; i++)
                r = kw_filter_add_include(&w->filter, w->o->include[i]);
        for (size_t i = 0; r >= 0 && i < w->o->n_exclude; i++)
                r = kw_filter_add_exclude(&w->filter, w->o->exclude[i]);
        if (r < 0)
                return r;
        remember_dir(w);
        r = kw_watch_start(w->dir, &w->filter, &w->watch);
        if (r < 0) {
                char err[512];
                kw_err("cannot watch %s: %s", w->dir, kw_watch_strerror(r, err, sizeof(err)));
                return r;
        }
        r = kw_reappear_start(w->dir, &w->parent);
        if (r < 0)
                kw_debug("cannot watch the parent of %s (%s): a deleted DIR is seen only by a save after it",
                         w->dir, strerror(-r));
        else
                (void)kw_loop_add(w->loop, kw_reappear_fd(w->parent), POLLIN, on_parent, w);
        return kw_loop_add(w->loop, kw_watch_fd(w->watch), POLLIN, on_watch, w);
}

