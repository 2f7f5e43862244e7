/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shell.c — `kmod-watch shell [DIR]`: a root shell in the guest of the
 * kmod-watch running for DIR, from another terminal. It connects to that
 * run's shell socket (shellsrv.h), puts the terminal in raw mode (restored on
 * every way out), and relays: keys out as PTY_DATA, the shell's output in
 * and onto the terminal, then an ACK of it; SIGWINCH as PTY_RESIZE. Its
 * status is the shell's, 69 when no kmod-watch runs for DIR. A target matrix
 * for DIR runs each target in its own build tree (matrix.h): with one
 * target running, that one is opened; with several, one line names them.
 */
#include "shell.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "loop.h"
#include "matrix.h"
#include "proto.h"
#include "shellsrv.h"
#include "transport.h"

#define EXIT_UNAVAILABLE 69 /* sysexits' EX_UNAVAILABLE: nothing to connect to */

struct client {
        struct kw_loop *loop;
        struct kw_chan *chan;
        const char *dir;
        struct kw_msg msg;
        bool opened;
        bool ended;
        bool mid_line; /* the shell's last output did not end a line */
        char error[600];
};

static struct termios saved;
static bool raw;

static void restore_terminal(void)
{
        if (raw)
                (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
        raw = false;
}

static void make_raw(void)
{
        struct termios t;

        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0)
                return;
        t = saved;
        cfmakeraw(&t);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
                return;
        raw = true;
        atexit(restore_terminal);
}

/* One line on stderr, "kmod-watch shell: …" (\r too: the terminal may be raw). */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        va_list ap;

        fputs("kmod-watch shell: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(raw ? "\r\n" : "\n", stderr);
}

static void window_size(uint64_t *rows, uint64_t *cols)
{
        struct winsize ws;

        *rows = 24;
        *cols = 80;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
                *rows = ws.ws_row;
                *cols = ws.ws_col;
        }
}

static void send_size(struct client *c, enum kw_type type)
{
        uint64_t rows, cols;
        const char *term = getenv("TERM");

        window_size(&rows, &cols);
        kw_msg_init(&c->msg, type, 0);
        kw_msg_put_u64(&c->msg, KW_F_ROWS, rows);
        kw_msg_put_u64(&c->msg, KW_F_COLS, cols);
        if (type == KW_PTY_OPEN && term && term[0])
                kw_msg_put_str(&c->msg, KW_F_TERM, term);
        (void)kw_chan_send(c->chan, &c->msg);
}

/* All of it onto the terminal (stdout may be a slow one: wait for it). */
static int write_all(const uint8_t *p, size_t n)
{
        while (n) {
                ssize_t w = write(STDOUT_FILENO, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0 && errno == EAGAIN) {
                        struct pollfd pf = { .fd = STDOUT_FILENO, .events = POLLOUT };
                        (void)poll(&pf, 1, -1);
                        continue;
                }
                if (w <= 0)
                        return -errno;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

static int on_stdin(void *userdata, int fd, short revents)
{
        struct client *c = userdata;
        uint8_t buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));

        (void)revents;
        if (n < 0 && errno == EINTR)
                return 0;
        kw_msg_init(&c->msg, KW_PTY_DATA, 0);
        if (n <= 0) { /* input ended: Ctrl-D, as a terminal would say it */
                kw_loop_del(c->loop, fd);
                buf[0] = 4;
                n = 1;
        }
        kw_msg_put_bytes(&c->msg, KW_F_TEXT, buf, (size_t)n);
        (void)kw_chan_send(c->chan, &c->msg);
        return 0;
}

static void on_frame(void *userdata, const struct kw_frame *f)
{
        struct client *c = userdata;
        const uint8_t *text;
        uint64_t v = 255;
        size_t n;

        if (kw_frame_validate(f) < 0 || c->ended)
                return;
        switch (f->type) {
        case KW_RESULT:
                c->opened = true;
                /* keys from now on: typed ahead, they waited in the terminal */
                (void)kw_loop_add(c->loop, STDIN_FILENO, POLLIN, on_stdin, c);
                say("a root shell in the guest of the kmod-watch running for %s; exit or Ctrl-D leaves it (the "
                    "loop goes on)", c->dir);
                return;
        case KW_OUTPUT:
                if (kw_frame_str(f, KW_F_TEXT, c->error, sizeof(c->error)) == 0)
                        say("%s", c->error);
                c->error[0] = 0;
                return;
        case KW_PTY_DATA:
                if (kw_frame_bytes(f, KW_F_TEXT, &text, &n) < 0)
                        return;
                if (write_all(text, n) < 0) {
                        kw_loop_exit(c->loop, 1);
                        return;
                }
                if (n)
                        c->mid_line = text[n - 1] != '\n';
                kw_msg_init(&c->msg, KW_PTY_DATA, 0); /* written: the agent may send more */
                kw_msg_put_u64(&c->msg, KW_F_ACK, n);
                (void)kw_chan_send(c->chan, &c->msg);
                return;
        case KW_PTY_CLOSE:
                (void)kw_frame_u64(f, KW_F_STATUS, &v);
                if (kw_frame_str(f, KW_F_ERROR, c->error, sizeof(c->error)) < 0)
                        c->error[0] = 0;
                c->ended = true;
                kw_loop_exit(c->loop, (int)(v > 255 ? 255 : v));
                return;
        default:
                return;
        }
}

static void on_closed(void *userdata, int err)
{
        struct client *c = userdata;

        (void)err;
        if (c->ended)
                return;
        c->ended = true;
        snprintf(c->error, sizeof(c->error), "the kmod-watch running for %s went away", c->dir);
        kw_loop_exit(c->loop, 255);
}

