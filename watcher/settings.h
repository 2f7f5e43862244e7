/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * settings.h — the project's settings file: `.kmod-watch` in DIR (or --config
 * FILE), INI-style, any long option as `name = value` (or a bare `name` for a
 * flag), `#` or `;` comments, [section] lines ignored. It becomes long options
 * placed before the command line's, so the command line wins for single
 * values and adds to repeatable ones (--expect, --param, …). The user-wide
 * file (kw_settings_user_path) comes before the project's.
 *
 *     # .kmod-watch
 *     arch = arm64
 *     param = debug=1
 *     expect = hello: ready
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Pure: text → "--name=value" strings (malloc'd, caller frees each and the
 * vector). 0, -ENOMEM, or -EINVAL with *ret_line the 1-based bad line. */
int kw_settings_parse(const char *text, char ***ret_argv, size_t *ret_n, unsigned *ret_line);

/* Pure: is the option NAME ("once", "expect") among v? */
bool kw_settings_has(char *const *v, size_t n, const char *name);
/* Pure: removes every NAME option from v (freeing them); returns how many. */
size_t kw_settings_drop(char **v, size_t *n, const char *name);

/* The user-wide settings file: ${XDG_CONFIG_HOME:-$HOME/.config}/kmod-watch/config
 * into buf. -ENOENT when neither variable is set. */
int kw_settings_user_path(char *buf, size_t size);

/* The settings of a run: the user's file (user, "" for none; may be missing),
 * then the project's (project; missing is an error when project_must_exist),
 * into one vector, the user's first. `expect` lines are dropped unless the run
 * is a --once one (once: --once on the command line, or `once` in a file): an
 * interactive run has nothing to wait for. *ret_un, *ret_pn: how many options
 * each file gave. Problems are said in one line on stderr. */
int kw_settings_gather(const char *user, const char *project, bool project_must_exist, bool once,
                       char ***ret_argv, size_t *ret_n, size_t *ret_un, size_t *ret_pn);

/* Reads the settings file at path (must_exist: a missing one is an error, else
 * 0 with n = 0). Reports problems in one line on stderr. */
int kw_settings_load(const char *path, bool must_exist, char ***ret_argv, size_t *ret_n);
