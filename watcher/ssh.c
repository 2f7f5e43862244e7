/* SPDX-License-Identifier: MIT */
/*
 * ssh.c — see ssh.h. The design, and why:
 *
 * libssh wants one session per thread, and SFTP only works with the session
 * in blocking mode, while kmod-watch lives in one poll() loop that must never
 * block (the terminal stays responsive, builds and the kernel log go on). So
 * ONE worker thread owns everything libssh: the session, the agent's exec
 * channel and the SFTP session. It runs commands the loop queues for it
 * (connect, upload, quit) and answers with events the loop reads from an
 * eventfd. No thread per channel, no libssh call outside the worker.
 *
 *   loop (main thread)                       worker thread (libssh)
 *   ------------------                       ----------------------
 *   kw_ssh_start / retry timer ── CONNECT ─▶ TCP, handshake, host key, auth,
 *                                            uname, SFTP: agent, exec agent
 *   controller's session  ◀═ socketpair ═▶   bridge: socketpair ⇄ channel
 *   kw_ssh_deliver ─────────────── UPLOAD ─▶ SFTP (blocking for its span)
 *   done(), lost(), channel() ◀── events ──  CONNECTED / FAILED / LOST / UPLOADED
 *
 * The controller gets one end of a socketpair as its "channel fd", the same
 * kind of byte stream a virtio-serial socket is; the worker copies bytes
 * between the other end and the agent's stdin/stdout with the session in
 * non-blocking mode, polling the session's socket, the socketpair and its
 * command eventfd together. Uploads switch the session to blocking mode for
 * their span (the agent's output waits in libssh's channel buffer meanwhile).
 *
 * The TCP connection is made here, not by libssh, so that quitting can
 * shutdown() the socket from the loop: whatever blocking libssh call the
 * worker is in returns at once, and the join never waits for a timeout.
 * (With a ProxyCommand in ~/.ssh/config libssh connects itself; quitting
 * may then wait for its timeout.)
 *
 * Liveness: an SSH_MSG_IGNORE every few seconds. A rebooted target answers
 * it with a reset (QEMU's user networking passes it on), a vanished one
 * leaves it unacknowledged and TCP_USER_TIMEOUT ends the connection.
 * Either way the worker reports LOST, the loop tells the controller (not
 * fatal) and reconnects with backoff, 1 s doubling to 30 s, for as long as
 * --boot-timeout allows; the same bound applies to the first connection.
 * Unknown or changed host keys, refused keys and an unusable target are
 * fatal: retrying would not change them.
 *
 * On the target: /tmp/kmod-watch-<uid>-<first 12 hex of the agent's
 * SHA-256>, mode 0700 and owned by the login user (checked, never trusted
 * by name alone), holds kmod-agent and the modules. The name says which
 * agent is inside and the agent is only ever renamed into place complete, so
 * a reconnect that finds it there with the right size skips the upload.
 * Modules are named <hash of DIR>-<relpath with '/' → '%'> and uploaded
 * again only when their SHA-256 differs from the last upload on this
 * connection.
 */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "backoff.h"
#include "kit.h"
#include "paths.h"
#include "sha256.h"
#include "ui.h"

#define KW_SSH_TIMEOUT_S 15          /* one libssh operation (handshake, auth, exec, SFTP request) */
#define KW_SSH_CONNECT_MS 10000      /* the TCP connect */
#define KW_SSH_USER_TIMEOUT_MS 20000 /* unacknowledged data this long: the peer is gone */
#define KW_SSH_KEEPALIVE_MS 3000
#define KW_SSH_BACKOFF_MIN_MS 1000
#define KW_SSH_BACKOFF_MAX_MS 30000
#define KW_SSH_TO_AGENT_MAX 65536        /* bytes read from the controller, waiting for the channel */
#define KW_SSH_TO_CTL_MAX (4 << 20)      /* agent output waiting for the controller: stop reading beyond */
#define KW_SSH_MAX_FILES 64

/* ---- the queues between the loop and the worker ---- */

enum cmd_kind { C_CONNECT, C_UPLOAD, C_QUIT };

struct cmd {
        struct cmd *next;
        enum cmd_kind kind;
        unsigned id;
        char local[PATH_MAX * 2];
        char remote[PATH_MAX];
};

enum ev_kind { E_CONNECTED, E_FAILED, E_LOST, E_CLOSED, E_UPLOADED };

struct ev {
        struct ev *next;
        enum ev_kind kind;
        bool fatal;
        int err;
        int fd;
        unsigned id;
        unsigned uid;
        uint8_t hash[KW_SHA256_LEN];
        char arch[32];
        char release[128];
        char dir[PATH_MAX];
        char text[1536];
};

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

/* What the worker needs to log in; fixed after kw_ssh_new(). */
struct target {
        char user[128];  /* "" : from the config or the local user */
        char host[256];
        unsigned port;   /* 0: from the config or 22 */
        char identity[PATH_MAX];
        char known_hosts[PATH_MAX];
        bool accept_new;
        int log_level;
};

/* The worker's connection. */
struct conn {
        ssh_session ssh;
        ssh_channel chan; /* the agent */
        sftp_session sftp;
        int sp;           /* our end of the controller's socketpair */
        char desc[512];   /* user@host:port, for messages */
        char dir[PATH_MAX];
        unsigned uid;
        uint8_t to_agent[KW_SSH_TO_AGENT_MAX];
        size_t to_agent_len;
        uint8_t *to_ctl;
        size_t to_ctl_len, to_ctl_cap;
        char err_tail[256]; /* the agent's last stderr bytes */
        size_t err_len;
        uint64_t next_keepalive_ms;
};

