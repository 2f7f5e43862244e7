/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ui.h — everything kmod-watch shows: human lines on a terminal (coloured by
 * kernel log level, one summary per reload) or, with --json, one JSON object
 * per line on stdout as doc/contract.md lists them. Diagnostics go to stderr
 * in both modes, so stdout stays machine-readable.
 *
 * The ui layer owns the difference between the modes: callers emit events
 * (kw_ev_*, which the JSON writer and the results sink, results.c, see) and say what a person
 * should read with kw_note*() and kw_ui_*(), which are silent in --json mode.
 * Nothing outside ui.c tests the mode or writes terminal escapes.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct kw_ui_opts {
        bool json;
        bool color;     /* stderr gets colours (kmod-watch's own lines) */
        bool color_out; /* stdout gets colours (the kernel log) */
        int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
        bool status;   /* stderr is a terminal for a person: one replaced status line for long work */
};

/* Terminal habits the run asked for (--bell, --clear). */
struct kw_ui_habits {
        bool bell;  /* a bell on a failed build or load and on a kernel report */
        bool clear; /* clear the screen before each build */
};

void kw_ui_setup(const struct kw_ui_opts *o);

/* Progress of long work (a boot, a build) on one status line of stderr, each
 * piece of work in its slot ("booting …: 3.1 s · building …: 1.2 s"): a call
 * sets its slot's words and draws the line again (cut to the terminal's
 * width); any other output clears the line first (the next call draws it
 * again); kw_ui_status_done() empties a slot. Only where opts.status says a
 * person watches a terminal; elsewhere nothing (lines and events say it). */
enum kw_ui_slot { KW_SLOT_BOOT, KW_SLOT_BUILD, KW_SLOT_KIT, KW_SLOT_MAX };
void kw_ui_status(enum kw_ui_slot slot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kw_ui_status_done(enum kw_ui_slot slot);
void kw_ui_status_clear(void);
/* A step of long work on a line of its own where no status line is drawn
 * (stderr is no terminal, or -v): "kmod-watch: …". Nothing on a terminal
 * (the status slot says it), with --json or --quiet. */
void kw_ui_step_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_ui_set_habits(const struct kw_ui_habits *h);
int kw_ui_verbosity(void);

/* A matrix's parent (matrix.h) speaking for one target: until it is set back
 * to NULL, the human lines say "[TARGET] " where they said "kmod-watch: ", and
 * the kernel log and kw_ui_text() lines start with it. */
void kw_ui_set_target(const char *target);

/* Human messages to stderr: "kmod-watch: …". */
void kw_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For a person only (silent with --json): kw_note at normal verbosity (not
 * with --quiet), kw_note_err always; kw_note_detail is an indented line under
 * the last one (an oops block's body). */
void kw_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_note_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kw_note_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The bell, if --bell asked for it (terminal mode only). */
void kw_ui_bell(void);
/* Clears the screen: always for the c key (force), before a build with --clear. */
void kw_ui_clear(bool force);
/* Output of a --run command: as printed, or a run_output event (never split
 * inside a UTF-8 character: a character's start waits for the next chunk). */
void kw_ui_run_output(unsigned stream, const char *text, size_t len);
/* The command ended: what waited for the rest of a character goes out. */
void kw_ui_run_output_end(void);
/* The exit event: the status, and when it is not 0 the last kw_err() line as its error. */
void kw_ui_exit(int status);
/* The last line kw_err() printed ("" if none): why a run ended badly. */
const char *kw_ui_last_error(void);
/* The wall clock, UTC, RFC 3339 with milliseconds: "2026-12-02T07:20:01.123Z". */
void kw_ui_wall_time(char *buf, size_t size);

/* A kernel log line: JSON kmsg event, or a coloured line on stdout.
 * module_line: the line belongs to one of our modules (highlighted). */
void kw_ui_kmsg(uint64_t seq, unsigned level, uint64_t ts_usec, const char *text, bool module_line);
/* Raw text the user must see as printed (compiler output, --run output). */
void kw_ui_text(const char *text, size_t len);
/* Lines for another program reading the output (--ktap -, --lava): on stdout,
 * or on stderr with --json, which keeps stdout for the events. */
void kw_ui_report_text(const char *text, size_t len);

/* The version of the JSON events' schema, in `ready` (doc/contract.md): 2 added
 * `schema`, `time`, `kmsg_gap`, build_end's `error` and `modules`, `harness`,
 * the oops `fingerprint`, `title` and `count`, exit's `error`. */
#define KW_EVENTS_SCHEMA 2

/* JSON object builder: kw_ev_begin("load"); kw_ev_str(…); …; kw_ev_end().
 * In human mode these do nothing, so callers can always emit events. */
void kw_ev_begin(const char *event);
void kw_ev_str(const char *key, const char *value);
void kw_ev_int(const char *key, long long value);
void kw_ev_real(const char *key, double value); /* two decimals */
void kw_ev_bool(const char *key, bool value);
void kw_ev_strv(const char *key, const char *const *values, size_t n);
void kw_ev_end(void);

/* A sink sees every event as it ends (results.c listens here), with
 * kw_ev_field() to read its fields as text (strings unquoted, true/false,
 * numbers; a list gives its items one a line). Valid only inside the callback. */
struct kw_ev;
typedef void (*kw_ev_sink_fn)(void *userdata, const char *event, const struct kw_ev *e);
void kw_ev_set_sink(kw_ev_sink_fn fn, void *userdata);
const char *kw_ev_field(const struct kw_ev *e, const char *key);

/* Escapes s as a JSON string (quotes included) into a FILE; a byte that is
 * not UTF-8 becomes the text "\xNN". */
void kw_json_string(FILE *f, const char *s);
