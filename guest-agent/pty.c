/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pty.c — shells on pseudo-terminals for `kmod-watch shell` (see pty.h).
 *
 * The shell is the session leader of its pty (setsid, the slave as its
 * controlling terminal), so the line discipline turns a Ctrl-C byte from the
 * host into SIGINT for the foreground job and a resize into SIGWINCH, as on
 * any terminal. Its end is known from SIGCHLD, like RUN's: what it wrote
 * before is read from the master then, and PTY_CLOSE follows with its status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "pty.h"
#include "util.h"

#define OUT_CHUNK 4096          /* one PTY_DATA: small, so kmsg frames interleave */
#define DRAIN_MAX (64 * 1024)   /* at exit, what is still in the master */

void pty_init(struct ptys *t)
{
        memset(t, 0, sizeof(*t));
        for (int i = 0; i < PTY_MAX; i++)
                t->p[i].fd = -1;
}

static struct pty *by_id(struct ptys *t, uint32_t id)
{
        for (int i = 0; i < PTY_MAX; i++)
                if (id && t->p[i].id == id)
                        return &t->p[i];
        return NULL;
}

/* The initramfs may not have mounted devpts: a pty needs it. */
static void ensure_devpts(void)
{
        if (access("/dev/pts/ptmx", F_OK) == 0)
                return;
        (void)mkdir("/dev/pts", 0755);
        if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620") < 0)
                log_msg("cannot mount devpts at /dev/pts: %s", strerror(errno));
}

static int open_master(char *slave, size_t size)
{
        ensure_devpts();
        int fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                fd = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, slave, size) != 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static _Noreturn void child(const char *slave, const char *term, const char *cwd)
{
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        int fd = open(slave, O_RDWR);
        if (fd < 0)
                _exit(126);
        (void)ioctl(fd, TIOCSCTTY, 0);
        if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
                _exit(126);
        if (fd > 2)
                close(fd);
        if (!cwd[0] || chdir(cwd) < 0)
                (void)chdir("/");
        setenv("TERM", term[0] ? term : "vt100", 1);
        setenv("HOME", access("/root", X_OK) == 0 ? "/root" : "/", 1);
        setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
        setenv("SHELL", "/bin/sh", 1);
        setenv("PS1", "kmod-watch:\\w# ", 1);
        execl("/bin/sh", "sh", "-i", (char *)NULL);
        _exit(127);
}

static uint64_t clamp(uint64_t v, uint64_t dflt)
{
        return v == 0 ? dflt : v > 1000 ? 1000 : v;
}

static void set_size(int fd, uint64_t rows, uint64_t cols)
{
        struct winsize ws = { .ws_row = (unsigned short)clamp(rows, 24), .ws_col = (unsigned short)clamp(cols, 80) };

        (void)ioctl(fd, TIOCSWINSZ, &ws);
}

