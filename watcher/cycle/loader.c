/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loader.c — the unload/load sequence, one request at a time; the last
 * unload and the first load fused into one RELOAD (one round trip) when the
 * agent knows it, reported exactly as the two would be.
 */
#include "loader.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

static void next(struct kw_loader *ld);
static void mark_failed(struct kw_loader *ld, const char *name);

static void end(struct kw_loader *ld, enum kw_loader_end e, bool in_load, const char *what)
{
        struct kw_loader_report r = { .end = e, .failed = ld->failed, .in_load = in_load, .what = what };

        ld->step = KW_STEP_IDLE;
        ld->logging = false;
        if (e == KW_END_HUNG)
                ld->wedged = true;
        ld->hooks->ended(ld->core, &r);
}

static void no_answer_text(const struct kw_loader *ld, const struct kw_reply *r, bool load, char *text,
                           size_t size)
{
        if (r->kind == KW_REPLY_TIMEOUT)
                snprintf(text, size, load ? "the load did not return within %u s: its init function hangs (or "
                                            "needs more than --load-timeout)"
                                          : "the unload did not return within %u s (its exit function hangs?)",
                         ld->o->load_timeout_s);
        else
                snprintf(text, size, load ? "the guest went away during the load (%s)"
                                          : "the agent did not answer (%s)",
                         r->why ? r->why : "?");
}

/* The unload of loaded[idx] ended as r says: its event, and its line when it failed. */
static void unload_said(struct kw_loader *ld, const struct kw_reply *r)
{
        const struct kw_module *m = &ld->loaded.v[ld->idx];
        char text[1024];
        int err = r->kind == KW_REPLY_OK ? r->err : EIO;

        if (r->kind == KW_REPLY_OK)
                snprintf(text, sizeof(text), "%s", r->error);
        else
                no_answer_text(ld, r, false, text, sizeof(text));
        if (err != ENOENT) { /* ENOENT: a stale-module check that found none, not an unload */
                bool ok = err == 0;
                kw_ev_begin("unload");
                kw_ev_str("module", m->name);
                kw_ev_bool("ok", ok);
                kw_ev_int("guest_us", (long long)(r->kind == KW_REPLY_OK ? r->usec : 0));
                if (!ok)
                        kw_ev_str("error", text[0] ? text : strerror(err));
                if (r->kind == KW_REPLY_LOST)
                        kw_ev_bool("harness", true); /* the guest went away, not the module's doing */
                kw_ev_end();
                if (!ok) {
                        bool forceable = err == EWOULDBLOCK || err == EBUSY;
                        kw_err("unloading %s failed: %s%s", m->name, text[0] ? text : strerror(err),
                               forceable && !ld->o->force_unload && r->kind == KW_REPLY_OK
                                       ? " (--force-unload removes it anyway)"
                                       : "");
                        ld->failed = true;
                }
        }
}

static void on_unloaded(void *userdata, const struct kw_reply *r)
{
        struct kw_loader *ld = userdata;

        unload_said(ld, r);
        if (r->kind == KW_REPLY_TIMEOUT) {
                char what[128];
                snprintf(what, sizeof(what), "unloading %s", ld->loaded.v[ld->idx].name);
                end(ld, KW_END_HUNG, false, what);
                return;
        }
        if (r->kind == KW_REPLY_LOST && ld->step != KW_STEP_QUIT_UNLOAD) {
                end(ld, KW_END_LOST, false, NULL);
                return;
        }
        next(ld);
}

