/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shellsrv.c — `kmod-watch shell`'s server in the running kmod-watch (see
 * shellsrv.h). Each client is a framed channel (transport.c) speaking the
 * agent's PTY frames; this file swaps the client's side for the pty's id in
 * the guest and back. It keeps no bytes of its own: output is bounded by the
 * agent's window (KW_PTY_WINDOW), which the client's ACKs reopen once it has
 * written the bytes to its terminal, so a slow terminal slows the shell, not
 * the kernel log.
 */
#include "shellsrv.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"
#include "ui.h"

#define OPEN_TIMEOUT_MS 15000
/* Connections kept at once: the shells, and as many refused ones waiting to
 * read their one line (closing on them first could lose it). */
#define CONNS_MAX (2 * KW_SHELL_MAX)

enum cstate {
        C_FREE,
        C_NEW,       /* connected, no PTY_OPEN yet */
        C_WAIT,      /* PTY_OPEN in, the guest is not ready: opened when it is */
        C_OPENING,   /* PTY_OPEN sent to the agent */
        C_OPEN,      /* relaying */
        C_DONE,      /* told it ended; waits for the client to close */
        C_ABANDONED, /* the client left while C_OPENING: the answer closes it */
};

struct client {
        struct kw_shellsrv *srv;
        struct kw_chan *chan;
        enum cstate st;
        uint32_t id; /* the agent's pty: its PTY_OPEN's request id */
        uint64_t rows, cols;
        char term[64];
};

struct kw_shellsrv {
        struct kw_loop *loop;
        struct kw_session *session;
        int fd;
        char cwd[512];
        struct client c[CONNS_MAX];
        struct kw_msg msg;
};

