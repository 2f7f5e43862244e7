/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * srcalias.h — a path kbuild can take. Make splits words on spaces and
 * function arguments on commas, so `make M=/home/me/my module` (or
 * `…/a,b`) fails deep inside kbuild. Such a directory is built through a
 * symlink in a private temporary directory whose path has none of those
 * characters; everything else (the watch, the 9p share) keeps the real path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether kbuild can take PATH as it is (no space, comma, colon, '#', '$', quote, backslash, '%' or '='). */
bool kw_srcalias_needed(const char *path);
/* Makes the alias of DIR: ret gets its path (a symlink to DIR), ret_tmp the
 * private directory that holds it (kw_srcalias_remove() it at exit). */
int kw_srcalias_make(const char *dir, char *ret, size_t size, char *ret_tmp, size_t tmp_size);
void kw_srcalias_remove(const char *tmp);
