/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh.c — the SSH transport as the loop sees it (see ssh.h; the design is in
 * ssh-int.h): the options checked and the build tree picked, the worker's
 * events turned into the controller's channel(), lost() and done() calls,
 * reconnecting with backoff within --boot-timeout, and modules delivered
 * (over SFTP or an exec channel) only when their content changed.
 */
#include "ssh.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backoff.h"
#include "guest-int.h"
#include "kit.h"
#include "sha256.h"
#include "ssh-int.h"
#include "ui.h"

#define KW_SSH_BACKOFF_MIN_MS 1000
#define KW_SSH_BACKOFF_MAX_MS 30000
#define KW_SSH_MAX_FILES 64

struct delivery {
        struct delivery *next;
        unsigned id;
        char relpath[PATH_MAX];
        void (*done)(void *ud, int err);
        void *ud;
};

struct uploaded {
        char relpath[PATH_MAX];
        uint8_t hash[KW_SHA256_LEN];
};

struct kw_ssh {
        struct kw_loop *loop;
        const struct kw_opts *o;
        const struct kw_guest_ops *ops;
        void *userdata;
        char dir[PATH_MAX];
        char dir_tag[17]; /* hash of DIR: modules of two projects never collide */
        char kdir[PATH_MAX];
        char cross[128];
        bool kdir_from_kit;
        char kit_release[64];
        struct kw_timer *retry;
        struct kw_backoff backoff;
        uint64_t down_since_ms; /* when the current outage began; 0: up or never tried */
        bool connected;
        bool given_up;
        bool warned_uid;
        char remote_dir[PATH_MAX];
        char files[96];         /* how files go, as said last */
        struct delivery *deliveries;
        unsigned next_id;
        struct uploaded up[KW_SSH_MAX_FILES];
        size_t n_up;
        bool w_inited, ev_added;
        struct worker w; /* the thread and everything libssh */
};

/* ---- destination parsing: [USER@]HOST[:PORT], HOST may be [v6] ---- */

int kw_ssh_parse_dest(const char *dest, char *user, size_t user_size, char *host, size_t host_size,
                      unsigned *port)
{
        const char *at = strrchr(dest, '@');
        const char *h = at ? at + 1 : dest;
        const char *colon = NULL;
        size_t n;

        user[0] = 0;
        *port = 0;
        if (at) {
                if (at == dest || (size_t)(at - dest) >= user_size)
                        return -EINVAL;
                snprintf(user, user_size, "%.*s", (int)(at - dest), dest);
        }
        if (h[0] == '[') {
                const char *end = strchr(h, ']');
                if (!end || end == h + 1 || (end[1] && end[1] != ':'))
                        return -EINVAL;
                h++;
                n = (size_t)(end - h);
                colon = end[1] == ':' ? end + 1 : NULL;
        } else {
                colon = strchr(h, ':');
                if (colon && strchr(colon + 1, ':'))
                        return -EINVAL; /* a bare IPv6 address: wants [brackets] */
                n = colon ? (size_t)(colon - h) : strlen(h);
        }
        if (n == 0 || n >= host_size)
                return -EINVAL;
        if (colon) {
                char *end;
                errno = 0;
                unsigned long p = strtoul(colon + 1, &end, 10);
                if (errno || end == colon + 1 || *end || colon[1] == '-' || colon[1] == '+' || p == 0 || p > 65535)
                        return -EINVAL;
                *port = (unsigned)p;
        }
        snprintf(host, host_size, "%.*s", (int)n, h);
        return 0;
}


/* ---- the loop's side ---- */

static void fail_deliveries(struct kw_ssh *s, int err)
{
        struct delivery *d;

        while ((d = s->deliveries)) {
                s->deliveries = d->next;
                void (*done)(void *, int) = d->done;
                void *ud = d->ud;
                free(d);
                done(ud, err);
        }
}

static void give_up(struct kw_ssh *s, const char *why)
{
        kw_timer_disarm(s->retry);
        s->given_up = true;
        s->ops->lost(s->userdata, why, true);
}