int kw_shellsrv_address(const char *dir, struct sockaddr_un *ret, socklen_t *ret_len)
{
        struct stat st;

        if (stat(dir, &st) < 0)
                return -errno;
        *ret = (struct sockaddr_un){ .sun_family = AF_UNIX };
        int n = snprintf(ret->sun_path + 1, sizeof(ret->sun_path) - 1, "kmod-watch-shell/%u/%llx:%llx",
                         (unsigned)geteuid(), (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
        *ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
        return 0;
}

static void client_free(struct client *c)
{
        kw_chan_free(c->chan);
        c->chan = NULL;
        c->st = C_FREE;
        c->id = 0;
}

/* The last word to a client: why it ended (error "") and the shell's status. */
static void tell_end(struct client *c, const char *error, uint64_t status)
{
        struct kw_msg *m = &c->srv->msg;

        kw_msg_init(m, KW_PTY_CLOSE, 0);
        kw_msg_put_u64(m, KW_F_STATUS, status);
        if (error && error[0])
                kw_msg_put_str(m, KW_F_ERROR, error);
        (void)kw_chan_send(c->chan, m);
        c->st = C_DONE;
        c->id = 0;
}

/* A line the client prints on its stderr (OUTPUT, STREAM 2). */
static void tell_note(struct client *c, const char *text)
{
        struct kw_msg *m = &c->srv->msg;

        kw_msg_init(m, KW_OUTPUT, 0);
        kw_msg_put_u64(m, KW_F_STREAM, 2);
        kw_msg_put_str(m, KW_F_TEXT, text);
        (void)kw_chan_send(c->chan, m);
}

static void on_opened(void *userdata, const struct kw_frame *f, const char *why)
{
        struct client *c = userdata;
        char error[600] = "", line[700];
        uint64_t err = 0;

        if (f) {
                (void)kw_frame_u64(f, KW_F_ERRNO, &err);
                (void)kw_frame_str(f, KW_F_ERROR, error, sizeof(error));
        }
        if (c->st == C_ABANDONED) { /* nobody to relay to: hang it up at once */
                if (f && !err) {
                        kw_msg_init(&c->srv->msg, KW_PTY_CLOSE, f->id);
                        (void)kw_session_send(c->srv->session, &c->srv->msg);
                }
                client_free(c);
                return;
        }
        if (c->st != C_OPENING)
                return;
        if (!f) {
                snprintf(line, sizeof(line), "the guest did not open a shell (%s)", why ? why : "no answer");
                tell_end(c, line, 255);
                return;
        }
        if (err == EOPNOTSUPP) {
                tell_end(c, "the guest agent is too old for a shell (it does not know PTY_OPEN): use the agent "
                            "that came with this kmod-watch", 255);
                return;
        }
        if (err) {
                snprintf(line, sizeof(line), "the guest did not open a shell: %s", error[0] ? error : strerror((int)err));
                tell_end(c, line, 255);
                return;
        }
        c->st = C_OPEN;
        c->id = f->id;
        kw_msg_init(&c->srv->msg, KW_RESULT, 0); /* opened: the client says so */
        kw_msg_put_u64(&c->srv->msg, KW_F_ERRNO, 0);
        (void)kw_chan_send(c->chan, &c->srv->msg);
}

static void open_in_guest(struct client *c)
{
        struct kw_shellsrv *srv = c->srv;
        struct kw_msg *m = &srv->msg;

        kw_msg_init(m, KW_PTY_OPEN, kw_session_next_id(srv->session));
        kw_msg_put_u64(m, KW_F_ROWS, c->rows);
        kw_msg_put_u64(m, KW_F_COLS, c->cols);
        if (c->term[0])
                kw_msg_put_str(m, KW_F_TERM, c->term);
        if (srv->cwd[0])
                kw_msg_put_str(m, KW_F_PATH, srv->cwd);
        c->st = C_OPENING;
        int r = kw_session_call(srv->session, m, OPEN_TIMEOUT_MS, on_opened, c);
        if (r < 0) {
                char line[200];
                snprintf(line, sizeof(line), "cannot ask the guest for a shell: %s", strerror(-r));
                tell_end(c, line, 255);
        }
}

/* A frame from the client: its side of the shell. */
static void on_client_frame(void *userdata, const struct kw_frame *f)
{
        struct client *c = userdata;
        struct kw_msg *m = &c->srv->msg;
        const uint8_t *text;
        size_t n;
        uint64_t v;

        if (kw_frame_validate(f) < 0)
                return;
        switch (f->type) {
        case KW_PTY_OPEN:
                if (c->st != C_NEW)
                        return;
                (void)kw_frame_u64(f, KW_F_ROWS, &c->rows);
                (void)kw_frame_u64(f, KW_F_COLS, &c->cols);
                if (kw_frame_str(f, KW_F_TERM, c->term, sizeof(c->term)) < 0)
                        c->term[0] = 0;
                if (kw_session_ready(c->srv->session)) {
                        open_in_guest(c);
                        return;
                }
                c->st = C_WAIT;
                tell_note(c, "the guest is not up yet: the shell opens when it is");
                return;
        case KW_PTY_RESIZE:
                (void)kw_frame_u64(f, KW_F_ROWS, &c->rows);
                (void)kw_frame_u64(f, KW_F_COLS, &c->cols);
                if (c->st != C_OPEN)
                        return;
                kw_msg_init(m, KW_PTY_RESIZE, c->id);
                kw_msg_put_u64(m, KW_F_ROWS, c->rows);
                kw_msg_put_u64(m, KW_F_COLS, c->cols);
                (void)kw_session_send(c->srv->session, m);
                return;
        case KW_PTY_DATA:
                if (c->st != C_OPEN)
                        return; /* typed before the shell was there */
                kw_msg_init(m, KW_PTY_DATA, c->id);
                if (kw_frame_u64(f, KW_F_ACK, &v) == 0)
                        kw_msg_put_u64(m, KW_F_ACK, v);
                if (kw_frame_bytes(f, KW_F_TEXT, &text, &n) == 0)
                        kw_msg_put_bytes(m, KW_F_TEXT, text, n);
                (void)kw_session_send(c->srv->session, m);
                return;
        default:
                return;
        }
}

static void on_client_closed(void *userdata, int err)
{
        struct client *c = userdata;
        struct kw_msg *m = &c->srv->msg;

        (void)err;
        if (c->st == C_OPEN) {
                kw_msg_init(m, KW_PTY_CLOSE, c->id);
                (void)kw_session_send(c->srv->session, m);
        }
        if (c->st == C_OPENING) {
                c->st = C_ABANDONED; /* on_opened() frees it */
                kw_chan_free(c->chan);
                c->chan = NULL;
                return;
        }
        client_free(c);
}

static const struct kw_chan_ops client_ops = {
        .frame = on_client_frame,
        .closed = on_client_closed,
};

/* Only our own user (or root) gets a root shell in our guest. */
static bool peer_allowed(int fd)
{
        struct ucred cred;
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        return cred.uid == geteuid() || cred.uid == 0;
}

static int on_accept(void *userdata, int fd, short revents)
{
        struct kw_shellsrv *srv = userdata;
        struct client *c = NULL;

        (void)revents;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        if (!peer_allowed(cfd)) {
                close(cfd);
                return 0;
        }
        int active = 0;
        for (int i = 0; i < CONNS_MAX; i++) {
                enum cstate st = srv->c[i].st;
                if (st == C_FREE && !c)
                        c = &srv->c[i];
                active += st != C_FREE && st != C_DONE;
        }
        if (!c) { /* refused ones pile up: these go without a word */
                close(cfd);
                return 0;
        }
        *c = (struct client){ .srv = srv, .st = C_NEW, .rows = 24, .cols = 80 };
        if (kw_chan_new(srv->loop, cfd, &client_ops, c, &c->chan) < 0) {
                close(cfd);
                c->st = C_FREE;
                return 0;
        }
        if (active >= KW_SHELL_MAX) { /* refused: one line; the client closes */
                char line[120];
                snprintf(line, sizeof(line), "%d shells are open in this guest already: close one first", KW_SHELL_MAX);
                tell_end(c, line, 255);
        }
        return 0;
}

static void tap_frame(void *userdata, const struct kw_frame *f)
{
        struct kw_shellsrv *srv = userdata;
        const uint8_t *text;
        uint64_t status = 255;
        size_t n;

        for (int i = 0; i < CONNS_MAX; i++) {
                struct client *c = &srv->c[i];
                if (c->st != C_OPEN || c->id != f->id)
                        continue;
                if (f->type == KW_PTY_CLOSE) {
                        (void)kw_frame_u64(f, KW_F_STATUS, &status);
                        tell_end(c, "", status);
                        return;
                }
                if (kw_frame_bytes(f, KW_F_TEXT, &text, &n) < 0)
                        return;
                kw_msg_init(&srv->msg, KW_PTY_DATA, 0);
                kw_msg_put_bytes(&srv->msg, KW_F_TEXT, text, n);
                (void)kw_chan_send(c->chan, &srv->msg);
                return;
        }
        kw_debug("a %s for shell %u that is not open here", kw_type_name(f->type), f->id);
}

static void tap_ready(void *userdata)
{
        struct kw_shellsrv *srv = userdata;

        for (int i = 0; i < CONNS_MAX; i++)
                if (srv->c[i].st == C_WAIT)
                        open_in_guest(&srv->c[i]);
}

static void tap_lost(void *userdata, const char *why)
{
        struct kw_shellsrv *srv = userdata;
        char line[300];

        snprintf(line, sizeof(line), "the guest went away (%s): this shell is gone; kmod-watch shell opens a new "
                 "one once it is back", why);
        for (int i = 0; i < CONNS_MAX; i++)
                if (srv->c[i].st == C_OPEN)
                        tell_end(&srv->c[i], line, 255);
}

static const struct kw_session_tap tap = {
        .frame = tap_frame,
        .ready = tap_ready,
        .lost = tap_lost,
};

/* The listening socket at DIR's address, in the loop: its fd or -errno. */
static int listen_at(struct kw_shellsrv *srv, const char *dir)
{
        struct sockaddr_un sa;
        socklen_t len;
        int r = kw_shellsrv_address(dir, &sa, &len);

        if (r < 0)
                return r;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 4) < 0 ||
            (r = kw_loop_add(srv->loop, fd, POLLIN, on_accept, srv)) < 0) {
                r = r < 0 ? r : -errno;
                if (fd >= 0)
                        close(fd);
                return r;
        }
        return fd;
}

