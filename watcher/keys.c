/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * keys.c — one-key commands on a terminal: the terminal in and out of
 * non-canonical mode, and each key read handed to the controller (see
 * keys.h). ISIG stays on, so Ctrl-C still arrives as SIGINT and takes the
 * same clean way out as a signal.
 */
#include "keys.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static bool active;
static bool on_tty;             /* the terminal's mode is ours to put back (not a matrix child's pipe) */
static kw_key_fn key_fn;
static void *key_userdata;
static struct kw_loop *key_loop;

void kw_keys_stop(void)
{
        if (!active)
                return;
        if (on_tty)
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        active = false;
        if (key_loop)
                kw_loop_del(key_loop, STDIN_FILENO);
        key_loop = NULL;
}

static int on_stdin(void *userdata, int fd, short revents)
{
        char buf[64];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n <= 0) { /* the terminal went away: no more keys */
                kw_keys_stop();
                return 0;
        }
        for (ssize_t i = 0; i < n && active; i++)
                key_fn(key_userdata, buf[i]);
        return 0;
}

bool kw_keys_start(struct kw_loop *l, kw_key_fn fn, void *userdata)
{
        struct termios t;

        if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0)
                return false;
        t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
                return false;
        if (kw_loop_add(l, STDIN_FILENO, POLLIN, on_stdin, NULL) < 0) {
                (void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
                return false;
        }
        active = true;
        on_tty = true;
        key_fn = fn;
        key_userdata = userdata;
        key_loop = l;
        atexit(kw_keys_stop);
        return true;
}

bool kw_keys_start_pipe(struct kw_loop *l, kw_key_fn fn, void *userdata)
{
        struct stat st;

        if (fstat(STDIN_FILENO, &st) < 0 || !S_ISFIFO(st.st_mode))
                return false;
        if (kw_loop_add(l, STDIN_FILENO, POLLIN, on_stdin, NULL) < 0)
                return false;
        active = true;
        on_tty = false;
        key_fn = fn;
        key_userdata = userdata;
        key_loop = l;
        return true;
}
