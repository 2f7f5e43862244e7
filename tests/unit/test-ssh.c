/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-ssh.c — the pure parts of the SSH transport: --ssh [USER@]HOST[:PORT],
 * --password-file's checks, when SSH_ASKPASS is used, and copying without
 * SFTP: the checksum probe and its pick, the check of a copy, ls lines, shell
 * quoting. (Connecting, host keys, logins and copies run against real SSH
 * servers in tests/e2e/test_ssh.py and test_ssh_any.py.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssh.h"
#include "test.h"

static int parse(const char *dest, char *user, char *host, unsigned *port)
{
        return kw_ssh_parse_dest(dest, user, 64, host, 64, port);
}

static void test_good(void)
{
        char user[64], host[64];
        unsigned port;

        CHECK_EQ(parse("board", user, host, &port), 0);
        CHECK(strcmp(user, "") == 0 && strcmp(host, "board") == 0 && port == 0);
        CHECK_EQ(parse("root@127.0.0.1:2222", user, host, &port), 0);
        CHECK(strcmp(user, "root") == 0 && strcmp(host, "127.0.0.1") == 0 && port == 2222);
        CHECK_EQ(parse("pi@raspberrypi.local", user, host, &port), 0);
        CHECK(strcmp(user, "pi") == 0 && strcmp(host, "raspberrypi.local") == 0 && port == 0);
        CHECK_EQ(parse("root@[::1]:22", user, host, &port), 0);
        CHECK(strcmp(host, "::1") == 0 && port == 22);
        CHECK_EQ(parse("[fe80::1]", user, host, &port), 0);
        CHECK(strcmp(host, "fe80::1") == 0 && port == 0);
        CHECK_EQ(parse("a@b@host:65535", user, host, &port), 0); /* the last @ splits, as in ssh */
        CHECK(strcmp(user, "a@b") == 0 && strcmp(host, "host") == 0 && port == 65535);
}

static void test_bad(void)
{
        char user[64], host[64];
        unsigned port;
        const char *bad[] = { "", "@host", "root@", "host:", "host:0", "host:65536", "host:22x", "host:-1",
                              "::1", "[::1", "[]:22", "[::1]x", "root@:22",
                              "a-very-long-host-name-that-does-not-fit-in-sixty-four-bytes.example.org" };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = parse(bad[i], user, host, &port);
                if (r != -EINVAL)
                        printf("# '%s' parsed (%d)\n", bad[i], r);
                CHECK_EQ(r, -EINVAL);
        }
}

/* A password file with content and mode; its path in path. */
static void pwfile(char *path, const char *content, mode_t mode)
{
        strcpy(path, "/tmp/kw-test-pw-XXXXXX");
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
        close(fd);
        CHECK(chmod(path, mode) == 0);
}

static void test_password_file(void)
{
        char path[64], pw[64], err[256];

        pwfile(path, "s3cret\nsecond line\n", 0600);
        CHECK_EQ(kw_ssh_read_password_file(path, pw, sizeof(pw), err, sizeof(err)), 0);
        CHECK(strcmp(pw, "s3cret") == 0);
        CHECK(pw[7] == 0 && pw[20] == 0); /* the rest of the file is not kept */
        unlink(path);

        pwfile(path, "crlf\r\n", 0400);
        CHECK_EQ(kw_ssh_read_password_file(path, pw, sizeof(pw), err, sizeof(err)), 0);
        CHECK(strcmp(pw, "crlf") == 0);
        unlink(path);

        pwfile(path, "no newline at the end", 0600);
        CHECK_EQ(kw_ssh_read_password_file(path, pw, sizeof(pw), err, sizeof(err)), 0);
        CHECK(strcmp(pw, "no newline at the end") == 0);
        unlink(path);

        pwfile(path, "", 0600); /* an empty password */
        CHECK_EQ(kw_ssh_read_password_file(path, pw, sizeof(pw), err, sizeof(err)), 0);
        CHECK(strcmp(pw, "") == 0);
        unlink(path);

        /* open to the group or others: refused with the fix, nothing kept */
        const mode_t open_modes[] = { 0644, 0640, 0604, 0620, 0602 };
        for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
                pwfile(path, "s3cret\n", open_modes[i]);
                CHECK_EQ(kw_ssh_read_password_file(path, pw, sizeof(pw), err, sizeof(err)), -EINVAL);
                char want[96];
                snprintf(want, sizeof(want), "chmod 600 %s", path);
                CHECK(strstr(err, want) != NULL);
                CHECK(!strchr(err, '\n'));
                CHECK(pw[0] == 0 && strstr(err, "s3cret") == NULL);
                unlink(path);
        }

        /* a first line too long for the buffer */
        char big[200];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        pwfile(path, big, 0600);
        CHECK_EQ(kw_ssh_read_password_file(path, pw, sizeof(pw), err, sizeof(err)), -EINVAL);
        CHECK(pw[0] == 0);
        unlink(path);

        CHECK_EQ(kw_ssh_read_password_file("/nonexistent/pw", pw, sizeof(pw), err, sizeof(err)), -ENOENT);
        CHECK(strstr(err, "/nonexistent/pw") != NULL);
        CHECK_EQ(kw_ssh_read_password_file("/tmp", pw, sizeof(pw), err, sizeof(err)), -EINVAL);
}

