/* SPDX-License-Identifier: MIT */
/*
 * settings.h — the project's settings file: `.kmod-watch` in DIR (or --config
 * FILE), INI-style, any long option as `name = value` (or a bare `name` for a
 * flag), `#` or `;` comments, [section] lines ignored. It becomes long options
 * placed before the command line's, so the command line wins for single
 * values and adds to repeatable ones (--expect, --param, …).
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

/* Reads FILE (explicit: missing is an error) or DIR/.kmod-watch (missing is
 * fine: 0 with n = 0). Reports problems in one line on stderr. */
int kw_settings_load(const char *file, const char *dir, char ***ret_argv, size_t *ret_n);
