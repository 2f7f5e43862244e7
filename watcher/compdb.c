/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compdb.c — compile_commands.json from kbuild's .cmd files (see compdb.h).
 */
#include "compdb.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wordexp.h>

#include "replay-cmd.h"

/* gcc's flags that clang rejects as unknown (an error in clangd's eyes) and
 * that say nothing about the code's meaning: instrumentation, code generation
 * and gcc's own warnings' knobs. */
static const char *const gcc_only[] = {
        "-mrecord-mcount", "-fconserve-stack", "-mindirect-branch=*", "-mindirect-branch-register", "-mindirect-branch-cs-prefix",
        "-mfunction-return=*", "-fno-allow-store-data-races", "-mskip-rax-setup", "-fno-var-tracking-assignments",
        "-mpreferred-stack-boundary=*", "-fsanitize=bounds-strict", "-mno-fp-ret-in-387", "-fno-ipa-sra",
        "-falign-jumps=*", "-falign-loops=*", "-fmin-function-alignment=*", "-mharden-sls=*",
        "-fzero-call-used-regs=*", "-Wimplicit-fallthrough=*", "-Werror=designated-init", "-Wno-alloc-size-larger-than",
        "-Wno-format-overflow", "-Wno-format-truncation", "-Wno-packed-not-aligned", "-Wno-restrict",
        "-Wno-stringop-overflow", "-Wno-stringop-truncation", "-Wno-maybe-uninitialized", "-Wno-array-bounds",
        "-Wno-dangling-pointer", "-Wno-unused-but-set-variable", "-fno-stack-clash-protection", "-mno-outline-atomics",
        "-mabi=lp64", "-fconserve-stack", "-ftrivial-auto-var-init=zero", "-mstack-protector-guard*",
        "-fno-inline-functions-called-once", "-fno-tree-loop-im", "-Wp,-MMD,*", "-Wp,-MD,*",
};

bool kw_compdb_drop_flag(const char *flag)
{
        for (size_t i = 0; i < sizeof(gcc_only) / sizeof(gcc_only[0]); i++)
                if (fnmatch(gcc_only[i], flag, 0) == 0)
                        return true;
        return false;
}

void kw_compdb_target(const char *cc, char *buf, size_t size)
{
        const char *base = strrchr(cc, '/');
        base = base ? base + 1 : cc;
        const char *gcc = strstr(base, "-gcc");

        if (!gcc || gcc == base) {
                snprintf(buf, size, "%s", "");
                return;
        }
        snprintf(buf, size, "%.*s", (int)(gcc - base), base);
}

static void json_str(FILE *f, const char *s)
{
        fputc('"', f);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if (c == '"' || c == '\\')
                        fprintf(f, "\\%c", c);
                else if (c < 0x20)
                        fprintf(f, "\\u%04x", c);
                else
                        fputc(c, f);
        }
        fputc('"', f);
}

/* One entry for one .o.cmd file; 1 written, 0 not a compile of a .c, <0 error. */
static int entry(FILE *out, const char *cmdpath, const char *kdir, bool first)
{
        FILE *in = fopen(cmdpath, "re");
        if (!in)
                return 0; /* gone meanwhile */
        char *text = NULL;
        size_t cap = 0;
        ssize_t len = getdelim(&text, &cap, '\0', in);
        fclose(in);
        if (len <= 0) {
                free(text);
                return 0;
        }
        struct kw_cmdfile cf;
        int r = kw_cmdfile_parse(text, &cf);
        free(text);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        size_t sl = cf.source ? strlen(cf.source) : 0;
        char *cmd = sl > 2 && !strcmp(cf.source + sl - 2, ".c") ? kw_cmd_unescape(cf.raw) : NULL;
        char cc[256], flags[65536], depfile[PATH_MAX], target[128];
        wordexp_t we;
        r = 0;
        if (cmd && kw_cmd_split_cc(cmd, cc, sizeof(cc), flags, sizeof(flags), depfile, sizeof(depfile)) == 0 &&
            wordexp(flags, &we, WRDE_NOCMD) == 0) {
                fputs(first ? "\n  {" : ",\n  {", out);
                fputs("\"directory\": ", out);
                json_str(out, kdir);
                fputs(", \"file\": ", out);
                json_str(out, cf.source);
                fputs(", \"output\": ", out);
                json_str(out, cf.target);
                fputs(", \"arguments\": [\"clang\"", out);
                kw_compdb_target(cc, target, sizeof(target));
                if (target[0])
                        fprintf(out, ", \"--target=%s\"", target);
                for (size_t i = 0; i < we.we_wordc; i++) {
                        if (kw_compdb_drop_flag(we.we_wordv[i]))
                                continue;
                        fputs(", ", out);
                        json_str(out, we.we_wordv[i]);
                }
                fputs(", \"-c\", \"-o\", ", out);
                json_str(out, cf.target);
                fputs(", ", out);
                json_str(out, cf.source);
                fputs("]}", out);
                wordfree(&we);
                r = 1;
        }
        free(cmd);
        kw_cmdfile_free(&cf);
        return r;
}

/* .NAME.o.cmd, not kbuild's own .NAME.mod.o.cmd (the generated .mod.c) */
static bool is_object_cmd(const char *name)
{
        size_t n = strlen(name);
        return name[0] == '.' && n > 7 && !strcmp(name + n - 6, ".o.cmd") &&
               !(n > 11 && !strcmp(name + n - 10, ".mod.o.cmd"));
}

static int walk(FILE *out, const char *dir, const char *kdir, int depth, int *count)
{
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return depth ? 0 : -errno;
        while ((e = readdir(d))) {
                char path[PATH_MAX];
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= sizeof(path))
                        continue;
                if (is_object_cmd(e->d_name)) {
                        int r = entry(out, path, kdir, *count == 0);
                        if (r < 0) {
                                closedir(d);
                                return r;
                        }
                        *count += r;
                        continue;
                }
                struct stat st;
                if (e->d_name[0] != '.' && depth < 8 && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        (void)walk(out, path, kdir, depth + 1, count);
        }
        closedir(d);
        return 0;
}

int kw_compdb_write(const char *dir, const char *kdir)
{
        char tmp[PATH_MAX], final[PATH_MAX], kreal[PATH_MAX];
        int count = 0;

        if (!kdir || !realpath(kdir, kreal))
                return -ENOENT;
        if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.compile_commands.json.tmp", dir) >= sizeof(tmp) ||
            (size_t)snprintf(final, sizeof(final), "%s/compile_commands.json", dir) >= sizeof(final))
                return -ENAMETOOLONG;
        FILE *out = fopen(tmp, "we");
        if (!out)
                return -errno;
        fputc('[', out);
        int r = walk(out, dir, kreal, 0, &count);
        fputs("\n]\n", out);
        if (fclose(out) != 0 && r >= 0)
                r = -errno;
        if (r < 0 || count == 0) {
                unlink(tmp);
                return r < 0 ? r : 0;
        }
        if (rename(tmp, final) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return count;
}
