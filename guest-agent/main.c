/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * main.c — kmod-agent, the guest side of kmod-watch: options, setup, and the
 * one poll() loop.
 *
 * Nothing here sleeps or polls on a period: the loop waits on the channel,
 * /dev/kmsg, a RUN child's pipes, the ptys of shells, and a signalfd (SIGIO for the port's host
 * connects/disconnects, SIGCHLD for RUN and LOAD children). The only timers
 * are the port discovery backoff (until the port shows up) and an UNLOAD
 * retry, both disarmed when idle, so an idle agent never wakes up.
 *
 * The agent exits only on fatal setup errors (the guest's init respawns it)
 * and, with --stdio, at end of input. Started as PID 1, it is the starter
 * too (rdinit.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "agent.h"
#include "config.h"
#include "deps.h"
#include "rdinit.h"
#include "util.h"

#define EXIT_USAGE 64
#define STDIO_DRAIN_USEC 2000000 /* at EOF, how long to try sending what is queued */

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: kmod-agent [--port NAME] [--stdio] [--version] [--help]\n"
                "The guest side of kmod-watch: loads modules and streams the kernel log\n"
                "to the host over a virtio-serial port.\n"
                "\n"
                "  --port NAME  virtio-serial port name (default %s)\n"
                "  --stdio      speak the protocol on stdin/stdout instead\n"
                "  --version    print the version and exit\n"
                "  --help       print this help and exit\n",
                KW_PORT_NAME);
}

static void parse_args(int argc, char **argv, struct agent *a)
{
        static const struct option opts[] = {
                { "port", required_argument, NULL, 'p' },
                { "stdio", no_argument, NULL, 's' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        a->port.name = KW_PORT_NAME;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'p':
                        if (!optarg[0] || strchr(optarg, '/')) {
                                fprintf(stderr, "kmod-agent: bad port name '%s'\n", optarg);
                                exit(EXIT_USAGE);
                        }
                        a->port.name = optarg;
                        break;
                case 's':
                        a->stdio = true;
                        break;
                case 'V':
                        printf("kmod-agent %s (protocol %d)\n", KW_VERSION, KW_PROTO_VERSION);
                        exit(0);
                case 'h':
                        usage(stdout);
                        exit(0);
                default: /* getopt said what was wrong */
                        fprintf(stderr, "Try 'kmod-agent --help'.\n");
                        exit(EXIT_USAGE);
                }
        }
        if (optind < argc) {
                fprintf(stderr, "kmod-agent: unexpected argument '%s'\n", argv[optind]);
                exit(EXIT_USAGE);
        }
}

/* The signalfd, or -errno. */
static int setup_signals(void)
{
        sigset_t set;
        int r;

        /* An init script may have left these ignored; an ignored SIGCHLD
         * would auto-reap RUN children before we learn their status. */
        signal(SIGCHLD, SIG_DFL);
        signal(SIGIO, SIG_DFL);
        /* A host that went away must be an error return, not our death. */
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&set);
        sigaddset(&set, SIGIO);
        sigaddset(&set, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        r = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        return r < 0 ? -errno : r;
}

static _Noreturn void fatal(const char *what, int r)
{
        log_msg("%s: %s", what, strerror(-r));
        exit(EXIT_FAILURE);
}

/* --- the channel's state changes ----------------------------------------- */

static void host_connected(struct agent *a)
{
        if (!a->stdio)
                log_msg("host connected");
        a->chan.connected = true;
        request_greet(a);
}

static void host_gone(struct agent *a)
{
        log_msg("host disconnected");
        chan_hangup(&a->chan);
        pty_hangup_all(&a->ptys); /* their terminals were the host's */
}

static void port_unplugged(struct agent *a)
{
        chan_detach(&a->chan);
        pty_hangup_all(&a->ptys);
        port_lost(&a->port);
}

/* After opening the port and on every SIGIO: the driver has no event for
 * "host connected" other than SIGIO, and POLLHUP clears when one is. */
static void check_port(struct agent *a)
{
        int c;

        if (a->port.fd < 0)
                return;
        c = port_host_connected(&a->port);
        if (c < 0)
                port_unplugged(a);
        else if (c && !a->chan.connected)
                host_connected(a);
        else if (!c && a->chan.connected)
                host_gone(a);
}

