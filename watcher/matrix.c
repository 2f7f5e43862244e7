/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * matrix.c — the supervisor of a target matrix (matrix.h): the children, their
 * streams, the cycle table and the status. Each child is an ordinary
 * single-target run; this file only reads what it says (its JSON events on
 * stdout, its diagnostics on stderr) and speaks for it.
 */
#include "matrix.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dirlock.h"
#include "jsonline.h"
#include "keys.h"
#include "loop.h"
#include "md5.h"
#include "paths.h"
#include "shadow.h"
#include "spawn.h"
#include "ui.h"

#define KW_MATRIX_MAX 8
#define KW_LINE_MAX (1 << 20) /* an event longer than this is cut (a huge compiler log) */

struct linebuf {
        char *b;
        size_t n, cap;
};

struct target {
        struct matrix *m;
        char name[80];            /* as given: "x86_64/6.1" */
        char arch[32], release[48];
        char bdir[PATH_MAX];      /* its shadow tree (shadow.h) */
        pid_t pid;
        int out_fd, err_fd;       /* its stdout (events) and stderr (lines), -1 once at EOF */
        int key_fd;               /* its stdin: the keys passed on (keys.h), -1 */
        struct linebuf out, err;
        bool exited;
        bool booting;             /* its guest has not greeted yet */
        int status;
        char *modules;            /* of its last good build, "name\n…" */
        /* the cycle of one save: from its change (or build) to its last load */
        unsigned cycle;
        bool done;
        uint64_t start_ms;
        size_t n_modules, n_loaded;
        bool load_failed, oopsed;
        char result[64];
        char error[256];          /* its exit event's error */
};

struct matrix {
        const struct kw_opts *o;
        struct kw_loop *loop;
        struct target t[KW_MATRIX_MAX];
        size_t n;
        int sig_fd;
        bool keys;                /* the terminal's keys are read, and passed on to every target */
        int signo;                /* the signal that ends the run, 0 */
        struct kw_timer *tick;    /* the boot status line's seconds */
        struct kw_timer *table;   /* the table line, a moment after the last event of a cycle */
        unsigned printed;         /* the last cycle whose table was printed */
};

static void target_done(struct target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void target_done(struct target *t, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(t->result, sizeof(t->result), fmt, ap);
        va_end(ap);
        t->done = true;
}

static void new_cycle(struct target *t)
{
        t->cycle++;
        t->done = false;
        t->start_ms = kw_now_ms();
        t->n_modules = t->n_loaded = 0;
        t->load_failed = t->oopsed = false;
        t->result[0] = 0;
}

static void loads_done(struct target *t)
{
        double s = (double)(kw_now_ms() - t->start_ms) / 1000.0;

        if (t->oopsed)
                target_done(t, "kernel report");
        else if (t->load_failed)
                target_done(t, "load failed");
        else
                target_done(t, "ok %.1f s", s);
}

/* The table line, once every target has finished the newest cycle (or ended). */
static void print_table(struct matrix *m)
{
        unsigned newest = 0;

        for (size_t i = 0; i < m->n; i++) {
                if (!m->t[i].done && !m->t[i].exited)
                        return;
                if (m->t[i].cycle > newest)
                        newest = m->t[i].cycle;
        }
        if (newest <= m->printed)
                return;
        m->printed = newest;
        char line[1024] = "", *items[KW_MATRIX_MAX];
        size_t len = 0;
        for (size_t i = 0; i < m->n; i++) {
                const struct target *t = &m->t[i];
                char item[160];
                const char *what = t->result[0] ? t->result : kw_matrix_status_words(t->status);
                snprintf(item, sizeof(item), "%s %s", t->name, what);
                items[i] = strdup(item);
                if (!items[i])
                        items[i] = calloc(1, 1); /* "" */
                len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", i ? " · " : "", item);
                if (len >= sizeof(line))
                        len = sizeof(line) - 1;
        }
        kw_ev_begin("matrix");
        kw_ev_int("cycle", newest);
        kw_ev_strv("results", (const char *const *)items, m->n);
        kw_ev_end();
        kw_note("%s", line);
        for (size_t i = 0; i < m->n; i++)
                free(items[i]);
}

/* A target's stderr is another pipe than its events: what it said about the
 * cycle's end (the compiler's messages, "build failed") may come a moment after
 * the event, so the table waits that moment; a child's exit prints it at once. */
static void maybe_table(struct matrix *m)
{
        if (m->table)
                kw_timer_arm_ms(m->table, 100);
        else
                print_table(m);
}

static void on_table(void *userdata)
{
        print_table(userdata);
}

static bool is_module_line(const struct target *t, const char *text)
{
        for (const char *p = t->modules; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                if (n && strncmp(text, p, n) == 0 && text[n] == ':')
                        return true;
                p = nl ? nl + 1 : p + n;
        }
        return false;
}

/* One status line for the guests still booting (a terminal only: ui.c decides). */
static void boot_status(struct matrix *m)
{
        char line[512];
        size_t len = 0;

        for (size_t i = 0; i < m->n && len < sizeof(line); i++)
                if (m->t[i].booting && !m->t[i].exited)
                        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? ", " : "", m->t[i].name);
        if (!len) {
                kw_ui_status_done(KW_SLOT_BOOT);
                return;
        }
        kw_ui_status(KW_SLOT_BOOT, "booting %s: %.1f s", line, (double)kw_now_ms() / 1000.0);
        kw_timer_arm_ms(m->tick, 500);
}

