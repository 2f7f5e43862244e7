/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-connect.c — one SSH connection, made by the worker thread (see
 * ssh-int.h) or, synchronously, by the doctor: TCP (ours, so quitting can
 * interrupt it), handshake, the host key against known_hosts, the login
 * (ssh-auth.c), what the target is (uname), the private directory and the
 * agent in it over SFTP (or, without SFTP, ssh-exec.c), and the agent
 * started on an exec channel. Also the upload of one file, for the agent and
 * for modules.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch.h"
#include "loop.h"
#include "paths.h"
#include "ssh-int.h"
#include "ssh.h"

/* ---- small helpers around libssh ---- */

static void conn_set_sock(struct worker *w, int fd)
{
        pthread_mutex_lock(&w->lock);
        w->sock_fd = fd;
        pthread_mutex_unlock(&w->lock);
}

/* Frees in the order libssh needs: SFTP and channels before the session. */
void conn_close(struct worker *w, struct conn *c)
{
        if (c->sftp)
                sftp_free(c->sftp);
        c->sftp = NULL;
        c->check = NULL;
        c->login[0] = 0;
        if (c->chan) {
                if (ssh_channel_is_open(c->chan) && !worker_quitting(w)) {
                        ssh_set_blocking(c->ssh, 0);
                        (void)ssh_channel_send_eof(c->chan);
                        (void)ssh_channel_close(c->chan);
                }
                ssh_channel_free(c->chan);
        }
        c->chan = NULL;
        conn_set_sock(w, -1);
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
static int tcp_connect(struct worker *w, const char *host, unsigned port, char *why, size_t size)
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
                struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = w->cmd_fd, .events = POLLIN } };
                uint64_t end = kw_now_ms() + KW_SSH_CONNECT_MS;
                r = -ETIMEDOUT;
                for (;;) {
                        uint64_t now = kw_now_ms();
                        if (now >= end || worker_quitting(w))
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
                if (worker_quitting(w))
                        break;
        }
        freeaddrinfo(res);
        snprintf(why, size, "%s", strerror(-r));
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

int conn_stream(int in, const char *local, conn_put_fn put, void *ud, struct kw_sha256 *sh, struct kw_md5 *md,
                uint64_t *total, char *why, size_t size)
{
        for (;;) {
                char buf[32768];
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0) {
                        int r = -errno;
                        snprintf(why, size, "cannot read %s: %s", local, strerror(-r));
                        return r;
                }
                if (n == 0)
                        return 0;
                kw_sha256_update(sh, buf, (size_t)n);
                if (md)
                        kw_md5_update(md, buf, (size_t)n);
                if (total)
                        *total += (uint64_t)n;
                int r = put(ud, buf, (size_t)n, why, size);
                if (r < 0)
                        return r;
        }
}

struct sftp_put {
        struct conn *c;
        sftp_file f;
        const char *remote;
};

static int sftp_put(void *ud, const void *p, size_t n, char *why, size_t size)
{
        struct sftp_put *s = ud;

        if (sftp_write(s->f, p, n) == (ssize_t)n)
                return 0;
        snprintf(why, size, "writing %s on %s failed: %s (%s)", s->remote, s->c->desc, sftp_strerror(s->c->sftp),
                 ssh_get_error(s->c->ssh));
        return -EIO;
}

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
        struct sftp_put put = { c, f, remote };
        int r = conn_stream(in, local, sftp_put, &put, &h, NULL, NULL, why, size);
        close(in);
        if (sftp_close(f) != SSH_NO_ERROR && r == 0) {
                r = -EIO;
                snprintf(why, size, "writing %s on %s failed: %s", remote, c->desc, sftp_strerror(c->sftp));
        }
        if (r == 0 && hash)
                kw_sha256_final(&h, hash);
        return r;
}

int conn_upload(struct conn *c, const char *local, const char *remote, int mode, uint8_t hash[KW_SHA256_LEN],
                char *why, size_t size)
{
        if (c->sftp)
                return sftp_upload(c, local, remote, mode, hash, why, size);
        return exec_upload(c, local, remote, mode, NULL, hash, why, size);
}

/* ---- connecting ---- */

