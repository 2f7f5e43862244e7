/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * build.c — make as a child process. It runs in its own process group (so a
 * Ctrl-C reaches kmod-watch first, which decides what to stop), with every
 * inherited fd above stderr closed (libinotifytools' fd and our sockets must
 * not leak into the compiler), and dies with us (PR_SET_PDEATHSIG).
 */
#include "build.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int kw_build_start(struct kw_loop *l, const struct kw_recipe *rc, kw_build_done_fn fn, void *userdata,
                   struct kw_build **ret)
{
        struct kw_recipe_cmd cmd;
        int r = kw_recipe_cmd(rc, &cmd);

        if (r < 0)
                return r;
        kw_debug("build: %s (in %s)", cmd.argv[0], rc->dir);
        struct kw_build *b = calloc(1, sizeof(*b));
        if (!b) {
                kw_recipe_cmd_free(&cmd);
                return -ENOMEM;
        }
        b->loop = l;
        b->fn = fn;
        b->userdata = userdata;
        b->start_us = kw_now_us();
        struct kw_spawn_opts so = { .new_session = false, .death_signal = SIGTERM, .cwd = rc->dir, .envp = cmd.envp };
        r = kw_spawn(cmd.argv, &so, &b->pid, &b->out_fd);
        kw_recipe_cmd_free(&cmd);
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

struct found {
        char root[PATH_MAX]; /* DIR, resolved */
        char **v;
        size_t n;
};

static int add_ko(struct found *f, const char *abs)
{
        char real[PATH_MAX];
        size_t rl = strlen(f->root);

        if (!realpath(abs, real)) { /* not built (said when it is read): resolve its directory */
                char parent[PATH_MAX];
                const char *slash = strrchr(abs, '/');
                snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - abs) : 0, abs);
                if (!slash || !realpath(parent, real) || strlen(real) + strlen(slash) >= sizeof(real))
                        return 0;
                strcat(real, slash);
        }
        if (strncmp(real, f->root, rl) != 0 || real[rl] != '/')
                return 0; /* not ours (a sub-make elsewhere) */
        const char *rel = real + rl + 1;
        for (size_t i = 0; i < f->n; i++)
                if (!strcmp(f->v[i], rel))
                        return 0;
        char **nv = realloc(f->v, (f->n + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        f->v = nv;
        if (!(nv[f->n] = strdup(rel)))
                return -ENOMEM;
        f->n++;
        return 0;
}

/* One modules.order in directory sub: kbuild writes "x.ko" (6.1), "x.o" (6.2+)
 * or absolute paths (6.1 with M=), relative to the M= directory, which is
 * sub itself unless kbuild descended into it from a parent. */
static int read_order(struct found *f, const char *sub)
{
        char path[PATH_MAX + 32], line[4096], ko[PATH_MAX * 2 + 8];
        struct stat st;

        snprintf(path, sizeof(path), "%s/modules.order", sub);
        FILE *fp = fopen(path, "re");
        if (!fp)
                return errno == ENOENT ? 0 : -errno;
        int r = 0;
        while (r == 0 && fgets(line, sizeof(line), fp)) {
                size_t len = strcspn(line, "\r\n");
                line[len] = 0;
                if (!len)
                        continue;
                if (len > 2 && strcmp(line + len - 2, ".o") == 0)
                        strcpy(line + len - 2, ".ko");
                const char *p = strncmp(line, "./", 2) == 0 ? line + 2 : line;
                if (p[0] == '/')
                        snprintf(ko, sizeof(ko), "%s", p);
                else {
                        snprintf(ko, sizeof(ko), "%s/%s", sub, p);
                        if (stat(ko, &st) < 0) {
                                char alt[sizeof(ko)];
                                snprintf(alt, sizeof(alt), "%s/%s", f->root, p);
                                if (stat(alt, &st) == 0)
                                        memcpy(ko, alt, sizeof(ko));
                        }
                }
                r = add_ko(f, ko);
        }
        fclose(fp);
        return r;
}

static int search(struct found *f, const char *sub, unsigned depth, bool *any)
{
        char path[PATH_MAX + 32];
        struct stat st;

        snprintf(path, sizeof(path), "%s/modules.order", sub);
        if (stat(path, &st) == 0) {
                *any = true;
                int r = read_order(f, sub);
                if (r < 0)
                        return r;
        }
        if (depth >= 8)
                return 0;
        DIR *d = opendir(sub);
        if (!d)
                return 0;
        int r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
                        continue;
                char child[PATH_MAX + 32];
                if ((size_t)snprintf(child, sizeof(child), "%s/%s", sub, de->d_name) >= sizeof(child))
                        continue;
                if (lstat(child, &st) < 0 || !S_ISDIR(st.st_mode))
                        continue; /* a link (the dkms tree's build -> DIR) would loop */
                r = search(f, child, depth + 1, any);
        }
        closedir(d);
        return r;
}

int kw_build_modules(const char *dir, char ***ret, size_t *ret_n)
{
        struct found f = { 0 };
        bool any = false;

        if (!realpath(dir, f.root))
                return -errno;
        int r = search(&f, f.root, 0, &any);
        if (r == 0 && !any)
                r = -ENOENT;
        if (r < 0) {
                kw_strv_free(f.v, f.n);
                return r;
        }
        *ret = f.v;
        *ret_n = f.n;
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
