/* SPDX-License-Identifier: MIT */
/*
 * test-ssh.c — the pure part of watcher/ssh.c: --ssh [USER@]HOST[:PORT].
 * (Connecting, host keys and logins run against real SSH servers in
 * tests/e2e/test_ssh.py.)
 */
#include <errno.h>
#include <string.h>

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

int main(void)
{
        RUN(test_good);
        RUN(test_bad);
        TEST_DONE();
}
