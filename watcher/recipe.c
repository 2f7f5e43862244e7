/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recipe.c — see recipe.h. What DKMS does is read from its `dkms` script
 * (read_conf, prepare_build, do_build): it sources dkms.conf with kernelver,
 * arch, kernel_source_dir, dkms_tree, source_tree, module and module_version
 * set, runs MAKE[0] (or `make -C $kernel_source_dir
 * M=$dkms_tree/$module/$module_version/build`) with its leading "make" turned
 * into "make -jN KERNELRELEASE=$kernelver", by eval in bash, in the build
 * directory, and finds BUILT_MODULE_LOCATION[n]BUILT_MODULE_NAME[n].ko there.
 */
#include "recipe.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "paths.h"
#include "spawn.h"
#include "ui.h"

extern char **environ;

static char *read_text(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return NULL;
        FILE *m = open_memstream(&buf, &len);
        if (m) {
                char chunk[4096];
                size_t n;
                while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (4u << 20))
                        fwrite(chunk, 1, n, m);
                fclose(m);
        }
        fclose(f);
        return buf;
}

static bool exists(const char *dir, const char *name)
{
        char path[PATH_MAX + 64];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int kw_kdir_release(const char *kdir, char *buf, size_t size)
{
        char path[PATH_MAX + 64];

        if (!kdir)
                return -ENOENT;
        /* UTS_RELEASE is what vermagic says (Debian's kernel.release says "6.1.192"
         * where UTS_RELEASE and uname -r say "6.1.0-57-amd64") */
        snprintf(path, sizeof(path), "%s/include/generated/utsrelease.h", kdir);
        char *text = read_text(path);
        if (text) {
                const char *q = strstr(text, "UTS_RELEASE \"");
                if (q) {
                        q += 13;
                        snprintf(buf, size, "%.*s", (int)strcspn(q, "\"\n"), q);
                        free(text);
                        return buf[0] ? 0 : -EBADMSG;
                }
                free(text);
        }
        snprintf(path, sizeof(path), "%s/include/config/kernel.release", kdir);
        text = read_text(path);
        if (!text)
                return -errno;
        text[strcspn(text, "\r\n")] = 0;
        snprintf(buf, size, "%s", text);
        free(text);
        return buf[0] ? 0 : -EBADMSG;
}

bool kw_makefile_sets_obj_m(const char *text)
{
        for (const char *l = text; l && *l;) {
                const char *e = strchr(l, '\n');
                size_t n = e ? (size_t)(e - l) : strlen(l);
                const char *p = l;
                while (p < l + n && isspace((unsigned char)*p))
                        p++;
                if (!strncmp(p, "obj-m", 5) || !strncmp(p, "obj-$(CONFIG_", 13) || !strncmp(p, "obj-${CONFIG_", 13))
                        return true;
                l = e ? e + 1 : NULL;
        }
        return false;
}

const char *kw_makefile_kdir_var(const char *text)
{
        static const char *const names[] = { "KERNEL_DIR", "KERNELDIR", "KERNEL_SRC", "KERNEL_TREE", "KSRC", "KDIR" };
        char pat[32];

        if (!text)
                return NULL;
        /* the name make -C uses wins; then any we know that is read at all */
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
                snprintf(pat, sizeof(pat), "-C $(%s)", names[i]);
                if (strstr(text, pat))
                        return names[i];
                snprintf(pat, sizeof(pat), "-C ${%s}", names[i]);
                if (strstr(text, pat))
                        return names[i];
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
                snprintf(pat, sizeof(pat), "$(%s)", names[i]);
                if (strstr(text, pat))
                        return names[i];
        }
        if (strstr(text, "uname -r"))
                return "uname -r";
        return NULL;
}

