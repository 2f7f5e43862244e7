/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop.c — poll() over a small table of fds. Handlers may add or remove
 * entries while the loop dispatches: removed entries are only marked during
 * dispatch and swept afterwards, so an index never goes stale under us.
 *
 * A virtual loop (kw_loop_new_virtual) has a clock of its own that only moves
 * when kw_loop_advance() says so, and timers that fire from there, in order:
 * the controller's unit test drives hours of timeouts in microseconds.
 */
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KW_LOOP_MAX 64

struct entry {
        int fd;
        short events;
        bool dead;
        kw_io_fn fn;
        void *userdata;
};

struct child {
        pid_t pid;
        int pidfd;
        kw_child_fn fn;
        void *userdata;
        struct kw_loop *loop;
};

struct kw_timer {
        struct kw_loop *loop;
        int fd;              /* -1 in a virtual loop */
        bool armed;
        uint64_t due_us;     /* virtual loop: when it fires */
        uint64_t seq;        /* virtual loop: arming order, for ties */
        kw_timer_fn fn;
        void *userdata;
};

struct kw_loop {
        struct entry e[KW_LOOP_MAX];
        int n;
        bool dispatching;
        bool exiting;
        int status;
        struct child *children[KW_LOOP_MAX];
        bool virtual_clock;
        uint64_t now_us;                  /* virtual loop: its clock */
        uint64_t arm_seq;
        struct kw_timer *timers[KW_LOOP_MAX]; /* virtual loop: every timer */
};

static uint64_t start_us;

uint64_t kw_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
        if (!start_us)
                start_us = now;
        return now - start_us;
}

uint64_t kw_now_ms(void)
{
        return kw_now_us() / 1000u;
}

int kw_loop_new(struct kw_loop **ret)
{
        struct kw_loop *l = calloc(1, sizeof(*l));

        if (!l)
                return -ENOMEM;
        (void)kw_now_us(); /* t = 0 is the first loop's birth at the latest */
        *ret = l;
        return 0;
}

int kw_loop_new_virtual(struct kw_loop **ret)
{
        int r = kw_loop_new(ret);

        if (r == 0)
                (*ret)->virtual_clock = true;
        return r;
}

uint64_t kw_loop_now_us(const struct kw_loop *l)
{
        return l->virtual_clock ? l->now_us : kw_now_us();
}

uint64_t kw_loop_now_ms(const struct kw_loop *l)
{
        return kw_loop_now_us(l) / 1000u;
}

static struct kw_timer *next_due(struct kw_loop *l, uint64_t until_us)
{
        struct kw_timer *best = NULL;

        for (int i = 0; i < KW_LOOP_MAX; i++) {
                struct kw_timer *t = l->timers[i];
                if (!t || !t->armed || t->due_us > until_us)
                        continue;
                if (!best || t->due_us < best->due_us || (t->due_us == best->due_us && t->seq < best->seq))
                        best = t;
        }
        return best;
}

void kw_loop_advance(struct kw_loop *l, uint64_t ms)
{
        uint64_t until = l->now_us + ms * 1000u;
        struct kw_timer *t;

        while (!l->exiting && (t = next_due(l, until))) {
                l->now_us = t->due_us;
                t->armed = false;
                t->fn(t->userdata);
        }
        if (!l->exiting)
                l->now_us = until;
}

void kw_loop_free(struct kw_loop *l)
{
        if (!l)
                return;
        for (int i = 0; i < KW_LOOP_MAX; i++)
                if (l->children[i]) {
                        close(l->children[i]->pidfd);
                        free(l->children[i]);
                }
        for (int i = 0; i < KW_LOOP_MAX; i++)
                free(l->timers[i]);
        free(l);
}

static struct entry *find(struct kw_loop *l, int fd)
{
        for (int i = 0; i < l->n; i++)
                if (l->e[i].fd == fd && !l->e[i].dead)
                        return &l->e[i];
        return NULL;
}

int kw_loop_add(struct kw_loop *l, int fd, short events, kw_io_fn fn, void *userdata)
{
        if (find(l, fd))
                return -EEXIST;
        if (l->n >= KW_LOOP_MAX)
                return -ENOSPC;
        l->e[l->n++] = (struct entry){ .fd = fd, .events = events, .fn = fn, .userdata = userdata };
        return 0;
}

int kw_loop_set_events(struct kw_loop *l, int fd, short events)
{
        struct entry *e = find(l, fd);

        if (!e)
                return -ENOENT;
        e->events = events;
        return 0;
}

static void sweep(struct kw_loop *l)
{
        int j = 0;

        for (int i = 0; i < l->n; i++)
                if (!l->e[i].dead)
                        l->e[j++] = l->e[i];
        l->n = j;
}

void kw_loop_del(struct kw_loop *l, int fd)
{
        struct entry *e = find(l, fd);

        if (!e)
                return;
        e->dead = true;
        if (!l->dispatching)
                sweep(l);
}

static int on_child(void *userdata, int fd, short revents)
{
        struct child *c = userdata;
        struct kw_loop *l = c->loop;
        int wstatus = 0;

        if (waitpid(c->pid, &wstatus, WNOHANG) == 0)
                return 0; /* pidfd readable before the zombie is reapable: next round */
        kw_loop_del(l, fd);
        close(fd);
        for (int i = 0; i < KW_LOOP_MAX; i++)
                if (l->children[i] == c)
                        l->children[i] = NULL;
        kw_child_fn fn = c->fn;
        void *ud = c->userdata;
        pid_t pid = c->pid;
        free(c);
        fn(ud, pid, wstatus);
        return 0;
}

