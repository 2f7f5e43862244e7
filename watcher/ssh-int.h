/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-int.h — what the parts of the SSH transport share, and only they
 * (ssh.h is the public side). The design, and why:
 *
 * libssh wants one session per thread, and SFTP only works with the session
 * in blocking mode, while kmod-watch lives in one poll() loop that must never
 * block (the terminal stays responsive, builds and the kernel log go on). So
 * ONE worker thread owns everything libssh: the session, the agent's exec
 * channel and the SFTP session (or, on a target without SFTP, the exec
 * channels that copy files). It runs commands the loop queues for it
 * (connect, upload, quit) and answers with events the loop reads from an
 * eventfd. No thread per channel, no libssh call outside the worker.
 *
 *   loop (main thread)                       worker thread (libssh)
 *   ------------------                       ----------------------
 *   kw_ssh_start / retry timer ── CONNECT ─▶ TCP, handshake, host key, login,
 *                                            uname, SFTP or exec: agent, exec agent
 *   controller's session  ◀═ socketpair ═▶   bridge: socketpair ⇄ channel
 *   kw_ssh_deliver ─────────────── UPLOAD ─▶ SFTP or exec (blocking for its span)
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
 *
 * Files go over SFTP when the target has it. When the SFTP subsystem
 * request fails (most dropbear boards have no sftp-server), they go over an
 * exec channel instead: `cat > FILE.part`, fed the file and EOF, then the
 * best checksum tool the target has (found once per connection by running
 * each on a known input: sha256sum, md5sum, their busybox applets; else the
 * size from wc -c) is run on FILE.part and compared with ours, and only
 * then is it renamed into place. The private directory is made and checked
 * with mkdir and `ls -ldn` there.
 *
 * Logins: "none" first (a board whose root has an empty password may let
 * it in), then keys, then a password — from --password-file (read when the
 * options are checked), else from SSH_ASKPASS (run by the worker the first
 * time a password is wanted, kept for reconnects), else an empty one — by
 * the "password" method or, when that is not offered, "keyboard-interactive".
 * The password lives in the worker's memory only, and is wiped at the end.
 *
 * The parts, one job each:
 *   ssh-worker.c   the worker thread, its command and event queues, the set-up
 *                  shared by the transport and the doctor (worker_init)
 *   ssh-connect.c  one connection: TCP, handshake, host key, uname, the
 *                  private directory and the agent (SFTP), exec agent
 *   ssh-auth.c     the login: none, keys, a password (file, askpass, empty)
 *   ssh-exec.c     commands on exec channels; files copied over them and
 *                  checked, for targets without SFTP
 *   ssh-bridge.c   the bytes between the controller's socketpair and the
 *                  agent's channel
 *   ssh.c          the transport as the loop sees it (kw_ssh_*)
 *   ssh-doctor.c   kmod-watch doctor --ssh: one connection, synchronously
 *
 * The worker never prints: what it has to say goes to the loop as an event
 * (worker_log), and the loop says it through ui.h, so its lines never
 * interleave with the loop's output.
 */
#pragma once

#include <libssh/libssh.h>
#include <libssh/sftp.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "md5.h"
#include "opts.h"
#include "sha256.h"

#define KW_SSH_TIMEOUT_S 15          /* one libssh operation (handshake, auth, exec, SFTP request) */
#define KW_SSH_CONNECT_MS 10000      /* the TCP connect */
#define KW_SSH_USER_TIMEOUT_MS 20000 /* unacknowledged data this long: the peer is gone */
#define KW_SSH_KEEPALIVE_MS 3000
#define KW_SSH_TO_AGENT_MAX 65536    /* bytes read from the controller, waiting for the channel */
#define KW_SSH_TO_CTL_MAX (4 << 20)  /* agent output waiting for the controller: stop reading beyond */

/* ---- the queues between the loop and the worker ---- */

enum cmd_kind { C_CONNECT, C_UPLOAD, C_QUIT };

struct cmd {
        struct cmd *next;
        enum cmd_kind kind;
        unsigned id;
        char local[PATH_MAX * 2];
        char remote[PATH_MAX];
};

enum ev_kind { E_CONNECTED, E_FAILED, E_LOST, E_CLOSED, E_UPLOADED, E_LOG };
enum log_level { WLOG_DEBUG, WLOG_INFO };

struct ev {
        struct ev *next;
        enum ev_kind kind;
        bool fatal;
        enum log_level level; /* E_LOG */
        int err;
        int fd;
        unsigned id;
        unsigned uid;
        uint8_t hash[KW_SHA256_LEN];
        char arch[32];
        char release[128];
        char dir[PATH_MAX];
        char login[48];  /* E_CONNECTED: the method that logged in */
        char files[96];  /* E_CONNECTED: how files go ("SFTP", "an exec channel, checked with sha256sum") */
        char text[1536];
};

