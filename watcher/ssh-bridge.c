/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-bridge.c — the SSH transport's bridge (see ssh-int.h): the controller
 * holds one end of a socketpair, as it would a virtio-serial socket; the
 * worker thread copies bytes between the other end and the agent's exec
 * channel, with the session non-blocking, polling the session's socket, the
 * socketpair and its command eventfd together, and keeps the connection
 * alive (SSH_MSG_IGNORE) meanwhile. The agent's stderr is kept: its last
 * line says why it exited.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "ssh-int.h"
#include "ui.h"

int bridge_open(struct conn *c, int *ret_ctl)
{
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                return -errno;
        c->sp = sv[0];
        *ret_ctl = sv[1];
        return 0;
}

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

static void note_stderr(struct worker *w, struct conn *c, const char *p, size_t n)
{
        if (kw_ui_verbosity() >= 2)
                worker_log(w, WLOG_DEBUG, "ssh: agent stderr: %.*s", (int)n, p);
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

int bridge_round(struct worker *w, struct conn *c, char *why, size_t size)
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
                note_stderr(w, c, buf, (size_t)n);

        if (c->to_ctl_len) {
                ssize_t wr = write(c->sp, c->to_ctl, c->to_ctl_len);
                if (wr < 0 && errno != EAGAIN && errno != EINTR)
                        return -ESHUTDOWN;
                if (wr > 0) {
                        memmove(c->to_ctl, c->to_ctl + wr, c->to_ctl_len - (size_t)wr);
                        c->to_ctl_len -= (size_t)wr;
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

        uint64_t now = kw_now_ms();
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
                { .fd = w->cmd_fd, .events = POLLIN },
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

