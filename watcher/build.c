/* SPDX-License-Identifier: MIT */
/*
 * build.c — make as a child process. It runs in its own process group (so a
 * Ctrl-C reaches kmod-watch first, which decides what to stop), with every
 * inherited fd above stderr closed (libinotifytools' fd and our sockets must
 * not leak into the compiler), and dies with us (PR_SET_PDEATHSIG).
 */
#include "build.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "ui.h"

#define KW_BUILD_OUTPUT_MAX (4u << 20)

struct kw_build {
        struct kw_loop *loop;
        pid_t pid;
        int out_fd;
        char *out;
        size_t out_len, out_cap;
        bool exited, eof;
        int wstatus;
        uint64_t start_us;
        kw_build_done_fn fn;
        void *userdata;
};

static void finish(struct kw_build *b)
{
        if (!b->exited || !b->eof)
                return;
        bool ok = WIFEXITED(b->wstatus) && WEXITSTATUS(b->wstatus) == 0;
        uint64_t ms = (kw_now_us() - b->start_us + 500) / 1000;
        kw_build_done_fn fn = b->fn;
        void *ud = b->userdata;
        char *out = b->out;
        size_t len = b->out_len;
        free(b);
        fn(ud, ok, out ? out : "", len, ms);
        free(out);
}