static void on_loaded(void *userdata, const struct kw_reply *r)
{
        struct kw_loader *ld = userdata;
        const struct kw_module *m = &ld->built.v[ld->idx];
        uint64_t now = kw_loop_now_us(ld->loop);
        uint64_t ms = (now - ld->load_start_us + 500) / 1000;
        int err = r->kind == KW_REPLY_OK ? r->err : EIO;
        char text[1024];

        if (r->kind == KW_REPLY_OK)
                snprintf(text, sizeof(text), "%s", r->error);
        else
                no_answer_text(ld, r, true, text, sizeof(text));
        if (err && ld->crash_what) {
                /* the agent's words ("killed by signal 9") are the aftermath: say what happened */
                char aftermath[sizeof(text)];
                snprintf(aftermath, sizeof(aftermath), "%s", text);
                snprintf(text, sizeof(text), "it crashed the kernel: %s (%.500s)", ld->crash_what, aftermath);
        }
        ld->load_total_us += now - ld->load_start_us;
        const char *deps[KW_REPLY_MAX_DEPS];
        for (size_t i = 0; i < r->n_deps; i++)
                deps[i] = r->deps[i];
        if (r->n_deps)
                kw_info("loaded in-kernel dependencies of %s: %s", m->name, r->deps_text);
        kw_ev_begin("load");
        kw_ev_str("module", m->name);
        kw_ev_bool("ok", err == 0);
        kw_ev_int("ms", (long long)ms);
        kw_ev_int("guest_us", (long long)(r->kind == KW_REPLY_OK ? r->usec : 0));
        kw_ev_strv("deps", deps, r->n_deps);
        if (err)
                kw_ev_str("error", text[0] ? text : strerror(err));
        if (r->kind == KW_REPLY_LOST && !ld->crash_what)
                kw_ev_bool("harness", true); /* the guest went away, not the module's doing */
        if (!err && r->sections[0])
                kw_ev_str("sections", r->sections);
        kw_ev_end();
        if (!err && ld->o->gdb_port && r->sections[0]) { /* what to paste into gdb for this load */
                char dir[PATH_MAX];
                kw_info("gdb: add-symbol-file %s/%s %s", realpath(ld->o->dir, dir) ? dir : ld->o->dir, m->relpath,
                        r->sections);
        }
        if (!err) {
                if (kw_modlist_add(&ld->loaded, m) < 0)
                        kw_warn("%s is loaded but kmod-watch lost track of it (no memory)", m->name);
                ld->idx++;
                next(ld);
                return;
        }
        ld->hooks->flush_reports(ld->core);
        kw_err("loading %s failed: %s", m->name, text[0] ? text : strerror(err));
        kw_ui_bell();
        ld->failed = true;
        if (r->kind == KW_REPLY_TIMEOUT) {
                char what[128];
                snprintf(what, sizeof(what), "loading %s", m->name);
                end(ld, KW_END_HUNG, true, what);
                return;
        }
        if (r->kind == KW_REPLY_LOST || ld->crash_what) {
                /* no guest, or a kernel that just crashed: nothing more is loaded into it */
                end(ld, r->kind == KW_REPLY_LOST ? KW_END_LOST : KW_END_DONE, true, NULL);
                return;
        }
        /* the module said no: the others of the directory are still tried */
        mark_failed(ld, m->name);
        ld->idx++;
        next(ld);
}

/* The modules of this sequence that did not load, "a,b" (what dependents are skipped for). */
static void mark_failed(struct kw_loader *ld, const char *name)
{
        size_t n = strlen(ld->not_loaded);

        snprintf(ld->not_loaded + n, sizeof(ld->not_loaded) - n, "%s%s", n ? "," : "", name);
}

/* A module that depends on one that did not load is not tried: said, and counted as failed. */
static bool skip_if_dependent(struct kw_loader *ld, const struct kw_module *m)
{
        char err[400];
        const char *p = ld->not_loaded;

        while (*p) {
                size_t n = strcspn(p, ",");
                char name[KW_MODULE_NAME_LEN];
                snprintf(name, sizeof(name), "%.*s", (int)n, p);
                p += n + (p[n] == ',');
                if (!kw_module_depends_on(m, name))
                        continue;
                snprintf(err, sizeof(err), "not loaded: it depends on %s, which did not load", name);
                kw_ev_begin("load");
                kw_ev_str("module", m->name);
                kw_ev_bool("ok", false);
                kw_ev_int("ms", 0);
                kw_ev_int("guest_us", 0);
                kw_ev_str("error", err);
                kw_ev_end();
                kw_err("%s %s", m->name, err);
                ld->failed = true;
                mark_failed(ld, m->name);
                return true;
        }
        return false;
}

static void send_load(void *userdata, int err)
{
        struct kw_loader *ld = userdata;
        const struct kw_module *m = &ld->built.v[ld->idx];
        char params[1024];

        if (ld->step != KW_STEP_LOAD)
                return; /* the guest went away while the module was copied */
        if (err < 0) {
                kw_err("cannot copy %s to the guest: %s", m->relpath, strerror(-err));
                end(ld, KW_END_COPY_FAILED, true, NULL);
                return;
        }
        kw_module_params(ld->o->param, ld->o->n_param, m->name, params, sizeof(params));
        ld->load_start_us = kw_loop_now_us(ld->loop);
        ld->suspect = true;
        int r = ld->port->load(ld->impl, ld->load_path, params, ld->o->load_timeout_s * 1000u, on_loaded, ld);
        if (r < 0) {
                kw_err("cannot send the load request: %s", strerror(-r));
                end(ld, KW_END_NOT_SENT, true, NULL);
        }
}

