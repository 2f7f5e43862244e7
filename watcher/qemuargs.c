/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * qemuargs.c — see qemuargs.h. The command prints only the arguments on
 * stdout; what to do next goes to stderr when it is a terminal.
 */
#include "qemuargs.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu.h"
#include "share.h"
#include "ui.h"

int kw_shell_quote(const char *s, char *buf, size_t size)
{
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
        size_t n = 0;

        if (s[0] && strspn(s, safe) == strlen(s)) {
                if (strlen(s) >= size)
                        return -ENAMETOOLONG;
                strcpy(buf, s);
                return 0;
        }
        size_t need = 3; /* two quotes and the NUL */
        for (const char *p = s; *p; p++)
                need += *p == '\'' ? 4 : 1;
        if (need > size)
                return -ENAMETOOLONG;
        /* 'it'\''s': close the quote, an escaped quote, open it again */
        buf[n++] = '\'';
        for (const char *p = s; *p; p++) {
                if (*p != '\'') {
                        buf[n++] = *p;
                        continue;
                }
                memcpy(buf + n, "'\\''", 4);
                n += 4;
        }
        buf[n++] = '\'';
        buf[n] = 0;
        return 0;
}

struct line {
        char *buf;
        size_t size, used;
        int err;
};

/* One argument, shell-quoted, after a space (kw_qemu_io_args' emit). */
static void emit_word(void *ctx, const char *arg)
{
        struct line *l = ctx;
        char quoted[PATH_MAX * 4 + 512];

        if (l->err)
                return;
        if (kw_shell_quote(arg, quoted, sizeof(quoted)) < 0) {
                l->err = -ENAMETOOLONG;
                return;
        }
        int n = snprintf(l->buf + l->used, l->size - l->used, "%s%s", l->used ? " " : "", quoted);
        if (n < 0 || (size_t)n >= l->size - l->used) {
                l->err = -ENAMETOOLONG;
                return;
        }
        l->used += (size_t)n;
}

int kw_qemu_args_line(const struct kw_qemu_args_in *in, char *buf, size_t size)
{
        struct line l = { .buf = buf, .size = size };
        const struct kw_qemu_io io = {
                .share_dir = in->share,
                .tag = in->tag,
                .security_model = in->sec,
                .sock_path = in->sock,
                .sock_server = true, /* the user's QEMU serves; kmod-watch --connect knocks */
                .chardev_id = "kmodwatch",
                .serial_id = "kmodwatch-serial",
        };

        if (size)
                buf[0] = 0;
        int r = kw_qemu_io_args(&io, emit_word, &l);
        return r < 0 ? r : l.err;
}

int kw_qemu_args_default_socket(char *buf, size_t size)
{
        const char *rt = getenv("XDG_RUNTIME_DIR");
        int n;

        if (rt && rt[0] == '/' && access(rt, W_OK) == 0)
                n = snprintf(buf, size, "%s/kmod-watch.sock", rt);
        else
                n = snprintf(buf, size, "/tmp/kmod-watch-%u.sock", (unsigned)getuid());
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int absolute(const char *path, char *buf, size_t size)
{
        char cwd[PATH_MAX];
        int n;

        if (path[0] == '/')
                n = snprintf(buf, size, "%s", path);
        else if (!getcwd(cwd, sizeof(cwd)))
                return -errno;
        else
                n = snprintf(buf, size, "%s/%s", cwd, path);
        return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kw_qemu_args_main(const struct kw_opts *o)
{
        char dir[PATH_MAX], sock[PATH_MAX], err[PATH_MAX + 256], line[PATH_MAX * 6];
        struct kw_share s;

        if (!realpath(o->dir, dir)) {
                kw_err("%s: %s (give the module's source directory)", o->dir, strerror(errno));
                return KW_EXIT_USAGE;
        }
        int r = kw_share_resolve(o, dir, &s, err, sizeof(err));
        if (r < 0) {
                kw_err("%s", err);
                return KW_EXIT_USAGE;
        }
        char sub[PATH_MAX];
        if (kw_share_subdir(s.root, dir, sub, sizeof(sub)) < 0) {
                kw_err("%s is not inside the 9p share %s (from %s): share a directory that contains it", dir, s.root,
                       s.root_from);
                return KW_EXIT_USAGE;
        }
        r = o->socket ? absolute(o->socket, sock, sizeof(sock)) : kw_qemu_args_default_socket(sock, sizeof(sock));
        if (r < 0) {
                kw_err("--socket %s: %s", o->socket ? o->socket : "", strerror(-r));
                return KW_EXIT_USAGE;
        }
        /* The tutorial's QEMU_9P=on: their qemu-run.sh adds the -virtfs itself. */
        const char *q9p = getenv("QEMU_9P");
        bool script_shares = q9p && strcmp(q9p, "on") == 0;
        struct kw_qemu_args_in in = { .share = script_shares ? NULL : s.root, .tag = s.tag, .sec = s.sec, .sock = sock };
        r = kw_qemu_args_line(&in, line, sizeof(line));
        if (r < 0) {
                kw_err("the arguments do not fit: %s", strerror(-r));
                return KW_EXIT_USAGE;
        }
        printf("%s\n", line);
        if (strcmp(s.sec, "passthrough") == 0 && geteuid() != 0)
                kw_warn("security_model=passthrough needs QEMU to run as root; QEMU_9P_SEC=none (the default) "
                        "works for everyone");
        if (!isatty(STDERR_FILENO) || o->verbosity < 0)
                return 0;
        if (script_shares)
                kw_info("QEMU_9P=on: your qemu-run.sh adds the -virtfs; these are only the agent's channel");
        char qsock[PATH_MAX * 2], qroot[PATH_MAX * 2], qdir[PATH_MAX * 2], qtag[128];
        if (kw_shell_quote(sock, qsock, sizeof(qsock)) < 0 || kw_shell_quote(s.root, qroot, sizeof(qroot)) < 0 ||
            kw_shell_quote(dir, qdir, sizeof(qdir)) < 0 || kw_shell_quote(s.tag, qtag, sizeof(qtag)) < 0)
                return 0;
        kw_info("add these to your QEMU command line; boot an initramfs with the agent");
        kw_info("(kmod-watch inject-agent IN OUT, then rdinit=/kmod-watch-init), and run:");
        kw_info("  kmod-watch --connect unix:%s --share %s --tag %s %s", qsock, qroot, qtag, qdir);
        return 0;
}
