/* SPDX-License-Identifier: GPL-2.0-only */
/* test-settings.c — the .kmod-watch parser: options, flags, comments, errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "settings.h"
#include "test.h"

static void free_v(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void test_options_and_flags(void)
{
        char **v = NULL;
        size_t n = 0;
        const char *text = "# a project's settings\n"
                           "[kmod-watch]\n"
                           "arch = arm64\n"
                           "\n"
                           "  param=debug=1  \n"
                           "; another comment\n"
                           "expect = hello:  two  spaces\n"
                           "once\n";

        CHECK_EQ(kw_settings_parse(text, &v, &n, NULL), 0);
        CHECK_EQ(n, 4);
        if (n == 4) {
                CHECK(strcmp(v[0], "--arch=arm64") == 0);
                CHECK(strcmp(v[1], "--param=debug=1") == 0); /* first '=' splits */
                CHECK(strcmp(v[2], "--expect=hello:  two  spaces") == 0);
                CHECK(strcmp(v[3], "--once") == 0);
        }
        free_v(v, n);
}

static void test_empty(void)
{
        char **v = NULL;
        size_t n = 7;

        CHECK_EQ(kw_settings_parse("", &v, &n, NULL), 0);
        CHECK_EQ(n, 0);
        CHECK_EQ(kw_settings_parse("# only a comment\n\n", &v, &n, NULL), 0);
        CHECK_EQ(n, 0);
        free_v(v, n);
}

static void test_bad_lines(void)
{
        char **v = NULL;
        size_t n = 0;
        unsigned line = 0;

        CHECK_EQ(kw_settings_parse("arch = x86_64\n\n--once\n", &v, &n, &line), -EINVAL);
        CHECK_EQ(line, 3);
        CHECK_EQ(kw_settings_parse("Arch = x\n", &v, &n, &line), -EINVAL);
        CHECK_EQ(line, 1);
        CHECK_EQ(kw_settings_parse("= value\n", &v, &n, &line), -EINVAL);
        CHECK_EQ(kw_settings_parse("two words = x\n", &v, &n, &line), -EINVAL);
}

static void test_has_and_drop(void)
{
        char **v = NULL;
        size_t n = 0;
        CHECK_EQ(kw_settings_parse("expect = a b\nexpected-thing = x\nonce\nexpect = c\n", &v, &n, NULL), 0);
        CHECK_EQ(n, 4u);
        CHECK(kw_settings_has(v, n, "once"));
        CHECK(kw_settings_has(v, n, "expect"));
        CHECK(!kw_settings_has(v, n, "on"));
        CHECK_EQ(kw_settings_drop(v, &n, "expect"), 2u);
        CHECK_EQ(n, 2u);
        CHECK(!strcmp(v[0], "--expected-thing=x"));
        CHECK(!strcmp(v[1], "--once"));
        CHECK(!kw_settings_has(v, n, "expect"));
        CHECK_EQ(kw_settings_drop(v, &n, "expect"), 0u);
        free_v(v, n);
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
                fputs(text, f);
                fclose(f);
        }
}

static void test_user_path(void)
{
        char buf[256];
        setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
        CHECK_EQ(kw_settings_user_path(buf, sizeof(buf)), 0);
        CHECK(!strcmp(buf, "/x/cfg/kmod-watch/config"));
        setenv("XDG_CONFIG_HOME", "relative", 1); /* not absolute: ignored, as the XDG spec says */
        setenv("HOME", "/home/u", 1);
        CHECK_EQ(kw_settings_user_path(buf, sizeof(buf)), 0);
        CHECK(!strcmp(buf, "/home/u/.config/kmod-watch/config"));
        unsetenv("XDG_CONFIG_HOME");
        unsetenv("HOME");
        CHECK_EQ(kw_settings_user_path(buf, sizeof(buf)), -ENOENT);
}

/* the user's file first, then the project's (so the project's wins, and the command
 * line after both); a missing user file is fine; expect only for --once runs */
static void test_gather(void)
{
        char dir[] = "/tmp/kw-settings-XXXXXX", user[64], project[64];
        char **v = NULL;
        size_t n = 0, un = 0, pn = 0;
        CHECK(mkdtemp(dir) != NULL);
        snprintf(user, sizeof(user), "%s/user", dir);
        snprintf(project, sizeof(project), "%s/project", dir);
        write_file(user, "arch = arm64\nparam = a=1\nexpect = from user\n");
        write_file(project, "arch = x86_64\nparam = b=2\n");
        CHECK_EQ(kw_settings_gather(user, project, true, true, &v, &n, &un, &pn), 0);
        CHECK_EQ(n, 5u);
        CHECK_EQ(un, 3u);
        CHECK_EQ(pn, 2u);
        if (n == 5) {
                CHECK(!strcmp(v[0], "--arch=arm64"));
                CHECK(!strcmp(v[3], "--arch=x86_64")); /* later: wins */
        }
        free_v(v, n);
        CHECK_EQ(kw_settings_gather(user, project, true, false, &v, &n, &un, &pn), 0);
        CHECK_EQ(n, 4u); /* not --once: the expect line is gone */
        CHECK(!kw_settings_has(v, n, "expect"));
        free_v(v, n);
        unlink(user);
        CHECK_EQ(kw_settings_gather(user, project, true, false, &v, &n, &un, &pn), 0);
        CHECK_EQ(n, 2u);
        free_v(v, n);
        unlink(project);
        CHECK_EQ(kw_settings_gather(user, project, false, false, &v, &n, &un, &pn), 0);
        CHECK_EQ(n, 0u);
        free_v(v, n);
        CHECK_EQ(kw_settings_gather("", project, true, false, &v, &n, &un, &pn), -ENOENT);
        rmdir(dir);
}

int main(void)
{
        RUN(test_options_and_flags);
        RUN(test_empty);
        RUN(test_bad_lines);
        RUN(test_has_and_drop);
        RUN(test_user_path);
        RUN(test_gather);
        TEST_DONE();
}