/* why NULL: no warning (the controller was told already). */
static void schedule_retry(struct kw_ssh *s, const char *why)
{
        uint64_t now = kw_now_ms();

        if (!s->down_since_ms)
                s->down_since_ms = now;
        uint64_t limit = (uint64_t)s->o->boot_timeout_s * 1000;
        if (now - s->down_since_ms >= limit) {
                char line[1800];
                snprintf(line, sizeof(line), "%s (for %u s now; --boot-timeout sets how long to wait)",
                         why ? why : s->o->ssh, s->o->boot_timeout_s);
                give_up(s, line);
                return;
        }
        uint64_t wait = kw_backoff_next(&s->backoff);
        if (now + wait > s->down_since_ms + limit)
                wait = s->down_since_ms + limit - now;
        if (why)
                kw_warn("%s; trying again in %.0f s", why, (double)wait / 1000.0);
        kw_timer_arm_ms(s->retry, wait);
}

static void on_retry(void *userdata)
{
        struct kw_ssh *s = userdata;
        struct cmd *c = calloc(1, sizeof(*c));

        if (!c) {
                give_up(s, "out of memory");
                return;
        }
        c->kind = C_CONNECT;
        kw_debug("ssh: connecting to %s", s->o->ssh);
        worker_post_cmd(&s->w, c);
}

static void on_connected(struct kw_ssh *s, struct ev *e)
{
        char line[600];

        if (strcmp(e->arch, s->o->arch) != 0) {
                close(e->fd);
                snprintf(line, sizeof(line), "%s is %s but kmod-watch builds for %s: pass --arch %s", s->o->ssh,
                         e->arch, s->o->arch, e->arch);
                give_up(s, line);
                return;
        }
        if (s->kdir_from_kit && strcmp(e->release, s->kit_release) != 0) {
                close(e->fd);
                snprintf(line, sizeof(line), "%s runs Linux %s but the kit's headers are for %s: pass --kdir "
                         "(headers for %s)", s->o->ssh, e->release, s->kit_release, e->release);
                give_up(s, line);
                return;
        }
        if (e->uid != 0 && !s->warned_uid) {
                kw_warn("logged in to %s as uid %u: loading modules needs root (CAP_SYS_MODULE)", s->o->ssh, e->uid);
                s->warned_uid = true;
        }
        kw_debug("ssh: connected to %s (%s %s), logged in with %s, agent in %s", s->o->ssh, e->arch, e->release,
                 e->login, e->dir);
        if (strcmp(e->files, s->files) != 0) { /* said once, and again only if it changes */
                if (strcmp(e->files, "SFTP") == 0)
                        kw_debug("ssh: files go to %s over SFTP", s->o->ssh);
                else
                        kw_info("%s has no SFTP server: files go over %s", s->o->ssh, e->files);
                snprintf(s->files, sizeof(s->files), "%s", e->files);
        }
        s->connected = true;
        s->down_since_ms = 0;
        kw_backoff_reset(&s->backoff);
        s->n_up = 0; /* a new connection may be a new boot: send modules again */
        snprintf(s->remote_dir, sizeof(s->remote_dir), "%s", e->dir);
        s->ops->channel(s->userdata, e->fd);
}

static void on_uploaded(struct kw_ssh *s, struct ev *e)
{
        struct delivery **pp = &s->deliveries, *d;

        while ((d = *pp) && d->id != e->id)
                pp = &d->next;
        if (!d)
                return; /* failed already, with its connection */
        *pp = d->next;
        if (e->err == 0) {
                size_t i = 0;
                while (i < s->n_up && strcmp(s->up[i].relpath, d->relpath) != 0)
                        i++;
                if (i == s->n_up && s->n_up < KW_SSH_MAX_FILES)
                        s->n_up++;
                if (i < s->n_up) {
                        snprintf(s->up[i].relpath, sizeof(s->up[i].relpath), "%s", d->relpath);
                        memcpy(s->up[i].hash, e->hash, sizeof(e->hash));
                }
        } else {
                kw_err("%s", e->text);
        }
        void (*done)(void *, int) = d->done;
        void *ud = d->ud;
        free(d);
        done(ud, e->err);
}