enum kw_recipe_kind kw_recipe_choose(const char *dir, const char *make_cmd)
{
        if (make_cmd && *make_cmd)
                return KW_RECIPE_MAKE;
        if (exists(dir, "dkms.conf"))
                return KW_RECIPE_DKMS;
        if (exists(dir, "Kbuild"))
                return KW_RECIPE_KBUILD;
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/Makefile", dir);
        char *text = read_text(path);
        bool kbuild = text && kw_makefile_sets_obj_m(text);
        free(text);
        return kbuild ? KW_RECIPE_KBUILD : KW_RECIPE_MAKEFILE;
}

const char *kw_recipe_name(enum kw_recipe_kind kind)
{
        switch (kind) {
        case KW_RECIPE_MAKE: return "--make";
        case KW_RECIPE_DKMS: return "dkms.conf";
        case KW_RECIPE_KBUILD: return "kbuild";
        case KW_RECIPE_MAKEFILE: break;
        }
        return "your Makefile";
}

/* ---- dkms.conf ---- */

static void put(char *dst, size_t size, const char *v)
{
        snprintf(dst, size, "%s", v);
}

int kw_dkms_parse(const char *text, struct kw_dkms *ret)
{
        struct kw_dkms *d = ret;

        memset(d, 0, sizeof(*d));
        for (const char *l = text; l && *l;) {
                const char *e = strchr(l, '\n');
                size_t n = e ? (size_t)(e - l) : strlen(l);
                char line[2048];
                snprintf(line, sizeof(line), "%.*s", (int)n, l);
                l = e ? e + 1 : NULL;
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = 0;
                const char *v = eq + 1;
                char *br = strchr(line, '[');
                long idx = 0;
                if (br) {
                        char *end;
                        *br = 0;
                        idx = strtol(br + 1, &end, 10);
                        if (*end != ']' || idx < 0 || idx >= KW_DKMS_MAX)
                                continue;
                }
                size_t i = (size_t)idx;
                if (!strcmp(line, "PACKAGE_NAME"))
                        put(d->package_name, sizeof(d->package_name), v);
                else if (!strcmp(line, "PACKAGE_VERSION"))
                        put(d->package_version, sizeof(d->package_version), v);
                else if (!strcmp(line, "MAKE"))
                        put(d->make[i], sizeof(d->make[i]), v);
                else if (!strcmp(line, "MAKE_MATCH"))
                        put(d->make_match[i], sizeof(d->make_match[i]), v);
                else if (!strcmp(line, "BUILD_EXCLUSIVE_KERNEL") && i == 0)
                        put(d->exclusive_kernel, sizeof(d->exclusive_kernel), v);
                else if (!strcmp(line, "BUILD_EXCLUSIVE_CONFIG") && i == 0)
                        put(d->exclusive_config, sizeof(d->exclusive_config), v);
                else if (!strcmp(line, "PRE_BUILD") && i == 0)
                        put(d->pre_build, sizeof(d->pre_build), v);
                else if (!strcmp(line, "BUILD_EXCLUSIVE_ARCH") && i == 0)
                        put(d->exclusive_arch, sizeof(d->exclusive_arch), v);
                else if (!strcmp(line, "BUILT_MODULE_NAME") || !strcmp(line, "BUILT_MODULE_LOCATION")) {
                        if (line[13] == 'N')
                                put(d->name[i], sizeof(d->name[i]), v);
                        else
                                put(d->location[i], sizeof(d->location[i]), v);
                        if (i + 1 > d->n_modules)
                                d->n_modules = i + 1;
                }
        }
        return d->package_name[0] && d->package_version[0] ? 0 : -EBADMSG;
}

/* bash's [[ s =~ re ]]: POSIX extended, unanchored */
static bool matches(const char *re, const char *s)
{
        regex_t rx;

        if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        bool m = regexec(&rx, s, 0, NULL, 0) == 0;
        regfree(&rx);
        return m;
}