struct kw_ssh {
        /* the loop's side */
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
        struct delivery *deliveries;
        unsigned next_id;
        struct uploaded up[KW_SSH_MAX_FILES];
        size_t n_up;
        int ev_fd;

        /* shared, under lock */
        pthread_mutex_t lock;
        struct cmd *cmds, **cmds_tail;
        struct ev *evs, **evs_tail;
        int cmd_fd;
        int sock_fd; /* the live TCP socket, for shutdown() on quit */
        bool quit;

        /* the worker's */
        pthread_t thread;
        bool thread_started;
        struct target t;
        struct conn c;
        char agent_arch[16];
        char agent_local[PATH_MAX];
        uint8_t agent_hash[KW_SHA256_LEN];
        off_t agent_size;
};

static uint64_t mono_ms(void)
{
        return kw_now_ms();
}

static void wake(int fd)
{
        uint64_t one = 1;

        (void)!write(fd, &one, sizeof(one));
}

static void drain_fd(int fd)
{
        uint64_t v;

        (void)!read(fd, &v, sizeof(v));
}

static void post_cmd(struct kw_ssh *s, struct cmd *c)
{
        pthread_mutex_lock(&s->lock);
        c->next = NULL;
        *s->cmds_tail = c;
        s->cmds_tail = &c->next;
        pthread_mutex_unlock(&s->lock);
        wake(s->cmd_fd);
}

static struct cmd *take_cmd(struct kw_ssh *s)
{
        pthread_mutex_lock(&s->lock);
        struct cmd *c = s->cmds;
        if (c) {
                s->cmds = c->next;
                if (!s->cmds)
                        s->cmds_tail = &s->cmds;
        }
        pthread_mutex_unlock(&s->lock);
        return c;
}

static bool quitting(struct kw_ssh *s)
{
        pthread_mutex_lock(&s->lock);
        bool q = s->quit;
        pthread_mutex_unlock(&s->lock);
        return q;
}

static void post_ev(struct kw_ssh *s, struct ev *e)
{
        pthread_mutex_lock(&s->lock);
        e->next = NULL;
        *s->evs_tail = e;
        s->evs_tail = &e->next;
        pthread_mutex_unlock(&s->lock);
        wake(s->ev_fd);
}

static struct ev *new_ev(enum ev_kind kind)
{
        struct ev *e = calloc(1, sizeof(*e));

        if (e) {
                e->kind = kind;
                e->fd = -1;
        }
        return e;
}

static void post_text(struct kw_ssh *s, enum ev_kind kind, bool fatal, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void post_text(struct kw_ssh *s, enum ev_kind kind, bool fatal, const char *fmt, ...)
{
        struct ev *e = new_ev(kind);
        va_list ap;

        if (!e)
                return;
        e->fatal = fatal;
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
        post_ev(s, e);
}

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

static int parse_dest(const char *dest, struct target *t)
{
        return kw_ssh_parse_dest(dest, t->user, sizeof(t->user), t->host, sizeof(t->host), &t->port);
}

/* ---- worker: small helpers around libssh ---- */

static void conn_set_sock(struct kw_ssh *s, int fd)
{
        pthread_mutex_lock(&s->lock);
        s->sock_fd = fd;
        pthread_mutex_unlock(&s->lock);
}

/* Frees in the order libssh needs: SFTP and channels before the session. */
static void conn_close(struct kw_ssh *s, struct conn *c)
{
        if (c->sftp)
                sftp_free(c->sftp);
        c->sftp = NULL;
        if (c->chan) {
                if (ssh_channel_is_open(c->chan) && !quitting(s)) {
                        ssh_set_blocking(c->ssh, 0);
                        (void)ssh_channel_send_eof(c->chan);
                        (void)ssh_channel_close(c->chan);
                }
                ssh_channel_free(c->chan);
        }
        c->chan = NULL;
        conn_set_sock(s, -1);
        if (c->ssh) {
                ssh_disconnect(c->ssh);
                ssh_free(c->ssh);
        }
        c->ssh = NULL;
        if (c->sp >= 0)
                close(c->sp);
        c->sp = -1;
        free(c->to_ctl);
        c->to_ctl = NULL;
        c->to_ctl_len = c->to_ctl_cap = 0;
        c->to_agent_len = 0;
        c->err_len = 0;
}

/* A TCP connection to host:port that quitting can interrupt. -errno, with
 * why filled. */
static int tcp_connect(struct kw_ssh *s, const char *host, unsigned port, char *why, size_t size)
{
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *res, *ai;
        char service[16];
        int r = -EHOSTUNREACH;

        snprintf(service, sizeof(service), "%u", port);
        int g = getaddrinfo(host, service, &hints, &res);
        if (g != 0) {
                snprintf(why, size, "cannot resolve %s: %s", host, gai_strerror(g));
                return g == EAI_NONAME ? -ENOENT : -EAGAIN;
        }
        for (ai = res; ai; ai = ai->ai_next) {
                int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
                if (fd < 0) {
                        r = -errno;
                        continue;
                }
                if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        r = -errno;
                        close(fd);
                        continue;
                }
                struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = s->cmd_fd, .events = POLLIN } };
                uint64_t end = mono_ms() + KW_SSH_CONNECT_MS;
                r = -ETIMEDOUT;
                for (;;) {
                        uint64_t now = mono_ms();
                        if (now >= end || quitting(s))
                                break;
                        int n = poll(p, 2, (int)(end - now));
                        if (n < 0 && errno != EINTR)
                                break;
                        if (p[0].revents) {
                                int err = 0;
                                socklen_t len = sizeof(err);
                                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                                r = -err;
                                break;
                        }
                        if (p[1].revents)
                                p[1].events = 0; /* a command: seen by quitting() or after the connect */
                }
                if (r == 0) {
                        int one = 1, ut = KW_SSH_USER_TIMEOUT_MS;
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut));
                        freeaddrinfo(res);
                        return fd;
                }
                close(fd);
                if (quitting(s))
                        break;
        }
        freeaddrinfo(res);
        snprintf(why, size, "%s", strerror(-r));
        return r;
}

