/* SPDX-License-Identifier: MIT */
/*
 * ssh.h — the SSH transport (--ssh [USER@]HOST[:PORT]): a board or VM that
 * runs an SSH server. kmod-watch logs in with libssh (ssh-agent, the usual
 * keys, --identity; ~/.ssh/config for aliases, user, port and keys),
 * verifies the host key against known_hosts, learns the target's arch and
 * release, copies the matching static agent over SFTP into a private
 * directory, runs it with --stdio on an exec channel and hands the
 * controller a byte channel to it, exactly as a virtio-serial socket would
 * be. Modules reach the target over SFTP too (kw_ssh_deliver), and only when
 * their content changed. A dropped connection or a rebooted target is
 * reported and reconnected with backoff.
 *
 * It is the --ssh guest backend (kw_guest_ssh in guest-int.h); the design
 * and the parts that make it up are described in ssh-int.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
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
