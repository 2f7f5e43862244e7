/* SPDX-License-Identifier: MIT */
/*
 * qemu.c — starting, watching and stopping the managed QEMU.
 */
#include "qemu.h"

#include "proto.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KW_CONSOLE_TAIL 8192

struct kw_qemu {
        struct kw_loop *loop;
        pid_t pid;
        int out_fd;
        kw_qemu_exit_fn on_exit;
        kw_qemu_line_fn on_line;
        void *userdata;
        char line[1024];
        size_t line_len;
        char tail[KW_CONSOLE_TAIL];
        size_t tail_len;
};

struct argbuf {
        char *buf;
        size_t size, used;
        char **argv;
        size_t max, n;
        int err;
};

static void arg(struct argbuf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct argbuf *a, const char *fmt, ...)
{
        va_list ap;

        if (a->err)
                return;
        if (a->n + 1 >= a->max) {
                a->err = -E2BIG;
                return;
        }
        va_start(ap, fmt);
        int len = vsnprintf(a->buf + a->used, a->size - a->used, fmt, ap);
        va_end(ap);
        if (len < 0 || (size_t)len >= a->size - a->used) {
                a->err = -E2BIG;
                return;
        }
        a->argv[a->n++] = a->buf + a->used;
        a->argv[a->n] = NULL;
        a->used += (size_t)len + 1;
}

int kw_qemu_argv(const struct kw_qemu_opts *o, char *buf, size_t size, char **argv, size_t max)
{
        struct argbuf a = { .buf = buf, .size = size, .argv = argv, .max = max };

        arg(&a, "%s", o->binary);
        arg(&a, "-nodefaults");
        arg(&a, "-no-user-config");
        arg(&a, "-display");
        arg(&a, "none");
        arg(&a, "-serial");
        arg(&a, "stdio");
        arg(&a, "-monitor");
        arg(&a, "none");
        arg(&a, "-no-reboot"); /* a guest reboot or panic ends QEMU: we see it and restart */
        if (o->machine && o->machine[0]) {
                arg(&a, "-M");
                arg(&a, "%s", o->machine);
        }
        arg(&a, "-accel");
        arg(&a, "%s", o->kvm ? "kvm" : "tcg");
        arg(&a, "-cpu");
        arg(&a, "%s", o->cpu && o->cpu[0] ? o->cpu : "max");
        arg(&a, "-m");
        arg(&a, "%u", o->mem_mb ? o->mem_mb : 256);
        arg(&a, "-kernel");
        arg(&a, "%s", o->kernel);
        if (o->initrd) {
                arg(&a, "-initrd");
                arg(&a, "%s", o->initrd);
        }
        arg(&a, "-append");
        arg(&a, "console=%s panic=-1 quiet%s%s", o->console ? o->console : "ttyS0", o->append ? " " : "",
            o->append ? o->append : "");
        if (o->share_dir) {
                arg(&a, "-virtfs");
                arg(&a, "local,path=%s,mount_tag=%s,security_model=none,id=fs9p", o->share_dir, o->tag);
        }
        arg(&a, "-device");
        arg(&a, "virtio-serial-pci");
        arg(&a, "-chardev");
        arg(&a, "socket,id=kw0,path=%s", o->sock_path);
        arg(&a, "-device");
        arg(&a, "virtserialport,chardev=kw0,name=" KW_PORT_NAME);
        return a.err ? a.err : (int)a.n;
}

static void keep_tail(struct kw_qemu *q, const char *p, size_t n)
{
        if (n >= KW_CONSOLE_TAIL - 1) {
                p += n - (KW_CONSOLE_TAIL - 1);
                n = KW_CONSOLE_TAIL - 1;
        }
        if (q->tail_len + n >= KW_CONSOLE_TAIL) {
                size_t drop = q->tail_len + n - (KW_CONSOLE_TAIL - 1);
                memmove(q->tail, q->tail + drop, q->tail_len - drop);
                q->tail_len -= drop;
        }
        memcpy(q->tail + q->tail_len, p, n);
        q->tail_len += n;
        q->tail[q->tail_len] = 0;
}

