/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-connect.c — the pure parts of attaching to the user's own QEMU: where
 * DIR sits under the 9p share (share.c), which tags and security models pass,
 * resolving them from options and the tutorial's QEMU_9P_* variables, the
 * qemu-args line and its shell quoting (qemuargs.c, checked by letting
 * /bin/sh split it), the same pieces on the managed guest's command line
 * (qemu.c), and the connect backoff (attach.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "qemu.h"
#include "qemuargs.h"
#include "share.h"
#include "test.h"

static void subdir(void)
{
        char b[PATH_MAX];

        CHECK_EQ(kw_share_subdir("/srv/share", "/srv/share", b, sizeof(b)), 0);
        CHECK(strcmp(b, "") == 0);
        CHECK_EQ(kw_share_subdir("/srv/share", "/srv/share/a/b", b, sizeof(b)), 0);
        CHECK(strcmp(b, "a/b") == 0);
        CHECK_EQ(kw_share_subdir("/srv/share/", "/srv/share/a", b, sizeof(b)), 0);
        CHECK(strcmp(b, "a") == 0);
        CHECK_EQ(kw_share_subdir("/", "/home/u/mod", b, sizeof(b)), 0);
        CHECK(strcmp(b, "home/u/mod") == 0);
        CHECK_EQ(kw_share_subdir("/", "/", b, sizeof(b)), 0);
        CHECK(strcmp(b, "") == 0);
        /* a sibling with the same prefix is not inside */
        CHECK_EQ(kw_share_subdir("/srv/share", "/srv/share2/a", b, sizeof(b)), -EXDEV);
        CHECK_EQ(kw_share_subdir("/srv/share", "/srv", b, sizeof(b)), -EXDEV);
        CHECK_EQ(kw_share_subdir("/srv/share", "/other", b, sizeof(b)), -EXDEV);
        CHECK_EQ(kw_share_subdir("/s", "/s/abcdef", b, 4), -ENAMETOOLONG);
}

static void tags_and_models(void)
{
        CHECK(kw_share_tag_valid("hostshare"));
        CHECK(kw_share_tag_valid("a"));
        CHECK(kw_share_tag_valid("0123456789012345678901234567890")); /* 31 */
        CHECK(!kw_share_tag_valid("01234567890123456789012345678901")); /* 32: QEMU refuses */
        CHECK(!kw_share_tag_valid(""));
        CHECK(!kw_share_tag_valid("a,b"));
        CHECK(!kw_share_tag_valid("a b"));
        CHECK(!kw_share_tag_valid("a\tb"));
        CHECK(kw_share_sec_valid("none"));
        CHECK(kw_share_sec_valid("mapped-xattr"));
        CHECK(kw_share_sec_valid("mapped-file"));
        CHECK(kw_share_sec_valid("passthrough"));
        CHECK(!kw_share_sec_valid("mapped"));
        CHECK(!kw_share_sec_valid(""));
}

static void resolve(void)
{
        struct kw_opts o = { 0 };
        struct kw_share s;
        char err[512];

        unsetenv("QEMU_9P_PATH");
        unsetenv("QEMU_9P_TAG");
        unsetenv("QEMU_9P_SEC");
        CHECK_EQ(kw_share_resolve(&o, "/", &s, err, sizeof(err)), 0);
        CHECK(strcmp(s.root, "/") == 0 && strcmp(s.root_from, "DIR") == 0);
        CHECK(strcmp(s.tag, "hostshare") == 0 && strcmp(s.tag_from, "default") == 0);
        CHECK(strcmp(s.sec, "none") == 0);

        setenv("QEMU_9P_PATH", "/tmp", 1);
        setenv("QEMU_9P_TAG", "envtag", 1);
        setenv("QEMU_9P_SEC", "mapped-xattr", 1);
        CHECK_EQ(kw_share_resolve(&o, "/", &s, err, sizeof(err)), 0);
        CHECK(strcmp(s.root_from, "QEMU_9P_PATH") == 0);
        CHECK(strcmp(s.tag, "envtag") == 0 && strcmp(s.tag_from, "QEMU_9P_TAG") == 0);
        CHECK(strcmp(s.sec, "mapped-xattr") == 0);

        o.share = "/";
        o.tag = "opttag";
        CHECK_EQ(kw_share_resolve(&o, "/tmp", &s, err, sizeof(err)), 0);
        CHECK(strcmp(s.root, "/") == 0 && strcmp(s.root_from, "--share") == 0);
        CHECK(strcmp(s.tag, "opttag") == 0 && strcmp(s.tag_from, "--tag") == 0);

        o.tag = "bad,tag";
        CHECK_EQ(kw_share_resolve(&o, "/tmp", &s, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "bad,tag") != NULL);
        o.tag = NULL;
        setenv("QEMU_9P_SEC", "bogus", 1);
        CHECK_EQ(kw_share_resolve(&o, "/tmp", &s, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, "QEMU_9P_SEC") != NULL);
        setenv("QEMU_9P_SEC", "none", 1);
        o.share = "/nonexistent/kmod-watch-test";
        CHECK_EQ(kw_share_resolve(&o, "/tmp", &s, err, sizeof(err)), -ENOENT);
        CHECK(strstr(err, "--share") != NULL);
        unsetenv("QEMU_9P_PATH");
        unsetenv("QEMU_9P_TAG");
        unsetenv("QEMU_9P_SEC");
}

static void quote(void)
{
        char b[256];

        CHECK_EQ(kw_shell_quote("-virtfs", b, sizeof(b)), 0);
        CHECK(strcmp(b, "-virtfs") == 0);
        CHECK_EQ(kw_shell_quote("a b", b, sizeof(b)), 0);
        CHECK(strcmp(b, "'a b'") == 0);
        CHECK_EQ(kw_shell_quote("it's", b, sizeof(b)), 0);
        CHECK(strcmp(b, "'it'\\''s'") == 0);
        CHECK_EQ(kw_shell_quote("", b, sizeof(b)), 0);
        CHECK(strcmp(b, "''") == 0);
        CHECK_EQ(kw_shell_quote("$HOME", b, sizeof(b)), 0);
        CHECK(strcmp(b, "'$HOME'") == 0);
        CHECK_EQ(kw_shell_quote("a b", b, 6), 0); /* 'a b' + NUL */
        CHECK_EQ(kw_shell_quote("a b", b, 5), -ENAMETOOLONG);
}

/* The line as /bin/sh splits it, one word per line. */
static char *sh_split(const char *line)
{
        char cmd[8192 + 64];
        static char out[8192];

        snprintf(cmd, sizeof(cmd), "for w in %s; do printf '%%s\\n' \"$w\"; done", line);
        FILE *p;
        char quoted[2 * sizeof(cmd)];
        if (kw_shell_quote(cmd, quoted, sizeof(quoted)) < 0)
                return NULL;
        char full[sizeof(quoted) + 16];
        snprintf(full, sizeof(full), "sh -c %s", quoted);
        p = popen(full, "r");
        if (!p)
                return NULL;
        size_t n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = 0;
        pclose(p);
        return out;
}

static void args_line(void)
{
        char line[8192];
        struct kw_qemu_args_in in = {
                .share = "/home/u/my mods,x",
                .tag = "hostshare",
                .sec = "none",
                .sock = "/run/user/1000/kmod-watch.sock",
        };

        CHECK_EQ(kw_qemu_args_line(&in, line, sizeof(line)), 0);
        CHECK(strchr(line, '\n') == NULL);
        char *words = sh_split(line);
        CHECK(words != NULL);
        if (!words)
                return;
        const char *want = "-virtfs\n"
                           "local,path=/home/u/my mods,,x,mount_tag=hostshare,security_model=none,id=fs9p\n"
                           "-device\n"
                           "virtio-serial-pci,id=kmodwatch-serial\n"
                           "-chardev\n"
                           "socket,id=kmodwatch,path=/run/user/1000/kmod-watch.sock,server=on,wait=off\n"
                           "-device\n"
                           "virtserialport,bus=kmodwatch-serial.0,chardev=kmodwatch,name=org.kmodwatch.0\n";
        if (strcmp(words, want) != 0)
                printf("# got:\n%s# want:\n%s", words, want);
        CHECK(strcmp(words, want) == 0);

        in.share = NULL; /* QEMU_9P=on: the user's script shares */
        CHECK_EQ(kw_qemu_args_line(&in, line, sizeof(line)), 0);
        CHECK(strstr(line, "-virtfs") == NULL);
        CHECK(strstr(line, "name=org.kmodwatch.0") != NULL);
        CHECK_EQ(kw_qemu_args_line(&in, line, 40), -ENAMETOOLONG);
}

/* The managed guest's command line: the same 9p and virtio-serial pieces
 * (qemu.c writes both), with its own ids and QEMU connecting to our socket. */
static void managed_argv(void)
{
        const struct kw_qemu_opts o = {
                .binary = "qemu-system-x86_64",
                .console = "ttyS0",
                .kernel = "/k/vmlinux",
                .initrd = "/run/kw/initrd.img",
                .share_dir = "/home/u/mods",
                .tag = "kmodwatch",
                .sock_path = "/run/kw/agent.sock",
        };
        char buf[8192], *argv[64], joined[8192] = "";

        int n = kw_qemu_argv(&o, buf, sizeof(buf), argv, 64);
        CHECK(n > 8);
        for (int i = n - 8; i >= 0 && i < n; i++) {
                strcat(joined, argv[i]);
                strcat(joined, "\n");
        }
        const char *want = "-virtfs\n"
                           "local,path=/home/u/mods,mount_tag=kmodwatch,security_model=none,id=fs9p\n"
                           "-device\n"
                           "virtio-serial-pci\n"
                           "-chardev\n"
                           "socket,id=kw0,path=/run/kw/agent.sock\n"
                           "-device\n"
                           "virtserialport,chardev=kw0,name=org.kmodwatch.0\n";
        if (strcmp(joined, want) != 0)
                printf("# got:\n%s# want:\n%s", joined, want);
        CHECK(strcmp(joined, want) == 0);
}

/* --cpus, --append and --qemu-opt: -smp N, the command line's tail, and the extra
 * arguments last, each value split at spaces. */
static void managed_argv_guest_options(void)
{
        const char *extra[] = { "-device virtio-rng-pci", "  -object  rng-random,id=r0,filename=/dev/urandom " };
        const struct kw_qemu_opts o = {
                .binary = "qemu-system-x86_64",
                .kernel = "/k/vmlinux",
                .share_dir = "/home/u/mods",
                .tag = "kmodwatch",
                .sock_path = "/run/kw/agent.sock",
                .cpus = 3,
                .append = "log_buf_len=8M nokaslr",
                .extra = extra,
                .n_extra = 2,
        };
        char buf[8192], *argv[64];

        int n = kw_qemu_argv(&o, buf, sizeof(buf), argv, 64);
        CHECK(n > 4);
        if (n <= 4)
                return;
        bool smp = false, append = false;
        for (int i = 0; i + 1 < n; i++) {
                smp |= !strcmp(argv[i], "-smp") && !strcmp(argv[i + 1], "3");
                append |= !strcmp(argv[i], "-append") && strstr(argv[i + 1], " log_buf_len=8M nokaslr") &&
                          strstr(argv[i + 1], "console=ttyS0");
        }
        CHECK(smp);
        CHECK(append);
        CHECK(!strcmp(argv[n - 4], "-device"));
        CHECK(!strcmp(argv[n - 3], "virtio-rng-pci"));
        CHECK(!strcmp(argv[n - 2], "-object"));
        CHECK(!strcmp(argv[n - 1], "rng-random,id=r0,filename=/dev/urandom"));
        /* too many for the caller's vector: an error, never a cut command line */
        CHECK_EQ(kw_qemu_argv(&o, buf, sizeof(buf), argv, 20), -E2BIG);
}

/* The kit's module tree: a second, read-only export after the rest. */
static void managed_argv_modules(void)
{
        const struct kw_qemu_opts o = {
                .binary = "qemu-system-x86_64",
                .kernel = "/k/vmlinux",
                .share_dir = "/home/u/mods",
                .tag = "kmodwatch",
                .modules_dir = "/c/kit/root/lib/modules/6.1.0-57-amd64",
                .sock_path = "/run/kw/agent.sock",
        };
        char buf[8192], *argv[64];

        int n = kw_qemu_argv(&o, buf, sizeof(buf), argv, 64);
        CHECK(n > 2);
        if (n <= 2)
                return;
        CHECK(!strcmp(argv[n - 2], "-virtfs"));
        CHECK(!strcmp(argv[n - 1], "local,path=/c/kit/root/lib/modules/6.1.0-57-amd64,mount_tag=kmodwatch-modules,"
                                   "security_model=none,readonly=on,id=fsmods"));
}

static void backoff(void)
{
        CHECK_EQ(kw_attach_backoff_ms(0), 100);
        CHECK_EQ(kw_attach_backoff_ms(1), 200);
        CHECK_EQ(kw_attach_backoff_ms(2), 400);
        CHECK_EQ(kw_attach_backoff_ms(4), 1600);
        CHECK_EQ(kw_attach_backoff_ms(5), 2000);
        CHECK_EQ(kw_attach_backoff_ms(1000), 2000);
}

int main(void)
{
        RUN(subdir);
        RUN(tags_and_models);
        RUN(resolve);
        RUN(quote);
        RUN(args_line);
        RUN(managed_argv);
        RUN(managed_argv_modules);
        RUN(managed_argv_guest_options);
        RUN(backoff);
        TEST_DONE();
}
