/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay.c — the replay build's learning and decision (see replay.h): after
 * a successful make, the .cmd files kbuild wrote in DIR are read into a
 * kw_rp_state with a fingerprint of what would make a replay wrong; before a
 * build, the fingerprint is taken again and kw_rp_plan() (pure, in
 * replay-cmd.c) decides.
 */
#include "replay-int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ui.h"

#define KW_CMDFILE_MAX (16u << 20)

int kw_replay_new(struct kw_replay **ret)
{
        struct kw_replay *r = calloc(1, sizeof(*r));

        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

static void forget(struct kw_replay *r)
{
        kw_rp_state_free(r->state);
        free(r->state);
        r->state = NULL;
        kw_rp_plan_free(&r->plan);
}

static void learn_now(struct kw_replay *r)
{
        const struct kw_recipe *rc = r->rc;

        if (!rc)
                return;
        r->rc = NULL;
        if (r->learn)
                kw_timer_disarm(r->learn);
        if (r->due_ok || !r->due_replayed)
                kw_replay_after_make(r, rc, r->due_ok);
        if (r->due_ok)
                kw_replay_persist(r, rc);
}

static void on_learn(void *userdata)
{
        learn_now(userdata);
}

int kw_replay_use_disk(struct kw_replay *r, const struct kw_filter *f, struct kw_loop *l)
{
        r->disk = f;
        return l ? kw_timer_new(l, on_learn, r, &r->learn) : 0;
}

void kw_replay_free(struct kw_replay *r)
{
        if (!r)
                return;
        learn_now(r); /* --once: the state for the next run */
        kw_timer_free(r->learn);
        forget(r);
        free(r);
}

static char *read_text(const char *path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return NULL;
        char *buf = NULL;
        if (fstat(fd, &st) == 0 && st.st_size >= 0 && (size_t)st.st_size < KW_CMDFILE_MAX &&
            (buf = malloc((size_t)st.st_size + 1))) {
                size_t n = 0;
                for (ssize_t k; n < (size_t)st.st_size && (k = read(fd, buf + n, (size_t)st.st_size - n)) > 0;)
                        n += (size_t)k;
                buf[n] = 0;
        }
        close(fd);
        return buf;
}

/* The .cmd file kbuild writes for target (an absolute path): DIR/.NAME.cmd. */
static int read_cmdfile(const char *target, struct kw_cmdfile *ret)
{
        char path[PATH_MAX];
        const char *slash = strrchr(target, '/');

        if (!slash || (size_t)snprintf(path, sizeof(path), "%.*s/.%s.cmd", (int)(slash - target), target, slash + 1) >=
                              sizeof(path))
                return -ENAMETOOLONG;
        char *text = read_text(path);
        if (!text)
                return -ENOENT;
        int e = kw_cmdfile_parse(text, ret);
        free(text);
        if (e == 0 && strcmp(ret->target, target) != 0) {
                kw_cmdfile_free(ret);
                e = -EBADMSG;
        }
        return e;
}

static void fp_add(struct kw_rp_fp *fp, size_t *n, const char *label, const char *value)
{
        if (*n >= KW_RP_FP_MAX)
                return;
        snprintf(fp[*n].label, sizeof(fp[*n].label), "%s", label);
        snprintf(fp[*n].value, sizeof(fp[*n].value), "%s", value ? value : "");
        (*n)++;
}

static void fp_file(struct kw_rp_fp *fp, size_t *n, const char *label, const char *kdir, const char *rel)
{
        char path[PATH_MAX * 2], v[128] = "-";
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", kdir, rel);
        if (stat(path, &st) == 0)
                snprintf(v, sizeof(v), "%lld.%09ld %lld %llu", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         (long long)st.st_size, (unsigned long long)st.st_ino);
        fp_add(fp, n, label, v);
}

/* What a replay assumes did not change since make ran. */
size_t kw_rp_fingerprint(const struct kw_recipe *rc, struct kw_rp_fp *fp)
{
        static const char *const env[] = { "KBUILD_CHECKSRC", "KBUILD_EXTRA_WARN", "KBUILD_SYMTYPES", "KBUILD_PRESERVE",
                                           "KBUILD_MODPOST_WARN", "KBUILD_EXTRA_SYMBOLS", "KCFLAGS", "KCPPFLAGS" };
        char kdir[PATH_MAX] = "", line[512] = "";
        struct kw_recipe_cmd cmd;
        size_t n = 0;

        if (!rc->kdir || !realpath(rc->kdir, kdir))
                snprintf(kdir, sizeof(kdir), "%s", rc->kdir ? rc->kdir : "");
        fp_add(fp, &n, "KDIR", kdir);
        if (!rc->kdir || kw_kdir_release(rc->kdir, line, sizeof(line)) < 0)
                line[0] = 0;
        fp_add(fp, &n, "KDIR's kernel release", line);
        line[0] = 0;
        if (kw_recipe_cmd(rc, &cmd) == 0) {
                for (size_t i = 0; i < sizeof(cmd.argv) / sizeof(*cmd.argv) && cmd.argv[i]; i++)
                        if (strncmp(cmd.argv[i], "-j", 2) != 0) /* -j changes nothing built */
                                snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s ", cmd.argv[i]);
                kw_recipe_cmd_free(&cmd);
        }
        fp_add(fp, &n, "the make command", line);
        fp_add(fp, &n, "ARCH", rc->kbuild_arch);
        fp_add(fp, &n, "CROSS_COMPILE", rc->cross_compile);
        fp_file(fp, &n, "KDIR's .config", kdir, ".config");
        fp_file(fp, &n, "KDIR's include/config/auto.conf", kdir, "include/config/auto.conf");
        fp_file(fp, &n, "KDIR's Module.symvers", kdir, "Module.symvers");
        fp_file(fp, &n, "KDIR's Makefile", kdir, "Makefile");
        fp_file(fp, &n, "vmlinux in KDIR", kdir, "vmlinux");
        fp_file(fp, &n, "kbuild's modpost", kdir, "scripts/mod/modpost");
        fp_file(fp, &n, "kbuild's fixdep", kdir, "scripts/basic/fixdep");
        line[0] = 0;
        for (size_t i = 0; i < sizeof(env) / sizeof(*env); i++) {
                const char *v = getenv(env[i]);
                if (v)
                        snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s=%s ", env[i], v);
        }
        fp_add(fp, &n, "the KBUILD_* environment", line);
        return n;
}

static bool config_on(const char *conf, const char *name)
{
        char key[96];

        snprintf(key, sizeof(key), "\n%s=y", name);
        return conf && strstr(conf, key);
}

/* The M= directory of a dkms.conf whose MAKE is kbuild's own, as DKMS's default is
 * ("make -jN KERNELRELEASE=R -C KDIR M=TREE/NAME/VERSION/build"), with no PRE_BUILD:
 * then DKMS runs nothing but that make, and a replay is as safe as with kbuild. */
static bool dkms_kbuild(const struct kw_recipe *rc, char *mdir, size_t size)
{
        char cmd[8192], want[PATH_MAX * 2];
        bool kdir = false;

        mdir[0] = 0;
        if (rc->dkms.pre_build[0] || !rc->kdir ||
            kw_dkms_command(&rc->dkms, rc->release, rc->kdir, rc->dkms_tree, rc->jobs, cmd, sizeof(cmd)) < 0 ||
            strpbrk(cmd, "'\"`$;&|<>()\\\n"))
                return false;
        snprintf(want, sizeof(want), "%s/%s/%s/build", rc->dkms_tree, rc->dkms.package_name,
                 rc->dkms.package_version);
        char *save = NULL, *tok = strtok_r(cmd, " \t", &save);
        if (!tok || strcmp(tok, "make") != 0)
                return false;
        while ((tok = strtok_r(NULL, " \t", &save))) {
                if (strcmp(tok, "-C") == 0) {
                        tok = strtok_r(NULL, " \t", &save);
                        kdir = tok && strcmp(tok, rc->kdir) == 0;
                        if (!kdir)
                                return false;
                } else if (strncmp(tok, "M=", 2) == 0 && strcmp(tok + 2, want) == 0) {
                        snprintf(mdir, size, "%s", tok + 2);
                } else if (strncmp(tok, "-j", 2) != 0 && strncmp(tok, "KERNELRELEASE=", 14) != 0 &&
                           strcmp(tok, "modules") != 0) {
                        return false;
                }
        }
        return kdir && mdir[0];
}

/* The directory kbuild builds in (its M=, what its .cmd files name), or false. */
static bool m_dir(const struct kw_recipe *rc, char *mdir, size_t size)
{
        if (rc->kind == KW_RECIPE_KBUILD) {
                snprintf(mdir, size, "%s", rc->dir);
                return true;
        }
        return rc->kind == KW_RECIPE_DKMS && dkms_kbuild(rc, mdir, size);
}

/* Why DIR cannot be replayed with this recipe and KDIR at all, or NULL. */
static const char *not_replayable(struct kw_replay *r, const struct kw_recipe *rc, const char *conf, char *buf,
                                  size_t size)
{
        char release[128] = "", path[PATH_MAX * 2];
        struct stat st;

        if (!m_dir(rc, path, sizeof(path))) {
                snprintf(buf, size, "building with %s, which may do more than kbuild's rules%s",
                         kw_recipe_name(rc->kind),
                         rc->kind == KW_RECIPE_DKMS ? " (its MAKE is not DKMS's default, or it has a PRE_BUILD)" : "");
                return buf;
        }
        if (!rc->kdir || kw_kdir_release(rc->kdir, release, sizeof(release)) < 0 || strncmp(release, "6.1.", 4) != 0) {
                snprintf(buf, size, "replay knows kbuild 6.1's rules; KDIR is %s", rc->kdir ? release : "not set");
                return buf;
        }
        if (!conf)
                return "KDIR has no include/config/auto.conf";
        if (config_on(conf, "CONFIG_TRIM_UNUSED_KSYMS") || config_on(conf, "CONFIG_LTO_CLANG") ||
            config_on(conf, "CONFIG_FTRACE_MCOUNT_USE_RECORDMCOUNT"))
                return "KDIR's config adds steps replay does not know (TRIM_UNUSED_KSYMS, LTO_CLANG or recordmcount)";
        snprintf(path, sizeof(path), "%s/vmlinux", rc->kdir);
        if (r->btf && stat(path, &st) == 0)
                return "KDIR has a vmlinux: modules get BTF, which make adds";
        return NULL;
}

/* The toolchain's nm, from the .ko link's ld: "ld" → "nm", "aarch64-linux-gnu-ld" → "aarch64-linux-gnu-nm". */
static void find_nm(struct kw_replay *r, const char *ld_raw)
{
        const char *p = ld_raw + strspn(ld_raw, " ");
        size_t wl = strcspn(p, " ");

        if (wl >= 6 && strncmp(p + wl - 6, "ld.lld", 6) == 0)
                snprintf(r->nm, sizeof(r->nm), "llvm-nm");
        else if (wl >= 2 && strncmp(p + wl - 2, "ld", 2) == 0)
                snprintf(r->nm, sizeof(r->nm), "%.*snm", (int)(wl - 2), p);
        else
                snprintf(r->nm, sizeof(r->nm), "nm");
}

/* $(srctree) from -fmacro-prefix-map=SRCTREE/= in a compile command, else KDIR. */
static void find_srctree(struct kw_replay *r, const char *raw, const char *kdir)
{
        const char *m = strstr(raw, "-fmacro-prefix-map=");
        char path[PATH_MAX * 2];
        struct stat st;

        snprintf(r->srctree, sizeof(r->srctree), "%s", kdir);
        if (m) {
                m += 19;
                size_t l = strcspn(m, "= ");
                if (l > 1 && m[l] == '=' && m[l - 1] == '/')
                        snprintf(r->srctree, sizeof(r->srctree), "%.*s", (int)(l - 1), m);
        }
        snprintf(path, sizeof(path), "%s/scripts/check-local-export", r->srctree);
        r->local_export = stat(path, &st) == 0;
}

static int add_object(struct kw_rp_state *s, const char *dir, const char *target, size_t module, char *why,
                      size_t size)
{
        struct kw_rp_obj *nv = realloc(s->obj, (s->n_obj + 1) * sizeof(*nv));

        if (!nv)
                return -ENOMEM;
        s->obj = nv;
        struct kw_rp_obj *o = &nv[s->n_obj];
        *o = (struct kw_rp_obj){ .module = module };
        int e = read_cmdfile(target, &o->f);
        if (e < 0) {
                snprintf(why, size, "%s has no readable .cmd file", target);
                return e;
        }
        s->n_obj++;
        const char *src = o->f.source;
        size_t sl = src ? strlen(src) : 0;
        if (sl < 2 || strcmp(src + sl - 2, ".c") != 0) {
                snprintf(why, size, "%s is not compiled from a .c file", target);
                return -EINVAL;
        }
        return kw_rp_obj_local(o, dir);
}

static int add_module(struct kw_replay *r, struct kw_rp_state *s, const char *dir, const char *ko, char *why,
                      size_t size)
{
        size_t dl = strlen(dir), kl = strlen(ko);
        char name[PATH_MAX], target[PATH_MAX + 8];

        if (strncmp(ko, dir, dl) != 0 || ko[dl] != '/' || strchr(ko + dl + 1, '/') || kl < dl + 5 ||
            strcmp(ko + kl - 3, ".ko") != 0) {
                snprintf(why, size, "%s is not a module in DIR itself (sub-directories are left to make)", ko);
                return -EINVAL;
        }
        snprintf(name, sizeof(name), "%.*s", (int)(kl - 3), ko);
        struct kw_rp_mod *nv = realloc(s->mod, (s->n_mod + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        s->mod = nv;
        struct kw_rp_mod *m = &nv[s->n_mod++];
        *m = (struct kw_rp_mod){ 0 };
        snprintf(target, sizeof(target), "%s.mod.o", name);
        int e = read_cmdfile(ko, &m->ko);
        if (e == 0)
                e = read_cmdfile(target, &m->modo);
        snprintf(target, sizeof(target), "%s.o", name);
        if (e == 0)
                e = read_cmdfile(target, &m->link);
        if (e < 0) {
                snprintf(why, size, "%s: kbuild's .cmd files are missing or unreadable", ko);
                return e;
        }
        if (!r->nm[0])
                find_nm(r, m->ko.raw);
        if (m->link.source)
                return add_object(s, dir, m->link.target, s->n_mod - 1, why, size);
        /* several objects linked by ld -r @NAME.mod: the parts, one per line */
        m->has_link = true;
        snprintf(target, sizeof(target), "%s.mod", name);
        char *parts = read_text(target);
        if (!parts) {
                snprintf(why, size, "%.400s is missing", target);
                return -ENOENT;
        }
        e = 0;
        for (char *p = parts, *nl; e == 0 && *p; p = nl ? nl + 1 : p + strlen(p)) {
                nl = strchr(p, '\n');
                if (nl)
                        *nl = 0;
                if (*p)
                        e = add_object(s, dir, p, s->n_mod - 1, why, size);
        }
        free(parts);
        return e;
}

static int learn(struct kw_replay *r, const struct kw_recipe *rc, struct kw_rp_state *s, char *why, size_t size)
{
        char path[PATH_MAX * 2], dir[PATH_MAX];

        if (!m_dir(rc, dir, sizeof(dir)))
                return -EINVAL;

        snprintf(path, sizeof(path), "%s/modules.order", dir);
        char *order = read_text(path);
        if (!order) {
                snprintf(why, size, "make wrote no modules.order");
                return -ENOENT;
        }
        int e = 0;
        for (char *p = order, *nl; e == 0 && *p; p = nl ? nl + 1 : p + strlen(p)) {
                nl = strchr(p, '\n');
                if (nl)
                        *nl = 0;
                if (*p)
                        e = add_module(r, s, dir, p, why, size);
        }
        free(order);
        if (e == 0 && !s->n_mod) {
                snprintf(why, size, "make built no module");
                e = -ENOENT;
        }
        if (e == 0 && (read_cmdfile(path, &s->order) < 0 ||
                       (snprintf(path, sizeof(path), "%s/Module.symvers", dir), read_cmdfile(path, &s->symvers)) < 0)) {
                snprintf(why, size, "kbuild's .cmd files for modules.order and Module.symvers are missing");
                e = -ENOENT;
        }
        if (e == 0)
                find_srctree(r, s->obj[0].f.raw, rc->kdir);
        return e;
}

void kw_replay_after_make(struct kw_replay *r, const struct kw_recipe *rc, bool ok)
{
        r->rc = NULL; /* nothing else due */
        if (r->learn)
                kw_timer_disarm(r->learn);
        forget(r);
        if (ok) /* a failed make: nothing known until one succeeds */
                kw_rp_learn(r, rc);
}

void kw_replay_after_build(struct kw_replay *r, const struct kw_recipe *rc, bool ok, size_t replayed)
{
        r->rc = rc;
        r->due_ok = ok;
        r->due_replayed = replayed;
        if (r->learn)
                kw_timer_arm_ms(r->learn, KW_REPLAY_LEARN_DELAY_MS);
        else
                learn_now(r);
}

void kw_rp_learn(struct kw_replay *r, const struct kw_recipe *rc)
{
        char path[PATH_MAX * 2], why[512];

        forget(r);
        struct kw_rp_state *s = calloc(1, sizeof(*s));
        if (!s)
                return;
        snprintf(path, sizeof(path), "%s/include/config/auto.conf", rc->kdir ? rc->kdir : "");
        char *conf = read_text(path);
        r->nm[0] = 0;
        r->modversions = config_on(conf, "CONFIG_MODVERSIONS");
        r->btf = config_on(conf, "CONFIG_DEBUG_INFO_BTF_MODULES");
        const char *no = not_replayable(r, rc, conf, why, sizeof(why));
        free(conf);
        if (!no && learn(r, rc, s, why, sizeof(why)) < 0)
                no = why;
        if (no) {
                kw_rp_state_free(s);
                s->why_not = strdup(no);
                kw_debug("replay: %s", no);
        } else {
                if (r->n_fp) { /* KDIR as the build saw it: a change since then is a change */
                        memcpy(s->fp, r->fp, sizeof(s->fp));
                        s->n_fp = r->n_fp;
                } else {
                        s->n_fp = kw_rp_fingerprint(rc, s->fp);
                }
                kw_debug("replay: learned %zu objects in %zu modules", s->n_obj, s->n_mod);
        }
        r->state = s;
}

struct exists_ctx {
        const char *dir;
};

static bool exists(void *ud, const char *rel)
{
        const struct exists_ctx *c = ud;
        char path[PATH_MAX * 2];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", c->dir, rel);
        return lstat(path, &st) == 0;
}

size_t kw_replay_decide(struct kw_replay *r, const struct kw_recipe *rc, bool disabled, const struct kw_batch *b,
                        char *why, size_t size)
{
        struct exists_ctx ctx = { rc->dir };

        learn_now(r); /* what the last build wrote, if its timer has not come yet */
        kw_rp_plan_free(&r->plan);
        r->n_fp = kw_rp_fingerprint(rc, r->fp); /* this build's, and the plan's */
        clock_gettime(CLOCK_REALTIME_COARSE, &r->decided); /* a source newer than this: maybe not built */
        if (disabled) {
                snprintf(why, size, "--no-replay");
                return 0;
        }
        struct kw_batch since = { 0 }, all = { 0 };
        if (!r->state && r->disk && !r->disk_tried) { /* the first build: what the last run left */
                r->disk_tried = true;
                if (kw_rp_disk_load(r, rc, &since, why, size) < 0) {
                        kw_batch_free(&since);
                        return 0;
                }
                if (!since.n && (!b || !b->n)) {
                        snprintf(why, size, "nothing changed since the last build");
                        return 0;
                }
        }
        /* the paths that changed since then and in this batch */
        char **paths = calloc(since.n + (b ? b->n : 0) + 1, sizeof(*paths));
        if (!paths) {
                kw_batch_free(&since);
                snprintf(why, size, "%s", strerror(ENOMEM));
                return 0;
        }
        for (size_t i = 0; i < since.n; i++)
                paths[all.n++] = since.paths[i];
        for (size_t i = 0; b && i < b->n; i++)
                paths[all.n++] = b->paths[i];
        all.paths = paths;
        int n = kw_rp_plan(r->state, r->fp, r->state && !r->state->why_not ? r->n_fp : 0, all.n ? &all : b, exists,
                           &ctx, &r->plan);
        free(paths);
        kw_batch_free(&since);
        if (n <= 0) {
                snprintf(why, size, "%s", n < 0 ? strerror(-n) : r->plan.why);
                kw_rp_plan_free(&r->plan);
                return 0;
        }
        return (size_t)n;
}