int kw_loop_add_child(struct kw_loop *l, pid_t pid, kw_child_fn fn, void *userdata)
{
        int slot = -1;

        for (int i = 0; i < KW_LOOP_MAX; i++)
                if (!l->children[i]) {
                        slot = i;
                        break;
                }
        if (slot < 0)
                return -ENOSPC;
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -errno;
        struct child *c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        *c = (struct child){ .pid = pid, .pidfd = fd, .fn = fn, .userdata = userdata, .loop = l };
        int r = kw_loop_add(l, fd, POLLIN, on_child, c);
        if (r < 0) {
                close(fd);
                free(c);
                return r;
        }
        l->children[slot] = c;
        return 0;
}

void kw_loop_forget_child(struct kw_loop *l, pid_t pid)
{
        for (int i = 0; i < KW_LOOP_MAX; i++) {
                struct child *c = l->children[i];
                if (!c || c->pid != pid)
                        continue;
                kw_loop_del(l, c->pidfd);
                close(c->pidfd);
                free(c);
                l->children[i] = NULL;
        }
}

static int on_timer(void *userdata, int fd, short revents)
{
        struct kw_timer *t = userdata;
        uint64_t n;

        if (read(fd, &n, sizeof(n)) != sizeof(n))
                return 0; /* disarmed or re-armed meanwhile */
        t->armed = false;
        t->fn(t->userdata);
        return 0;
}

int kw_timer_new(struct kw_loop *l, kw_timer_fn fn, void *userdata, struct kw_timer **ret)
{
        struct kw_timer *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->loop = l;
        t->fn = fn;
        t->userdata = userdata;
        if (l->virtual_clock) {
                t->fd = -1;
                for (int i = 0; i < KW_LOOP_MAX; i++)
                        if (!l->timers[i]) {
                                l->timers[i] = t;
                                *ret = t;
                                return 0;
                        }
                free(t);
                return -ENOSPC;
        }
        t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (t->fd < 0) {
                free(t);
                return -errno;
        }
        int r = kw_loop_add(l, t->fd, POLLIN, on_timer, t);
        if (r < 0) {
                close(t->fd);
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

void kw_timer_arm_ms(struct kw_timer *t, uint64_t ms)
{
        struct itimerspec its = { 0 };

        if (t->fd < 0) {
                t->due_us = t->loop->now_us + ms * 1000u;
                t->seq = ++t->loop->arm_seq;
                t->armed = true;
                return;
        }
        if (ms == 0)
                its.it_value.tv_nsec = 1; /* 0 would disarm */
        else {
                its.it_value.tv_sec = (time_t)(ms / 1000);
                its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
        }
        (void)timerfd_settime(t->fd, 0, &its, NULL);
        t->armed = true;
}

void kw_timer_disarm(struct kw_timer *t)
{
        struct itimerspec its = { 0 };

        if (!t)
                return;
        if (t->fd >= 0)
                (void)timerfd_settime(t->fd, 0, &its, NULL);
        t->armed = false;
}

bool kw_timer_armed(const struct kw_timer *t)
{
        return t && t->armed;
}

void kw_timer_free(struct kw_timer *t)
{
        if (!t)
                return;
        if (t->fd < 0) {
                for (int i = 0; i < KW_LOOP_MAX; i++)
                        if (t->loop->timers[i] == t)
                                t->loop->timers[i] = NULL;
                free(t);
                return;
        }
        kw_loop_del(t->loop, t->fd);
        close(t->fd);
        free(t);
}

int kw_loop_run(struct kw_loop *l)
{
        struct pollfd p[KW_LOOP_MAX];

        while (!l->exiting) {
                int n = l->n;

                for (int i = 0; i < n; i++)
                        p[i] = (struct pollfd){ .fd = l->e[i].fd, .events = l->e[i].events };
                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                l->dispatching = true;
                for (int i = 0; i < n && !l->exiting; i++) {
                        if (!p[i].revents || l->e[i].dead)
                                continue;
                        int r = l->e[i].fn(l->e[i].userdata, p[i].fd, p[i].revents);
                        if (r < 0) {
                                l->dispatching = false;
                                return r;
                        }
                }
                l->dispatching = false;
                sweep(l);
        }
        return l->status;
}

void kw_loop_exit(struct kw_loop *l, int status)
{
        l->exiting = true;
        l->status = status;
}

bool kw_loop_exiting(const struct kw_loop *l)
{
        return l->exiting;
}

int kw_loop_add_signals(struct kw_loop *l, kw_io_fn fn, void *userdata)
{
        return kw_loop_add_signals_and(l, 0, fn, userdata);
}

int kw_loop_add_signals_and(struct kw_loop *l, int also, kw_io_fn fn, void *userdata)
{
        sigset_t mask;

        sigemptyset(&mask);
        if (also)
                sigaddset(&mask, also);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGPIPE);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sigdelset(&mask, SIGPIPE);
        int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        int r = kw_loop_add(l, fd, POLLIN, fn, userdata);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}