/* "^NAME=[ym]" in .config text */
static bool config_set(const char *config, const char *name, size_t n)
{
        for (const char *l = config; l && *l;) {
                if (!strncmp(l, name, n) && l[n] == '=' && (l[n + 1] == 'y' || l[n + 1] == 'm'))
                        return true;
                l = strchr(l, '\n');
                l = l ? l + 1 : NULL;
        }
        return false;
}

int kw_dkms_check(const struct kw_dkms *d, const char *release, const char *machine, const char *config,
                  char *why, size_t size)
{
        if (d->exclusive_kernel[0] && !matches(d->exclusive_kernel, release)) {
                snprintf(why, size, "dkms.conf builds %s only for kernels matching BUILD_EXCLUSIVE_KERNEL=\"%s\"; the "
                         "guest runs %s", d->package_name, d->exclusive_kernel, release);
                return -EPERM;
        }
        if (d->exclusive_arch[0] && !matches(d->exclusive_arch, machine)) {
                snprintf(why, size, "dkms.conf builds %s only for BUILD_EXCLUSIVE_ARCH=\"%s\"; the guest is %s",
                         d->package_name, d->exclusive_arch, machine);
                return -EPERM;
        }
        for (const char *w = d->exclusive_config; config && *w;) {
                w += strspn(w, " \t");
                size_t n = strcspn(w, " \t");
                if (!n)
                        break;
                bool negated = *w == '!';
                if (config_set(config, w + negated, n - negated) == negated) {
                        snprintf(why, size, "dkms.conf builds %s only for kernels with%s %.*s (BUILD_EXCLUSIVE_CONFIG), "
                                 "which the guest kernel %s", d->package_name, negated ? "out" : "",
                                 (int)(n - negated), w + negated, negated ? "has" : "lacks");
                        return -EPERM;
                }
                w += n;
        }
        return 0;
}

