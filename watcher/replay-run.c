/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-run.c — running a replay (see replay.h) as kbuild 6.1 would: each
 * step a `sh -c` child of the loop in KDIR (make -C KDIR's directory), its
 * output gathered like make's. The phases, in make's order:
 *   1. each planned object: Makefile.build's rule_cc_o_c — the recorded
 *      command (compiler, objtool), fixdep writing its .cmd, the depfile
 *      removed, check-local-export, objtool's dependency line, genksyms'
 *      #SYMVER lines when the object exports (CONFIG_MODVERSIONS) — up to
 *      the recipe's -j at once;
 *   2. the ld -r of a module made of several objects, when a part was built;
 *   3. modules.order (rewritten: its objects are newer), then modpost, one
 *      step; modpost reads KDIR's Module.symvers cut to the lines the modules
 *      name (replay-symvers.h: the same outputs, a tenth of the time);
 *   4. a module's .mod.o when modpost wrote a newer .mod.c (modpost leaves a
 *      .mod.c alone when it would not change);
 *   5. a .ko older than its .o or .mod.o: the link (and the BTF step's
 *      message, KDIR having no vmlinux).
 * Phases 4 and 5 decide by the files' times after the steps before them, as
 * make does. A step that fails ends the replay after the running steps end
 * (make's behaviour without -k); a target a failed step changed is deleted
 * (.DELETE_ON_ERROR). Every object of a replay stays due until one succeeds.
 */
#include "replay-int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "paths.h"
#include "replay-symvers.h"
#include "spawn.h"
#include "ui.h"

#define KW_REPLAY_OUTPUT_MAX (4u << 20)

enum phase { PH_OBJECTS, PH_LINKS, PH_MODPOST, PH_MODO, PH_KO, PH_DONE };

struct step {
        struct kw_replay_run *run;
        char *script;
        char *exports; /* run next when the target has "__ksymtab" in its bytes (or NULL) */
        char *depfile; /* removed when the step succeeds (cmd_and_fixdep's rm -f), or NULL */
        char *target;
        struct timespec before; /* the target's time before (deleted after a failure if it moved) */
        pid_t pid;
        int fd;
        uint64_t start_us;
        bool started, exited, eof;
        int wstatus;
};

struct kw_replay_run {
        struct kw_replay *r;
        const struct kw_recipe *rc;
        struct kw_loop *loop;
        char **envp;
        enum phase phase;
        struct step *steps;
        size_t n_steps, next, running, finished;
        unsigned jobs;
        bool failed;
        bool starting; /* in kw_replay_start(): a failure is its return value, not fn */
        char *out;
        size_t len, cap;
        uint64_t start_us;
        kw_build_done_fn fn;
        void *userdata;
};

static void step_free(struct step *s)
{
        free(s->script);
        free(s->exports);
        free(s->depfile);
        free(s->target);
}

static void clear_steps(struct kw_replay_run *run)
{
        for (size_t i = 0; i < run->n_steps; i++)
                step_free(&run->steps[i]);
        free(run->steps);
        run->steps = NULL;
        run->n_steps = run->next = run->running = run->finished = 0;
}

static void run_free(struct kw_replay_run *run)
{
        clear_steps(run);
        for (size_t i = 0; run->envp && run->envp[i]; i++)
                free(run->envp[i]);
        free(run->envp);
        free(run->out);
        free(run);
}

static void emit(struct kw_replay_run *run, const char *s, size_t n)
{
        if (run->len + n > KW_REPLAY_OUTPUT_MAX)
                return; /* keep the head, drop the flood */
        if (run->len + n + 1 > run->cap) {
                size_t cap = run->cap ? run->cap : 4096;
                while (cap < run->len + n + 1)
                        cap *= 2;
                char *p = realloc(run->out, cap);
                if (!p)
                        return;
                run->out = p;
                run->cap = cap;
        }
        memcpy(run->out + run->len, s, n);
        run->len += n;
        run->out[run->len] = 0;
        if (kw_ui_verbosity() > 0) /* -v: the output live, as make's */
                kw_ui_text(s, n);
}

/* ---- the steps ---- */

/* A step: script (taken), then exports (taken, maybe NULL) when the target has
 * "__ksymtab" in its bytes; depfile (maybe "") removed when it succeeds. */
static int add_step(struct kw_replay_run *run, char *script, char *exports, const char *depfile, const char *target,
                    const char *quiet)
{
        char line[PATH_MAX + 32];
        struct stat st;

        struct step *nv = script ? realloc(run->steps, (run->n_steps + 1) * sizeof(*nv)) : NULL;
        if (!nv) {
                free(script);
                free(exports);
                return -ENOMEM;
        }
        run->steps = nv;
        struct step *s = &nv[run->n_steps++];
        *s = (struct step){ .run = run, .script = script, .exports = exports, .target = strdup(target), .fd = -1 };
        if (depfile && *depfile)
                s->depfile = strdup(depfile);
        if (!s->target || (depfile && *depfile && !s->depfile))
                return -ENOMEM;
        if (stat(target, &st) == 0)
                s->before = st.st_mtim;
        if (quiet) { /* kbuild's quiet line, as make prints it when the step starts */
                snprintf(line, sizeof(line), "  %-7s %s\n", quiet, target);
                emit(run, line, strlen(line));
        }
        return 0;
}

static int cmp_time(struct timespec a, struct timespec b)
{
        return a.tv_sec != b.tv_sec ? (a.tv_sec < b.tv_sec ? -1 : 1) :
               a.tv_nsec != b.tv_nsec ? (a.tv_nsec < b.tv_nsec ? -1 : 1) : 0;
}

/* make's test: is target missing or older than any of the prerequisites? */
static bool older(const char *target, const char *a, const char *b)
{
        struct stat t, p;

        if (stat(target, &t) < 0)
                return true;
        if (stat(a, &p) == 0 && cmp_time(p.st_mtim, t.st_mtim) > 0)
                return true;
        return b && stat(b, &p) == 0 && cmp_time(p.st_mtim, t.st_mtim) > 0;
}

static bool module_planned(const struct kw_replay *r, size_t m)
{
        for (size_t i = 0; i < r->state->n_obj; i++)
                if (r->plan.obj[i] && r->state->obj[i].module == m)
                        return true;
        return false;
}

/* The steps of one phase (maybe none). */
static int plan_phase(struct kw_replay_run *run)
{
        const struct kw_replay *r = run->r;
        const struct kw_rp_state *s = r->state;
        char *script, *exports, depfile[PATH_MAX];
        int e = 0;

        switch (run->phase) {
        case PH_OBJECTS:
                for (size_t i = 0; e == 0 && i < s->n_obj; i++)
                        if (r->plan.obj[i] && (e = kw_rp_object_scripts(r, &s->obj[i].f, &script, &exports, depfile)) == 0)
                                e = add_step(run, script, exports, depfile, s->obj[i].f.target, "CC [M]");
                break;
        case PH_LINKS:
                for (size_t m = 0; e == 0 && m < s->n_mod; m++)
                        if (s->mod[m].has_link && module_planned(r, m))
                                e = add_step(run, kw_rp_savecmd_script(&s->mod[m].link, true), NULL, NULL, s->mod[m].link.target,
                                             "LD [M]");
                break;
        case PH_MODPOST:
                e = add_step(run, kw_rp_modpost_script(r, run->rc), NULL, NULL, s->symvers.target, "MODPOST");
                break;
        case PH_MODO:
                for (size_t m = 0; e == 0 && m < s->n_mod; m++)
                        if (s->mod[m].modo.source && older(s->mod[m].modo.target, s->mod[m].modo.source, NULL))
                                e = add_step(run, kw_rp_modo_script(&s->mod[m].modo, depfile), NULL, depfile,
                                             s->mod[m].modo.target, "CC [M]");
                break;
        case PH_KO:
                for (size_t m = 0; e == 0 && m < s->n_mod; m++)
                        if (older(s->mod[m].ko.target, s->mod[m].link.target, s->mod[m].modo.target)) {
                                e = add_step(run, kw_rp_ko_script(r, &s->mod[m].ko), NULL, NULL, s->mod[m].ko.target, "LD [M]");
                                if (e == 0 && r->btf)
                                        emit(run, "  BTF [M] ", 10), emit(run, s->mod[m].ko.target,
                                                                          strlen(s->mod[m].ko.target)),
                                                emit(run, "\n", 1);
                        }
                break;
        case PH_DONE:
                break;
        }
        return e;
}

static void next_phase(struct kw_replay_run *run);

static void finish(struct kw_replay_run *run, bool ok)
{
        uint64_t ms = (kw_now_us() - run->start_us + 500) / 1000;
        kw_build_done_fn fn = run->fn;
        void *ud = run->userdata;
        char *out = run->out;
        size_t len = run->len;

        /* ok: every object is as make would leave it; the caller learns the new dependencies
         * fixdep wrote (kw_replay_after_make), after the load request went out. Failed: the
         * objects stay due (kw_replay_start marked them). */
        run->out = NULL;
        run_free(run);
        fn(ud, ok, out ? out : "", len, ms);
        free(out);
}

static int start_step(struct kw_replay_run *run, struct step *s);

/* A step that succeeded and has its exports script due: the same step runs that.
 * true when it started (or could not: the run failed). */
static bool run_exports(struct kw_replay_run *run, struct step *s)
{
        if (!s->exports || !kw_symvers_may_export(s->target))
                return false;
        free(s->script);
        s->script = s->exports;
        s->exports = NULL;
        s->started = s->exited = s->eof = false;
        if (start_step(run, s) < 0) {
                emit(run, "kmod-watch: cannot start sh\n", 28);
                run->failed = true;
                return false;
        }
        return true;
}

static void step_ended(struct kw_replay_run *run, struct step *s)
{
        struct stat st;

        if (!s->exited || !s->eof)
                return;
        run->running--;
        bool ok = WIFEXITED(s->wstatus) && WEXITSTATUS(s->wstatus) == 0;
        if (ok && s->depfile) {
                unlink(s->depfile);
                free(s->depfile);
                s->depfile = NULL;
        }
        if (ok && !run->failed && run_exports(run, s))
                return;
        run->finished++;
        kw_debug("replay: %s in %llu ms (%s)", strrchr(s->target, '/') ? strrchr(s->target, '/') + 1 : s->target,
                 (unsigned long long)((kw_now_us() - s->start_us) / 1000), run->phase == PH_OBJECTS ? "compile" :
                 run->phase == PH_MODPOST ? "modpost" : run->phase == PH_KO ? "link" : "step");
        if (!ok) {
                run->failed = true;
                if (stat(s->target, &st) == 0 && cmp_time(st.st_mtim, s->before) != 0)
                        unlink(s->target); /* .DELETE_ON_ERROR */
        }
        next_phase(run);
}

static int on_output(void *userdata, int fd, short revents)
{
        struct step *s = userdata;
        struct kw_replay_run *run = s->run;
        char buf[4096];

        (void)revents;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n > 0) {
                        emit(run, buf, (size_t)n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                kw_loop_del(run->loop, fd);
                close(fd);
                s->fd = -1;
                s->eof = true;
                step_ended(run, s);
                return 0;
        }
}

static void on_exit_step(void *userdata, pid_t pid, int wstatus)
{
        struct step *s = userdata;

        (void)pid;
        s->exited = true;
        s->wstatus = wstatus;
        step_ended(s->run, s);
}

static int start_step(struct kw_replay_run *run, struct step *s)
{
        char *argv[] = { "sh", "-c", s->script, NULL };
        struct kw_spawn_opts so = { .death_signal = SIGTERM, .cwd = run->rc->kdir, .envp = run->envp };
        int e = kw_spawn(argv, &so, &s->pid, &s->fd);

        if (e < 0)
                return e;
        s->started = true;
        s->start_us = kw_now_us();
        run->running++;
        e = kw_loop_add(run->loop, s->fd, POLLIN, on_output, s);
        if (e >= 0)
                e = kw_loop_add_child(run->loop, s->pid, on_exit_step, s);
        if (e < 0) {
                kill(-s->pid, SIGKILL);
                kw_loop_del(run->loop, s->fd);
                close(s->fd);
                (void)waitpid(s->pid, NULL, 0);
                s->fd = -1;
                run->running--;
                return e;
        }
        return 0;
}

/* Starts steps up to -j; when the phase is over, plans and starts the next one. */
static void next_phase(struct kw_replay_run *run)
{
        for (;;) {
                while (!run->failed && run->next < run->n_steps && run->running < run->jobs) {
                        int e = start_step(run, &run->steps[run->next++]);
                        if (e < 0) {
                                char line[128];
                                snprintf(line, sizeof(line), "kmod-watch: cannot start sh: %s\n", strerror(-e));
                                emit(run, line, strlen(line));
                                run->failed = true;
                        }
                }
                if (run->running)
                        return; /* their ends call this again */
                if (run->failed) {
                        if (!run->starting)
                                finish(run, false);
                        return;
                }
                if (run->next < run->n_steps)
                        continue;
                clear_steps(run);
                if (run->phase == PH_DONE) {
                        finish(run, true);
                        return;
                }
                run->phase++;
                if (plan_phase(run) < 0) {
                        emit(run, "kmod-watch: out of memory\n", 26);
                        run->failed = true;
                }
        }
}

/* LD_PRELOAD=kw-hugepages.so (before what the environment preloads already) in
 * envp: the compiler's arenas on huge pages (hugepages/kw-hugepages.c). Left out
 * with KMOD_WATCH_HUGEPAGES=0, or where it is not built (KMOD_WATCH_HUGEPAGES=PATH:
 * that file). 0 or -ENOMEM. */
static int add_hugepages(char ***envp)
{
        const char *off = getenv("KMOD_WATCH_HUGEPAGES");
        char so[PATH_MAX];
        size_t n = 0, at;

        if ((off && strcmp(off, "0") == 0) || kw_path_hugepages(so, sizeof(so)) < 0)
                return 0;
        while ((*envp)[n])
                n++;
        for (at = 0; at < n && strncmp((*envp)[at], "LD_PRELOAD=", 11) != 0; at++)
                ;
        const char *old = at < n ? (*envp)[at] + 11 : "";
        char *v = malloc(strlen(so) + strlen(old) + 16);
        if (!v)
                return -ENOMEM;
        sprintf(v, "LD_PRELOAD=%s%s%s", so, *old ? " " : "", old);
        if (at == n) {
                char **nv = realloc(*envp, (n + 2) * sizeof(*nv));
                if (!nv) {
                        free(v);
                        return -ENOMEM;
                }
                *envp = nv;
                nv[n + 1] = NULL;
        } else {
                free((*envp)[at]);
        }
        (*envp)[at] = v;
        kw_debug("replay: %s preloaded (KMOD_WATCH_HUGEPAGES=0 leaves it out)", so);
        return 0;
}

int kw_replay_start(struct kw_replay *r, struct kw_loop *l, const struct kw_recipe *rc, kw_build_done_fn fn,
                    void *userdata, struct kw_replay_run **ret)
{
        struct kw_recipe_cmd cmd;

        if (!r->state || !r->plan.n)
                return -EINVAL;
        int e = kw_recipe_cmd(rc, &cmd);
        if (e < 0)
                return e;
        struct kw_replay_run *run = calloc(1, sizeof(*run));
        if (!run) {
                kw_recipe_cmd_free(&cmd);
                return -ENOMEM;
        }
        run->envp = cmd.envp; /* make's environment (PWD aside: kbuild's commands do not read it) */
        cmd.envp = NULL;
        kw_recipe_cmd_free(&cmd);
        if (add_hugepages(&run->envp) < 0) {
                run_free(run);
                return -ENOMEM;
        }
        *run = (struct kw_replay_run){ .r = r, .rc = rc, .loop = l, .envp = run->envp, .phase = PH_OBJECTS,
                                       .jobs = rc->jobs ? rc->jobs : 1, .start_us = kw_now_us(), .fn = fn,
                                       .userdata = userdata };
        kw_debug("replay: %zu objects (in %s)", r->plan.n, rc->kdir);
        for (size_t i = 0; i < r->state->n_obj; i++)
                if (r->plan.obj[i])
                        r->state->obj[i].pending = true; /* until the replay succeeds */
        e = plan_phase(run);
        if (e < 0) {
                run_free(run);
                return e;
        }
        run->starting = true;
        next_phase(run);
        run->starting = false;
        if (run->failed && !run->running) {
                run_free(run); /* no step could start: make is not started either, said by the caller */
                return -ECHILD;
        }
        *ret = run;
        return 0;
}

void kw_replay_cancel(struct kw_replay_run *run)
{
        if (!run)
                return;
        for (size_t i = 0; i < run->n_steps; i++) {
                struct step *s = &run->steps[i];
                if (!s->started || (s->exited && s->eof))
                        continue;
                if (!s->exited) {
                        kill(-s->pid, SIGTERM);
                        kw_loop_forget_child(run->loop, s->pid);
                        (void)waitpid(s->pid, NULL, 0);
                }
                if (!s->eof) {
                        kw_loop_del(run->loop, s->fd);
                        close(s->fd);
                }
                /* whatever it was writing (its target, or the .cmd after it) is not to be
                 * trusted: gone, so make or the next replay builds it again */
                unlink(s->target);
        }
        run_free(run);
}
