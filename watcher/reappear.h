/* SPDX-License-Identifier: MIT */
/*
 * reappear.h — waiting for a directory that went away to come back (an
 * `rm -rf DIR && git clone …`, a checkout that replaced it): an inotify
 * watch on its parent for its name, so nothing polls. The caller adds the fd
 * to the loop and asks kw_reappear_back() when it is readable.
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
void kw_reappear_stop(struct kw_reappear *r);