static void test_askpass(void)
{
        /* as OpenSSH's read_passphrase() decides without a terminal */
        CHECK(!kw_ssh_askpass_wanted(NULL, NULL, ":0", NULL));
        CHECK(!kw_ssh_askpass_wanted("", "force", ":0", NULL));
        CHECK(kw_ssh_askpass_wanted("/bin/ap", NULL, ":0", NULL));
        CHECK(kw_ssh_askpass_wanted("/bin/ap", NULL, NULL, "wayland-0"));
        CHECK(!kw_ssh_askpass_wanted("/bin/ap", NULL, NULL, NULL));
        CHECK(!kw_ssh_askpass_wanted("/bin/ap", NULL, "", ""));
        CHECK(kw_ssh_askpass_wanted("/bin/ap", "force", NULL, NULL));
        CHECK(kw_ssh_askpass_wanted("/bin/ap", "FORCE", NULL, NULL));
        CHECK(kw_ssh_askpass_wanted("/bin/ap", "prefer", ":0", NULL));
        CHECK(!kw_ssh_askpass_wanted("/bin/ap", "prefer", NULL, NULL));
        CHECK(!kw_ssh_askpass_wanted("/bin/ap", "never", ":0", NULL));
}

#define SHA_KW "103c54b6c5b1ad282520a33d86320b77259e797cabe194b9200fb23d965561a3"
#define MD5_KW "048685d96262085442a1d5bb4a14bc3b"

static void test_check_pick(void)
{
        char probe[1024];

        CHECK_EQ(kw_ssh_check_probe(probe, sizeof(probe)), 0);
        CHECK(strstr(probe, "printf kw | sha256sum") && strstr(probe, "busybox md5sum"));
        CHECK_EQ(kw_ssh_check_probe(probe, 20), -ENAMETOOLONG);

        /* GNU coreutils: the first works */
        CHECK(strcmp(kw_ssh_check_pick(SHA_KW "  -\n=\n=\n" MD5_KW "  -\n=\n")->name, "sha256sum") == 0);
        /* no sha256sum link, but the busybox applet */
        CHECK(kw_ssh_check_pick("=\n" SHA_KW "  -\n=\n" MD5_KW "  -\n=\n" MD5_KW "  -\n")->kind == KW_CHECK_SHA256);
        CHECK(strcmp(kw_ssh_check_pick("=\n" SHA_KW "  -\n=\n=\n")->name, "busybox sha256sum") == 0);
        /* md5sum only */
        CHECK(strcmp(kw_ssh_check_pick("=\n=\n" MD5_KW "  -\n=\n")->name, "md5sum") == 0);
        CHECK(strcmp(kw_ssh_check_pick("=\n=\n=\n" MD5_KW "\n")->name, "busybox md5sum") == 0);
        /* a tool that prints something else (a broken or different one) is not trusted */
        CHECK(kw_ssh_check_pick(MD5_KW "  -\n=\n=\n=\n")->kind == KW_CHECK_SIZE);
        CHECK(kw_ssh_check_pick("")->kind == KW_CHECK_SIZE);
        CHECK(kw_ssh_check_pick("=\n=\n=\n")->kind == KW_CHECK_SIZE);
        CHECK(strstr(kw_ssh_check_pick("")->cmd, "wc -c") != NULL);
}

static void test_check_compare(void)
{
        const struct kw_ssh_check *sha = kw_ssh_check_pick(SHA_KW "\n");
        const struct kw_ssh_check *md5 = kw_ssh_check_pick("=\n=\n" MD5_KW "\n");
        const struct kw_ssh_check *size = kw_ssh_check_pick("");
        char got[80];

        CHECK_EQ(kw_ssh_check_compare(sha, SHA_KW "  /tmp/x/a.ko.part\n", SHA_KW, MD5_KW, 2, got, sizeof(got)), 0);
        CHECK_EQ(kw_ssh_check_compare(sha, MD5_KW "  /tmp/x\n", SHA_KW, MD5_KW, 2, got, sizeof(got)), -EBADMSG);
        CHECK(strcmp(got, MD5_KW) == 0);
        CHECK_EQ(kw_ssh_check_compare(sha, "", SHA_KW, MD5_KW, 2, got, sizeof(got)), -EBADMSG);
        CHECK_EQ(kw_ssh_check_compare(md5, MD5_KW "  f\n", SHA_KW, MD5_KW, 2, got, sizeof(got)), 0);
        CHECK_EQ(kw_ssh_check_compare(size, "   123456\n", SHA_KW, MD5_KW, 123456, got, sizeof(got)), 0);
        CHECK_EQ(kw_ssh_check_compare(size, "123455\n", SHA_KW, MD5_KW, 123456, got, sizeof(got)), -EBADMSG);
        CHECK_EQ(kw_ssh_check_compare(size, "1234567\n", SHA_KW, MD5_KW, 123456, got, sizeof(got)), -EBADMSG);
}

