/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-filter.c — which paths are sources (watcher/filter.c): the defaults,
 * everything editors and Kbuild leave behind, and --include/--exclude.
 */
#include <errno.h>
#include <stdbool.h>

#include "filter.h"
#include "test.h"

static struct kw_filter defaults;

static bool m(const char *path)
{
        return kw_filter_match(&defaults, path);
}

static void test_default_sources(void)
{
        CHECK(m("hello.c"));
        CHECK(m("hello.h"));
        CHECK(m("entry.S"));
        CHECK(m("Makefile"));
        CHECK(m("makefile"));
        CHECK(m("GNUmakefile"));
        CHECK(m("Kbuild"));
        CHECK(m("Kconfig"));
        CHECK(m("sub/x.c"));
        CHECK(m("a/b/c/include/x.h"));
        CHECK(m("sub/Kbuild"));
}

static void test_default_not_sources(void)
{
        CHECK(!m("README.md"));
        CHECK(!m("hello.s")); /* make hello.s output; only .S is a source */
        CHECK(!m("hello.c.bak"));
        CHECK(!m("notes.txt"));
        CHECK(!m("Makefile.bak"));
        CHECK(!m(""));
        CHECK(!m("sub/"));
}

static void test_build_outputs(void)
{
        CHECK(!m("hello.o"));
        CHECK(!m("hello.ko"));
        CHECK(!m("hello.mod"));
        CHECK(!m("hello.mod.c")); /* a *.c, but Kbuild writes it */
        CHECK(!m("hello.mod.o"));
        CHECK(!m("hello.cmd"));
        CHECK(!m("lib.a"));
        CHECK(!m("modules.order"));
        CHECK(!m("Module.symvers"));
        CHECK(!m("x.symvers"));
        CHECK(!m("x.order"));
        CHECK(!m("x.tmp"));
        CHECK(!m("hello.dwo"));
        CHECK(!m("sub/hello.mod.c"));
        CHECK(!m(".hello.o.cmd"));
        CHECK(!m(".module-common.o"));
        CHECK(!m(".tmp_versions/hello.mod"));
        CHECK(!m(".tmp_versions/x.c"));
}

static void test_editor_files(void)
{
        /* vim */
        CHECK(!m("hello.c~"));
        CHECK(!m(".hello.c.swp"));
        CHECK(!m(".hello.c.swx"));
        CHECK(!m("hello.c.swp")); /* with 'directory' pointing elsewhere */
        CHECK(!m("%home%me%hello.c.swo"));
        CHECK(!m("4913"));
        CHECK(!m("5036"));
        CHECK(!m("sub/4913"));
        /* emacs */
        CHECK(!m(".#hello.c"));
        CHECK(!m("#hello.c#"));
        /* JetBrains safe-write */
        CHECK(!m("hello.c___jb_tmp___"));
        CHECK(!m("hello.c___jb_old___"));
        /* sed -i, patch */
        CHECK(!m("sedAb12Cd"));
        CHECK(!m("hello.c.orig"));
        /* still sources */
        CHECK(m("4913.c"));
        CHECK(m("sed.c"));
        CHECK(m("swap.c"));
}

static void test_hidden(void)
{
        CHECK(!m(".git/config"));
        CHECK(!m(".git/objects/ab/x.c"));
        CHECK(!m(".hidden.c"));
        CHECK(!m("sub/.cache/x.c"));
        CHECK(!m(".vscode/x.h"));
}

static void test_dir_ignored_defaults(void)
{
        CHECK(!kw_filter_dir_ignored(&defaults, ""));
        CHECK(!kw_filter_dir_ignored(&defaults, "."));
        CHECK(!kw_filter_dir_ignored(&defaults, "sub"));
        CHECK(!kw_filter_dir_ignored(&defaults, "a/b/c"));
        CHECK(kw_filter_dir_ignored(&defaults, ".git"));
        CHECK(kw_filter_dir_ignored(&defaults, ".git/objects"));
        CHECK(kw_filter_dir_ignored(&defaults, ".tmp_versions"));
        CHECK(kw_filter_dir_ignored(&defaults, "sub/.cache"));
        CHECK(kw_filter_dir_ignored(&defaults, "sub/.cache/deeper"));
}

static void test_include_replaces_defaults(void)
{
        struct kw_filter f;

        kw_filter_init(&f);
        CHECK_EQ(kw_filter_add_include(&f, "*.rs"), 0);
        CHECK(kw_filter_match(&f, "hello.rs"));
        CHECK(kw_filter_match(&f, "sub/hello.rs"));
        CHECK(!kw_filter_match(&f, "hello.c"));
        CHECK(!kw_filter_match(&f, "Makefile"));
        CHECK_EQ(kw_filter_add_include(&f, "*.c"), 0);
        CHECK(kw_filter_match(&f, "hello.c"));
        /* the built-in ignores still win */
        CHECK(!kw_filter_match(&f, "hello.mod.c"));
        CHECK(!kw_filter_match(&f, ".hello.c"));
        kw_filter_free(&f);
}