static _Noreturn void stdio_exit(struct agent *a)
{
        uint64_t deadline = now_usec() + STDIO_DRAIN_USEC;

        while (chan_has_output(&a->chan)) {
                struct pollfd p = { .fd = a->chan.out_fd, .events = POLLOUT };
                uint64_t now = now_usec();

                if (chan_flush(&a->chan) < 0 || !chan_has_output(&a->chan) || now >= deadline)
                        break;
                if (poll(&p, 1, (int)((deadline - now) / 1000) + 1) <= 0)
                        break;
        }
        exit(0);
}

/* A read or write on the channel failed (not EAGAIN). */
static void channel_error(struct agent *a, int r, const char *op)
{
        if (a->stdio) {
                /* The other end is gone: nobody left to serve. */
                log_msg("%s: %s; exiting", op, strerror(-r));
                exit(0);
        }
        log_msg("port %s: %s", op, strerror(-r));
        if (r == -ENODEV)
                port_unplugged(a);
        else
                host_gone(a);
}

static void channel_input(struct agent *a)
{
        int r = chan_read(&a->chan);

        if (r > 0 || r == -EAGAIN)
                return;
        if (r == 0 && a->stdio)
                stdio_exit(a);
        if (r == 0) {
                /* A port reads 0 when the host side closed. */
                host_gone(a);
                return;
        }
        channel_error(a, r, "read");
}

static void signals(struct agent *a)
{
        struct signalfd_siginfo si;
        bool io = false, chld = false;

        while (read(a->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGIO)
                        io = true;
                else if (si.ssi_signo == SIGCHLD)
                        chld = true;
        }
        if (chld)
                request_reap(a);
        if (io && !a->stdio)
                check_port(a);
}

/* --- the loop ------------------------------------------------------------ */

enum slot { S_SIG, S_TIMER, S_IN, S_OUT, S_KMSG, S_RUN_OUT, S_RUN_ERR, S_UNLOAD, S_PTY, S_MAX = S_PTY + PTY_MAX };