/* What the worker needs to log in; fixed after worker_init(). */
struct target {
        char user[128];  /* "" : from the config or the local user */
        char host[256];
        unsigned port;   /* 0: from the config or 22 */
        char identity[PATH_MAX];
        char known_hosts[PATH_MAX];
        char password_file[PATH_MAX]; /* --password-file (read into the worker's pw) */
        char askpass[PATH_MAX];       /* SSH_ASKPASS, when it is to be used */
        bool accept_new;
        int log_level;
};

/* The worker's connection. */
struct conn {
        ssh_session ssh;
        ssh_channel chan; /* the agent */
        sftp_session sftp;
        const struct kw_ssh_check *check; /* no SFTP: how copies are checked; NULL with SFTP */
        char login[48];   /* the method that logged in */
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

struct worker {
        /* shared, under lock */
        pthread_mutex_t lock;
        struct cmd *cmds, **cmds_tail;
        struct ev *evs, **evs_tail;
        int cmd_fd;  /* the worker's wake-up */
        int ev_fd;   /* the loop's wake-up; -1: no thread (doctor), worker_log prints */
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
        char pw[512];      /* the password (from the file or askpass); wiped by worker_destroy */
        bool have_pw;
};

/* Why a connection failed; fatal: trying again would not help. */
struct fail {
        bool fatal;
        char why[1400];
};

/* ---- ssh-worker.c ---- */

/* The set-up kw_ssh_new() and the doctor share: the destination and the
 * options into w->t (and --password-file read into w->pw), the queues;
 * threaded: an event fd for the loop. -EINVAL: a bad --ssh; -EPERM: a bad
 * --password-file (err says why either way); other -errno. */
int worker_init(struct worker *w, const struct kw_opts *o, bool threaded, char *err, size_t size);
int worker_start(struct worker *w);
/* Stops the thread (interrupting whatever it blocks in), frees what is queued. */
void worker_destroy(struct worker *w);
void worker_post_cmd(struct worker *w, struct cmd *c);
/* The loop's side: the next event, or NULL. */
struct ev *worker_take_ev(struct worker *w);
struct ev *worker_new_ev(enum ev_kind kind);
bool worker_quitting(struct worker *w);
/* A message for the user, from the worker: to the loop (threaded) or at once. */
void worker_log(struct worker *w, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void worker_drain(int fd);

/* ---- ssh-connect.c ---- */

/* Everything up to the agent running on its channel: fills ok (fd: the
 * controller's end of the bridge). On failure, fills f and leaves the caller
 * to conn_close(). */
int conn_open(struct worker *w, struct conn *c, struct ev *ok, struct fail *f);
void conn_close(struct worker *w, struct conn *c);
/* Fills f (fatal: trying again would not help); returns -1. */
int conn_failf(struct fail *f, bool fatal, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Copies local to remote over SFTP or, without it, an exec channel
 * (blocking mode), hashing what it sends. */
int conn_upload(struct conn *c, const char *local, const char *remote, int mode, uint8_t hash[KW_SHA256_LEN],
                char *why, size_t size);

/* Hands what the file gives to a copy, piece by piece: 0, or -errno with why filled. */
typedef int (*conn_put_fn)(void *ud, const void *p, size_t n, char *why, size_t size);
/* Reads the open local file (named local, for messages) to its end: each
 * piece hashed into sh (and md, and counted in total, when given), then
 * handed to put. 0, or -errno with why filled. */
int conn_stream(int in, const char *local, conn_put_fn put, void *ud, struct kw_sha256 *sh, struct kw_md5 *md,
                uint64_t *total, char *why, size_t size);

/* ---- ssh-auth.c ---- */

/* Logs in (c->login says how), or fills f. Blocking mode. */
int conn_login(struct worker *w, struct conn *c, struct fail *f);

/* ---- ssh-exec.c ---- */

/* Runs cmd on an exec channel, collecting its stdout (NUL-terminated,
 * truncated to size). Returns its exit status, or -errno. Blocking mode. */
int conn_run(ssh_session ssh, const char *cmd, char *out, size_t size);
/* Without SFTP: picks the check, makes and checks c->dir, and puts the
 * agent there unless it is there already. */
int exec_prepare(struct worker *w, struct conn *c, struct fail *f);
/* Copies local to remote over an exec channel: to remote.part, checked
 * with c->check, then chmod mode and renamed into place. expect: the
 * SHA-256 the file must have (NULL: any). */
int exec_upload(struct conn *c, const char *local, const char *remote, int mode, const uint8_t *expect,
                uint8_t hash[KW_SHA256_LEN], char *why, size_t size);

/* ---- ssh-bridge.c ---- */

/* The socketpair: *ret_ctl is the controller's end, c->sp ours. */
int bridge_open(struct conn *c, int *ret_ctl);
/* One round: move what can move, then wait for the next thing. 0: go on
 * (a command may be waiting); -ESHUTDOWN: the controller closed its end;
 * other -errno: the connection or the agent is gone (why says which). */
int bridge_round(struct worker *w, struct conn *c, char *why, size_t size);