static void on_tick(void *userdata)
{
        boot_status(userdata);
}

/* The event again, as this process's, with the target (ui.c adds it). */
static void reemit(const char *event, const struct kw_jline *j)
{
        kw_ev_begin(event);
        for (size_t i = 0; i < j->n; i++) {
                const struct kw_jfield *f = &j->f[i];
                if (!strcmp(f->key, "event") || !strcmp(f->key, "t") || !strcmp(f->key, "time") ||
                    !strcmp(f->key, "target"))
                        continue;
                switch (f->type) {
                case KW_JV_STR: kw_ev_str(f->key, f->text); break;
                case KW_JV_BOOL: kw_ev_bool(f->key, strcmp(f->text, "true") == 0); break;
                case KW_JV_NUM:
                        if (strpbrk(f->text, ".eE"))
                                kw_ev_real(f->key, strtod(f->text, NULL));
                        else
                                kw_ev_int(f->key, strtoll(f->text, NULL, 10));
                        break;
                case KW_JV_LIST: kw_ev_strv(f->key, (const char *const *)f->items, f->n_items); break;
                case KW_JV_NULL: break;
                }
        }
        kw_ev_end();
}

static double secs(const struct kw_jline *j, const char *key)
{
        return strtod(kw_jline_str(j, key), NULL) / 1000.0;
}

static bool yes(const struct kw_jline *j, const char *key)
{
        return strcmp(kw_jline_str(j, key), "true") == 0;
}