static int on_output(void *userdata, int fd, short revents)
{
        struct kw_build *b = userdata;

        for (;;) {
                if (b->out_cap - b->out_len < 4096) {
                        size_t cap = b->out_cap ? b->out_cap * 2 : 16384;
                        if (cap > KW_BUILD_OUTPUT_MAX + 4096)
                                cap = KW_BUILD_OUTPUT_MAX + 4096;
                        char *p = realloc(b->out, cap + 1);
                        if (!p)
                                return -ENOMEM;
                        b->out = p;
                        b->out_cap = cap;
                }
                size_t room = b->out_cap - b->out_len;
                char scratch[4096];
                bool discard = b->out_len >= KW_BUILD_OUTPUT_MAX; /* keep the head, drop the flood */
                ssize_t n = read(fd, discard ? scratch : b->out + b->out_len, discard ? sizeof(scratch) : room);
                if (n > 0) {
                        if (!discard) {
                                if (kw_ui_verbosity() > 0) /* -v: make's output live */
                                        kw_ui_text(b->out + b->out_len, (size_t)n);
                                b->out_len += (size_t)n;
                                b->out[b->out_len] = 0;
                        }
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                /* EOF or error: make and every child holding the pipe are gone */
                kw_loop_del(b->loop, fd);
                close(fd);
                b->eof = true;
                finish(b);
                return 0;
        }
}

static void on_exit_child(void *userdata, pid_t pid, int wstatus)
{
        struct kw_build *b = userdata;

        b->exited = true;
        b->wstatus = wstatus;
        finish(b);
}

int kw_build_start(struct kw_loop *l, const struct kw_build_opts *o, kw_build_done_fn fn, void *userdata,
                   struct kw_build **ret)
{
        char kdir[4200], arch[64], cross[256], jobs[32];
        const char *argv[16];
        int n = 0;

        argv[n++] = "make";
        argv[n++] = "-C";
        argv[n++] = o->dir;
        if (o->kdir) {
                snprintf(kdir, sizeof(kdir), "KDIR=%s", o->kdir);
                argv[n++] = kdir;
        }
        if (o->arch) {
                snprintf(arch, sizeof(arch), "ARCH=%s", o->arch);
                argv[n++] = arch;
        }
        if (o->cross_compile) {
                snprintf(cross, sizeof(cross), "CROSS_COMPILE=%s", o->cross_compile);
                argv[n++] = cross;
        }
        if (o->jobs) {
                snprintf(jobs, sizeof(jobs), "-j%u", o->jobs);
                argv[n++] = jobs;
        }
        argv[n] = NULL;

        struct kw_build *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->loop = l;
        b->fn = fn;
        b->userdata = userdata;
        b->start_us = kw_now_us();
        struct kw_spawn_opts so = { .new_session = false, .death_signal = SIGTERM };
        int r = kw_spawn((char **)argv, &so, &b->pid, &b->out_fd);
        if (r < 0) {
                free(b);
                return r;
        }
        pid_t pid = b->pid;
        r = kw_loop_add(l, b->out_fd, POLLIN, on_output, b);
        if (r >= 0)
                r = kw_loop_add_child(l, pid, on_exit_child, b);
        if (r < 0) {
                kill(-pid, SIGKILL);
                kw_loop_del(l, b->out_fd);
                close(b->out_fd);
                free(b);
                return r;
        }
        *ret = b;
        return 0;
}

void kw_build_cancel(struct kw_build *b)
{
        if (!b)
                return;
        kill(-b->pid, SIGTERM);
        kill(b->pid, SIGTERM);
        kw_loop_forget_child(b->loop, b->pid);
        if (!b->eof) {
                kw_loop_del(b->loop, b->out_fd);
                close(b->out_fd);
        }
        (void)waitpid(b->pid, NULL, 0); /* make exits promptly on SIGTERM */
        free(b->out);
        free(b);
}

void kw_strv_free(char **v, size_t n)
{
        if (!v)
                return;
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int kw_build_modules(const char *dir, char ***ret, size_t *ret_n)
{
        char path[4200], line[4096];
        char **v = NULL;
        size_t n = 0;

        snprintf(path, sizeof(path), "%s/modules.order", dir);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                size_t len = strcspn(line, "\r\n");
                line[len] = 0;
                if (!len)
                        continue;
                /* kbuild writes "kernel/…/x.ko" in-tree, "x.ko" (6.1) or "x.o" (6.2+) for M= */
                const char *p = line;
                size_t dlen = strlen(dir);
                if (p[0] == '/') {
                        /* 6.1 writes absolute paths for M= builds: make them relative to DIR */
                        if (strncmp(p, dir, dlen) != 0 || p[dlen] != '/')
                                continue; /* not ours (a sub-make elsewhere) */
                        p += dlen + 1;
                }
                if (strncmp(p, "./", 2) == 0)
                        p += 2;
                char ko[4200];
                len = strlen(p);
                if (len > 2 && strcmp(p + len - 2, ".o") == 0)
                        snprintf(ko, sizeof(ko), "%.*s.ko", (int)(len - 2), p);
                else
                        snprintf(ko, sizeof(ko), "%s", p);
                char **nv = realloc(v, (n + 1) * sizeof(*v));
                if (!nv || !(nv[n] = strdup(ko))) {
                        fclose(f);
                        kw_strv_free(nv ? nv : v, n);
                        return -ENOMEM;
                }
                v = nv;
                n++;
        }
        fclose(f);
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool chatter(const char *line, size_t len)
{
        /* kbuild quiet lines: two spaces, an upper-case tag, a space ("  CC [M]  x.o") */
        if (len > 3 && line[0] == ' ' && line[1] == ' ' && line[2] >= 'A' && line[2] <= 'Z') {
                size_t i = 2;
                while (i < len && ((line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9') ||
                                   line[i] == '_'))
                        i++;
                if (i < len && line[i] == ' ')
                        return true;
        }
        if (len >= 5 && strncmp(line, "make", 4) == 0 &&
            (memmem(line, len, "Entering directory", 18) || memmem(line, len, "Leaving directory", 17)))
                return true;
        return false;
}

char *kw_build_filter_output(const char *out, size_t len)
{
        char *res = malloc(len + 1);
        size_t n = 0;

        if (!res)
                return NULL;
        for (size_t i = 0; i < len;) {
                const char *nl = memchr(out + i, '\n', len - i);
                size_t l = nl ? (size_t)(nl - (out + i)) : len - i;
                if (!chatter(out + i, l)) {
                        memcpy(res + n, out + i, l);
                        n += l;
                        res[n++] = '\n';
                }
                i += l + 1;
        }
        res[n] = 0;
        return res;
}