int kw_shellsrv_new(struct kw_loop *l, struct kw_session *s, const char *dir, const char *mount,
                    const char *subdir, struct kw_shellsrv **ret)
{
        struct kw_shellsrv *srv = calloc(1, sizeof(*srv));

        if (!srv)
                return -ENOMEM;
        *srv = (struct kw_shellsrv){ .loop = l, .session = s };
        if (mount && mount[0])
                snprintf(srv->cwd, sizeof(srv->cwd), "%s%s%s", mount, subdir && subdir[0] ? "/" : "",
                         subdir ? subdir : "");
        srv->fd = listen_at(srv, dir);
        if (srv->fd < 0) {
                int r = srv->fd;
                free(srv);
                return r;
        }
        kw_session_set_tap(s, &tap, srv);
        *ret = srv;
        return 0;
}

void kw_shellsrv_moved(struct kw_shellsrv *srv, const char *dir)
{
        if (!srv)
                return;
        int fd = listen_at(srv, dir);
        if (fd < 0) {
                kw_warn("kmod-watch shell cannot reach this run any more: %s", strerror(-fd));
                return;
        }
        kw_loop_del(srv->loop, srv->fd);
        close(srv->fd);
        srv->fd = fd;
}

void kw_shellsrv_free(struct kw_shellsrv *srv)
{
        if (!srv)
                return;
        kw_session_set_tap(srv->session, NULL, NULL);
        for (int i = 0; i < CONNS_MAX; i++) {
                struct client *c = &srv->c[i];
                if (c->st == C_NEW || c->st == C_WAIT || c->st == C_OPENING || c->st == C_OPEN)
                        tell_end(c, "kmod-watch ended: the guest is gone", 255);
                if (c->chan)
                        client_free(c);
        }
        kw_loop_del(srv->loop, srv->fd);
        close(srv->fd);
        free(srv);
}