static void on_event(struct kw_ssh *s, struct ev *e)
{
        switch (e->kind) {
        case E_CONNECTED:
                on_connected(s, e);
                break;
        case E_FAILED:
                if (e->fatal)
                        give_up(s, e->text);
                else
                        schedule_retry(s, e->text);
                break;
        case E_LOST:
                s->connected = false;
                s->down_since_ms = kw_now_ms();
                kw_backoff_reset(&s->backoff);
                /* the controller first, so a load waiting for an upload sees the loss */
                s->ops->lost(s->userdata, e->text, false);
                fail_deliveries(s, -ENOTCONN);
                if (!s->given_up)
                        schedule_retry(s, NULL);
                break;
        case E_CLOSED:
                /* the controller dropped its end (it gave up on this agent): a fresh one */
                s->connected = false;
                fail_deliveries(s, -ENOTCONN);
                kw_debug("ssh: the controller closed the channel; reconnecting");
                kw_timer_arm_ms(s->retry, 0);
                break;
        case E_UPLOADED:
                on_uploaded(s, e);
                break;
        case E_LOG:
                break;
        }
}

static int on_events(void *userdata, int fd, short revents)
{
        struct kw_ssh *s = userdata;
        struct ev *e;

        worker_drain(fd);
        while ((e = worker_take_ev(&s->w))) {
                if (e->kind == E_LOG) {
                        if (e->level == WLOG_DEBUG)
                                kw_debug("%s", e->text);
                        else
                                kw_info("%s", e->text);
                } else if (s->given_up) {
                        if (e->fd >= 0)
                                close(e->fd);
                } else {
                        on_event(s, e);
                }
                free(e);
        }
        return 0;
}

static int resolve_kdir(struct kw_ssh *s)
{
        const struct kw_opts *o = s->o;

        if (o->kdir) {
                if (!realpath(o->kdir, s->kdir)) {
                        kw_err("--kdir %s: %s", o->kdir, strerror(errno));
                        return -EINVAL;
                }
                return 0;
        }
        struct kw_kit kit;
        int r = kw_kit_load(o->arch, o->release, &kit);
        if (r < 0) {
                kw_err("with --ssh, pass --kdir DIR: the headers of the target's kernel to build against (no "
                       "guest kit for %s to fall back on: %s)", o->arch, strerror(-r));
                return -EINVAL;
        }
        if (!realpath(kit.kdir, s->kdir)) {
                kw_err("the kit's headers %s: %s", kit.kdir, strerror(errno));
                return -EINVAL;
        }
        s->kdir_from_kit = true;
        snprintf(s->kit_release, sizeof(s->kit_release), "%s", kit.release);
        return 0;
}

int kw_ssh_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const struct kw_guest_ops *ops,
               void *userdata, struct kw_ssh **ret)
{
        struct kw_ssh *s = calloc(1, sizeof(*s));
        char err[600];
        int r;

        *ret = NULL;
        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->o = o;
        s->ops = ops;
        s->userdata = userdata;
        s->backoff = (struct kw_backoff){ .min_ms = KW_SSH_BACKOFF_MIN_MS, .max_ms = KW_SSH_BACKOFF_MAX_MS };
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
        *ret = s;

        r = worker_init(&s->w, o, true, err, sizeof(err));
        s->w_inited = true;
        if (r < 0) {
                kw_err("%s%s", err, r == -EINVAL ? " (see kmod-watch --help)" : "");
                return r == -EPERM ? -EINVAL : r;
        }
        if (o->identity && access(o->identity, R_OK) < 0) {
                kw_err("--identity %s: %s", o->identity, strerror(errno));
                return -EINVAL;
        }
        r = resolve_kdir(s);
        if (r < 0)
                return r;
        const char *cc = kw_opts_cross_compile(o);
        snprintf(s->cross, sizeof(s->cross), "%s", cc ? cc : "");
        uint8_t h[KW_SHA256_LEN];
        struct kw_sha256 c;
        kw_sha256_init(&c);
        kw_sha256_update(&c, dir, strlen(dir));
        kw_sha256_final(&c, h);
        kw_sha256_hex(h, 4, s->dir_tag);

        r = kw_loop_add(l, s->w.ev_fd, POLLIN, on_events, s);
        if (r < 0)
                return r;
        s->ev_added = true;
        return kw_timer_new(l, on_retry, s, &s->retry);
}