static void test_include_everything_keeps_ignores(void)
{
        struct kw_filter f;

        kw_filter_init(&f);
        CHECK_EQ(kw_filter_add_include(&f, "*"), 0);
        CHECK(kw_filter_match(&f, "README"));
        CHECK(kw_filter_match(&f, "data.bin"));
        CHECK(!kw_filter_match(&f, "4913"));
        CHECK(!kw_filter_match(&f, "hello.c~"));
        CHECK(!kw_filter_match(&f, "hello.o"));
        CHECK(!kw_filter_match(&f, "sedXy12ab"));
        CHECK(!kw_filter_match(&f, "#hello.c#"));
        CHECK(!kw_filter_match(&f, "x___jb_tmp___"));
        CHECK(!kw_filter_match(&f, "modules.order"));
        kw_filter_free(&f);
}

static void test_include_with_slash(void)
{
        struct kw_filter f;

        kw_filter_init(&f);
        CHECK_EQ(kw_filter_add_include(&f, "src/*.c"), 0);
        CHECK(kw_filter_match(&f, "src/a.c"));
        CHECK(!kw_filter_match(&f, "a.c"));
        CHECK(!kw_filter_match(&f, "src/sub/a.c")); /* FNM_PATHNAME: '*' stops at '/' */
        CHECK(!kw_filter_match(&f, "other/src/a.c"));
        CHECK_EQ(kw_filter_add_include(&f, "/Makefile"), 0); /* anchored */
        CHECK(kw_filter_match(&f, "Makefile"));
        CHECK(!kw_filter_match(&f, "sub/Makefile"));
        CHECK_EQ(kw_filter_add_include(&f, "./lib/*/*.h"), 0);
        CHECK(kw_filter_match(&f, "lib/x/y.h"));
        CHECK(!kw_filter_match(&f, "lib/y.h"));
        kw_filter_free(&f);
}

static void test_exclude_basename(void)
{
        struct kw_filter f;

        kw_filter_init(&f);
        CHECK_EQ(kw_filter_add_exclude(&f, "generated_*.h"), 0);
        CHECK(!kw_filter_match(&f, "generated_regs.h"));
        CHECK(!kw_filter_match(&f, "sub/generated_regs.h"));
        CHECK(kw_filter_match(&f, "regs.h"));
        CHECK(kw_filter_match(&f, "hello.c")); /* defaults still apply */
        kw_filter_free(&f);
}

static void test_exclude_path_and_dirs(void)
{
        struct kw_filter f;

        kw_filter_init(&f);
        CHECK_EQ(kw_filter_add_exclude(&f, "tests/*"), 0);
        CHECK_EQ(kw_filter_add_exclude(&f, "build/"), 0);
        CHECK_EQ(kw_filter_add_exclude(&f, "vendor"), 0);

        CHECK(!kw_filter_match(&f, "tests/a.c"));
        CHECK(kw_filter_dir_ignored(&f, "tests/sub"));
        CHECK(!kw_filter_match(&f, "tests/sub/a.c")); /* under an excluded dir */
        CHECK(!kw_filter_dir_ignored(&f, "tests")); /* the glob names what is inside */
        CHECK(kw_filter_match(&f, "src/tests.c"));

        /* trailing '/': directories only */
        CHECK(kw_filter_dir_ignored(&f, "build"));
        CHECK(kw_filter_dir_ignored(&f, "sub/build"));
        CHECK(!kw_filter_match(&f, "build/x.c"));
        CHECK(!kw_filter_dir_ignored(&f, "builder"));

        /* no slash: a file or a directory of that name, anywhere */
        CHECK(kw_filter_dir_ignored(&f, "vendor"));
        CHECK(kw_filter_dir_ignored(&f, "a/vendor/b"));
        CHECK(!kw_filter_match(&f, "vendor/x.c"));
        CHECK(kw_filter_match(&f, "vendors/x.c"));
        kw_filter_free(&f);
}

static void test_bad_globs(void)
{
        struct kw_filter f;

        kw_filter_init(&f);
        CHECK_EQ(kw_filter_add_include(&f, ""), -EINVAL);
        CHECK_EQ(kw_filter_add_include(&f, "/"), -EINVAL);
        CHECK_EQ(kw_filter_add_exclude(&f, "./"), -EINVAL);
        CHECK_EQ(kw_filter_add_exclude(&f, "."), -EINVAL);
        CHECK_EQ(f.n_include, 0);
        CHECK_EQ(f.n_exclude, 0);
        /* a rejected include does not switch off the defaults */
        CHECK(kw_filter_match(&f, "hello.c"));
        kw_filter_free(&f);
        kw_filter_free(&f); /* twice is fine */
        kw_filter_free(NULL);
}

int main(void)
{
        kw_filter_init(&defaults);
        RUN(test_default_sources);
        RUN(test_default_not_sources);
        RUN(test_build_outputs);
        RUN(test_editor_files);
        RUN(test_hidden);
        RUN(test_dir_ignored_defaults);
        RUN(test_include_replaces_defaults);
        RUN(test_include_everything_keeps_ignores);
        RUN(test_include_with_slash);
        RUN(test_exclude_basename);
        RUN(test_exclude_path_and_dirs);
        RUN(test_bad_globs);
        kw_filter_free(&defaults);
        TEST_DONE();
}