/* Runs cmd on an exec channel, collecting its stdout (NUL-terminated,
 * truncated to size). Returns its exit status, or -errno. Blocking mode. */
static int run_remote(ssh_session ssh, const char *cmd, char *out, size_t size)
{
        ssh_channel ch = ssh_channel_new(ssh);
        size_t n = 0;
        int r = -EIO;

        if (!ch)
                return -ENOMEM;
        if (ssh_channel_open_session(ch) != SSH_OK || ssh_channel_request_exec(ch, cmd) != SSH_OK)
                goto out;
        for (;;) {
                char buf[4096];
                int k = ssh_channel_read_timeout(ch, buf, sizeof(buf), 0, KW_SSH_TIMEOUT_S * 1000);
                if (k < 0)
                        goto out;
                /* 0 is a timeout or the end: libssh 0.10 says which only through is_eof */
                if (k == 0) {
                        if (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch))
                                break;
                        r = -ETIMEDOUT;
                        goto out;
                }
                size_t take = (size_t)k < size - 1 - n ? (size_t)k : size - 1 - n;
                memcpy(out + n, buf, take);
                n += take;
        }
        out[n] = 0;
        (void)ssh_channel_send_eof(ch);
        r = ssh_channel_get_exit_status(ch);
        if (r < 0)
                r = 0; /* the server sent none (some do not): the output is what counts */
out:
        if (ssh_channel_is_open(ch))
                (void)ssh_channel_close(ch);
        ssh_channel_free(ch);
        return r;
}

static const char *sftp_strerror(sftp_session sftp)
{
        switch (sftp ? sftp_get_error(sftp) : -1) {
        case SSH_FX_NO_SUCH_FILE: return "no such file";
        case SSH_FX_PERMISSION_DENIED: return "permission denied";
        case SSH_FX_FAILURE: return "failure";
        case SSH_FX_CONNECTION_LOST: return "connection lost";
        default: return "error";
        }
}

/* Copies local to remote over SFTP (blocking mode), hashing what it sends. */
static int sftp_upload(struct conn *c, const char *local, const char *remote, int mode, uint8_t hash[KW_SHA256_LEN],
                       char *why, size_t size)
{
        struct kw_sha256 h;
        int in = open(local, O_RDONLY | O_CLOEXEC);

        if (in < 0) {
                int r = -errno;
                snprintf(why, size, "cannot read %s: %s", local, strerror(-r));
                return r;
        }
        sftp_file f = sftp_open(c->sftp, remote, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode);
        if (!f) {
                snprintf(why, size, "cannot create %s on %s: %s (%s)", remote, c->desc, sftp_strerror(c->sftp),
                         ssh_get_error(c->ssh));
                close(in);
                return -EIO;
        }
        kw_sha256_init(&h);
        int r = 0;
        for (;;) {
                char buf[32768];
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0) {
                        r = -errno;
                        snprintf(why, size, "cannot read %s: %s", local, strerror(-r));
                        break;
                }
                if (n == 0)
                        break;
                kw_sha256_update(&h, buf, (size_t)n);
                if (sftp_write(f, buf, (size_t)n) != n) {
                        r = -EIO;
                        snprintf(why, size, "writing %s on %s failed: %s (%s)", remote, c->desc,
                                 sftp_strerror(c->sftp), ssh_get_error(c->ssh));
                        break;
                }
        }
        close(in);
        if (sftp_close(f) != SSH_NO_ERROR && r == 0) {
                r = -EIO;
                snprintf(why, size, "writing %s on %s failed: %s", remote, c->desc, sftp_strerror(c->sftp));
        }
        if (r == 0 && hash)
                kw_sha256_final(&h, hash);
        return r;
}

/* ---- worker: connecting ---- */

struct fail {
        bool fatal;
        char why[1400];
};

static int failf(struct fail *f, bool fatal, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int failf(struct fail *f, bool fatal, const char *fmt, ...)
{
        va_list ap;

        f->fatal = fatal;
        va_start(ap, fmt);
        vsnprintf(f->why, sizeof(f->why), fmt, ap);
        va_end(ap);
        return -1;
}

/* A session with the options set: the destination, ~/.ssh/config, then
 * what the command line says (which wins over the config). */
static ssh_session make_session(const struct target *t, struct fail *f)
{
        ssh_session ssh = ssh_new();
        long timeout = KW_SSH_TIMEOUT_S;
        int level = t->log_level;

        if (!ssh) {
                failf(f, true, "out of memory");
                return NULL;
        }
        ssh_options_set(ssh, SSH_OPTIONS_LOG_VERBOSITY, &level);
        ssh_options_set(ssh, SSH_OPTIONS_HOST, t->host);
        if (ssh_options_parse_config(ssh, NULL) < 0)
                kw_debug("ssh: reading ~/.ssh/config failed: %s", ssh_get_error(ssh));
        if (t->user[0])
                ssh_options_set(ssh, SSH_OPTIONS_USER, t->user);
        if (t->port)
                ssh_options_set(ssh, SSH_OPTIONS_PORT, &t->port);
        if (t->identity[0])
                ssh_options_set(ssh, SSH_OPTIONS_IDENTITY, t->identity);
        if (t->known_hosts[0])
                ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, t->known_hosts);
        ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &timeout);
        char *user = NULL;
        if (ssh_options_get(ssh, SSH_OPTIONS_USER, &user) != SSH_OK)
                ssh_options_set(ssh, SSH_OPTIONS_USER, NULL); /* the local user, as ssh does */
        ssh_string_free_char(user);
        return ssh;
}

