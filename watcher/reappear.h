/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reappear.h — a directory's comings and goings (an `rm -rf DIR && git clone
 * …`, a checkout that replaced it): an inotify watch on its parent for its
 * name, so nothing polls. It is set up for the whole run, because a deleted
 * directory that something still holds open (our lock, QEMU's 9p share) gets
 * no DELETE_SELF of its own: only its parent hears of it. The caller adds the
 * fd to the loop and, when it is readable, asks kw_reappear_named() whether
 * DIR's name was in the news, then kw_reappear_here() whether it is there.
 */
#pragma once

#include <stdbool.h>

struct kw_reappear;

/* Starts waiting for DIR (absolute). -errno when its parent cannot be
 * watched (gone too, or no permission). */
int kw_reappear_start(const char *dir, struct kw_reappear **ret);
int kw_reappear_fd(const struct kw_reappear *r);
/* Drains the fd; true once DIR is a directory again (also true at once if it
 * came back before the watch was set up). */
bool kw_reappear_back(struct kw_reappear *r);
/* Drains the fd; true when an event named DIR (made, deleted, moved in or out). */
bool kw_reappear_named(struct kw_reappear *r);
/* DIR is a directory now. */
bool kw_reappear_here(const struct kw_reappear *r);
void kw_reappear_stop(struct kw_reappear *r);