int conn_failf(struct fail *f, bool fatal, const char *fmt, ...)
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
static ssh_session make_session(struct worker *w, struct fail *f)
{
        const struct target *t = &w->t;
        ssh_session ssh = ssh_new();
        long timeout = KW_SSH_TIMEOUT_S;
        int level = t->log_level;

        if (!ssh) {
                conn_failf(f, true, "out of memory");
                return NULL;
        }
        ssh_options_set(ssh, SSH_OPTIONS_LOG_VERBOSITY, &level);
        ssh_options_set(ssh, SSH_OPTIONS_HOST, t->host);
        if (ssh_options_parse_config(ssh, NULL) < 0)
                worker_log(w, WLOG_DEBUG, "ssh: reading ~/.ssh/config failed: %s", ssh_get_error(ssh));
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
static int verify_host(struct worker *w, struct conn *c, struct fail *f)
{
        const struct target *t = &w->t;
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
                return conn_failf(f, true,
                             "the host key of %s has CHANGED (now %s); it may be an attack, or the target "
                             "was reinstalled. Refusing to connect. If you know why it changed, remove the "
                             "old key with: ssh-keygen -R '%s' -f %s",
                             c->desc, fp, host, kh);
        case SSH_KNOWN_HOSTS_UNKNOWN:
        case SSH_KNOWN_HOSTS_NOT_FOUND:
                if (!t->accept_new)
                        return conn_failf(f, true,
                                     "the host key of %s is not known (%s is not in %s): check the "
                                     "fingerprint, then accept it with --accept-new-host-key (or log in once "
                                     "with ssh)",
                                     c->desc, fp, kh);
                if (ssh_session_update_known_hosts(c->ssh) != SSH_OK)
                        return conn_failf(f, true, "cannot record the host key of %s in %s: %s", c->desc, kh,
                                     ssh_get_error(c->ssh));
                worker_log(w, WLOG_INFO, "recorded the host key of %s (%s) in %s", c->desc, fp, kh);
                return 0;
        case SSH_KNOWN_HOSTS_ERROR:
        default:
                return conn_failf(f, true, "cannot check the host key of %s against %s: %s", c->desc, kh,
                             ssh_get_error(c->ssh));
        }
}

static int pick_agent(struct worker *w, const char *arch, struct fail *f)
{
        if (strcmp(w->agent_arch, arch) == 0)
                return 0;
        int r = kw_path_agent(arch, w->agent_local, sizeof(w->agent_local));
        if (r < 0)
                return conn_failf(f, true, "the guest agent for %s is missing (%s): build kmod-watch with meson, or "
                             "set KMOD_WATCH_AGENT", arch, w->agent_local);
        struct stat st;
        r = stat(w->agent_local, &st) < 0 ? -errno : kw_sha256_file(w->agent_local, w->agent_hash);
        if (r < 0)
                return conn_failf(f, true, "cannot read %s: %s", w->agent_local, strerror(-r));
        w->agent_size = st.st_size;
        snprintf(w->agent_arch, sizeof(w->agent_arch), "%s", arch);
        return 0;
}

/* The private directory, created if missing, and checked either way. */
static int prepare_dir(struct conn *c, struct fail *f)
{
        sftp_attributes a = sftp_lstat(c->sftp, c->dir);

        if (!a) {
                if (sftp_get_error(c->sftp) != SSH_FX_NO_SUCH_FILE)
                        return conn_failf(f, false, "cannot look at %s on %s: %s", c->dir, c->desc,
                                     sftp_strerror(c->sftp));
                if (sftp_mkdir(c->sftp, c->dir, 0700) < 0 && sftp_get_error(c->sftp) != SSH_FX_FILE_ALREADY_EXISTS)
                        return conn_failf(f, true, "cannot create %s on %s: %s", c->dir, c->desc,
                                     sftp_strerror(c->sftp));
                a = sftp_lstat(c->sftp, c->dir);
                if (!a)
                        return conn_failf(f, true, "cannot look at %s on %s: %s", c->dir, c->desc,
                                     sftp_strerror(c->sftp));
        }
        bool ok = a->type == SSH_FILEXFER_TYPE_DIRECTORY && a->uid == c->uid && (a->permissions & 0077) == 0;
        sftp_attributes_free(a);
        if (!ok)
                return conn_failf(f, true, "%s on %s is not a private directory of uid %u (a directory, mode 0700): "
                             "remove it on the target", c->dir, c->desc, c->uid);
        return 0;
}

