/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keys.h — one-key commands on a terminal: stdin in non-canonical, no-echo
 * mode, each key handed to the controller through the loop. Only when stdin
 * is a terminal; the terminal is put back as it was on exit.
 */
#pragma once

#include <stdbool.h>

#include "loop.h"

typedef void (*kw_key_fn)(void *userdata, char key);

/* true when keys are on (stdin is a terminal and could be set up). */
bool kw_keys_start(struct kw_loop *l, kw_key_fn fn, void *userdata);
/* A matrix target's keys: stdin is a pipe from the supervisor, which reads
 * the terminal and passes each key on (matrix.c). true when stdin is a pipe. */
bool kw_keys_start_pipe(struct kw_loop *l, kw_key_fn fn, void *userdata);
/* Restores the terminal (also done at exit). */
void kw_keys_stop(void);