int kw_dkms_command(const struct kw_dkms *d, const char *release, const char *kdir, const char *tree,
                    unsigned jobs, char *buf, size_t size)
{
        char dflt[PATH_MAX * 3];
        const char *cmd = d->make[0];
        int n;

        for (size_t i = 0; i < KW_DKMS_MAX; i++)
                if (d->make[i][0] && d->make_match[i][0] && matches(d->make_match[i], release))
                        cmd = d->make[i];
        if (!cmd[0]) {
                snprintf(dflt, sizeof(dflt), "make -C %s M=%s/%s/%s/build", kdir ? kdir : "", tree, d->package_name,
                         d->package_version);
                cmd = dflt;
        }
        if (!strncmp(cmd, "make", 4)) { /* ${make_command/#make/make -j$parallel_jobs KERNELRELEASE=$kernelver} */
                char j[32] = "";
                if (jobs)
                        snprintf(j, sizeof(j), " -j%u", jobs);
                n = snprintf(buf, size, "make%s KERNELRELEASE=%s%s", j, release, cmd + 4);
        } else {
                n = snprintf(buf, size, "%s", cmd);
        }
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Sources dkms.conf as DKMS's read_conf does and prints back what we need. */
static const char dkms_script[] =
        "kernelver=$1 arch=$2 kernel_source_dir=$3 dkms_tree=$4 source_tree=$4 module=$5 module_version=$6\n"
        "cd \"$7\" || exit 1\n"
        ". ./dkms.conf >/dev/null 2>&1 </dev/null\n"
        "p() { v=${2//$'\\n'/ }; printf '%s=%s\\n' \"$1\" \"$v\"; }\n"
        "p PACKAGE_NAME \"$PACKAGE_NAME\"; p PACKAGE_VERSION \"$PACKAGE_VERSION\"\n"
        "p BUILD_EXCLUSIVE_KERNEL \"$BUILD_EXCLUSIVE_KERNEL\"; p BUILD_EXCLUSIVE_ARCH \"$BUILD_EXCLUSIVE_ARCH\"\n"
        "p PRE_BUILD \"$PRE_BUILD\"; p BUILD_EXCLUSIVE_CONFIG \"$BUILD_EXCLUSIVE_CONFIG\"\n"
        "for a in MAKE MAKE_MATCH BUILT_MODULE_NAME BUILT_MODULE_LOCATION; do\n"
        "  eval \"ix=(\\\"\\${!$a[@]}\\\")\"\n"
        "  for i in \"${ix[@]}\"; do eval \"p \\\"$a[$i]\\\" \\\"\\${$a[$i]}\\\"\"; done\n"
        "done\n";

static int dkms_source(const struct kw_recipe *r, const char *module, const char *version, struct kw_dkms *ret)
{
        static char out[64 * 1024];
        char *argv[] = { "bash", "-c", (char *)dkms_script, "kmod-watch-dkms", (char *)r->release,
                         (char *)r->machine, (char *)(r->kdir ? r->kdir : ""), (char *)r->dkms_tree,
                         (char *)module, (char *)version, (char *)r->dir, NULL };

        int st = kw_spawn_capture(argv, KW_SPAWN_NULL, 10000, out, sizeof(out));
        if (st < 0)
                return st;
        if (st != 0)
                return -EBADMSG;
        return kw_dkms_parse(out, ret);
}

static int make_tree(struct kw_recipe *r)
{
        char cache[PATH_MAX], link[PATH_MAX * 2], p[PATH_MAX * 2];
        const struct kw_dkms *d = &r->dkms;
        int e = kw_path_cache(cache, sizeof(cache));

        if (e < 0)
                return e;
        /* one tree per module directory: its path, with / as _ */
        char key[PATH_MAX];
        snprintf(key, sizeof(key), "%s", r->dir);
        for (char *c = key; *c; c++)
                if (*c == '/')
                        *c = '_';
        int n = snprintf(r->dkms_tree, sizeof(r->dkms_tree), "%s/dkms-tree/%s", cache, key);
        if (n < 0 || (size_t)n >= sizeof(r->dkms_tree))
                return -ENAMETOOLONG;
        snprintf(link, sizeof(link), "%s/%s/%s/build", r->dkms_tree, d->package_name, d->package_version);
        /* mkdir -p of the link's parent */
        snprintf(p, sizeof(p), "%s", link);
        for (char *c = p + 1; (c = strchr(c, '/')); c++) {
                *c = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *c = '/';
        }
        char have[PATH_MAX];
        ssize_t len = readlink(link, have, sizeof(have) - 1);
        if (len >= 0) {
                have[len] = 0;
                if (!strcmp(have, r->dir))
                        return 0;
                unlink(link);
        }
        return symlink(r->dir, link) < 0 ? -errno : 0;
}

int kw_recipe_prepare(struct kw_recipe *r)
{
        char why[512];
        struct kw_dkms first;

        if (r->kind != KW_RECIPE_DKMS)
                return 0;
        /* DKMS knows module and version before it sources: ask once for them, then again */
        r->dkms_tree[0] = 0;
        int e = dkms_source(r, "", "", &first);
        if (e >= 0) {
                snprintf(r->dkms.package_name, sizeof(r->dkms.package_name), "%s", first.package_name);
                snprintf(r->dkms.package_version, sizeof(r->dkms.package_version), "%s", first.package_version);
                e = make_tree(r);
                if (e < 0) {
                        kw_err("cannot make the dkms tree %s: %s", r->dkms_tree, strerror(-e));
                        return e;
                }
                e = dkms_source(r, first.package_name, first.package_version, &r->dkms);
        }
        if (e < 0) {
                if (e == -EBADMSG)
                        kw_err("cannot read %s/dkms.conf: bash could not source it, or it sets no PACKAGE_NAME and "
                               "PACKAGE_VERSION", r->dir);
                else
                        kw_err("cannot read %s/dkms.conf: %s", r->dir, strerror(-e));
                return e;
        }
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/.config", r->kdir ? r->kdir : "");
        char *config = r->kdir ? read_text(path) : NULL;
        e = kw_dkms_check(&r->dkms, r->release, r->machine, config, why, sizeof(why));
        free(config);
        if (e < 0)
                kw_err("%s", why);
        return e;
}

void kw_recipe_cleanup(struct kw_recipe *r)
{
        char p[PATH_MAX * 2];
        const struct kw_dkms *d = &r->dkms;

        if (r->kind != KW_RECIPE_DKMS || !r->dkms_tree[0])
                return;
        snprintf(p, sizeof(p), "%s/%s/%s/build", r->dkms_tree, d->package_name, d->package_version);
        (void)unlink(p);
        snprintf(p, sizeof(p), "%s/%s/%s", r->dkms_tree, d->package_name, d->package_version);
        (void)rmdir(p);
        snprintf(p, sizeof(p), "%s/%s", r->dkms_tree, d->package_name);
        (void)rmdir(p);
        (void)rmdir(r->dkms_tree);
        r->dkms_tree[0] = 0;
}

/* ---- the command ---- */

/* a, then b: a new string (NULL: out of memory) */
static char *cat(const char *a, const char *b)
{
        char *s;

        return asprintf(&s, "%s%s", a, b ? b : "") < 0 ? NULL : s;
}

static char *kv(const char *name, const char *value)
{
        char *s;

        return asprintf(&s, "%s=%s", name, value) < 0 ? NULL : s;
}

static int add_env(char ***envp, size_t *n, const char *name, const char *value)
{
        size_t len = strlen(name);

        if (!value)
                return 0;
        for (size_t i = 0; i < *n; i++)
                if (!strncmp((*envp)[i], name, len) && (*envp)[i][len] == '=') {
                        free((*envp)[i]);
                        return ((*envp)[i] = kv(name, value)) ? 0 : -ENOMEM;
                }
        char **v = realloc(*envp, (*n + 2) * sizeof(**envp));
        if (!v)
                return -ENOMEM;
        *envp = v;
        if (!(v[*n] = kv(name, value)))
                return -ENOMEM;
        v[++*n] = NULL;
        return 0;
}

int kw_recipe_cmd(const struct kw_recipe *r, struct kw_recipe_cmd *ret)
{
        struct kw_recipe_cmd c = { 0 };
        size_t na = 0, ne = 0;
        const char *k = r->kdir;
        int e = 0;

        for (char **p = environ; *p; p++)
                ne++;
        c.envp = calloc(ne + 1, sizeof(*c.envp));
        if (!c.envp)
                return -ENOMEM;
        for (size_t i = 0; i < ne; i++)
                if (!(c.envp[i] = strdup(environ[i])))
                        e = -ENOMEM;
        if (e == 0)
                e = add_env(&c.envp, &ne, "PWD", r->dir);
#define ARG(s) (c.argv[na++] = (s))
        switch (r->kind) {
        case KW_RECIPE_MAKE:
                ARG(strdup("/bin/sh"));
                ARG(strdup("-c"));
                ARG(strdup(r->make_cmd));
                if (e == 0)
                        e = add_env(&c.envp, &ne, "KDIR", k);
                if (e == 0)
                        e = add_env(&c.envp, &ne, "ARCH", r->kbuild_arch);
                if (e == 0)
                        e = add_env(&c.envp, &ne, "CROSS_COMPILE", r->cross_compile);
                if (e == 0 && r->release[0])
                        e = add_env(&c.envp, &ne, "KERNELRELEASE", r->release);
                break;
        case KW_RECIPE_DKMS: {
                char cmd[8192] = "";
                e = e ? e : kw_dkms_command(&r->dkms, r->release, k, r->dkms_tree, r->jobs, cmd, sizeof(cmd));
                /* eval'd by bash with DKMS's variables, as its invoke_command does;
                 * PRE_BUILD first when it names an executable in the build dir
                 * (DKMS's run_build_script) */
                ARG(strdup("bash"));
                ARG(strdup("-c"));
                ARG(strdup("kernelver=$1 arch=$2 kernel_source_dir=$3 dkms_tree=$4 module=$5 module_version=$6; "
                           "if [ -n \"$7\" ] && [ -x \"./${7%% *}\" ]; then eval \"./$7\" || exit; fi; "
                           "eval \"$0\""));
                ARG(strdup(cmd));
                ARG(strdup(r->release));
                ARG(strdup(r->machine));
                ARG(strdup(k ? k : ""));
                ARG(strdup(r->dkms_tree));
                ARG(strdup(r->dkms.package_name));
                ARG(strdup(r->dkms.package_version));
                ARG(strdup(r->dkms.pre_build));
                if (e == 0)
                        e = add_env(&c.envp, &ne, "ARCH", r->kbuild_arch);
                if (e == 0)
                        e = add_env(&c.envp, &ne, "CROSS_COMPILE", r->cross_compile);
                break;
        }
        case KW_RECIPE_KBUILD:
        case KW_RECIPE_MAKEFILE:
                ARG(strdup("make"));
                if (r->kind == KW_RECIPE_KBUILD) {
                        ARG(cat("-C", k));
                        ARG(cat("M=", r->dir));
                } else {
                        ARG(cat("-C", r->dir));
                        /* every name third-party Makefiles read the tree from; not
                         * KERNELRELEASE, which turns a kbuild-style Makefile (and its
                         * sub-makes) into its kbuild half */
                        static const char *const names[] = { "KDIR", "KERNEL_DIR", "KERNELDIR", "KSRC", "KERNEL_SRC",
                                                             "KERNEL_TREE" };
                        for (size_t i = 0; k && i < sizeof(names) / sizeof(*names); i++)
                                ARG(kv(names[i], k));
                        if (r->release[0])
                                ARG(kv("KVER", r->release));
                }
                if (r->kbuild_arch)
                        ARG(kv("ARCH", r->kbuild_arch));
                if (r->cross_compile)
                        ARG(kv("CROSS_COMPILE", r->cross_compile));
                if (r->jobs) {
                        char j[32];
                        snprintf(j, sizeof(j), "-j%u", r->jobs);
                        ARG(strdup(j));
                }
                if (r->kind == KW_RECIPE_KBUILD)
                        ARG(strdup("modules"));
                break;
        }
#undef ARG
        for (size_t i = 0; i < na; i++)
                if (!c.argv[i])
                        e = -ENOMEM;
        if (e < 0) {
                kw_recipe_cmd_free(&c);
                return e;
        }
        *ret = c;
        return 0;
}

void kw_recipe_cmd_free(struct kw_recipe_cmd *c)
{
        for (size_t i = 0; i < sizeof(c->argv) / sizeof(*c->argv); i++)
                free(c->argv[i]);
        for (size_t i = 0; c->envp && c->envp[i]; i++)
                free(c->envp[i]);
        free(c->envp);
        memset(c, 0, sizeof(*c));
}

int kw_recipe_modules(const struct kw_recipe *r, char ***ret, size_t *ret_n)
{
        const struct kw_dkms *d = &r->dkms;
        char **v = NULL;
        size_t n = 0;

        *ret = NULL;
        *ret_n = 0;
        if (r->kind != KW_RECIPE_DKMS || d->n_modules == 0)
                return 0;
        v = calloc(d->n_modules, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_modules; i++) {
                if (!d->name[i][0])
                        continue;
                const char *loc = d->location[i];
                size_t l = strlen(loc);
                while (l > 0 && loc[0] == '.' && (l == 1 || loc[1] == '/')) { /* "./" or "." */
                        loc += l == 1 ? 1 : 2;
                        l = strlen(loc);
                }
                if (asprintf(&v[n], "%s%s%s.ko", loc, l && loc[l - 1] != '/' ? "/" : "", d->name[i]) < 0) {
                        kw_strv_free(v, n);
                        return -ENOMEM;
                }
                n++;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}