/* What a person reads of an event (kw_note* are silent with --json), and the cycle's state. */
static void on_event(struct target *t, const char *event, const struct kw_jline *j)
{
        if (!strcmp(event, "kmsg")) {
                kw_ui_kmsg(strtoull(kw_jline_str(j, "seq"), NULL, 10), (unsigned)atoi(kw_jline_str(j, "level")),
                           strtoull(kw_jline_str(j, "ts_usec"), NULL, 10), kw_jline_str(j, "text"),
                           is_module_line(t, kw_jline_str(j, "text")));
                return;
        }
        if (!strcmp(event, "run_output")) {
                const char *s = kw_jline_str(j, "text");
                kw_ui_run_output((unsigned)atoi(kw_jline_str(j, "stream")), s, strlen(s));
                return;
        }
        reemit(event, j);
        if (!strcmp(event, "boot_progress") || !strcmp(event, "ready") || !strcmp(event, "guest_restart")) {
                t->booting = strcmp(event, "ready") != 0;
                kw_ui_set_target(NULL); /* the line is about them all */
                boot_status(t->m);
                kw_ui_set_target(t->name);
        } else if (!strcmp(event, "change")) {
                const struct kw_jfield *p = kw_jline_get(j, "paths");
                new_cycle(t);
                if (p && p->n_items)
                        kw_note("changed: %s%s", p->items[0], p->n_items > 1 ? " …" : "");
        } else if (!strcmp(event, "build_start")) {
                if (t->done || !t->cycle)
                        new_cycle(t);
        } else if (!strcmp(event, "build_end")) {
                if (!yes(j, "ok")) { /* the child said it on stderr, with the compiler's messages */
                        target_done(t, "build failed");
                        return;
                }
                const struct kw_jfield *mods = kw_jline_get(j, "modules");
                free(t->modules);
                t->modules = NULL;
                size_t len = 0;
                for (size_t i = 0; mods && i < mods->n_items; i++) {
                        char *v = realloc(t->modules, len + strlen(mods->items[i]) + 2);
                        if (!v)
                                break;
                        t->modules = v;
                        len += (size_t)sprintf(t->modules + len, "%s\n", mods->items[i]);
                }
                t->n_modules = mods ? mods->n_items : 0;
                kw_note("built in %.2f s (%s)", secs(j, "ms"), kw_jline_str(j, "path"));
        } else if (!strcmp(event, "load")) {
                t->n_loaded++;
                if (yes(j, "ok"))
                        kw_note("%s loaded in %.0f ms", kw_jline_str(j, "module"), secs(j, "ms") * 1000.0);
                else
                        t->load_failed = true; /* the child said why on stderr */
                if (t->n_loaded >= t->n_modules && !t->m->o->run)
                        loads_done(t);
        } else if (!strcmp(event, "unchanged")) {
                kw_note("%s unchanged: not reloaded", kw_jline_str(j, "modules"));
                target_done(t, "unchanged");
        } else if (!strcmp(event, "run")) {
                kw_note("--run: status %s", kw_jline_str(j, "status"));
                if (atoi(kw_jline_str(j, "status")))
                        target_done(t, "run failed");
                else
                        loads_done(t);
        } else if (!strcmp(event, "oops")) {
                t->oopsed = true;
                /* the report's lines came as kernel log lines: its gist, as a run of one says it */
                kw_note_err("kernel %s: %s", kw_jline_str(j, "kind"), kw_jline_str(j, "title"));
                if (*kw_jline_str(j, "source"))
                        kw_note_detail("at %s", kw_jline_str(j, "source"));
                const struct kw_jfield *trace = kw_jline_get(j, "trace");
                if (trace && trace->n_items)
                        kw_note_detail("call trace:");
                for (size_t i = 0; trace && i < trace->n_items && i < 8; i++)
                        kw_note_detail("  %s", trace->items[i]);
                if (t->done && strncmp(t->result, "ok", 2) == 0)
                        target_done(t, "kernel report");
        } else if (!strcmp(event, "expect")) {
                if (yes(j, "ok"))
                        kw_note("expected: %s", kw_jline_str(j, "pattern"));
                else
                        kw_note_err("not seen: %s", kw_jline_str(j, "pattern"));
        } else if (!strcmp(event, "exit")) {
                t->status = atoi(kw_jline_str(j, "status"));
                snprintf(t->error, sizeof(t->error), "%s", kw_jline_str(j, "error"));
                if (t->status && (t->m->o->once || !t->result[0]))
                        target_done(t, "%s", kw_matrix_status_words(t->status));
                else if (!t->done)
                        target_done(t, "stopped"); /* a signal in the middle of a cycle */
        }
}

static void on_line(struct target *t, bool is_out, char *line, size_t len)
{
        if (!is_out) {
                line[len] = '\n';
                kw_ui_text(line, len + 1); /* its diagnostics, with its prefix */
                return;
        }
        struct kw_jline j;
        if (kw_jline_parse(line, len, &j) < 0) {
                kw_warn("%s: an event kmod-watch cannot read: %.80s", t->name, line);
                return;
        }
        const char *event = kw_jline_str(&j, "event");
        if (*event)
                on_event(t, event, &j);
        kw_jline_free(&j);
}