static const struct kw_chan_ops chan_ops = {
        .frame = on_frame,
        .closed = on_closed,
};

static int on_signal(void *userdata, int fd, short revents)
{
        struct client *c = userdata;
        struct signalfd_siginfo si;

        (void)revents;
        while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo == SIGWINCH) {
                        send_size(c, KW_PTY_RESIZE);
                        continue;
                }
                c->ended = true; /* SIGTERM, SIGHUP, SIGINT (when not raw): the shell is hung up */
                kw_loop_exit(c->loop, 128 + (int)si.ssi_signo);
        }
        return 0;
}

/* The socket of the run for dir, connected; -errno. */
static int connect_run(const char *dir)
{
        struct sockaddr_un sa;
        socklen_t len;
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        int r = kw_shellsrv_address(dir, &sa, &len);

        if (r < 0)
                return r;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        /* the name is abstract: make sure it is our own kmod-watch that answers */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
            (cred.uid != geteuid() && cred.uid != 0)) {
                close(fd);
                return -EPERM;
        }
        return fd;
}

/* Is a run listening for dir? Read from /proc/net/unix (an abstract name):
 * asking by connecting would open a client at the server. */
static bool listening(const char *dir, const char *table)
{
        struct sockaddr_un sa;
        socklen_t len;
        char name[sizeof(sa.sun_path) + 3];

        if (kw_shellsrv_address(dir, &sa, &len) < 0)
                return false;
        snprintf(name, sizeof(name), " @%.*s\n", (int)(len - offsetof(struct sockaddr_un, sun_path) - 1),
                 sa.sun_path + 1);
        return strstr(table, name) != NULL;
}

/* No run for DIR itself: the targets of a matrix for it, each running in its
 * build tree. One: its tree into tree. Several: one line naming them, and
 * -EEXIST. None: -ENOENT. */
static int matrix_target(const char *dir, const char *given, char *tree, size_t size)
{
        char trees[PATH_MAX], path[PATH_MAX * 2], *line = NULL;
        static char table[1 << 20];
        size_t line_len = 0;
        unsigned n = 0;
        FILE *f = fopen("/proc/net/unix", "re");

        if (!f)
                return -ENOENT;
        FILE *names = open_memstream(&line, &line_len);
        if (!names) {
                fclose(f);
                return -ENOMEM;
        }
        size_t used = fread(table, 1, sizeof(table) - 1, f);
        fclose(f);
        table[used] = 0;
        DIR *d = kw_matrix_trees(dir, trees, sizeof(trees)) == 0 ? opendir(trees) : NULL;
        for (struct dirent *e; d && (e = readdir(d));) {
                snprintf(path, sizeof(path), "%s/%s", trees, e->d_name);
                if (e->d_name[0] == '.' || !listening(path, table))
                        continue;
                if (n++ == 0)
                        snprintf(tree, size, "%s", path);
                fprintf(names, "%skmod-watch shell %s (%s)", n > 1 ? "; " : "", path, e->d_name);
        }
        if (d)
                closedir(d);
        fclose(names);
        if (n > 1)
                say("a target matrix runs for %s: open one target's shell with its build tree: %s", given,
                    line ? line : "");
        free(line);
        return n == 0 ? -ENOENT : n > 1 ? -EEXIST : 0;
}

static int run(struct client *c, int fd)
{
        int sfd = -1;
        int r = kw_loop_new(&c->loop);

        if (r >= 0)
                r = sfd = kw_loop_add_signals_and(c->loop, SIGWINCH, on_signal, c);
        if (r >= 0)
                r = kw_chan_new(c->loop, fd, &chan_ops, c, &c->chan);
        if (r < 0) {
                say("cannot set up: %s", strerror(-r));
                return 1;
        }
        send_size(c, KW_PTY_OPEN);
        make_raw();
        int status = kw_loop_run(c->loop);
        restore_terminal();
        if (c->error[0] && c->mid_line)
                fputs("\n", stderr); /* after the prompt: the line says what happened on its own */
        if (c->error[0])
                say("%s", c->error);
        kw_chan_free(c->chan);
        kw_loop_free(c->loop);
        close(sfd);
        return status < 0 ? 1 : status;
}

int kw_shell_main(const struct kw_opts *o)
{
        static struct client c;
        char dir[PATH_MAX];
        struct stat st;

        if (!realpath(o->dir, dir) || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                say("%s is not a directory (give the module's source directory a kmod-watch runs for)", o->dir);
                return KW_EXIT_USAGE;
        }
        int fd = connect_run(dir);
        if (fd == -ECONNREFUSED || fd == -ENOENT) {
                char tree[PATH_MAX * 2];
                int r = matrix_target(dir, o->dir, tree, sizeof(tree));
                if (r == -EEXIST)
                        return KW_EXIT_USAGE;
                if (r == 0) {
                        say("%s runs as a target matrix with one target running: its guest, from %s", o->dir, tree);
                        fd = connect_run(tree);
                }
        }
        if (fd == -ECONNREFUSED || fd == -ENOENT) {
                say("no kmod-watch is running for %s; start one with kmod-watch %s", o->dir, o->dir);
                return EXIT_UNAVAILABLE;
        }
        if (fd < 0) {
                say("cannot reach the kmod-watch running for %s: %s", o->dir, strerror(-fd));
                return EXIT_UNAVAILABLE;
        }
        c = (struct client){ .dir = o->dir };
        return run(&c, fd);
}