/* ---- the last unload and the first load as one RELOAD ---- */

/* UNLOADED: loaded[idx] is gone (or was not there); built[fuse_idx] is loading. */
static void on_fused_unloaded(void *userdata, const struct kw_reply *r)
{
        struct kw_loader *ld = userdata;

        if (!ld->fused || ld->fused_unloaded)
                return;
        unload_said(ld, r);
        ld->fused_unloaded = true;
        ld->loaded.n = ld->idx;
        ld->step = KW_STEP_LOAD;
        ld->idx = ld->fuse_idx;
        ld->load_start_us = kw_loop_now_us(ld->loop);
        ld->suspect = true;
}

static void on_fused_done(void *userdata, const struct kw_reply *r)
{
        struct kw_loader *ld = userdata;

        if (!ld->fused)
                return;
        if (!ld->fused_unloaded && r->kind == KW_REPLY_OK && !r->has_unload && r->err == EOPNOTSUPP) {
                /* an agent of before RELOAD: nothing happened; one request at a time from now on */
                kw_debug("the guest agent does not know RELOAD: unloading and loading one by one");
                ld->fused = false;
                ld->no_reload = true;
                ld->idx = ld->loaded.n;
                next(ld);
                return;
        }
        if (!ld->fused_unloaded && r->kind == KW_REPLY_OK && r->has_unload &&
            (r->unload_err == 0 || r->unload_err == ENOENT)) {
                /* the load was tried but its UNLOADED never came: the RESULT says it all */
                struct kw_reply u = { .kind = KW_REPLY_OK, .err = r->unload_err };
                on_fused_unloaded(ld, &u);
        }
        ld->fused = false;
        if (ld->fused_unloaded)
                on_loaded(ld, r);
        else
                on_unloaded(ld, r); /* the unload failed, hung, or the agent died in it: no load */
}

static void send_reload(void *userdata, int err)
{
        struct kw_loader *ld = userdata;
        const struct kw_module *m = &ld->built.v[ld->fuse_idx];
        char params[1024];

        if (ld->step != KW_STEP_UNLOAD || !ld->fused)
                return; /* the guest went away while the module was copied */
        if (err < 0) {
                ld->fused = false;
                kw_err("cannot copy %s to the guest: %s", m->relpath, strerror(-err));
                end(ld, KW_END_COPY_FAILED, true, NULL);
                return;
        }
        kw_module_params(ld->o->param, ld->o->n_param, m->name, params, sizeof(params));
        int r = ld->port->reload(ld->impl, ld->loaded.v[ld->idx].name, ld->o->force_unload, ld->load_path, params,
                                 ld->o->load_timeout_s * 1000u, on_fused_unloaded, on_fused_done, ld);
        if (r == 0)
                return;
        ld->fused = false;
        if (r == -EOPNOTSUPP) {
                ld->no_reload = true;
                ld->idx = ld->loaded.n;
                next(ld);
                return;
        }
        kw_err("cannot send the reload request: %s", strerror(-r));
        end(ld, KW_END_NOT_SENT, false, NULL);
}

/* The last unload of a reload, when a load follows it: sent with that load as
 * one request. true: it is under way. */
static bool fuse_start(struct kw_loader *ld)
{
        size_t j = 0;

        if (ld->step != KW_STEP_UNLOAD || ld->no_reload || !ld->port->reload || ld->failed ||
            ld->loaded.n != ld->n_keep + 1)
                return false;
        while (j < ld->built.n && !ld->built.v[j].reload)
                j++;
        if (j == ld->built.n)
                return false;
        ld->idx = ld->loaded.n - 1;
        ld->fuse_idx = j;
        ld->fused = true;
        ld->fused_unloaded = false;
        int r = ld->port->deliver(ld->impl, &ld->built.v[j], ld->load_path, sizeof(ld->load_path), send_reload, ld);
        if (r < 0) {
                ld->fused = false;
                kw_err("cannot copy %s to the guest: %s", ld->built.v[j].relpath, strerror(-r));
                end(ld, KW_END_NOT_SENT, true, NULL);
        }
        return true;
}

/* The unload phase: what is loaded beyond n_keep, last first. true: a request is out. */
static bool unload_next(struct kw_loader *ld)
{
        if (ld->step != KW_STEP_UNLOAD)
                ld->n_keep = 0;
        if (ld->loaded.n > ld->n_keep) {
                ld->idx = ld->loaded.n - 1;
                if (ld->port->unload(ld->impl, ld->loaded.v[ld->idx].name, ld->o->force_unload,
                                     ld->o->load_timeout_s * 1000u, on_unloaded, ld) == 0)
                        return true;
                ld->loaded.n = ld->n_keep;
        }
        return false;
}

