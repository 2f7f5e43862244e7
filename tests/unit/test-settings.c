/* SPDX-License-Identifier: MIT */
/* test-settings.c — the .kmod-watch parser: options, flags, comments, errors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
        RUN(test_options_and_flags);
        RUN(test_empty);
        RUN(test_bad_lines);
        RUN(test_has_and_drop);
        TEST_DONE();
}