static int install_agent(struct worker *w, struct conn *c, struct fail *f)
{
        char final[PATH_MAX + 32], part[PATH_MAX + 32];

        snprintf(final, sizeof(final), "%s/kmod-agent", c->dir);
        sftp_attributes a = sftp_stat(c->sftp, final);
        bool there = a && a->type == SSH_FILEXFER_TYPE_REGULAR && a->size == (uint64_t)w->agent_size &&
                     (a->permissions & 0100);
        if (a)
                sftp_attributes_free(a);
        if (there) {
                worker_log(w, WLOG_DEBUG, "ssh: the agent is already in %s", c->dir);
                return 0;
        }
        snprintf(part, sizeof(part), "%s/kmod-agent.part", c->dir);
        char why[1024];
        uint8_t sent[KW_SHA256_LEN];
        if (sftp_upload(c, w->agent_local, part, 0700, sent, why, sizeof(why)) < 0)
                return conn_failf(f, false, "copying the agent: %s", why);
        if (memcmp(sent, w->agent_hash, sizeof(sent)) != 0)
                return conn_failf(f, false, "%s changed while it was copied", w->agent_local);
        (void)sftp_unlink(c->sftp, final); /* SFTP v3 rename never replaces */
        if (sftp_rename(c->sftp, part, final) < 0)
                return conn_failf(f, false, "cannot rename %s on %s: %s", part, c->desc, sftp_strerror(c->sftp));
        worker_log(w, WLOG_DEBUG, "ssh: copied the agent to %s", final);
        return 0;
}

/* Whether the target's SFTP subsystem answers an SSH_FXP_INIT with a
 * version, on a channel of our own with bounded waits: libssh's sftp_init()
 * can spin for ever in its read when the subsystem's program is missing
 * (dropbear accepts the request, then its shell exits 127). */
static bool sftp_answers(struct worker *w, struct conn *c)
{
        static const uint8_t init[9] = { 0, 0, 0, 5, 1 /* SSH_FXP_INIT */, 0, 0, 0, 3 };
        uint8_t hdr[5];
        size_t got = 0;
        ssh_channel ch = ssh_channel_new(c->ssh);

        if (!ch)
                return false;
        if (ssh_channel_open_session(ch) != SSH_OK || ssh_channel_request_subsystem(ch, "sftp") != SSH_OK ||
            ssh_channel_write(ch, init, sizeof(init)) != (int)sizeof(init))
                goto out;
        uint64_t end = kw_now_ms() + KW_SSH_TIMEOUT_S * 1000;
        while (got < sizeof(hdr) && kw_now_ms() < end && !worker_quitting(w)) {
                if (ssh_channel_is_closed(ch) || ssh_channel_is_eof(ch))
                        break;
                int n = ssh_channel_poll_timeout(ch, 200, 0);
                if (n == SSH_ERROR || n == SSH_EOF)
                        break;
                if (n > 0) {
                        int k = ssh_channel_read_nonblocking(ch, hdr + got, (uint32_t)(sizeof(hdr) - got), 0);
                        if (k < 0)
                                break;
                        got += (size_t)k;
                }
        }
out:
        if (ssh_channel_is_open(ch))
                (void)ssh_channel_close(ch);
        ssh_channel_free(ch);
        return kw_ssh_sftp_reply_ok(hdr, got);
}

bool kw_ssh_sftp_reply_ok(const uint8_t *p, size_t n)
{
        if (n < 5)
                return false;
        uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        return p[4] == 2 /* SSH_FXP_VERSION */ && len >= 5 && len < 256 * 1024;
}