static void describe(ssh_session ssh, char *buf, size_t size)
{
        char *user = NULL, *host = NULL;
        unsigned port = 22;

        (void)ssh_options_get(ssh, SSH_OPTIONS_USER, &user);
        (void)ssh_options_get(ssh, SSH_OPTIONS_HOST, &host);
        (void)ssh_options_get_port(ssh, &port);
        if (port == 22)
                snprintf(buf, size, "%s%s%s", user ? user : "", user ? "@" : "", host ? host : "?");
        else
                snprintf(buf, size, "%s%s%s:%u", user ? user : "", user ? "@" : "", host ? host : "?", port);
        ssh_string_free_char(user);
        ssh_string_free_char(host);
}

/* The host key against known_hosts; only an unknown key may be added, and
 * only with --accept-new-host-key. */
static int verify_host(const struct target *t, struct conn *c, struct fail *f)
{
        ssh_key key = NULL;
        unsigned char *hash = NULL;
        size_t hlen = 0;
        char fp[128] = "?", kh[PATH_MAX + 16] = "~/.ssh/known_hosts";
        char *khfile = NULL;

        if (ssh_get_server_publickey(c->ssh, &key) == SSH_OK &&
            ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == SSH_OK) {
                char *s = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
                if (s)
                        snprintf(fp, sizeof(fp), "%s %s", ssh_key_type_to_char(ssh_key_type(key)), s);
                ssh_string_free_char(s);
        }
        ssh_clean_pubkey_hash(&hash);
        ssh_key_free(key);
        if (ssh_options_get(c->ssh, SSH_OPTIONS_KNOWNHOSTS, &khfile) == SSH_OK && khfile)
                snprintf(kh, sizeof(kh), "%s", khfile);
        ssh_string_free_char(khfile);

        enum ssh_known_hosts_e k = ssh_session_is_known_server(c->ssh);
        char host[300];
        unsigned port = 22;
        char *h = NULL;
        (void)ssh_options_get(c->ssh, SSH_OPTIONS_HOST, &h);
        (void)ssh_options_get_port(c->ssh, &port);
        if (port == 22)
                snprintf(host, sizeof(host), "%s", h ? h : "?");
        else
                snprintf(host, sizeof(host), "[%s]:%u", h ? h : "?", port);
        ssh_string_free_char(h);

        switch (k) {
        case SSH_KNOWN_HOSTS_OK:
                return 0;
        case SSH_KNOWN_HOSTS_CHANGED:
        case SSH_KNOWN_HOSTS_OTHER:
                return failf(f, true,
                             "the host key of %s has CHANGED (now %s); it may be an attack, or the target "
                             "was reinstalled. Refusing to connect. If you know why it changed, remove the "
                             "old key with: ssh-keygen -R '%s' -f %s",
                             c->desc, fp, host, kh);
        case SSH_KNOWN_HOSTS_UNKNOWN:
        case SSH_KNOWN_HOSTS_NOT_FOUND:
                if (!t->accept_new)
                        return failf(f, true,
                                     "the host key of %s is not known (%s is not in %s): check the "
                                     "fingerprint, then accept it with --accept-new-host-key (or log in once "
                                     "with ssh)",
                                     c->desc, fp, kh);
                if (ssh_session_update_known_hosts(c->ssh) != SSH_OK)
                        return failf(f, true, "cannot record the host key of %s in %s: %s", c->desc, kh,
                                     ssh_get_error(c->ssh));
                kw_info("recorded the host key of %s (%s) in %s", c->desc, fp, kh);
                return 0;
        case SSH_KNOWN_HOSTS_ERROR:
        default:
                return failf(f, true, "cannot check the host key of %s against %s: %s", c->desc, kh,
                             ssh_get_error(c->ssh));
        }
}

static int authenticate(const struct target *t, struct conn *c, struct fail *f)
{
        int r = ssh_userauth_none(c->ssh, NULL);

        if (r == SSH_AUTH_SUCCESS)
                return 0;
        if (r == SSH_AUTH_ERROR)
                return failf(f, false, "%s: %s", c->desc, ssh_get_error(c->ssh));
        int methods = ssh_userauth_list(c->ssh, NULL);
        r = ssh_userauth_publickey_auto(c->ssh, NULL, NULL);
        if (r == SSH_AUTH_SUCCESS)
                return 0;
        if (r == SSH_AUTH_ERROR)
                return failf(f, false, "%s: %s", c->desc, ssh_get_error(c->ssh));
        if (!(methods & SSH_AUTH_METHOD_PUBLICKEY))
                return failf(f, true, "%s does not accept public keys (kmod-watch logs in with keys only): "
                             "enable PubkeyAuthentication on the target", c->desc);
        if (t->identity[0])
                return failf(f, true, "%s refused the key %s (and ssh-agent's, if any): wrong user or key? Add "
                             "%s.pub to the target's ~/.ssh/authorized_keys", c->desc, t->identity, t->identity);
        return failf(f, true, "%s refused every key offered (ssh-agent, ~/.ssh/id_*, ~/.ssh/config): wrong "
                     "user? Pass --identity FILE or add your public key to the target's "
                     "~/.ssh/authorized_keys", c->desc);
}

static int pick_agent(struct kw_ssh *s, const char *arch, struct fail *f)
{
        if (strcmp(s->agent_arch, arch) == 0)
                return 0;
        int r = kw_path_agent(arch, s->agent_local, sizeof(s->agent_local));
        if (r < 0)
                return failf(f, true, "the guest agent for %s is missing (%s): build kmod-watch with meson, or "
                             "set KMOD_WATCH_AGENT", arch, s->agent_local);
        struct stat st;
        r = stat(s->agent_local, &st) < 0 ? -errno : kw_sha256_file(s->agent_local, s->agent_hash);
        if (r < 0)
                return failf(f, true, "cannot read %s: %s", s->agent_local, strerror(-r));
        s->agent_size = st.st_size;
        snprintf(s->agent_arch, sizeof(s->agent_arch), "%s", arch);
        return 0;
}