static void console_bytes(struct kw_qemu *q, const char *p, size_t n)
{
        keep_tail(q, p, n);
        for (size_t i = 0; i < n; i++) {
                char c = p[i];
                if (c == '\r')
                        continue;
                if (c == '\n' || q->line_len == sizeof(q->line) - 1) {
                        q->line[q->line_len] = 0;
                        if (q->on_line)
                                q->on_line(q->userdata, q->line);
                        q->line_len = 0;
                        if (c == '\n')
                                continue;
                }
                q->line[q->line_len++] = c;
        }
}

static int on_console(void *userdata, int fd, short revents)
{
        struct kw_qemu *q = userdata;
        char buf[4096];

        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n > 0) {
                        console_bytes(q, buf, (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                kw_loop_del(q->loop, fd); /* EOF: QEMU is exiting; its pidfd tells us */
                return 0;
        }
}

static void on_exit_child(void *userdata, pid_t pid, int wstatus)
{
        struct kw_qemu *q = userdata;

        on_console(q, q->out_fd, POLLIN); /* the last words */
        kw_loop_del(q->loop, q->out_fd);
        close(q->out_fd);
        q->out_fd = -1;
        q->pid = 0;
        q->on_exit(q->userdata, wstatus, q->tail);
}

int kw_qemu_start(struct kw_loop *l, const struct kw_qemu_opts *o, kw_qemu_exit_fn on_exit,
                  kw_qemu_line_fn on_line, void *userdata, struct kw_qemu **ret)
{
        char buf[16384];
        char *argv[64];

        int r = kw_qemu_argv(o, buf, sizeof(buf), argv, 64);
        if (r < 0)
                return r;
        struct kw_qemu *q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->loop = l;
        q->on_exit = on_exit;
        q->on_line = on_line;
        q->userdata = userdata;
        /* its own session: the terminal's Ctrl-C is ours to handle, not QEMU's */
        struct kw_spawn_opts so = { .new_session = true, .death_signal = SIGKILL };
        r = kw_spawn(argv, &so, &q->pid, &q->out_fd);
        if (r < 0) {
                free(q);
                return r;
        }
        pid_t pid = q->pid;
        r = kw_loop_add(l, q->out_fd, POLLIN, on_console, q);
        if (r >= 0)
                r = kw_loop_add_child(l, pid, on_exit_child, q);
        if (r < 0) {
                kill(pid, SIGKILL);
                (void)waitpid(pid, NULL, 0);
                kw_loop_del(l, q->out_fd);
                close(q->out_fd);
                free(q);
                return r;
        }
        *ret = q;
        return 0;
}

void kw_qemu_stop(struct kw_qemu *q)
{
        if (!q)
                return;
        if (q->pid > 0) {
                kw_loop_forget_child(q->loop, q->pid);
                int pfd = (int)syscall(SYS_pidfd_open, q->pid, 0);
                kill(q->pid, SIGTERM);
                /* QEMU exits at once on SIGTERM; give it 3 s before SIGKILL */
                if (pfd >= 0) {
                        struct pollfd p = { .fd = pfd, .events = POLLIN };
                        if (poll(&p, 1, 3000) == 0)
                                kill(q->pid, SIGKILL);
                        close(pfd);
                } else {
                        kill(q->pid, SIGKILL);
                }
                (void)waitpid(q->pid, NULL, 0);
        }
        if (q->out_fd >= 0) {
                kw_loop_del(q->loop, q->out_fd);
                close(q->out_fd);
        }
        free(q);
}

pid_t kw_qemu_pid(const struct kw_qemu *q)
{
        return q ? q->pid : 0;
}

const char *kw_qemu_console_tail(const struct kw_qemu *q)
{
        return q->tail;
}
