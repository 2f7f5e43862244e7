/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shellsrv.h — the service behind `kmod-watch shell`: a running kmod-watch
 * listens on a unix socket named after DIR, and relays each client that
 * connects to a shell on a pty in its guest (PTY_OPEN, PTY_DATA, PTY_RESIZE,
 * PTY_CLOSE, see doc/protocol.md, "The shell socket"). Beside the session,
 * not in the cycle: nothing a shell does changes a decision of the run.
 */
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include "loop.h"
#include "session.h"

#define KW_SHELL_MAX 4 /* shells at once (the agent's PTY_MAX); one more is refused */

struct kw_shellsrv;

/* Listens for DIR's shells, which start in the guest at mount/subdir (the
 * share; mount "": no share, they start at /). Sets itself as s's tap. Returns 0 or -errno (EADDRINUSE: another process
 * serves DIR); the run goes on without shells then. */
int kw_shellsrv_new(struct kw_loop *l, struct kw_session *s, const char *dir, const char *mount,
                    const char *subdir, struct kw_shellsrv **ret);
/* DIR is another directory now (deleted and made again): listen at its
 * address instead; open shells go on. NULL is fine. */
void kw_shellsrv_moved(struct kw_shellsrv *srv, const char *dir);
/* Every client is told the run ended; NULL is fine. */
void kw_shellsrv_free(struct kw_shellsrv *srv);

/* DIR's socket address (abstract: "\0kmod-watch-shell/UID/DEV:INO", from
 * DIR's identity, as the directory lock is): 0 or -errno from stat(). */
int kw_shellsrv_address(const char *dir, struct sockaddr_un *ret, socklen_t *ret_len);