/* The private directory, created if missing, and checked either way. */
static int prepare_dir(struct conn *c, struct fail *f)
{
        sftp_attributes a = sftp_lstat(c->sftp, c->dir);

        if (!a) {
                if (sftp_get_error(c->sftp) != SSH_FX_NO_SUCH_FILE)
                        return failf(f, false, "cannot look at %s on %s: %s", c->dir, c->desc,
                                     sftp_strerror(c->sftp));
                if (sftp_mkdir(c->sftp, c->dir, 0700) < 0 && sftp_get_error(c->sftp) != SSH_FX_FILE_ALREADY_EXISTS)
                        return failf(f, true, "cannot create %s on %s: %s", c->dir, c->desc,
                                     sftp_strerror(c->sftp));
                a = sftp_lstat(c->sftp, c->dir);
                if (!a)
                        return failf(f, true, "cannot look at %s on %s: %s", c->dir, c->desc,
                                     sftp_strerror(c->sftp));
        }
        bool ok = a->type == SSH_FILEXFER_TYPE_DIRECTORY && a->uid == c->uid && (a->permissions & 0077) == 0;
        sftp_attributes_free(a);
        if (!ok)
                return failf(f, true, "%s on %s is not a private directory of uid %u (a directory, mode 0700): "
                             "remove it on the target", c->dir, c->desc, c->uid);
        return 0;
}

static int install_agent(struct kw_ssh *s, struct conn *c, struct fail *f)
{
        char final[PATH_MAX + 32], part[PATH_MAX + 32];

        snprintf(final, sizeof(final), "%s/kmod-agent", c->dir);
        sftp_attributes a = sftp_stat(c->sftp, final);
        bool there = a && a->type == SSH_FILEXFER_TYPE_REGULAR && a->size == (uint64_t)s->agent_size &&
                     (a->permissions & 0100);
        if (a)
                sftp_attributes_free(a);
        if (there) {
                kw_debug("ssh: the agent is already in %s", c->dir);
                return 0;
        }
        snprintf(part, sizeof(part), "%s/kmod-agent.part", c->dir);
        char why[1024];
        uint8_t sent[KW_SHA256_LEN];
        if (sftp_upload(c, s->agent_local, part, 0700, sent, why, sizeof(why)) < 0)
                return failf(f, false, "copying the agent: %s", why);
        if (memcmp(sent, s->agent_hash, sizeof(sent)) != 0)
                return failf(f, false, "%s changed while it was copied", s->agent_local);
        (void)sftp_unlink(c->sftp, final); /* SFTP v3 rename never replaces */
        if (sftp_rename(c->sftp, part, final) < 0)
                return failf(f, false, "cannot rename %s on %s: %s", part, c->desc, sftp_strerror(c->sftp));
        kw_debug("ssh: copied the agent to %s", final);
        return 0;
}

/* Everything up to the agent running on its channel. On failure, fills f and
 * leaves the caller to conn_close(). */
static int do_connect(struct kw_ssh *s, struct conn *c, struct ev *ok, struct fail *f)
{
        const struct target *t = &s->t;
        char *proxy = NULL;

        c->ssh = make_session(t, f);
        if (!c->ssh)
                return -1;
        describe(c->ssh, c->desc, sizeof(c->desc));
        if (ssh_options_get(c->ssh, SSH_OPTIONS_PROXYCOMMAND, &proxy) == SSH_OK && proxy && proxy[0]) {
                kw_debug("ssh: %s through ProxyCommand %s", c->desc, proxy);
        } else {
                char *host = NULL, why[512];
                unsigned port = 22;
                (void)ssh_options_get(c->ssh, SSH_OPTIONS_HOST, &host);
                (void)ssh_options_get_port(c->ssh, &port);
                int fd = tcp_connect(s, host ? host : t->host, port, why, sizeof(why));
                ssh_string_free_char(host);
                if (fd < 0)
                        return failf(f, fd == -ENOENT, "cannot reach %s: %s", c->desc, why);
                conn_set_sock(s, fd);
                ssh_options_set(c->ssh, SSH_OPTIONS_FD, &fd);
        }
        ssh_string_free_char(proxy);
        if (quitting(s))
                return failf(f, true, "quitting");
        if (ssh_connect(c->ssh) != SSH_OK)
                return failf(f, false, "cannot connect to %s: %s", c->desc, ssh_get_error(c->ssh));
        if (verify_host(t, c, f) < 0 || authenticate(t, c, f) < 0)
                return -1;

        char out[512], machine[64] = "", release[128] = "";
        int r = run_remote(c->ssh, "uname -m; uname -r; id -u", out, sizeof(out));
        if (r != 0 || sscanf(out, "%63s %127s %u", machine, release, &c->uid) != 3)
                return failf(f, r < 0, "cannot run 'uname -m; uname -r; id -u' on %s%s%s", c->desc,
                             r < 0 ? ": " : " (it printed nothing useful)", r < 0 ? ssh_get_error(c->ssh) : "");
        const struct kw_arch *a = kw_arch_find(machine);
        if (!a)
                return failf(f, true, "%s is a %s machine: kmod-watch has agents for %s only", c->desc, machine,
                             kw_arch_names());
        const char *arch = a->name;
        if (pick_agent(s, arch, f) < 0)
                return -1;

        c->sftp = sftp_new(c->ssh);
        if (!c->sftp || sftp_init(c->sftp) != SSH_OK)
                return failf(f, true, "%s has no SFTP subsystem (%s): install an SFTP server there (e.g. "
                             "openssh-sftp-server, which dropbear uses too)", c->desc, ssh_get_error(c->ssh));
        char hex[2 * KW_SHA256_LEN + 1];
        kw_sha256_hex(s->agent_hash, 6, hex);
        snprintf(c->dir, sizeof(c->dir), "/tmp/kmod-watch-%u-%s", c->uid, hex);
        if (prepare_dir(c, f) < 0 || install_agent(s, c, f) < 0)
                return -1;

        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "exec %s/kmod-agent --stdio", c->dir);
        c->chan = ssh_channel_new(c->ssh);
        if (!c->chan || ssh_channel_open_session(c->chan) != SSH_OK ||
            ssh_channel_request_exec(c->chan, cmd) != SSH_OK)
                return failf(f, false, "cannot start the agent on %s: %s", c->desc, ssh_get_error(c->ssh));

        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                return failf(f, true, "socketpair: %s", strerror(errno));
        c->sp = sv[0];
        ok->fd = sv[1];
        ok->uid = c->uid;
        snprintf(ok->arch, sizeof(ok->arch), "%s", arch);
        snprintf(ok->release, sizeof(ok->release), "%s", release);
        snprintf(ok->dir, sizeof(ok->dir), "%s", c->dir);
        ssh_set_blocking(c->ssh, 0);
        c->next_keepalive_ms = mono_ms() + KW_SSH_KEEPALIVE_MS;
        return 0;
}