static void next(struct kw_loader *ld)
{
        if (ld->step == KW_STEP_UNLOAD || ld->step == KW_STEP_QUIT_UNLOAD || ld->step == KW_STEP_UNLOAD_ONLY) {
                if (ld->idx < ld->loaded.n) /* on_unloaded finished loaded[idx] */
                        ld->loaded.n = ld->idx;
                if (fuse_start(ld) || unload_next(ld))
                        return;
                if (ld->step == KW_STEP_UNLOAD_ONLY) {
                        end(ld, KW_END_UNLOADED, false, NULL);
                        return;
                }
                if (ld->step == KW_STEP_QUIT_UNLOAD) {
                        end(ld, KW_END_QUIT, false, NULL);
                        return;
                }
                if (ld->failed) {
                        end(ld, KW_END_DONE, false, NULL);
                        return;
                }
                ld->step = KW_STEP_LOAD;
                ld->idx = 0;
        }
        for (;; ld->idx++) {
                if (ld->idx >= ld->built.n)
                        break;
                if (!ld->built.v[ld->idx].reload)
                        continue; /* unchanged and independent of what changed: stays loaded */
                if (!skip_if_dependent(ld, &ld->built.v[ld->idx]))
                        break;
        }
        if (ld->idx >= ld->built.n) {
                end(ld, KW_END_DONE, true, NULL);
                return;
        }
        const struct kw_module *m = &ld->built.v[ld->idx];
        /* 9p: the share has it already; SSH: copied first (send_load runs when it is there) */
        int r = ld->port->deliver(ld->impl, m, ld->load_path, sizeof(ld->load_path), send_load, ld);
        if (r < 0) {
                kw_err("cannot copy %s to the guest: %s", m->relpath, strerror(-r));
                end(ld, KW_END_NOT_SENT, true, NULL);
        }
}

void kw_loader_reload(struct kw_loader *ld, const struct kw_module *built, size_t n_built,
                      const struct kw_plan *plan)
{
        ld->built.n = 0;
        for (size_t i = 0; i < n_built; i++)
                if (kw_modlist_add(&ld->built, &built[i]) < 0) {
                        kw_err("cannot load %s: out of memory", built[i].name);
                        return;
                }
        ld->failed = false;
        ld->not_loaded[0] = 0;
        ld->load_total_us = 0;
        ld->suspect = false;
        ld->n_keep = plan->keep;
        ld->logging = true;
        ld->step = KW_STEP_UNLOAD;
        ld->idx = ld->loaded.n; /* nothing finished yet */
        next(ld);
}

void kw_loader_unload_all(struct kw_loader *ld)
{
        ld->step = KW_STEP_UNLOAD_ONLY;
        ld->idx = ld->loaded.n;
        ld->logging = true;
        next(ld);
}

bool kw_loader_quit(struct kw_loader *ld)
{
        if (!ld->loaded.n || ld->step != KW_STEP_IDLE || ld->wedged || !ld->port->channel_up(ld->impl))
                return false;
        ld->step = KW_STEP_QUIT_UNLOAD;
        ld->idx = ld->loaded.n;
        next(ld);
        return true;
}

void kw_loader_reset(struct kw_loader *ld)
{
        ld->loaded.n = 0;
        ld->step = KW_STEP_IDLE;
        ld->logging = false;
        ld->wedged = false;
        ld->suspect = false;
        ld->no_reload = false; /* a new agent: ask it */
}

bool kw_loader_idle(const struct kw_loader *ld)
{
        return ld->step == KW_STEP_IDLE;
}

bool kw_loader_owns_line(const struct kw_loader *ld, const char *text)
{
        if (ld->logging)
                return true;
        for (size_t i = 0; i < ld->loaded.n; i++) {
                size_t n = strlen(ld->loaded.v[i].name);
                if (strncmp(text, ld->loaded.v[i].name, n) == 0 && text[n] == ':')
                        return true;
        }
        return false;
}

void kw_loader_init(struct kw_loader *ld, struct kw_loop *l, const struct kw_opts *o,
                    const struct kw_cycle_port *port, void *impl, const struct kw_loader_hooks *hooks, void *core)
{
        *ld = (struct kw_loader){ .port = port, .impl = impl, .hooks = hooks, .core = core, .o = o, .loop = l };
}

void kw_loader_fini(struct kw_loader *ld)
{
        kw_modlist_free(&ld->loaded);
        kw_modlist_free(&ld->built);
}