static void test_sftp_reply(void)
{
        /* OpenSSH's sftp-server: SSH_FXP_VERSION 3 (and extensions) */
        const uint8_t version[] = { 0, 0, 0, 5, 2, 0, 0, 0, 3 };
        const uint8_t with_ext[] = { 0, 0, 1, 0x20, 2, 0, 0, 0, 3 };
        const uint8_t status[] = { 0, 0, 0, 9, 101, 0, 0, 0, 0 }; /* SSH_FXP_STATUS: not a version */

        CHECK(kw_ssh_sftp_reply_ok(version, 5));
        CHECK(kw_ssh_sftp_reply_ok(with_ext, sizeof(with_ext)));
        CHECK(!kw_ssh_sftp_reply_ok(version, 4)); /* EOF before a whole header: no SFTP */
        CHECK(!kw_ssh_sftp_reply_ok(version, 0));
        CHECK(!kw_ssh_sftp_reply_ok(status, sizeof(status)));
        /* a shell's complaint on stdout, not a packet */
        const char *sh = "sh: /usr/lib/sftp-server: not found\n";
        CHECK(!kw_ssh_sftp_reply_ok((const uint8_t *)sh, strlen(sh)));
}

static void test_parse_ls(void)
{
        struct kw_ssh_ls l;

        CHECK_EQ(kw_ssh_parse_ls("drwx------    2 0        0               80 Dec  2 07:00 /tmp/kmod-watch-0-ab\n", &l), 0);
        CHECK(l.type == 'd' && l.mode == 0700 && l.uid == 0 && l.size == 80);
        CHECK_EQ(kw_ssh_parse_ls("-rwx------ 1 1000 1000 1234567 Dec  2 07:00 /tmp/d/kmod-agent", &l), 0);
        CHECK(l.type == '-' && l.mode == 0700 && l.uid == 1000 && l.size == 1234567);
        CHECK_EQ(kw_ssh_parse_ls("drwxrwxrwt 9 0 0 200 Dec  2 07:00 /tmp", &l), 0);
        CHECK(l.mode == 0777);
        CHECK_EQ(kw_ssh_parse_ls("drwSr-s--T 9 0 0 200 Dec  2 07:00 /x", &l), 0);
        CHECK(l.mode == 0650);
        CHECK_EQ(kw_ssh_parse_ls("lrwxrwxrwx 1 0 0 4 Dec  2 07:00 /tmp/x -> /etc", &l), 0);
        CHECK(l.type == 'l');
        CHECK_EQ(kw_ssh_parse_ls("drwx------. 2 0 0 80 Dec  2 07:00 /x", &l), 0); /* SELinux context mark */
        CHECK_EQ(kw_ssh_parse_ls("", &l), -EINVAL);
        CHECK_EQ(kw_ssh_parse_ls("ls: /tmp/x: No such file or directory", &l), -EINVAL);
        CHECK_EQ(kw_ssh_parse_ls("drwx------ 2 root root 80 Dec  2 07:00 /x", &l), -EINVAL); /* not -n */
        CHECK_EQ(kw_ssh_parse_ls("dr?x------ 2 0 0 80 Dec  2 07:00 /x", &l), -EINVAL);
}

static void test_quote(void)
{
        char b[64];

        CHECK_EQ(kw_ssh_quote("/tmp/a b", b, sizeof(b)), 0);
        CHECK(strcmp(b, "'/tmp/a b'") == 0);
        CHECK_EQ(kw_ssh_quote("it's $(x) `y`", b, sizeof(b)), 0);
        CHECK(strcmp(b, "'it'\\''s $(x) `y`'") == 0);
        CHECK_EQ(kw_ssh_quote("", b, sizeof(b)), 0);
        CHECK(strcmp(b, "''") == 0);
        CHECK_EQ(kw_ssh_quote("0123456789", b, 13), 0);
        CHECK_EQ(kw_ssh_quote("0123456789", b, 12), -ENAMETOOLONG);
        CHECK(b[0] == 0);
}

int main(void)
{
        RUN(test_good);
        RUN(test_bad);
        RUN(test_password_file);
        RUN(test_askpass);
        RUN(test_check_pick);
        RUN(test_check_compare);
        RUN(test_sftp_reply);
        RUN(test_parse_ls);
        RUN(test_quote);
        TEST_DONE();
}