/* ---- worker: the bridge between the socketpair and the agent's channel ---- */

static int to_ctl_append(struct conn *c, const void *p, size_t n)
{
        if (c->to_ctl_len + n > c->to_ctl_cap) {
                size_t cap = c->to_ctl_cap ? c->to_ctl_cap : 65536;
                while (cap < c->to_ctl_len + n)
                        cap *= 2;
                uint8_t *b = realloc(c->to_ctl, cap);
                if (!b)
                        return -ENOMEM;
                c->to_ctl = b;
                c->to_ctl_cap = cap;
        }
        memcpy(c->to_ctl + c->to_ctl_len, p, n);
        c->to_ctl_len += n;
        return 0;
}

static void note_stderr(struct conn *c, const char *p, size_t n)
{
        if (kw_ui_verbosity() >= 2)
                kw_debug("ssh: agent stderr: %.*s", (int)n, p);
        if (n >= sizeof(c->err_tail)) {
                p += n - (sizeof(c->err_tail) - 1);
                n = sizeof(c->err_tail) - 1;
        }
        if (c->err_len + n >= sizeof(c->err_tail)) {
                size_t drop = c->err_len + n - (sizeof(c->err_tail) - 1);
                memmove(c->err_tail, c->err_tail + drop, c->err_len - drop);
                c->err_len -= drop;
        }
        memcpy(c->err_tail + c->err_len, p, n);
        c->err_len += n;
        c->err_tail[c->err_len] = 0;
}

/* One round: move what can move, then wait for the next thing. 0: go on
 * (a command may be waiting); -ESHUTDOWN: the controller closed its end;
 * other -errno: the connection or the agent is gone (why says which). */
