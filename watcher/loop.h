/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop.h — the host's one event loop: poll() over registered fds, timers as
 * timerfds, children as pidfds, signals through a signalfd. Nothing in
 * kmod-watch sleeps to wait; everything waits here.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct kw_loop;
struct kw_timer;

/* Called with the poll revents. Return <0 to stop the loop with that error. */
typedef int (*kw_io_fn)(void *userdata, int fd, short revents);
typedef void (*kw_timer_fn)(void *userdata);
typedef void (*kw_child_fn)(void *userdata, pid_t pid, int wstatus);

int kw_loop_new(struct kw_loop **ret);
/* A loop whose clock stands still until kw_loop_advance() (unit tests): its
 * timers fire from there, earliest first; it polls no fd. */
int kw_loop_new_virtual(struct kw_loop **ret);
/* Moves a virtual loop's clock MS forward, firing every timer due by then
 * (0: the ones due now). Stops early when the loop is told to exit. */
void kw_loop_advance(struct kw_loop *l, uint64_t ms);
void kw_loop_free(struct kw_loop *l);

int kw_loop_add(struct kw_loop *l, int fd, short events, kw_io_fn fn, void *userdata);
int kw_loop_set_events(struct kw_loop *l, int fd, short events);
void kw_loop_del(struct kw_loop *l, int fd);

/* Watch a child: fn runs once when it exits (reaped). */
int kw_loop_add_child(struct kw_loop *l, pid_t pid, kw_child_fn fn, void *userdata);
void kw_loop_forget_child(struct kw_loop *l, pid_t pid);

int kw_timer_new(struct kw_loop *l, kw_timer_fn fn, void *userdata, struct kw_timer **ret);
void kw_timer_arm_ms(struct kw_timer *t, uint64_t ms); /* one-shot, relative; 0 → fires at once */
void kw_timer_disarm(struct kw_timer *t);
bool kw_timer_armed(const struct kw_timer *t);
void kw_timer_free(struct kw_timer *t);

/* SIGINT, SIGTERM and SIGHUP into the loop: blocked (SIGPIPE too, ignored) and
 * read from a signalfd that calls fn (read struct signalfd_siginfo from it).
 * Returns the fd (the caller closes it at the end), or -errno. */
int kw_loop_add_signals(struct kw_loop *l, kw_io_fn fn, void *userdata);
/* The same, with one more signal (also, e.g. SIGWINCH; 0: none) blocked and read. */
int kw_loop_add_signals_and(struct kw_loop *l, int also, kw_io_fn fn, void *userdata);

/* Runs until kw_loop_exit(); returns the status given there. */
int kw_loop_run(struct kw_loop *l);
void kw_loop_exit(struct kw_loop *l, int status);
bool kw_loop_exiting(const struct kw_loop *l);

/* The loop's clock: kw_now_*() for a real loop, its own for a virtual one. */
uint64_t kw_loop_now_ms(const struct kw_loop *l);
uint64_t kw_loop_now_us(const struct kw_loop *l);

/* Milliseconds since the program started (CLOCK_MONOTONIC). */
uint64_t kw_now_ms(void);
uint64_t kw_now_us(void);