int kw_ssh_start(struct kw_ssh *s)
{
        int r = worker_start(&s->w);

        if (r < 0) {
                kw_err("cannot start the SSH thread: %s", strerror(-r));
                return r;
        }
        kw_note("connecting to %s", s->o->ssh);
        on_retry(s);
        return 0;
}

void kw_ssh_ready(struct kw_ssh *s)
{
        kw_backoff_reset(&s->backoff);
}

void kw_ssh_free(struct kw_ssh *s)
{
        if (!s)
                return;
        if (s->ev_added)
                kw_loop_del(s->loop, s->w.ev_fd);
        if (s->w_inited)
                worker_destroy(&s->w);
        while (s->deliveries) {
                struct delivery *d = s->deliveries;
                s->deliveries = d->next;
                free(d);
        }
        kw_timer_free(s->retry);
        free(s);
}

const char *kw_ssh_kdir(const struct kw_ssh *s)
{
        return s->kdir;
}

const char *kw_ssh_cross_compile(const struct kw_ssh *s)
{
        return s->cross[0] ? s->cross : NULL;
}

int kw_ssh_deliver(struct kw_ssh *s, const char *relpath, char *ret_guest_path, size_t size,
                   void (*done)(void *ud, int err), void *ud)
{
        char local[PATH_MAX * 2], flat[PATH_MAX];
        uint8_t hash[KW_SHA256_LEN];

        if (!s->connected)
                return -ENOTCONN;
        size_t n = 0;
        for (const char *p = relpath; *p && n < sizeof(flat) - 1; p++)
                flat[n++] = *p == '/' ? '%' : *p;
        flat[n] = 0;
        if ((size_t)snprintf(ret_guest_path, size, "%s/%s-%s", s->remote_dir, s->dir_tag, flat) >= size)
                return -ENAMETOOLONG;
        snprintf(local, sizeof(local), "%s/%s", s->dir, relpath);
        int r = kw_sha256_file(local, hash);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_up; i++)
                if (strcmp(s->up[i].relpath, relpath) == 0 && memcmp(s->up[i].hash, hash, sizeof(hash)) == 0) {
                        kw_debug("ssh: %s unchanged on the target", relpath);
                        done(ud, 0);
                        return 0;
                }
        struct delivery *d = calloc(1, sizeof(*d));
        struct cmd *c = calloc(1, sizeof(*c));
        if (!d || !c) {
                free(d);
                free(c);
                return -ENOMEM;
        }
        d->id = c->id = ++s->next_id;
        snprintf(d->relpath, sizeof(d->relpath), "%s", relpath);
        d->done = done;
        d->ud = ud;
        d->next = s->deliveries;
        s->deliveries = d;
        c->kind = C_UPLOAD;
        snprintf(c->local, sizeof(c->local), "%s", local);
        snprintf(c->remote, sizeof(c->remote), "%s", ret_guest_path);
        worker_post_cmd(&s->w, c);
        return 0;
}


/* ---- the guest backend (guest-int.h) ---- */

static int backend_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const char *tag,
                       const struct kw_guest_ops *ops, void *userdata, void **ret)
{
        struct kw_ssh *s = NULL;

        (void)tag; /* no share: modules are copied (kw_ssh_deliver) */
        int r = kw_ssh_new(l, o, dir, ops, userdata, &s);
        *ret = s;
        return r;
}

static int backend_start(void *b)
{
        return kw_ssh_start(b);
}

static void backend_ready(void *b)
{
        kw_ssh_ready(b);
}

static int backend_deliver(void *b, const char *relpath, char *ret_guest_path, size_t size,
                           void (*done)(void *ud, int err), void *ud)
{
        return kw_ssh_deliver(b, relpath, ret_guest_path, size, done, ud);
}

static const char *backend_kdir(const void *b)
{
        return kw_ssh_kdir(b);
}

static const char *backend_cross_compile(const void *b)
{
        return kw_ssh_cross_compile(b);
}

static void backend_free(void *b)
{
        kw_ssh_free(b);
}

const struct kw_guest_backend kw_guest_ssh = {
        .name = "ssh",
        .transport = "ssh",
        .new = backend_new,
        .start = backend_start,
        .ready = backend_ready,
        .deliver = backend_deliver,
        .kdir = backend_kdir,
        .cross_compile = backend_cross_compile,
        .free = backend_free,
};
