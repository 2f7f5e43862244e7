/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qemu.c — starting, watching and stopping the managed QEMU.
 */
#include "qemu.h"

#include "proto.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* QEMU's -opt a=b,c=d syntax: a comma inside a value is written twice. */
static int comma_escape(const char *s, char *buf, size_t size)
{
        size_t n = 0;

        for (; *s; s++) {
                if (n + 2 >= size)
                        return -ENAMETOOLONG;
                if (*s == ',')
                        buf[n++] = ',';
                buf[n++] = *s;
        }
        buf[n] = 0;
        return 0;
}

struct emitter {
        void (*emit)(void *ctx, const char *arg);
        void *ctx;
        int err;
};

static void emitf(struct emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emitf(struct emitter *e, const char *fmt, ...)
{
        char a[PATH_MAX * 4 + 256];
        va_list ap;

        if (e->err)
                return;
        va_start(ap, fmt);
        int n = vsnprintf(a, sizeof(a), fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(a))
                e->err = -ENAMETOOLONG;
        else
                e->emit(e->ctx, a);
}

int kw_qemu_io_args(const struct kw_qemu_io *io, void (*emit)(void *ctx, const char *arg), void *ctx)
{
        struct emitter e = { .emit = emit, .ctx = ctx };
        char share[PATH_MAX * 2], sock[PATH_MAX * 2];

        if ((io->share_dir && comma_escape(io->share_dir, share, sizeof(share)) < 0) ||
            comma_escape(io->sock_path, sock, sizeof(sock)) < 0)
                return -ENAMETOOLONG;
        if (io->share_dir) {
                /* id: QEMU wants an identifier that starts with a letter (id=9p0 is refused) */
                emitf(&e, "-virtfs");
                emitf(&e, "local,path=%s,mount_tag=%s,security_model=%s,id=fs9p", share, io->tag,
                      io->security_model);
        }
        emitf(&e, "-device");
        emitf(&e, "virtio-serial-pci%s%s", io->serial_id ? ",id=" : "", io->serial_id ? io->serial_id : "");
        emitf(&e, "-chardev");
        emitf(&e, "socket,id=%s,path=%s%s", io->chardev_id, sock, io->sock_server ? ",server=on,wait=off" : "");
        emitf(&e, "-device");
        emitf(&e, "virtserialport,%s%s%schardev=%s,name=%s", io->serial_id ? "bus=" : "",
              io->serial_id ? io->serial_id : "", io->serial_id ? ".0," : "", io->chardev_id, KW_PORT_NAME);
        return e.err;
}

static void emit_arg(void *ctx, const char *s)
{
        arg(ctx, "%s", s);
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
        arg(&a, "-smp");
        /* the default: two CPUs with KVM where the host has them; one under TCG, where a second
         * vCPU competes with the host's own build for the cores and the guest's soft-lockup
         * watchdog then reports a starved vCPU as a kernel BUG (seen on 2 host cores) */
        arg(&a, "%u", o->cpus ? o->cpus : o->kvm && sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2u : 1u);
        arg(&a, "-kernel");
        arg(&a, "%s", o->kernel);
        if (o->initrd) {
                arg(&a, "-initrd");
                arg(&a, "%s", o->initrd);
        }
        arg(&a, "-append");
        /* log_buf_len: the ring holds a record per 32 bytes of it, and a module's init can log
         * faster than the agent reads (with one vCPU the agent does not run at all): 4 MiB keeps
         * 131072 records, so a load that prints 100,000 lines loses none. rcu_expedited: under TCG
         * delete_module's RCU grace period took 13 ms of every reload, expedited 3 ms (and
         * finit_module 18 → 12 ms); the same grace periods, sooner. --append comes last and wins. */
        arg(&a, "console=%s panic=-1 quiet log_buf_len=%s rcupdate.rcu_expedited=1%s%s%s",
            o->console ? o->console : "ttyS0",
            KW_QEMU_LOG_BUF, o->gdb_port ? " nokaslr" : "", o->append ? " " : "", o->append ? o->append : "");
        if (o->gdb_port) { /* on the loopback only: a gdbstub is a root shell */
                arg(&a, "-gdb");
                arg(&a, "tcp:127.0.0.1:%u", o->gdb_port);
        }
        const struct kw_qemu_io io = {
                .share_dir = o->share_dir,
                .tag = o->tag,
                .security_model = "none",
                .sock_path = o->sock_path,
                .chardev_id = "kw0", /* QEMU connects to our socket */
        };
        int r = kw_qemu_io_args(&io, emit_arg, &a);
        if (r < 0)
                return r;
        if (o->modules_dir) {
                /* The kit's whole module tree for its release, read-only (nothing
                 * copied): the agent mounts it at /lib/modules/$(uname -r). */
                char mods[PATH_MAX * 2];

                if (comma_escape(o->modules_dir, mods, sizeof(mods)) < 0)
                        return -ENAMETOOLONG;
                arg(&a, "-virtfs");
                arg(&a, "local,path=%s,mount_tag=%s,security_model=none,readonly=on,id=fsmods", mods,
                    KW_MODULES_TAG);
        }
        for (size_t i = 0; i < o->n_extra; i++) { /* --qemu-opt: last, so they can add to anything */
                char word[PATH_MAX];
                for (const char *p = o->extra[i]; *p;) {
                        size_t len = strcspn(p, " \t");
                        if (len >= sizeof(word))
                                return -ENAMETOOLONG;
                        if (len) {
                                memcpy(word, p, len);
                                word[len] = 0;
                                arg(&a, "%s", word);
                        }
                        p += len;
                        p += strspn(p, " \t");
                }
        }
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
        char buf[32768];
        char *argv[256];

        int r = kw_qemu_argv(o, buf, sizeof(buf), argv, sizeof(argv) / sizeof(argv[0]));
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