int conn_open(struct worker *w, struct conn *c, struct ev *ok, struct fail *f)
{
        const struct target *t = &w->t;
        char *proxy = NULL;

        c->ssh = make_session(w, f);
        if (!c->ssh)
                return -1;
        describe(c->ssh, c->desc, sizeof(c->desc));
        if (ssh_options_get(c->ssh, SSH_OPTIONS_PROXYCOMMAND, &proxy) == SSH_OK && proxy && proxy[0]) {
                worker_log(w, WLOG_DEBUG, "ssh: %s through ProxyCommand %s", c->desc, proxy);
        } else {
                char *host = NULL, why[512];
                unsigned port = 22;
                (void)ssh_options_get(c->ssh, SSH_OPTIONS_HOST, &host);
                (void)ssh_options_get_port(c->ssh, &port);
                int fd = tcp_connect(w, host ? host : t->host, port, why, sizeof(why));
                ssh_string_free_char(host);
                if (fd < 0)
                        return conn_failf(f, fd == -ENOENT, "cannot reach %s: %s", c->desc, why);
                conn_set_sock(w, fd);
                ssh_options_set(c->ssh, SSH_OPTIONS_FD, &fd);
        }
        ssh_string_free_char(proxy);
        if (worker_quitting(w))
                return conn_failf(f, true, "quitting");
        if (ssh_connect(c->ssh) != SSH_OK)
                return conn_failf(f, false, "cannot connect to %s: %s", c->desc, ssh_get_error(c->ssh));
        if (verify_host(w, c, f) < 0 || conn_login(w, c, f) < 0)
                return -1;

        char out[512], machine[64] = "", release[128] = "";
        int r = conn_run(c->ssh, "uname -m; uname -r; id -u", out, sizeof(out));
        if (r != 0 || sscanf(out, "%63s %127s %u", machine, release, &c->uid) != 3)
                return conn_failf(f, r < 0, "cannot run 'uname -m; uname -r; id -u' on %s%s%s", c->desc,
                             r < 0 ? ": " : " (it printed nothing useful)", r < 0 ? ssh_get_error(c->ssh) : "");
        const struct kw_arch *a = kw_arch_find(machine);
        if (!a)
                return conn_failf(f, true, "%s is a %s machine: kmod-watch has agents for %s only", c->desc, machine,
                             kw_arch_names());
        const char *arch = a->name;
        if (pick_agent(w, arch, f) < 0)
                return -1;

        char hex[2 * KW_SHA256_LEN + 1];
        kw_sha256_hex(w->agent_hash, 6, hex);
        snprintf(c->dir, sizeof(c->dir), "/tmp/kmod-watch-%u-%s", c->uid, hex);
        c->sftp = sftp_answers(w, c) ? sftp_new(c->ssh) : NULL;
        if (c->sftp && sftp_init(c->sftp) == SSH_OK) {
                if (prepare_dir(c, f) < 0 || install_agent(w, c, f) < 0)
                        return -1;
                snprintf(ok->files, sizeof(ok->files), "SFTP");
        } else {
                if (c->sftp)
                        sftp_free(c->sftp);
                c->sftp = NULL;
                if (exec_prepare(w, c, f) < 0)
                        return -1;
                snprintf(ok->files, sizeof(ok->files), "an exec channel (cat), checked with %s", c->check->name);
        }
        snprintf(ok->login, sizeof(ok->login), "%s", c->login);

        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof(cmd), "exec %s/kmod-agent --stdio", c->dir);
        c->chan = ssh_channel_new(c->ssh);
        if (!c->chan || ssh_channel_open_session(c->chan) != SSH_OK ||
            ssh_channel_request_exec(c->chan, cmd) != SSH_OK)
                return conn_failf(f, false, "cannot start the agent on %s: %s", c->desc, ssh_get_error(c->ssh));

        int r2 = bridge_open(c, &ok->fd);
        if (r2 < 0)
                return conn_failf(f, true, "socketpair: %s", strerror(-r2));
        ok->uid = c->uid;
        snprintf(ok->arch, sizeof(ok->arch), "%s", arch);
        snprintf(ok->release, sizeof(ok->release), "%s", release);
        snprintf(ok->dir, sizeof(ok->dir), "%s", c->dir);
        ssh_set_blocking(c->ssh, 0);
        c->next_keepalive_ms = kw_now_ms() + KW_SSH_KEEPALIVE_MS;
        return 0;
}

