/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh.h — the SSH transport (--ssh [USER@]HOST[:PORT]): a board or VM that
 * runs an SSH server. kmod-watch logs in with libssh (ssh-agent, the usual
 * keys, --identity; ~/.ssh/config for aliases, user, port and keys; a
 * password from --password-file or SSH_ASKPASS; the empty-password login of
 * development boards), verifies the host key against known_hosts, learns the
 * target's arch and release, copies the matching static agent into a private
 * directory (over SFTP, or over an exec channel with a checksum check where
 * the target has no SFTP server), runs it with --stdio on an exec channel
 * and hands the controller a byte channel to it, exactly as a virtio-serial
 * socket would be. Modules reach the target the same way (kw_ssh_deliver),
 * and only when their content changed. A dropped connection or a rebooted
 * target is reported and reconnected with backoff.
 *
 * It is the --ssh guest backend (kw_guest_ssh in guest-int.h); the design
 * and the parts that make it up are described in ssh-int.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "guest.h"
#include "loop.h"
#include "opts.h"

struct kw_ssh;

/* Checks the options (a bad --ssh or --identity: -EINVAL after one line)
 * and picks what to build against; nothing is contacted yet. ops and
 * userdata are the controller's, as given to kw_guest_new(). */
int kw_ssh_new(struct kw_loop *l, const struct kw_opts *o, const char *dir, const struct kw_guest_ops *ops,
               void *userdata, struct kw_ssh **ret);
/* Starts connecting (in the background: the loop keeps running). */
int kw_ssh_start(struct kw_ssh *s);
/* The agent greeted over the channel. */
void kw_ssh_ready(struct kw_ssh *s);
/* Disconnects (the remote agent exits with its channel) and frees. */
void kw_ssh_free(struct kw_ssh *s);

const char *kw_ssh_kdir(const struct kw_ssh *s);
const char *kw_ssh_cross_compile(const struct kw_ssh *s);

/* Makes DIR/relpath available on the target: fills ret_guest_path with its
 * path there, and calls done(ud, 0 or -errno) once it is there — at once,
 * before returning, when the target already has this content. Returns <0
 * (and never calls done) when it cannot even start: not connected. */
int kw_ssh_deliver(struct kw_ssh *s, const char *relpath, char *ret_guest_path, size_t size,
                   void (*done)(void *ud, int err), void *ud);

/* [USER@]HOST[:PORT] (HOST may be an [IPv6] address) into its parts: user ""
 * and port 0 when not given. -EINVAL when malformed. Pure. */
int kw_ssh_parse_dest(const char *dest, char *user, size_t user_size, char *host, size_t host_size,
                      unsigned *port);

/* For `kmod-watch doctor --ssh`: connect once, synchronously, and report
 * each step as "ok   …" or "FAIL … — fix: …" lines on out. Returns the
 * number of failed checks. */
int kw_ssh_doctor(const struct kw_opts *o, FILE *out);

/* ---- the pure parts of logging in and of copying without SFTP ---- */

/* --password-file FILE: its first line (without the line end) into buf.
 * A file that group or others may read or write is refused, as OpenSSH
 * refuses such a key. -EINVAL (or -errno) with err filled in one line. */
int kw_ssh_read_password_file(const char *path, char *buf, size_t size, char *err, size_t err_size);

/* Whether to ask SSH_ASKPASS for a password, as OpenSSH decides for a
 * process without a terminal (kmod-watch never prompts on one): the
 * variable is set, SSH_ASKPASS_REQUIRE is not "never", and either a display
 * is set (DISPLAY or WAYLAND_DISPLAY) or SSH_ASKPASS_REQUIRE is "force". */
bool kw_ssh_askpass_wanted(const char *askpass, const char *require, const char *display, const char *wayland);

/* Whether the first bytes the SFTP subsystem sent (n of them) begin an
 * SSH_FXP_VERSION packet: then files go over SFTP, otherwise over exec
 * channels (a missing sftp-server sends nothing, or a shell's complaint). */
bool kw_ssh_sftp_reply_ok(const uint8_t *p, size_t n);

/* How a copy made over an exec channel is checked on the target: a
 * checksum tool it has, or at least the size (wc -c). */
enum kw_ssh_check_kind { KW_CHECK_SHA256, KW_CHECK_MD5, KW_CHECK_SIZE };

struct kw_ssh_check {
        const char *name; /* said to the user: "sha256sum", "busybox md5sum", "size (wc -c)" */
        const char *cmd;  /* the command, given the quoted file name after it ("wc -c <") */
        enum kw_ssh_check_kind kind;
};

/* One shell command that runs every candidate tool on a known input,
 * their outputs separated by lines "=". -ENAMETOOLONG. */
int kw_ssh_check_probe(char *buf, size_t size);
/* The first candidate whose output in the probe's is the right digest; the
 * size check when none is. Never NULL. */
const struct kw_ssh_check *kw_ssh_check_pick(const char *probe_out);
/* What the check prints for a file is its first word: compares it with the
 * local sha256/md5 hex digests or size. 0 when it matches, -EBADMSG when not
 * (got: the word the target printed, for the message). */
int kw_ssh_check_compare(const struct kw_ssh_check *ck, const char *out, const char *sha256_hex, const char *md5_hex,
                         uint64_t size, char *got, size_t got_size);

/* What `ls -ldn PATH` says of one file. */
struct kw_ssh_ls {
        char type;     /* 'd', '-', 'l', … */
        unsigned mode; /* the permission bits, 0777 */
        unsigned uid;
        uint64_t size;
};

/* One line of `ls -ln`/`ls -ldn` output. -EINVAL when it is not one. */
int kw_ssh_parse_ls(const char *line, struct kw_ssh_ls *ret);

/* s quoted for a POSIX shell ('…', with ' as '\''). -ENAMETOOLONG. */
int kw_ssh_quote(const char *s, char *buf, size_t size);