static int bridge_round(struct kw_ssh *s, struct conn *c, char *why, size_t size)
{
        char buf[32768];
        int n;

        while (c->to_ctl_len < KW_SSH_TO_CTL_MAX) {
                n = ssh_channel_read_nonblocking(c->chan, buf, sizeof(buf), 0);
                if (n == SSH_EOF) {
                        char *nl;
                        while ((nl = strrchr(c->err_tail, '\n')) && nl[1] == 0)
                                *nl = 0;
                        nl = strrchr(c->err_tail, '\n');
                        snprintf(why, size, "the agent on %s exited%s%s", c->desc, c->err_len ? ": " : "",
                                 nl ? nl + 1 : c->err_tail);
                        return -EPIPE;
                }
                if (n < 0) {
                        snprintf(why, size, "the connection to %s was lost (%s)", c->desc, ssh_get_error(c->ssh));
                        return -ECONNRESET;
                }
                if (n == 0)
                        break;
                if (to_ctl_append(c, buf, (size_t)n) < 0) {
                        snprintf(why, size, "out of memory");
                        return -ENOMEM;
                }
        }
        while ((n = ssh_channel_read_nonblocking(c->chan, buf, sizeof(buf), 1)) > 0)
                note_stderr(c, buf, (size_t)n);

        if (c->to_ctl_len) {
                ssize_t w = write(c->sp, c->to_ctl, c->to_ctl_len);
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                        return -ESHUTDOWN;
                if (w > 0) {
                        memmove(c->to_ctl, c->to_ctl + w, c->to_ctl_len - (size_t)w);
                        c->to_ctl_len -= (size_t)w;
                }
        }
        if (c->to_agent_len) {
                n = ssh_channel_write(c->chan, c->to_agent, (uint32_t)c->to_agent_len);
                if (n < 0) {
                        snprintf(why, size, "the connection to %s was lost (%s)", c->desc, ssh_get_error(c->ssh));
                        return -ECONNRESET;
                }
                memmove(c->to_agent, c->to_agent + n, c->to_agent_len - (size_t)n);
                c->to_agent_len -= (size_t)n;
        }

        uint64_t now = mono_ms();
        if (now >= c->next_keepalive_ms) {
                if (ssh_send_ignore(c->ssh, "kmod-watch") != SSH_OK) {
                        snprintf(why, size, "the connection to %s was lost (%s)", c->desc, ssh_get_error(c->ssh));
                        return -ECONNRESET;
                }
                c->next_keepalive_ms = now + KW_SSH_KEEPALIVE_MS;
        }

        struct pollfd p[3] = {
                { .fd = ssh_get_fd(c->ssh), .events = POLLIN },
                { .fd = c->sp, .events = (short)((c->to_agent_len ? 0 : POLLIN) | (c->to_ctl_len ? POLLOUT : 0)) },
                { .fd = s->cmd_fd, .events = POLLIN },
        };
        if (ssh_get_poll_flags(c->ssh) & SSH_WRITE_PENDING)
                p[0].events |= POLLOUT;
        /* agent output we hold back must not spin the loop on a readable socket */
        if (c->to_ctl_len >= KW_SSH_TO_CTL_MAX)
                p[0].events &= ~POLLIN;
        if (poll(p, 3, (int)(c->next_keepalive_ms - now)) < 0 && errno != EINTR) {
                snprintf(why, size, "poll: %s", strerror(errno));
                return -errno;
        }
        if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && c->to_agent_len < sizeof(c->to_agent)) {
                ssize_t r = read(c->sp, c->to_agent + c->to_agent_len, sizeof(c->to_agent) - c->to_agent_len);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                        return -ESHUTDOWN;
                if (r > 0)
                        c->to_agent_len += (size_t)r;
        }
        if ((p[0].revents & (POLLOUT | POLLIN | POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) {
                /* only writable (or closed): let libssh flush or notice */
                ssh_set_blocking(c->ssh, 0);
                if (ssh_blocking_flush(c->ssh, 0) == SSH_ERROR) {
                        snprintf(why, size, "the connection to %s was lost (%s)", c->desc, ssh_get_error(c->ssh));
                        return -ECONNRESET;
                }
        }
        return 0;
}

static void do_upload(struct kw_ssh *s, struct conn *c, struct cmd *cmd)
{
        struct ev *e = new_ev(E_UPLOADED);

        if (!e)
                return;
        e->id = cmd->id;
        if (!c->ssh || !c->sftp) {
                e->err = -ENOTCONN;
                snprintf(e->text, sizeof(e->text), "not connected");
                post_ev(s, e);
                return;
        }
        ssh_set_blocking(c->ssh, 1);
        e->err = sftp_upload(c, cmd->local, cmd->remote, 0600, e->hash, e->text, sizeof(e->text));
        ssh_set_blocking(c->ssh, 0);
        post_ev(s, e);
}

static void *worker(void *userdata)
{
        struct kw_ssh *s = userdata;
        struct conn *c = &s->c;

        c->sp = -1;
        for (;;) {
                struct cmd *cmd;
                bool quit = false;
                while ((cmd = take_cmd(s))) {
                        switch (cmd->kind) {
                        case C_QUIT:
                                quit = true;
                                break;
                        case C_CONNECT: {
                                if (c->ssh)
                                        break;
                                struct ev *e = new_ev(E_CONNECTED);
                                struct fail f = { 0 };
                                if (!e)
                                        break;
                                if (do_connect(s, c, e, &f) < 0) {
                                        if (e->fd >= 0)
                                                close(e->fd);
                                        free(e);
                                        conn_close(s, c);
                                        post_text(s, E_FAILED, f.fatal, "%s", f.why);
                                        break;
                                }
                                post_ev(s, e);
                                break;
                        }
                        case C_UPLOAD:
                                do_upload(s, c, cmd);
                                break;
                        }
                        free(cmd);
                        if (quit || quitting(s))
                                break;
                }
                if (quit || quitting(s))
                        break;
                if (!c->ssh) {
                        struct pollfd p = { .fd = s->cmd_fd, .events = POLLIN };
                        if (poll(&p, 1, -1) > 0)
                                drain_fd(s->cmd_fd);
                        continue;
                }
                char why[1200] = "";
                int r = bridge_round(s, c, why, sizeof(why));
                drain_fd(s->cmd_fd); /* non-blocking: the commands are read at the top */
                if (r == 0)
                        continue;
                conn_close(s, c);
                post_text(s, r == -ESHUTDOWN ? E_CLOSED : E_LOST, false, "%s", why);
        }
        conn_close(s, c);
        return NULL;
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
        post_cmd(s, c);
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
        kw_debug("ssh: connected to %s (%s %s), agent in %s", s->o->ssh, e->arch, e->release, e->dir);
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

static int on_events(void *userdata, int fd, short revents)
{
        struct kw_ssh *s = userdata;

        drain_fd(fd);
        for (;;) {
                pthread_mutex_lock(&s->lock);
                struct ev *e = s->evs;
                if (e) {
                        s->evs = e->next;
                        if (!s->evs)
                                s->evs_tail = &s->evs;
                }
                pthread_mutex_unlock(&s->lock);
                if (!e)
                        return 0;
                if (s->given_up) {
                        if (e->fd >= 0)
                                close(e->fd);
                        free(e);
                        continue;
                }
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
                }
                free(e);
        }
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
        int r = kw_kit_load(o->arch, &kit);
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
        int r;

        *ret = NULL;
        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->o = o;
        s->ops = ops;
        s->userdata = userdata;
        s->ev_fd = s->cmd_fd = s->sock_fd = -1;
        s->c.sp = -1;
        s->cmds_tail = &s->cmds;
        s->evs_tail = &s->evs;
        s->backoff = (struct kw_backoff){ .min_ms = KW_SSH_BACKOFF_MIN_MS, .max_ms = KW_SSH_BACKOFF_MAX_MS };
        pthread_mutex_init(&s->lock, NULL);
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
        *ret = s;

        if (parse_dest(o->ssh, &s->t) < 0) {
                fprintf(stderr, "kmod-watch: --ssh wants [USER@]HOST[:PORT] (an IPv6 address in [brackets]), "
                        "not '%s' (see kmod-watch --help)\n", o->ssh);
                return -EINVAL;
        }
        if (o->identity) {
                if (access(o->identity, R_OK) < 0) {
                        fprintf(stderr, "kmod-watch: --identity %s: %s\n", o->identity, strerror(errno));
                        return -EINVAL;
                }
                snprintf(s->t.identity, sizeof(s->t.identity), "%s", o->identity);
        }
        if (o->known_hosts)
                snprintf(s->t.known_hosts, sizeof(s->t.known_hosts), "%s", o->known_hosts);
        s->t.accept_new = o->accept_new_host_key;
        s->t.log_level = kw_ui_verbosity() >= 3 ? SSH_LOG_PROTOCOL : kw_ui_verbosity() >= 2 ? SSH_LOG_WARNING : 0;
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

        ssh_init();
        s->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        s->cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->ev_fd < 0 || s->cmd_fd < 0)
                return -errno;
        r = kw_loop_add(l, s->ev_fd, POLLIN, on_events, s);
        if (r < 0)
                return r;
        return kw_timer_new(l, on_retry, s, &s->retry);
}