void pty_open(struct ptys *t, const struct kw_frame *f, struct kw_msg *reply)
{
        char term[64] = "", cwd[512] = "", slave[64];
        uint64_t rows = 0, cols = 0;
        struct pty *p = NULL;

        (void)kw_frame_u64(f, KW_F_ROWS, &rows);
        (void)kw_frame_u64(f, KW_F_COLS, &cols);
        if (kw_frame_str(f, KW_F_TERM, term, sizeof(term)) == -EBADMSG ||
            frame_string(f, KW_F_PATH, cwd, sizeof(cwd)) == -EBADMSG) {
                result_error(reply, EBADMSG, "bad TERM or PATH in PTY_OPEN");
                return;
        }
        for (int i = 0; i < PTY_MAX && !p; i++)
                if (!t->p[i].id)
                        p = &t->p[i];
        if (!p) {
                result_error(reply, EBUSY, "%d shells are open in the guest already: close one first", PTY_MAX);
                return;
        }
        if (access("/bin/sh", X_OK) < 0) {
                result_error(reply, ENOENT, "the guest has no /bin/sh");
                return;
        }
        int fd = open_master(slave, sizeof(slave));
        if (fd < 0) {
                result_error(reply, -fd, "cannot open a pty in the guest: %s", strerror(-fd));
                return;
        }
        set_size(fd, rows, cols);
        pid_t pid = fork();
        if (pid == 0)
                child(slave, term, cwd);
        if (pid < 0) {
                int e = errno;
                close(fd);
                result_error(reply, e, "cannot start /bin/sh: %s", strerror(e));
                return;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        *p = (struct pty){ .id = f->id, .pid = pid, .fd = fd };
        log_msg("shell %u: /bin/sh (pid %d) on %s", f->id, (int)pid, slave);
}

static void close_master(struct pty *p)
{
        if (p->fd >= 0)
                close(p->fd);
        p->fd = -1;
        p->in_len = 0;
}

/* The host hung pty p up, or is gone: SIGHUP to the shell's session; its
 * end is reaped later, and nobody is told. */
static void hang_up(struct pty *p)
{
        close_master(p);
        p->orphan = true;
        if (p->pid > 0) {
                (void)kill(-p->pid, SIGHUP);
                (void)kill(p->pid, SIGHUP);
        }
}

void pty_write(struct ptys *t, int i)
{
        struct pty *p = &t->p[i];

        while (p->fd >= 0 && p->in_len) {
                ssize_t n = write(p->fd, p->in, p->in_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) { /* EIO: the shell is gone; its exit is reaped */
                        p->in_len = 0;
                        return;
                }
                memmove(p->in, p->in + n, p->in_len - (size_t)n);
                p->in_len -= (size_t)n;
        }
}

void pty_request(struct ptys *t, const struct kw_frame *f)
{
        struct pty *p = by_id(t, f->id);
        uint64_t ack = 0, rows = 0, cols = 0;
        const uint8_t *text;
        size_t n;

        if (!p || p->orphan || kw_frame_validate(f) < 0)
                return; /* not (or no longer) ours: nothing to answer */
        switch (f->type) {
        case KW_PTY_DATA:
                if (kw_frame_u64(f, KW_F_ACK, &ack) == 0)
                        p->unacked -= ack < p->unacked ? ack : p->unacked;
                if (kw_frame_bytes(f, KW_F_TEXT, &text, &n) < 0 || p->fd < 0)
                        return;
                if (n > sizeof(p->in) - p->in_len) {
                        log_msg("shell %u: dropped %zu bytes of input the pty did not take", p->id,
                                n - (sizeof(p->in) - p->in_len));
                        n = sizeof(p->in) - p->in_len;
                }
                memcpy(p->in + p->in_len, text, n);
                p->in_len += n;
                pty_write(t, (int)(p - t->p));
                return;
        case KW_PTY_RESIZE:
                if (p->fd >= 0 && kw_frame_u64(f, KW_F_ROWS, &rows) == 0 && kw_frame_u64(f, KW_F_COLS, &cols) == 0)
                        set_size(p->fd, rows, cols); /* the kernel sends SIGWINCH */
                return;
        case KW_PTY_CLOSE:
                log_msg("shell %u: hung up by the host", p->id);
                hang_up(p);
                return;
        default:
                return;
        }
}

bool pty_wants_read(const struct ptys *t, int i)
{
        const struct pty *p = &t->p[i];

        return p->id && p->fd >= 0 && p->unacked < KW_PTY_WINDOW;
}

bool pty_wants_write(const struct ptys *t, int i)
{
        return t->p[i].id && t->p[i].fd >= 0 && t->p[i].in_len;
}

int pty_fd(const struct ptys *t, int i)
{
        return t->p[i].fd;
}

/* One read of the master into a PTY_DATA. >0 bytes, 0 nothing now, <0 the
 * slave side is closed (EIO) or failed. */
static int read_once(struct pty *p, struct chan *c, size_t max)
{
        static struct kw_msg m;
        static uint8_t buf[OUT_CHUNK];
        ssize_t n;

        if (max > sizeof(buf))
                max = sizeof(buf);
        do
                n = read(p->fd, buf, max);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n <= 0)
                return -EIO;
        kw_msg_init(&m, KW_PTY_DATA, p->id);
        kw_msg_put_bytes(&m, KW_F_TEXT, buf, (size_t)n);
        if (!p->orphan)
                (void)chan_send(c, &m);
        p->unacked += (uint64_t)n;
        return (int)n;
}

void pty_pump(struct ptys *t, int i, struct chan *c)
{
        struct pty *p = &t->p[i];

        if (p->fd < 0 || p->unacked >= KW_PTY_WINDOW)
                return;
        if (read_once(p, c, KW_PTY_WINDOW - p->unacked) < 0)
                close_master(p); /* every slave fd closed: the end is reaped */
}

bool pty_exited(struct ptys *t, pid_t pid, int status, struct chan *c)
{
        static struct kw_msg m;
        struct pty *p = NULL;

        for (int i = 0; i < PTY_MAX && !p; i++)
                if (t->p[i].id && t->p[i].pid == pid)
                        p = &t->p[i];
        if (!p)
                return false;
        for (size_t total = 0; p->fd >= 0 && total < DRAIN_MAX;) {
                int n = read_once(p, c, OUT_CHUNK);
                if (n <= 0)
                        break;
                total += (size_t)n;
        }
        close_master(p);
        uint64_t code = WIFEXITED(status) ? (uint64_t)WEXITSTATUS(status) : 128u + (uint64_t)WTERMSIG(status);
        log_msg("shell %u: ended with status %llu", p->id, (unsigned long long)code);
        if (!p->orphan) {
                kw_msg_init(&m, KW_PTY_CLOSE, p->id);
                kw_msg_put_u64(&m, KW_F_STATUS, code);
                (void)chan_send(c, &m);
        }
        *p = (struct pty){ .fd = -1 };
        return true;
}

void pty_hangup_all(struct ptys *t)
{
        for (int i = 0; i < PTY_MAX; i++)
                if (t->p[i].id && !t->p[i].orphan)
                        hang_up(&t->p[i]);
}
