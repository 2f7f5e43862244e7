/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-worker.c — the SSH transport's worker thread (see ssh-int.h): the
 * command queue it serves, the event queue the loop reads, the thread's
 * life, and the set-up the transport and the doctor share.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ssh-int.h"
#include "ssh.h"
#include "ui.h"

/* ---- the queues ---- */

static void wake(int fd)
{
        uint64_t one = 1;

        (void)!write(fd, &one, sizeof(one));
}

void worker_drain(int fd)
{
        uint64_t v;

        (void)!read(fd, &v, sizeof(v));
}

void worker_post_cmd(struct worker *w, struct cmd *c)
{
        pthread_mutex_lock(&w->lock);
        c->next = NULL;
        *w->cmds_tail = c;
        w->cmds_tail = &c->next;
        pthread_mutex_unlock(&w->lock);
        wake(w->cmd_fd);
}

static struct cmd *take_cmd(struct worker *w)
{
        pthread_mutex_lock(&w->lock);
        struct cmd *c = w->cmds;
        if (c) {
                w->cmds = c->next;
                if (!w->cmds)
                        w->cmds_tail = &w->cmds;
        }
        pthread_mutex_unlock(&w->lock);
        return c;
}

bool worker_quitting(struct worker *w)
{
        pthread_mutex_lock(&w->lock);
        bool q = w->quit;
        pthread_mutex_unlock(&w->lock);
        return q;
}

static void post_ev(struct worker *w, struct ev *e)
{
        pthread_mutex_lock(&w->lock);
        e->next = NULL;
        *w->evs_tail = e;
        w->evs_tail = &e->next;
        pthread_mutex_unlock(&w->lock);
        wake(w->ev_fd);
}

struct ev *worker_take_ev(struct worker *w)
{
        pthread_mutex_lock(&w->lock);
        struct ev *e = w->evs;
        if (e) {
                w->evs = e->next;
                if (!w->evs)
                        w->evs_tail = &w->evs;
        }
        pthread_mutex_unlock(&w->lock);
        return e;
}

struct ev *worker_new_ev(enum ev_kind kind)
{
        struct ev *e = calloc(1, sizeof(*e));

        if (e) {
                e->kind = kind;
                e->fd = -1;
        }
        return e;
}