int kw_ssh_start(struct kw_ssh *s)
{
        int r = pthread_create(&s->thread, NULL, worker, s);

        if (r != 0) {
                kw_err("cannot start the SSH thread: %s", strerror(r));
                return -r;
        }
        s->thread_started = true;
        if (!kw_ui_json() && kw_ui_verbosity() >= 0)
                kw_info("connecting to %s", s->o->ssh);
        on_retry(s);
        return 0;
}

void kw_ssh_ready(struct kw_ssh *s)
{
        kw_backoff_reset(&s->backoff);
}

struct kw_ssh *kw_ssh_free(struct kw_ssh *s)
{
        if (!s)
                return NULL;
        if (s->thread_started) {
                pthread_mutex_lock(&s->lock);
                s->quit = true;
                /* whatever blocking call the worker is in ends now */
                if (s->sock_fd >= 0)
                        shutdown(s->sock_fd, SHUT_RDWR);
                pthread_mutex_unlock(&s->lock);
                struct cmd *c = calloc(1, sizeof(*c));
                if (c) {
                        c->kind = C_QUIT;
                        post_cmd(s, c);
                } else {
                        wake(s->cmd_fd);
                }
                pthread_join(s->thread, NULL);
        }
        struct cmd *c;
        while ((c = take_cmd(s)))
                free(c);
        while (s->evs) {
                struct ev *e = s->evs;
                s->evs = e->next;
                if (e->fd >= 0)
                        close(e->fd);
                free(e);
        }
        while (s->deliveries) {
                struct delivery *d = s->deliveries;
                s->deliveries = d->next;
                free(d);
        }
        kw_timer_free(s->retry);
        if (s->ev_fd >= 0) {
                kw_loop_del(s->loop, s->ev_fd);
                close(s->ev_fd);
        }
        if (s->cmd_fd >= 0)
                close(s->cmd_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
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
        post_cmd(s, c);
        return 0;
}

/* ---- doctor ---- */

int kw_ssh_doctor(const struct kw_opts *o, FILE *out)
{
        struct kw_ssh *s = calloc(1, sizeof(*s));
        struct fail f = { 0 };
        struct ev *ok = new_ev(E_CONNECTED);
        int failed = 0;

        if (!s || !ok) {
                free(s);
                free(ok);
                return 1;
        }
        s->o = o;
        s->sock_fd = -1;
        s->c.sp = -1;
        s->cmds_tail = &s->cmds;
        s->evs_tail = &s->evs;
        pthread_mutex_init(&s->lock, NULL);
        s->cmd_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (parse_dest(o->ssh, &s->t) < 0) {
                fprintf(out, "FAIL --ssh %s — fix: give [USER@]HOST[:PORT]\n", o->ssh);
                failed++;
                goto out;
        }
        if (o->identity)
                snprintf(s->t.identity, sizeof(s->t.identity), "%s", o->identity);
        if (o->known_hosts)
                snprintf(s->t.known_hosts, sizeof(s->t.known_hosts), "%s", o->known_hosts);
        s->t.accept_new = o->accept_new_host_key;
        ssh_init();
        if (do_connect(s, &s->c, ok, &f) < 0) {
                fprintf(out, "FAIL ssh %s — fix: %s\n", o->ssh, f.why);
                failed++;
                goto out;
        }
        fprintf(out, "ok   ssh %s: logged in as uid %u, %s %s, SFTP works, agent in %s\n", s->c.desc, ok->uid,
                ok->arch, ok->release, ok->dir);
        if (strcmp(ok->arch, o->arch) != 0) {
                fprintf(out, "FAIL the target is %s, kmod-watch builds for %s — fix: pass --arch %s\n", ok->arch,
                        o->arch, ok->arch);
                failed++;
        }
        if (ok->uid != 0) {
                fprintf(out, "FAIL loading modules needs root, %s is uid %u — fix: log in as root\n", s->c.desc,
                        ok->uid);
                failed++;
        }
        if (!o->kdir) {
                struct kw_kit kit;
                if (kw_kit_load(o->arch, &kit) < 0 || strcmp(kit.release, ok->release) != 0) {
                        fprintf(out, "FAIL no headers for %s — fix: pass --kdir (headers for %s)\n", ok->release,
                                ok->release);
                        failed++;
                } else {
                        fprintf(out, "ok   the kit's headers match the target's kernel %s\n", ok->release);
                }
        }
out:
        if (ok->fd >= 0)
                close(ok->fd);
        free(ok);
        conn_close(s, &s->c);
        if (s->cmd_fd >= 0)
                close(s->cmd_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return failed;
}