static void drain(struct target *t, bool is_out)
{
        int *fd = is_out ? &t->out_fd : &t->err_fd;
        struct linebuf *lb = is_out ? &t->out : &t->err;

        kw_ui_set_target(t->name);
        for (;;) {
                if (lb->cap - lb->n < 4096) {
                        size_t cap = lb->cap ? lb->cap * 2 : 8192;
                        char *b = cap <= KW_LINE_MAX * 2 ? realloc(lb->b, cap) : NULL;
                        if (!b) { /* a line this long: cut */
                                lb->n = 0;
                                continue;
                        }
                        lb->b = b;
                        lb->cap = cap;
                }
                ssize_t r = read(*fd, lb->b + lb->n, lb->cap - lb->n - 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0) {
                        if (r == 0 || errno != EAGAIN) {
                                if (lb->n)
                                        on_line(t, is_out, lb->b, lb->n);
                                lb->n = 0;
                                kw_loop_del(t->m->loop, *fd);
                                close(*fd);
                                *fd = -1;
                        }
                        break;
                }
                lb->n += (size_t)r;
                char *s = lb->b, *nl;
                while ((nl = memchr(s, '\n', lb->n - (size_t)(s - lb->b)))) {
                        on_line(t, is_out, s, (size_t)(nl - s));
                        s = nl + 1;
                }
                lb->n -= (size_t)(s - lb->b);
                memmove(lb->b, s, lb->n);
        }
        kw_ui_set_target(NULL);
        maybe_table(t->m);
}

static int on_out(void *userdata, int fd, short revents)
{
        (void)fd, (void)revents;
        drain(userdata, true);
        return 0;
}

static int on_err(void *userdata, int fd, short revents)
{
        struct target *t = userdata;

        (void)fd, (void)revents;
        drain(t, false);
        return 0;
}

static void check_end(struct matrix *m)
{
        int worst = 0;

        for (size_t i = 0; i < m->n; i++) {
                if (!m->t[i].exited)
                        return;
                worst = kw_matrix_worst(worst, m->t[i].status);
        }
        if (m->signo)
                worst = m->o->once ? 128 + m->signo : 0;
        kw_loop_exit(m->loop, worst);
}

static void on_child(void *userdata, pid_t pid, int wstatus)
{
        struct target *t = userdata;

        (void)pid;
        /* what it said before it went is still in the pipes */
        if (t->out_fd >= 0)
                drain(t, true);
        if (t->err_fd >= 0)
                drain(t, false);
        t->exited = true;
        t->pid = 0;
        if (t->key_fd >= 0)
                close(t->key_fd);
        t->key_fd = -1;
        boot_status(t->m);
        int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
        if (!t->status)
                t->status = status;
        if (status && !t->result[0])
                snprintf(t->result, sizeof(t->result), "%s", kw_matrix_status_words(status));
        print_table(t->m);
        check_end(t->m);
}

static void stop_all(struct matrix *m, int sig)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->t[i].pid > 0)
                        kill(m->t[i].pid, sig);
}

static int on_signal(void *userdata, int fd, short revents)
{
        struct matrix *m = userdata;
        struct signalfd_siginfo si;

        (void)revents;
        while (read(fd, &si, sizeof(si)) == sizeof(si)) {
                /* the first asks each child to end (they unload and stop their guests); a second insists */
                stop_all(m, m->signo ? SIGKILL : SIGTERM);
                m->signo = (int)si.ssi_signo;
        }
        return 0;
}

int kw_matrix_trees(const char *dir, char *buf, size_t size)
{
        char cache[PATH_MAX], hex[2 * KW_MD5_LEN + 1];
        uint8_t sum[KW_MD5_LEN];
        struct kw_md5 c;

        int r = kw_path_cache(cache, sizeof(cache));
        if (r < 0)
                return r;
        kw_md5_init(&c);
        kw_md5_update(&c, dir, strlen(dir));
        kw_md5_final(&c, sum);
        for (size_t i = 0; i < KW_MD5_LEN; i++)
                sprintf(hex + 2 * i, "%02x", sum[i]);
        const char *name = strrchr(dir, '/');
        if ((size_t)snprintf(buf, size, "%s/matrix/%.40s-%.12s", cache, name ? name + 1 : dir, hex) >= size)
                return -ENAMETOOLONG;
        return 0;
}

