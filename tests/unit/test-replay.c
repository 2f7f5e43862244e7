/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-replay.c — the replay build's pure half (replay-cmd.c): kbuild's .cmd
 * files read (the text as 6.1's fixdep and gen_objtooldep write it), make's
 * escaping undone and sh's quoting done, the compile command split, and the
 * replay-or-make decisions.
 */
#include <errno.h>
#include <string.h>

#include "replay-cmd.h"
#include "test.h"

/* .a.o.cmd of an object of module m in /m (shortened from a real 6.1 build) */
static const char a_cmd[] =
        "cmd_/m/a.o := gcc-12 -Wp,-MMD,/m/.a.o.d -nostdinc -DKBUILD_BASENAME='\"a\"' -DX='$$(pound)' "
        "-c -o /m/a.o /m/a.c   ; ./tools/objtool/objtool --orc --module /m/a.o\n"
        "\n"
        "source_/m/a.o := /m/a.c\n"
        "\n"
        "deps_/m/a.o := \\\n"
        "  /k/include/linux/compiler-version.h \\\n"
        "    $(wildcard include/config/CC_VERSION_TEXT) \\\n"
        "  /m/local.h \\\n"
        "  /k/include/linux/module.h \\\n"
        "\n"
        "/m/a.o: $(deps_/m/a.o)\n"
        "\n"
        "$(deps_/m/a.o):\n"
        "\n"
        "/m/a.o: $(wildcard ./tools/objtool/objtool)\n"
        "#SYMVER a_fn 0x12345678\n";

static const char b_cmd[] = "cmd_/m/b.o := gcc-12 -Wp,-MMD,/m/.b.o.d -O2 -c -o /m/b.o /m/b.c\n"
                            "\n"
                            "source_/m/b.o := /m/b.c\n"
                            "\n"
                            "deps_/m/b.o := \\\n"
                            "  /m/sub/other.h \\\n"
                            "\n"
                            "/m/b.o: $(deps_/m/b.o)\n";

static void test_parse(void)
{
        struct kw_cmdfile f;

        CHECK_EQ(kw_cmdfile_parse(a_cmd, &f), 0);
        CHECK(strcmp(f.target, "/m/a.o") == 0);
        CHECK(strncmp(f.raw, "gcc-12 -Wp,-MMD,/m/.a.o.d", 25) == 0);
        CHECK(strstr(f.raw, "--module /m/a.o") && !strchr(f.raw, '\n'));
        CHECK(f.source && strcmp(f.source, "/m/a.c") == 0);
        CHECK_EQ(f.n_deps, 3); /* the $(wildcard …) config entry is not a file */
        CHECK(strcmp(f.deps[0], "/k/include/linux/compiler-version.h") == 0);
        CHECK(strcmp(f.deps[1], "/m/local.h") == 0);
        CHECK(strcmp(f.deps[2], "/k/include/linux/module.h") == 0);
        CHECK(f.objtooldep);
        kw_cmdfile_free(&f);

        CHECK_EQ(kw_cmdfile_parse(b_cmd, &f), 0);
        CHECK(!f.objtooldep);
        CHECK_EQ(f.n_deps, 1);
        kw_cmdfile_free(&f);

        /* a savecmd file: only the command */
        CHECK_EQ(kw_cmdfile_parse("cmd_/m/x.ko := ld -r -o /m/x.ko /m/x.o /m/x.mod.o;  true\n", &f), 0);
        CHECK(strcmp(f.raw, "ld -r -o /m/x.ko /m/x.o /m/x.mod.o;  true") == 0);
        CHECK(!f.source && !f.n_deps);
        kw_cmdfile_free(&f);

        CHECK_EQ(kw_cmdfile_parse("", &f), -EBADMSG);
        CHECK_EQ(kw_cmdfile_parse("source_/m/a.o := /m/a.c\n", &f), -EBADMSG);
        CHECK_EQ(kw_cmdfile_parse("cmd_/m/a.o\n := x", &f), -EBADMSG);
}

static void test_escaping(void)
{
        char *s = kw_cmd_unescape("sed 's/ko$$/o/' a | awk '!x[$$0]++' -DX=$(pound)y $$$$");
        CHECK(s && strcmp(s, "sed 's/ko$/o/' a | awk '!x[$0]++' -DX=#y $$") == 0);
        free(s);
        s = kw_cmd_unescape("");
        CHECK(s && !*s);
        free(s);

        s = kw_cmd_shquote("-DKBUILD_MODNAME='\"a\"'");
        CHECK(s && strcmp(s, "'-DKBUILD_MODNAME='\\''\"a\"'\\'''") == 0);
        free(s);
        s = kw_cmd_shquote("");
        CHECK(s && strcmp(s, "''") == 0);
        free(s);
}

static void test_split_cc(void)
{
        char cc[64], flags[256], dep[64];

        CHECK_EQ(kw_cmd_split_cc("  gcc-12 -Wp,-MMD,/m/.a.o.d -nostdinc -O2 -c -o /m/a.o /m/a.c ; objtool", cc,
                                 sizeof(cc), flags, sizeof(flags), dep, sizeof(dep)),
                 0);
        CHECK(strcmp(cc, "gcc-12") == 0);
        CHECK(strcmp(flags, "-Wp,-MMD,/m/.a.o.d -nostdinc -O2") == 0);
        CHECK(strcmp(dep, "/m/.a.o.d") == 0);
        /* not a compile command: an ld -r, or no depfile */
        CHECK_EQ(kw_cmd_split_cc("ld -r -o /m/x.o @/m/x.mod", cc, sizeof(cc), flags, sizeof(flags), dep, sizeof(dep)),
                 -EINVAL);
        CHECK_EQ(kw_cmd_split_cc("gcc -O2 -c -o a.o a.c", cc, sizeof(cc), flags, sizeof(flags), dep, sizeof(dep)),
                 -EINVAL);
        CHECK_EQ(kw_cmd_split_cc("gcc -Wp,-MMD,/m/.a.o.d -c -o a.o a.c", cc, 3, flags, sizeof(flags), dep,
                                 sizeof(dep)),
                 -ENAMETOOLONG);
}

/* ---- the plan ---- */

static const char *const present[] = { "a.c", "b.c", "local.h", "sub/other.h", "Makefile", "README", "new.c" };

static bool exists(void *ud, const char *rel)
{
        (void)ud;
        for (size_t i = 0; i < sizeof(present) / sizeof(*present); i++)
                if (strcmp(present[i], rel) == 0)
                        return true;
        return false;
}

static struct kw_rp_state state;
static struct kw_rp_fp fp[2] = { { "KDIR", "/k" }, { "KDIR's Module.symvers", "1 2 3" } };

static void make_state(void)
{
        memset(&state, 0, sizeof(state));
        state.obj = calloc(2, sizeof(*state.obj));
        CHECK_EQ(kw_cmdfile_parse(a_cmd, &state.obj[0].f), 0);
        CHECK_EQ(kw_cmdfile_parse(b_cmd, &state.obj[1].f), 0);
        state.n_obj = 2;
        for (size_t i = 0; i < 2; i++)
                CHECK_EQ(kw_rp_obj_local(&state.obj[i], "/m"), 0);
        memcpy(state.fp, fp, sizeof(fp));
        state.n_fp = 2;
}

/* the plan for these paths: the objects replayed ("a b") or "make: WHY" */
static const char *plan(const char *const *paths, size_t n)
{
        static char res[300];
        struct kw_batch b = { (char **)paths, n };
        struct kw_rp_plan p;
        int r = kw_rp_plan(&state, fp, 2, n ? &b : NULL, exists, NULL, &p);

        if (r < 0)
                snprintf(res, sizeof(res), "error %d", r);
        else if (r == 0)
                snprintf(res, sizeof(res), "make: %s", p.why);
        else {
                res[0] = 0;
                for (size_t i = 0; i < state.n_obj; i++)
                        if (p.obj[i])
                                snprintf(res + strlen(res), sizeof(res) - strlen(res), "%s%c",
                                         res[0] ? " " : "", "ab"[i]);
                CHECK_EQ((size_t)r, p.n);
        }
        kw_rp_plan_free(&p);
        return res;
}

#define PATHS(...) (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *)

static void test_local_deps(void)
{
        make_state();
        CHECK_EQ(state.obj[0].n_local, 2); /* a.c and local.h; not KDIR's headers */
        CHECK(strcmp(state.obj[0].local[0], "local.h") == 0);
        CHECK(strcmp(state.obj[0].local[1], "a.c") == 0);
        CHECK(strcmp(state.obj[1].local[0], "sub/other.h") == 0);
        kw_rp_state_free(&state);
}

static void test_plan_replays(void)
{
        make_state();
        CHECK(strcmp(plan(PATHS("a.c")), "a") == 0);
        CHECK(strcmp(plan(PATHS("b.c")), "b") == 0);
        CHECK(strcmp(plan(PATHS("local.h")), "a") == 0);
        CHECK(strcmp(plan(PATHS("a.c", "sub/other.h")), "a b") == 0);
        /* a file gone that nothing was built from changes nothing */
        CHECK(strcmp(plan(PATHS("a.c", "notes.txt")), "a") == 0);
        /* an object whose last replay failed is replayed with the next change */
        state.obj[1].pending = true;
        CHECK(strcmp(plan(PATHS("a.c")), "a b") == 0);
        kw_rp_state_free(&state);
}

static void test_plan_makes(void)
{
        struct kw_rp_plan p;

        CHECK_EQ(kw_rp_plan(NULL, fp, 2, NULL, exists, NULL, &p), 0);
        CHECK(strcmp(p.why, "no replay state yet") == 0);
        kw_rp_plan_free(&p);

        make_state();
        CHECK(strcmp(plan(NULL, 0), "make: not a build after a save") == 0);
        CHECK(strcmp(plan(PATHS("Makefile")), "make: Makefile changed") == 0);
        CHECK(strcmp(plan(PATHS("a.c", "sub/Kbuild")), "make: sub/Kbuild changed") == 0);
        CHECK(strcmp(plan(PATHS("dkms.conf")), "make: dkms.conf changed") == 0);
        CHECK(strcmp(plan(PATHS("new.c")), "make: new source file new.c") == 0);
        CHECK(strcmp(plan(PATHS("README")), "make: README is not a dependency of any object") == 0);
        CHECK(strcmp(plan(PATHS("gone.c")), "make: gone.c deleted") == 0);
        CHECK(strcmp(plan(PATHS(".")), "make: the module directory was replaced") == 0);
        /* a dependency deleted: make says what is missing */
        state.obj[1].local[0][0] = 'x'; /* "xub/other.h": recorded, not on disk */
        CHECK(strcmp(plan(PATHS("xub/other.h")), "make: xub/other.h deleted") == 0);
        /* the fingerprint: what changed is the reason */
        snprintf(state.fp[1].value, sizeof(state.fp[1].value), "4 5 6");
        CHECK(strcmp(plan(PATHS("a.c")), "make: KDIR's Module.symvers changed") == 0);
        snprintf(state.fp[0].value, sizeof(state.fp[0].value), "/other");
        CHECK(strcmp(plan(PATHS("a.c")), "make: KDIR changed") == 0);
        /* learned as not replayable */
        state.why_not = strdup("building with your Makefile, which may do more than kbuild's rules");
        CHECK(strcmp(plan(PATHS("a.c")), "make: building with your Makefile, which may do more than kbuild's rules") ==
              0);
        kw_rp_state_free(&state);
}

/* the snapshot of the last run against now: changed, new and gone paths, in order */
static void test_files_diff(void)
{
        struct kw_rp_files then = { 0 }, now = { 0 };
        struct kw_batch b = { 0 };

        CHECK_EQ(kw_rp_files_add(&then, "b.c", "1.000000001 10 7"), 0);
        CHECK_EQ(kw_rp_files_add(&then, "a.h", "1.0 3 8"), 0);
        CHECK_EQ(kw_rp_files_add(&then, "gone.c", "1.0 3 9"), 0);
        CHECK_EQ(kw_rp_files_add(&then, "same.c", "written during the build"), 0);
        CHECK_EQ(kw_rp_files_add(&now, "same.c", "2.0 1 1"), 0);
        CHECK_EQ(kw_rp_files_add(&now, "new.c", "5.0 1 2"), 0);
        CHECK_EQ(kw_rp_files_add(&now, "b.c", "1.000000002 10 7"), 0);
        CHECK_EQ(kw_rp_files_add(&now, "a.h", "1.0 3 8"), 0);
        kw_rp_files_sort(&then);
        kw_rp_files_sort(&now);
        CHECK_EQ(kw_rp_files_diff(&then, &now, &b), 4);
        CHECK(b.n == 4 && strcmp(b.paths[0], "b.c") == 0 && strcmp(b.paths[1], "gone.c") == 0 &&
              strcmp(b.paths[2], "new.c") == 0 && strcmp(b.paths[3], "same.c") == 0);
        kw_batch_free(&b);
        CHECK_EQ(kw_rp_files_diff(&now, &now, &b), 0);
        CHECK(b.n == 0);
        kw_rp_files_free(&then);
        kw_rp_files_free(&now);
}

int main(void)
{
        RUN(test_parse);
        RUN(test_escaping);
        RUN(test_split_cc);
        RUN(test_local_deps);
        RUN(test_plan_replays);
        RUN(test_plan_makes);
        RUN(test_files_diff);
        TEST_DONE();
}
