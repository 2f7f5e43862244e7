/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * replay-script.c — the sh scripts of a replay's steps (replay-run.c runs
 * them in KDIR), each written as kbuild 6.1's rule writes its commands: the
 * recorded command, then what the rule does beside it (fixdep's .cmd,
 * gen_objtooldep, check-local-export, genksyms' #SYMVER lines, the saved
 * command line of cmd_and_savecmd). modpost reads KDIR's Module.symvers cut to
 * the lines the modules name (replay-symvers.h).
 */
#include "replay-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "replay-symvers.h"
#include "ui.h"


struct sb {
        char *s;
        size_t n, cap;
        bool oom;
};

static void sb_add(struct sb *b, const char *s)
{
        size_t l = strlen(s);

        if (b->oom)
                return;
        if (b->n + l + 1 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 1024;
                while (cap < b->n + l + 1)
                        cap *= 2;
                char *p = realloc(b->s, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->n, s, l + 1);
        b->n += l;
}

static void sb_quoted(struct sb *b, const char *s)
{
        char *q = kw_cmd_shquote(s);

        if (!q)
                b->oom = true;
        else
                sb_add(b, q);
        free(q);
}

/* DIR/.NAME.cmd for target DIR/NAME, quoted for sh */
static void sb_dotcmd(struct sb *b, const char *target)
{
        const char *slash = strrchr(target, '/');
        char path[PATH_MAX * 2];

        snprintf(path, sizeof(path), "%.*s/.%s.cmd", (int)(slash - target), target, slash + 1);
        sb_quoted(b, path);
}

/* `set -e; CMD` then kbuild's cmd_and_savecmd: printf '%s\n' 'cmd_T := RAW' > .T.cmd
 * (cmd: what runs, the recorded command unescaped or a faster equivalent of it) */
static void sb_savecmd_as(struct sb *b, const struct kw_cmdfile *f, const char *cmd)
{
        char *line = malloc(strlen(f->target) + strlen(f->raw) + 16);

        if (!cmd || !line) {
                b->oom = true;
        } else {
                sprintf(line, "cmd_%s := %s", f->target, f->raw);
                sb_add(b, "set -e; ");
                sb_add(b, cmd);
                sb_add(b, ";\nprintf '%s\\n' ");
                sb_quoted(b, line);
                sb_add(b, " > ");
                sb_dotcmd(b, f->target);
                sb_add(b, "\n");
        }
        free(line);
}

static void sb_savecmd(struct sb *b, const struct kw_cmdfile *f)
{
        char *cmd = kw_cmd_unescape(f->raw);

        sb_savecmd_as(b, f, cmd);
        free(cmd);
}

static void sb_objtooldep(struct sb *b, const struct kw_cmdfile *f)
{
        char line[PATH_MAX + 64];

        if (!f->objtooldep)
                return;
        snprintf(line, sizeof(line), "%s: $(wildcard ./tools/objtool/objtool)", f->target);
        sb_add(b, "{ echo ; echo ");
        sb_quoted(b, line);
        sb_add(b, " ; } >> ");
        sb_dotcmd(b, f->target);
        sb_add(b, "\n");
}

/* cmd_and_fixdep: the command, fixdep writing the .cmd (the depfile, named in
 * depfile[PATH_MAX], is removed by the loop when the step succeeds: no rm child) */
static int sb_fixdep(struct sb *b, const struct kw_cmdfile *f, char *cc, char *flags, size_t flags_size,
                     char *depfile)
{
        char *cmd = kw_cmd_unescape(f->raw);

        if (!cmd)
                return -ENOMEM;
        int e = kw_cmd_split_cc(cmd, cc, 256, flags, flags_size, depfile, PATH_MAX);
        if (e == 0) {
                sb_add(b, "set -e; ");
                sb_add(b, cmd);
                sb_add(b, ";\nscripts/basic/fixdep ");
                sb_quoted(b, depfile);
                sb_add(b, " ");
                sb_quoted(b, f->target);
                sb_add(b, " ");
                sb_quoted(b, f->raw);
                sb_add(b, " > ");
                sb_dotcmd(b, f->target);
                sb_add(b, "\n");
        }
        free(cmd);
        return e;
}

static char *sb_done(struct sb *b)
{
        if (b->oom) {
                free(b->s);
                return NULL;
        }
        return b->s ? b->s : strdup("");
}

/* Makefile.build's rule_cc_o_c for one object, in two scripts: main (the command,
 * fixdep, gen_objtooldep) and exports (check-local-export, genksyms' #SYMVER
 * lines), run only for an object with "__ksymtab" in its bytes: any other has no
 * symbol nm could show with it, so check-local-export finds no export and
 * genksyms' test fails, for certain (both run nm: 90 ms each here). 0 or -ENOMEM. */
int kw_rp_object_scripts(const struct kw_replay *r, const struct kw_cmdfile *f, char **main_script,
                         char **exports, char *depfile)
{
        struct sb b = { 0 }, x = { 0 };
        char cc[256], symref[PATH_MAX + 8];
        size_t fsize = strlen(f->raw) + 1;
        char *flags = malloc(fsize);
        struct stat st;

        *main_script = *exports = NULL;
        if (!flags || sb_fixdep(&b, f, cc, flags, fsize, depfile) < 0) {
                free(flags);
                free(b.s);
                return -ENOMEM;
        }
        sb_objtooldep(&b, f);
        if (r->local_export || r->modversions)
                sb_add(&x, "set -e\n");
        if (r->local_export) {
                sb_add(&x, "NM=");
                sb_quoted(&x, r->nm);
                sb_add(&x, " AWK=awk ");
                sb_add(&x, r->srctree);
                sb_add(&x, "/scripts/check-local-export ");
                sb_quoted(&x, f->target);
                sb_add(&x, "\n");
        }
        if (r->modversions) {
                /* genksyms = scripts/genksyms/genksyms -r $(or $(wildcard x.symref), /dev/null) */
                size_t tl = strlen(f->target);
                snprintf(symref, sizeof(symref), "%.*s.symref", (int)(tl - 2), f->target);
                sb_add(&x, "if ");
                sb_add(&x, r->nm);
                sb_add(&x, " ");
                sb_quoted(&x, f->target);
                sb_add(&x, " 2>/dev/null | grep -q __ksymtab; then ");
                sb_add(&x, cc);
                sb_add(&x, " -E -D__GENKSYMS__ ");
                sb_add(&x, flags);
                sb_add(&x, " ");
                sb_quoted(&x, f->source);
                sb_add(&x, " | scripts/genksyms/genksyms -r ");
                sb_quoted(&x, stat(symref, &st) == 0 ? symref : "/dev/null");
                sb_add(&x, " >> ");
                sb_dotcmd(&x, f->target);
                sb_add(&x, "; fi\n");
        }
        free(flags);
        *main_script = sb_done(&b);
        *exports = x.n ? sb_done(&x) : NULL;
        if (!*main_script || (x.n && !*exports)) {
                free(*main_script);
                free(*exports);
                *main_script = *exports = NULL;
                return -ENOMEM;
        }
        return 0;
}

char *kw_rp_savecmd_script(const struct kw_cmdfile *f, bool objtooldep)
{
        struct sb b = { 0 };

        sb_savecmd(&b, f);
        if (objtooldep)
                sb_objtooldep(&b, f);
        if (b.oom) {
                free(b.s);
                return NULL;
        }
        return b.s;
}

/* In modpost's command, the word after " -i " naming KDIR's Module.symvers (relative
 * to KDIR, where the step runs): its offset and length. false: none (or quoted). */
static bool kdir_symvers_arg(const char *cmd, const char *kdir, size_t *off, size_t *len)
{
        char path[PATH_MAX * 2];
        struct stat want, st;

        snprintf(path, sizeof(path), "%s/Module.symvers", kdir);
        if (stat(path, &want) < 0)
                return false;
        for (const char *p = strstr(cmd, " -i "); p; p = strstr(p + 1, " -i ")) {
                const char *w = p + 4;
                while (*w == ' ')
                        w++;
                size_t l = strcspn(w, " \t\n;|&<>'\"\\$`");
                if (!l || (w[l] && !strchr(" \t\n;|&", w[l])))
                        continue;
                if (w[0] == '/')
                        snprintf(path, sizeof(path), "%.*s", (int)l, w);
                else
                        snprintf(path, sizeof(path), "%s/%.*s", kdir, (int)l, w);
                if (stat(path, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
                        *off = (size_t)(w - cmd);
                        *len = l;
                        return true;
                }
        }
        return false;
}

/* modpost's command with KDIR's Module.symvers cut to the lines the modules name
 * (replay-symvers.h), or NULL: run the recorded one (said with -vv). */
static char *modpost_cut(const struct kw_replay *r, const struct kw_recipe *rc, const char *cmd)
{
        const struct kw_rp_state *s = r->state;
        char cut[PATH_MAX], symvers[PATH_MAX * 2];
        char **objs = calloc(s->n_mod, sizeof(*objs));
        size_t off, len, n = 0;
        char *ret = NULL;
        int e = objs ? 0 : -ENOMEM;

        if (e == 0 && !kdir_symvers_arg(cmd, rc->kdir, &off, &len))
                e = -ENOENT;
        for (size_t m = 0; e == 0 && m < s->n_mod; m++) {
                size_t l = strlen(s->mod[m].ko.target);
                objs[n] = l > 3 ? strdup(s->mod[m].ko.target) : NULL;
                if (!objs[n]) {
                        e = -ENOMEM;
                        break;
                }
                strcpy(objs[n++] + l - 3, ".o"); /* modpost reads modules.order's .ko as .o */
        }
        if (e == 0)
                e = kw_rp_disk_side_file(rc->dir, ".symvers", cut, sizeof(cut));
        if (e == 0) {
                snprintf(symvers, sizeof(symvers), "%s/Module.symvers", rc->kdir);
                e = kw_symvers_cut(symvers, objs, n, cut);
        }
        char *q = e == 0 ? kw_cmd_shquote(cut) : NULL;
        if (q && (ret = malloc(strlen(cmd) + strlen(q) + 1)))
                sprintf(ret, "%.*s%s%s", (int)off, cmd, q, cmd + off + len);
        if (!ret)
                kw_debug("replay: modpost reads the whole Module.symvers (%s)", strerror(e < 0 ? -e : ENOMEM));
        free(q);
        for (size_t i = 0; i < n; i++)
                free(objs[i]);
        free(objs);
        return ret;
}

/* modules.order written again (its objects are newer), then modpost: one step */
char *kw_rp_modpost_script(const struct kw_replay *r, const struct kw_recipe *rc)
{
        const struct kw_rp_state *s = r->state;
        struct sb b = { 0 };
        char *cmd = kw_cmd_unescape(s->symvers.raw);
        char *cut = cmd ? modpost_cut(r, rc, cmd) : NULL;

        sb_savecmd(&b, &s->order);
        sb_savecmd_as(&b, &s->symvers, cut ? cut : cmd);
        free(cut);
        free(cmd);
        if (b.oom) {
                free(b.s);
                return NULL;
        }
        return b.s;
}

char *kw_rp_modo_script(const struct kw_cmdfile *f, char *depfile)
{
        struct sb b = { 0 };
        char cc[256];
        size_t fsize = strlen(f->raw) + 1;
        char *flags = malloc(fsize);
        int e = flags ? sb_fixdep(&b, f, cc, flags, fsize, depfile) : -ENOMEM;

        free(flags);
        if (e < 0 || b.oom) {
                free(b.s);
                return NULL;
        }
        return b.s;
}

char *kw_rp_ko_script(const struct kw_replay *r, const struct kw_cmdfile *f)
{
        struct sb b = { 0 };

        sb_savecmd(&b, f);
        if (r->btf) { /* Makefile.modfinal's cmd_btf_ko, KDIR having no vmlinux (else no replay) */
                sb_add(&b, "printf \"Skipping BTF generation for %s due to unavailability of vmlinux\\n\" ");
                sb_quoted(&b, f->target);
                sb_add(&b, " 1>&2\n");
        }
        if (b.oom) {
                free(b.s);
                return NULL;
        }
        return b.s;
}

