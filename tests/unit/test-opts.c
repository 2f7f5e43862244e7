/* SPDX-License-Identifier: GPL-2.0-only */
/* test-opts.c — the command line: -h, -V, --color=WHEN and where colours go, --release;
 * --kernel-root and its companions. */
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "test.h"

static int parse(struct kw_opts *o, const char *a1, const char *a2)
{
        char *argv[] = { "kmod-watch", (char *)a1, (char *)a2, NULL };
        int argc = a2 ? 3 : a1 ? 2 : 1;
        return kw_opts_parse(argc, argv, o);
}

static void test_short_help_and_version(void)
{
        struct kw_opts o;
        CHECK_EQ(parse(&o, "-h", NULL), 0);
        CHECK_EQ(o.cmd, KW_CMD_HELP);
        CHECK_EQ(parse(&o, "-V", NULL), 0);
        CHECK_EQ(o.cmd, KW_CMD_VERSION);
        CHECK_EQ(parse(&o, "--version", NULL), 0);
        CHECK_EQ(o.cmd, KW_CMD_VERSION);
}

static void test_color_values(void)
{
        struct kw_opts o;
        CHECK_EQ(parse(&o, "--color=always", NULL), 0);
        CHECK(o.force_color && !o.no_color);
        CHECK_EQ(parse(&o, "--color", "never"), 0);
        CHECK(o.no_color && !o.force_color);
        CHECK_EQ(parse(&o, "--color=auto", NULL), 0);
        CHECK(!o.no_color && !o.force_color);
        CHECK_EQ(parse(&o, "--no-color", NULL), 0);
        CHECK(o.no_color);
        CHECK(parse(&o, "--color=sometimes", NULL) < 0);
}

static void test_color_per_stream(void)
{
        struct kw_opts o;
        CHECK_EQ(parse(&o, NULL, NULL), 0); /* auto */
        /* stdout piped, stderr a terminal: only stderr gets colours */
        CHECK(!kw_opts_want_color(&o, STDOUT_FILENO, false, NULL, "xterm"));
        CHECK(kw_opts_want_color(&o, STDERR_FILENO, true, NULL, "xterm"));
        CHECK(!kw_opts_want_color(&o, STDERR_FILENO, true, "1", "xterm"));
        CHECK(!kw_opts_want_color(&o, STDERR_FILENO, true, NULL, "dumb"));
        CHECK(kw_opts_want_color(&o, STDERR_FILENO, true, "", NULL)); /* NO_COLOR empty: ignored */
        CHECK_EQ(parse(&o, "--color=always", NULL), 0);
        CHECK(kw_opts_want_color(&o, STDOUT_FILENO, false, "1", "dumb"));
        CHECK_EQ(parse(&o, "--color=always", "--json"), 0);
        CHECK(!kw_opts_want_color(&o, STDOUT_FILENO, true, NULL, "xterm")); /* the JSON stream */
        CHECK(kw_opts_want_color(&o, STDERR_FILENO, false, NULL, NULL));
        CHECK_EQ(parse(&o, "--color=never", NULL), 0);
        CHECK(!kw_opts_want_color(&o, STDERR_FILENO, true, NULL, "xterm"));
}

static void test_targets(void)
{
        struct kw_opts o;
        char *argv[] = { "kmod-watch", "--target", "x86_64/6.1", "--target=arm64", "--target", "aarch64/6.12", NULL };

        CHECK_EQ(kw_opts_parse(6, argv, &o), 0);
        CHECK_EQ(o.n_target, 3);
        CHECK(o.n_target == 3 && strcmp(o.target[2], "aarch64/6.12") == 0);
        CHECK(parse(&o, "--target", "sparc/6.1") < 0);
        CHECK(parse(&o, "--target", "x86_64/") < 0);
        CHECK(parse(&o, "--target", "x86_64/6.1;rm") < 0);
        CHECK(parse(&o, "--target=x86_64", "--connect=unix:/s") < 0);
        CHECK_EQ(parse(&o, "--target=x86_64", "--build-dir=/b"), 0); /* a child: --target is its parent's */
        CHECK(kw_opts_takes_value("target", 6) && kw_opts_takes_value("junit", 5) && !kw_opts_takes_value("json", 4) &&
              !kw_opts_takes_value("nope", 4));
}

static void test_release(void)
{
        struct kw_opts o;

        CHECK_EQ(parse(&o, NULL, NULL), 0);
        CHECK(o.release == NULL); /* Debian's default kernel */
        CHECK_EQ(parse(&o, "--release", "6.12"), 0);
        CHECK(o.release && strcmp(o.release, "6.12") == 0);
        CHECK_EQ(parse(&o, "--release=6.12.117+deb12-amd64", NULL), 0);
        CHECK(o.release && strcmp(o.release, "6.12.117+deb12-amd64") == 0);
        CHECK(parse(&o, "--release", "../6.12") < 0); /* it names a directory under kits/ARCH/ */
        CHECK(parse(&o, "--release", "6.12/x") < 0);
        CHECK(parse(&o, "--release", ".hidden") < 0);
        CHECK(parse(&o, "--release=", NULL) < 0);
        CHECK(parse(&o, "--release=6.12 x", NULL) < 0);
        CHECK(parse(&o, "--release=6.12", "--kernel=/boot/vmlinuz") < 0); /* the kit's kernel or yours */
}

/* --kernel-root, --kernel-release, --host-kernel: what goes with what. Their
 * stderr line goes to the test's output. */
static void test_kernel_root(void)
{
        struct kw_opts o;
        char *ok[] = { "kmod-watch", "--kernel-root", "/r", "--kernel-release", "6.1.0-1-amd64", "--memory", "64", NULL };
        CHECK_EQ(kw_opts_parse(7, ok, &o), 0); /* the kit's memory floor is not this kernel's */
        CHECK(!strcmp(o.kernel_root, "/r") && !strcmp(o.kernel_release, "6.1.0-1-amd64") && !o.host_kernel);
        CHECK_EQ(parse(&o, "--host-kernel", NULL), 0);
        CHECK(o.host_kernel && !o.kernel_root && !o.kernel_release);
        CHECK(parse(&o, "--kernel-release", "6.1") < 0);
        CHECK(parse(&o, "--host-kernel", "--kernel-root=/") < 0);
        CHECK(parse(&o, "--host-kernel", "--kernel=/boot/vmlinuz") < 0);
        CHECK(parse(&o, "--kernel-root=/r", "--ssh=board") < 0);
        CHECK(parse(&o, "--kernel-root=/r", "--connect=unix:/s") < 0);
}

int main(void)
{
        RUN(test_short_help_and_version);
        RUN(test_color_values);
        RUN(test_color_per_stream);
        RUN(test_targets);
        RUN(test_release);
        RUN(test_kernel_root);
        TEST_DONE();
}