/* kw_matrix_trees()/<arch>-<release>: kept between runs, so a run's first make is incremental. */
static int shadow_path(const char *dir, const char *arch, const char *release, char *buf, size_t size)
{
        char trees[PATH_MAX];
        int r = kw_matrix_trees(dir, trees, sizeof(trees));

        if (r < 0)
                return r;
        if ((size_t)snprintf(buf, size, "%s/%s-%s", trees, arch, release[0] ? release : "kit") >= size)
                return -ENAMETOOLONG;
        for (char *p = buf + 1; *p; p++) { /* mkdir -p, but the last: the child makes it */
                if (*p != '/')
                        continue;
                *p = 0;
                r = mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
                *p = '/';
                if (r < 0)
                        return r;
        }
        return 0;
}

static const char keys_help[] =
        "keys (to every target): r rebuild and reload, u unload, b reboot the guests, c clear, q quit, ? help";

/* A key on the terminal: the targets' own keys, passed on to each (r, u, b, q…);
 * the screen and the help are the supervisor's. */
static void on_key(void *userdata, char key)
{
        struct matrix *m = userdata;

        if (key == 'c') {
                kw_ui_clear(true);
                return;
        }
        if (key == '?' || key == 'h') {
                kw_info("%s", keys_help);
                return;
        }
        for (size_t i = 0; i < m->n; i++)
                if (m->t[i].key_fd >= 0 && write(m->t[i].key_fd, &key, 1) < 0)
                        kw_warn("%s: the key was not passed on: %s", m->t[i].name, strerror(errno));
}