static void post_text(struct worker *w, enum ev_kind kind, bool fatal, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void post_text(struct worker *w, enum ev_kind kind, bool fatal, const char *fmt, ...)
{
        struct ev *e = worker_new_ev(kind);
        va_list ap;

        if (!e)
                return;
        e->fatal = fatal;
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
        post_ev(w, e);
}

void worker_log(struct worker *w, enum log_level level, const char *fmt, ...)
{
        char text[sizeof(((struct ev *)0)->text)];
        va_list ap;

        if (level == WLOG_DEBUG && kw_ui_verbosity() < 1)
                return;
        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (w->ev_fd < 0) { /* no thread: this is the caller's own thread */
                if (level == WLOG_DEBUG)
                        kw_debug("%s", text);
                else
                        kw_info("%s", text);
                return;
        }
        struct ev *e = worker_new_ev(E_LOG);
        if (!e)
                return;
        e->level = level;
        memcpy(e->text, text, sizeof(text));
        post_ev(w, e);
}

/* ---- the thread ---- */

static void do_connect(struct worker *w, struct conn *c)
{
        struct ev *e = worker_new_ev(E_CONNECTED);
        struct fail f = { 0 };

        if (c->ssh || !e) {
                free(e);
                return;
        }
        if (conn_open(w, c, e, &f) < 0) {
                if (e->fd >= 0)
                        close(e->fd);
                free(e);
                conn_close(w, c);
                post_text(w, E_FAILED, f.fatal, "%s", f.why);
                return;
        }
        post_ev(w, e);
}

static void do_upload(struct worker *w, struct conn *c, struct cmd *cmd)
{
        struct ev *e = worker_new_ev(E_UPLOADED);

        if (!e)
                return;
        e->id = cmd->id;
        if (!c->ssh || (!c->sftp && !c->check)) {
                e->err = -ENOTCONN;
                snprintf(e->text, sizeof(e->text), "not connected");
                post_ev(w, e);
                return;
        }
        ssh_set_blocking(c->ssh, 1);
        e->err = conn_upload(c, cmd->local, cmd->remote, 0600, e->hash, e->text, sizeof(e->text));
        ssh_set_blocking(c->ssh, 0);
        post_ev(w, e);
}

/* The commands queued so far; false: quit. */
static bool run_cmds(struct worker *w, struct conn *c)
{
        struct cmd *cmd;

        while ((cmd = take_cmd(w))) {
                bool quit = cmd->kind == C_QUIT;
                if (cmd->kind == C_CONNECT)
                        do_connect(w, c);
                else if (cmd->kind == C_UPLOAD)
                        do_upload(w, c, cmd);
                free(cmd);
                if (quit || worker_quitting(w))
                        return false;
        }
        return !worker_quitting(w);
}

static void *worker_main(void *userdata)
{
        struct worker *w = userdata;
        struct conn *c = &w->c;

        while (run_cmds(w, c)) {
                if (!c->ssh) {
                        struct pollfd p = { .fd = w->cmd_fd, .events = POLLIN };
                        if (poll(&p, 1, -1) > 0)
                                worker_drain(w->cmd_fd);
                        continue;
                }
                char why[1200] = "";
                int r = bridge_round(w, c, why, sizeof(why));
                worker_drain(w->cmd_fd); /* non-blocking: the commands are read at the top */
                if (r == 0)
                        continue;
                conn_close(w, c);
                post_text(w, r == -ESHUTDOWN ? E_CLOSED : E_LOST, false, "%s", why);
        }
        conn_close(w, c);
        return NULL;
}

/* ---- set-up and tear-down ---- */

int worker_init(struct worker *w, const struct kw_opts *o, bool threaded, char *err, size_t size)
{
        *w = (struct worker){ .cmd_fd = -1, .ev_fd = -1, .sock_fd = -1, .c.sp = -1 };
        w->cmds_tail = &w->cmds;
        w->evs_tail = &w->evs;
        pthread_mutex_init(&w->lock, NULL);
        w->cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (threaded)
                w->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->cmd_fd < 0 || (threaded && w->ev_fd < 0)) {
                snprintf(err, size, "eventfd: %s", strerror(errno));
                return -errno;
        }
        struct target *t = &w->t;
        if (kw_ssh_parse_dest(o->ssh, t->user, sizeof(t->user), t->host, sizeof(t->host), &t->port) < 0) {
                snprintf(err, size, "--ssh wants [USER@]HOST[:PORT] (an IPv6 address in [brackets]), not '%s'",
                         o->ssh);
                return -EINVAL;
        }
        if (o->identity)
                snprintf(t->identity, sizeof(t->identity), "%s", o->identity);
        if (o->known_hosts)
                snprintf(t->known_hosts, sizeof(t->known_hosts), "%s", o->known_hosts);
        t->accept_new = o->accept_new_host_key;
        if (o->password_file) {
                /* read now, in the caller's thread: a bad file is a usage error before anything is contacted */
                int r = kw_ssh_read_password_file(o->password_file, w->pw, sizeof(w->pw), err, size);
                if (r < 0)
                        return -EPERM;
                snprintf(t->password_file, sizeof(t->password_file), "%s", o->password_file);
                w->have_pw = true;
        } else if (kw_ssh_askpass_wanted(getenv("SSH_ASKPASS"), getenv("SSH_ASKPASS_REQUIRE"), getenv("DISPLAY"),
                                         getenv("WAYLAND_DISPLAY"))) {
                snprintf(t->askpass, sizeof(t->askpass), "%s", getenv("SSH_ASKPASS"));
        }
        t->log_level = kw_ui_verbosity() >= 3 ? SSH_LOG_PROTOCOL : kw_ui_verbosity() >= 2 ? SSH_LOG_WARNING : 0;
        ssh_init();
        return 0;
}

int worker_start(struct worker *w)
{
        int r = pthread_create(&w->thread, NULL, worker_main, w);

        if (r != 0)
                return -r;
        w->thread_started = true;
        return 0;
}

void worker_destroy(struct worker *w)
{
        if (w->thread_started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                /* whatever blocking call the worker is in ends now */
                if (w->sock_fd >= 0)
                        shutdown(w->sock_fd, SHUT_RDWR);
                pthread_mutex_unlock(&w->lock);
                struct cmd *c = calloc(1, sizeof(*c));
                if (c) {
                        c->kind = C_QUIT;
                        worker_post_cmd(w, c);
                } else {
                        wake(w->cmd_fd);
                }
                pthread_join(w->thread, NULL);
                w->thread_started = false;
        } else {
                conn_close(w, &w->c);
        }
        struct cmd *c;
        while ((c = take_cmd(w)))
                free(c);
        struct ev *e;
        while ((e = worker_take_ev(w))) {
                if (e->fd >= 0)
                        close(e->fd);
                free(e);
        }
        if (w->cmd_fd >= 0)
                close(w->cmd_fd);
        if (w->ev_fd >= 0)
                close(w->ev_fd);
        w->cmd_fd = w->ev_fd = -1;
        explicit_bzero(w->pw, sizeof(w->pw));
        w->have_pw = false;
        pthread_mutex_destroy(&w->lock);
}