static _Noreturn void loop(struct agent *a)
{
        for (;;) {
                struct pollfd p[S_MAX];
                enum slot what[S_MAX];
                bool bulk_room;
                int n = 0, r;

#define ADD(slot, fd_, ev)                                                \
        do {                                                              \
                p[n] = (struct pollfd){ .fd = (fd_), .events = (ev) };    \
                what[n++] = (slot);                                       \
        } while (0)

                request_process(a);
                r = chan_flush(&a->chan);
                if (r < 0)
                        channel_error(a, r, "write");
                bulk_room = a->chan.connected && chan_room(&a->chan) >= CHAN_BULK_ROOM;
                if (a->log_sync && bulk_room) /* a barrier waits: go on draining, readable or not */
                        request_log_pumped(a, kmsgstream_pump(&a->kmsg, &a->chan));

                ADD(S_SIG, a->sig_fd, POLLIN);
                if (!a->stdio && a->port.fd < 0)
                        ADD(S_TIMER, a->port.timer_fd, POLLIN);
                if (a->chan.connected) {
                        short in = chan_can_read(&a->chan) ? POLLIN : 0;
                        short out = chan_has_output(&a->chan) ? POLLOUT : 0;

                        /* A port is one fd; its POLLHUP (host gone) comes
                         * whatever we ask for. */
                        if (a->chan.in_fd == a->chan.out_fd) {
                                ADD(S_IN, a->chan.in_fd, in | out);
                        } else {
                                if (in)
                                        ADD(S_IN, a->chan.in_fd, in);
                                if (out)
                                        ADD(S_OUT, a->chan.out_fd, out);
                        }
                }
                /* Backpressure: while the host is away or slow, records stay
                 * in the kernel's ring buffer (a gap is reported if it
                 * overruns) and the RUN child blocks on its pipe. */
                if (bulk_room && kmsgstream_active(&a->kmsg))
                        ADD(S_KMSG, a->kmsg.fd, POLLIN);
                if (bulk_room && a->run.fd[0] >= 0)
                        ADD(S_RUN_OUT, a->run.fd[0], POLLIN);
                if (bulk_room && a->run.fd[1] >= 0)
                        ADD(S_RUN_ERR, a->run.fd[1], POLLIN);
                if (a->modop.kind == MODOP_UNLOAD)
                        ADD(S_UNLOAD, a->modop.timer_fd, POLLIN);
                /* A shell's output shares the bulk room with the log, and
                 * each pty has its own window the host ACKs (pty.h). */
                for (int i = 0; i < PTY_MAX; i++) {
                        short ev = (bulk_room && pty_wants_read(&a->ptys, i) ? POLLIN : 0) |
                                   (pty_wants_write(&a->ptys, i) ? POLLOUT : 0);
                        if (ev)
                                ADD((enum slot)(S_PTY + i), pty_fd(&a->ptys, i), ev);
                }
#undef ADD

                if (poll(p, (nfds_t)n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        fatal("poll", -errno);
                }
                for (int i = 0; i < n; i++) {
                        short rev = p[i].revents;

                        if (!rev)
                                continue;
                        switch (what[i]) {
                        case S_SIG:
                                signals(a);
                                break;
                        case S_TIMER:
                                if (port_try_open(&a->port) == 0) {
                                        chan_attach(&a->chan, a->port.fd, a->port.fd);
                                        check_port(a);
                                }
                                break;
                        case S_IN:
                                /* The channel may have changed under an
                                 * earlier slot (SIGIO handled first). */
                                if (!a->chan.connected || p[i].fd != a->chan.in_fd)
                                        break;
                                if (a->stdio) {
                                        if (rev & (POLLIN | POLLHUP | POLLERR))
                                                channel_input(a);
                                } else if (rev & (POLLHUP | POLLERR | POLLNVAL)) {
                                        check_port(a); /* host gone, or port unplugged */
                                } else if (rev & POLLIN) {
                                        channel_input(a);
                                }
                                break;
                        case S_OUT:
                                break; /* chan_flush() at the top of the loop */
                        case S_KMSG:
                                /* POLLERR here means "overrun", which the
                                 * next read reports as EPIPE. */
                                request_log_pumped(a, kmsgstream_pump(&a->kmsg, &a->chan));
                                break;
                        case S_RUN_OUT:
                                run_pump(&a->run, 0, &a->chan);
                                break;
                        case S_RUN_ERR:
                                run_pump(&a->run, 1, &a->chan);
                                break;
                        case S_UNLOAD:
                                request_unload_timer(a);
                                break;
                        default: /* S_PTY + i */
                                if (rev & POLLOUT)
                                        pty_write(&a->ptys, what[i] - S_PTY);
                                if (rev & (POLLIN | POLLHUP | POLLERR))
                                        pty_pump(&a->ptys, what[i] - S_PTY, &a->chan);
                                break;
                        }
                }
        }
}

int main(int argc, char **argv)
{
        static struct agent a;
        int r;

        /* As PID 1 (rdinit=/kmod-watch-init): the user's init runs here,
         * the agent in a child, with its defaults (argv is their init's). */
        if (rdinit_start(argc, argv))
                argc = 1;
        parse_args(argc, argv, &a);
        a.sig_fd = setup_signals();
        if (a.sig_fd < 0)
                fatal("signals", a.sig_fd);
        r = chan_init(&a.chan);
        if (r < 0)
                fatal("output queue", r);
        kmsgstream_init(&a.kmsg);
        run_init(&a.run);
        pty_init(&a.ptys);
        r = modop_init(&a.modop);
        if (r < 0)
                fatal("timer", r);

        if (a.stdio) {
                /* Never block on a peer that is not reading (or writing). */
                (void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
                (void)fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK);
                chan_attach(&a.chan, STDIN_FILENO, STDOUT_FILENO);
                host_connected(&a);
        } else {
                const char *name = a.port.name;

                /* In a guest (not --stdio: the host's tests, --ssh): the
                 * kernel's module tree, for dependencies and modprobe. */
                deps_mount_tree();
                r = port_init(&a.port, name);
                if (r < 0)
                        fatal("timer", r);
        }
        loop(&a);
}