static int start_child(struct matrix *m, struct target *t, int argc, char **argv, const char *exe, bool compdb)
{
        int out[2], err[2], in[2] = { KW_SPAWN_NULL, -1 };
        pid_t pid;

        t->key_fd = -1;
        if (m->keys && pipe2(in, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(out, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(err, O_CLOEXEC) < 0) {
                close(out[0]);
                close(out[1]);
                return -errno;
        }
        char **v = kw_matrix_child_argv(argc, argv, exe, t->arch, t->release, t->bdir, compdb);
        struct kw_spawn_opts so = { .death_signal = SIGTERM };
        struct kw_spawn_fds fds = { .in = in[0], .out = out[1], .err = err[1], .fd3 = KW_SPAWN_NULL };
        int r = v ? kw_spawn_run(v, &so, &fds, &pid) : -ENOMEM;
        free(v);
        close(out[1]);
        close(err[1]);
        if (in[0] >= 0)
                close(in[0]);
        t->key_fd = in[1];
        if (r < 0) {
                close(out[0]);
                close(err[0]);
                return r;
        }
        t->pid = pid;
        t->booting = true;
        t->out_fd = out[0];
        t->err_fd = err[0];
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        fcntl(err[0], F_SETFL, O_NONBLOCK);
        if ((r = kw_loop_add(m->loop, out[0], POLLIN, on_out, t)) < 0 ||
            (r = kw_loop_add(m->loop, err[0], POLLIN, on_err, t)) < 0 ||
            (r = kw_loop_add_child(m->loop, pid, on_child, t)) < 0)
                return r;
        return 0;
}

static int prepare(struct matrix *m, char *dir, char *exe)
{
        const struct kw_opts *o = m->o;

        if (o->n_target > KW_MATRIX_MAX) {
                kw_err("--target: at most %d targets", KW_MATRIX_MAX);
                return KW_EXIT_USAGE;
        }
        if (!realpath(o->dir, dir)) {
                kw_err("%s: %m (give the module's source directory)", o->dir);
                return KW_EXIT_USAGE;
        }
        ssize_t n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
        if (n <= 0) {
                kw_err("cannot find kmod-watch itself (/proc/self/exe): %m");
                return 5;
        }
        exe[n] = 0;
        pid_t holder = 0;
        if (kw_dirlock_take(dir, &holder) == -EBUSY) {
                kw_err("another kmod-watch (pid %d) is building %s: stop that one first", (int)holder, dir);
                return KW_EXIT_USAGE;
        }
        for (size_t i = 0; i < o->n_target; i++) {
                struct target *t = &m->t[m->n];
                *t = (struct target){ .m = m, .out_fd = -1, .err_fd = -1 };
                size_t len = strnlen(o->target[i], sizeof(t->name) - 1);
                memcpy(t->name, o->target[i], len); /* opts.c checked it: ARCH[/RELEASE] */
                t->name[len] = 0;
                kw_matrix_split(o->target[i], t->arch, sizeof(t->arch), t->release, sizeof(t->release));
                if (!t->release[0] && o->release) /* ARCH alone: --release's, else the default kit */
                        snprintf(t->release, sizeof(t->release), "%s", o->release);
                bool twice = false;
                for (size_t k = 0; k < m->n; k++)
                        twice |= strcmp(m->t[k].name, t->name) == 0;
                if (twice)
                        continue; /* the same target twice is one */
                char arch[32], release[48];
                memcpy(arch, t->arch, sizeof(arch));
                memcpy(release, t->release, sizeof(release));
                int r = shadow_path(dir, arch, release, t->bdir, sizeof(t->bdir));
                if (r < 0) {
                        kw_err("no build directory for %s: %s", t->name, strerror(-r));
                        return 5;
                }
                m->n++;
        }
        return 0;
}

int kw_matrix_run(const struct kw_opts *o, int argc, char **argv)
{
        static struct matrix matrix;
        struct matrix *m = &matrix;
        char dir[PATH_MAX], exe[PATH_MAX];
        int status, r;

        *m = (struct matrix){ .o = o, .sig_fd = -1 };
        status = prepare(m, dir, exe);
        if (status)
                goto out;
        char trees[PATH_MAX]; /* this DIR's trees kept, other DIRs' gone after 30 days unused */
        if (kw_matrix_trees(dir, trees, sizeof(trees)) == 0 && (r = kw_shadow_keep(trees, 30)) != 0)
                kw_debug("matrix build trees: %s", r > 0 ? "removed some unused for 30 days" : strerror(-r));
        status = 5;
        r = kw_loop_new(&m->loop);
        if (r >= 0)
                r = m->sig_fd = kw_loop_add_signals(m->loop, on_signal, m);
        if (r >= 0)
                r = kw_timer_new(m->loop, on_tick, m, &m->tick);
        if (r >= 0)
                r = kw_timer_new(m->loop, on_table, m, &m->table);
        if (r < 0) {
                kw_err("cannot start: %s", strerror(-r));
                goto out;
        }
        kw_note("%zu targets, each built in its own tree and loaded in its own guest", m->n);
        m->keys = !o->once && kw_keys_start(m->loop, on_key, m);
        if (m->keys)
                kw_info("%s", keys_help);
        for (size_t i = 0; i < m->n; i++) {
                kw_ui_set_target(m->t[i].name);
                kw_note("builds in %s (kmod-watch shell %s: a shell in its guest)", m->t[i].bdir, m->t[i].bdir);
                kw_ui_set_target(NULL);
                r = start_child(m, &m->t[i], argc, argv, exe, i == 0);
                if (r < 0) {
                        kw_err("cannot start the run for %s: %s", m->t[i].name, strerror(-r));
                        m->t[i].exited = true;
                        m->t[i].status = 5;
                }
        }
        boot_status(m);
        check_end(m);
        status = kw_loop_run(m->loop);
        if (status < 0) {
                kw_err("internal error: %s", strerror(-status));
                stop_all(m, SIGKILL);
                status = 5;
        } else if (status && !m->signo) {
                /* the worst target says why, in one line (and as the exit event's error) */
                for (size_t i = 0; i < m->n; i++)
                        if (m->t[i].status == status) {
                                kw_err("%s: %s", m->t[i].name,
                                       m->t[i].error[0] ? m->t[i].error : kw_matrix_status_words(status));
                                break;
                        }
        }
out:
        kw_keys_stop();
        kw_ui_exit(status);
        for (size_t i = 0; i < m->n; i++) {
                free(m->t[i].out.b);
                free(m->t[i].err.b);
                free(m->t[i].modules);
        }
        kw_ui_status_clear();
        kw_timer_free(m->tick);
        kw_timer_free(m->table);
        if (m->sig_fd >= 0)
                close(m->sig_fd);
        kw_loop_free(m->loop);
        return status;
}
