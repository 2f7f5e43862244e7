/* SPDX-License-Identifier: GPL-2.0-only */
/* test-matrix.c — the matrix's pure parts: reading back an event line, the
 * worst status, a child's command line, the shadow tree's rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonline.h"
#include "matrix.h"
#include "shadow.h"
#include "test.h"

static void reads_an_event(void)
{
        const char *line = "{\"event\":\"build_end\",\"t\":12,\"ok\":false,\"ms\":1.5,\"x\":null,"
                           "\"error\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u0001\",\"modules\":[\"m1\",\"m2\"],\"deps\":[]}";
        struct kw_jline j;

        CHECK_EQ(kw_jline_parse(line, strlen(line), &j), 0);
        CHECK(strcmp(kw_jline_str(&j, "event"), "build_end") == 0);
        CHECK(strcmp(kw_jline_str(&j, "ok"), "false") == 0);
        CHECK(strcmp(kw_jline_str(&j, "ms"), "1.5") == 0);
        CHECK(strcmp(kw_jline_str(&j, "error"), "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\x01") == 0);
        const struct kw_jfield *m = kw_jline_get(&j, "modules");
        CHECK(m && m->type == KW_JV_LIST && m->n_items == 2 && strcmp(m->items[1], "m2") == 0);
        CHECK(kw_jline_get(&j, "deps") && kw_jline_get(&j, "deps")->n_items == 0);
        CHECK(kw_jline_get(&j, "x")->type == KW_JV_NULL);
        CHECK(kw_jline_get(&j, "nope") == NULL && strcmp(kw_jline_str(&j, "nope"), "") == 0);
        kw_jline_free(&j);
        static const char *const bad[] = { "", "kmod-watch: hello", "{\"a\":1", "{\"a\":{\"b\":1}}", "{\"a\":[1]}",
                                           "{\"a\":\"x}", "{\"a\":1} x", "{\"a\" 1}" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                CHECK_EQ(kw_jline_parse(bad[i], strlen(bad[i]), &j), -22);
}

static void worst_status(void)
{
        CHECK_EQ(kw_matrix_worst(0, 2), 2);
        CHECK_EQ(kw_matrix_worst(2, 1), 2);
        CHECK_EQ(kw_matrix_worst(3, 5), 5);
        CHECK_EQ(kw_matrix_worst(5, 4), 4); /* a kernel report beats no guest, as --once's own rule */
        CHECK_EQ(kw_matrix_worst(4, 64), 64);
        CHECK_EQ(kw_matrix_worst(130, 64), 130);
        CHECK(strcmp(kw_matrix_status_words(2), "build failed") == 0);
        char arch[32], rel[32];
        kw_matrix_split("arm64/6.12", arch, sizeof(arch), rel, sizeof(rel));
        CHECK(strcmp(arch, "arm64") == 0 && strcmp(rel, "6.12") == 0);
        kw_matrix_split("x86_64", arch, sizeof(arch), rel, sizeof(rel));
        CHECK(strcmp(arch, "x86_64") == 0 && rel[0] == 0);
}

static void child_command_line(void)
{
        char *argv[] = { "kmod-watch", "--target", "x86_64/6.1", "--once", "--junit=j.xml", "--json",
                         "-j", "4", "--expect", "--target", "--target=arm64", "--ktap", "k", "dir",
                         "--run", "true", "--arch", "arm64", NULL };
        char **v = kw_matrix_child_argv(18, argv, "/bin/kw", "x86_64", "6.1", "/b", false);
        const char *want[] = { "/bin/kw", "--once", "-j", "4", "--expect", "--target", "dir", "--run", "true",
                               "--json", "--arch", "x86_64", "--release", "6.1", "--build-dir", "/b",
                               "--no-compile-commands", NULL };
        size_t i = 0;
        for (; v && want[i]; i++)
                if (!v[i] || strcmp(v[i], want[i]) != 0) {
                        printf("# argument %zu: %s, not %s\n", i, v[i] ? v[i] : "(end)", want[i]);
                        CHECK(0);
                        break;
                }
        CHECK(v && !v[i]);
        free(v);
        v = kw_matrix_child_argv(2, (char *[]){ "kmod-watch", ".", NULL }, "/bin/kw", "arm64", "", "/b", true);
        CHECK(v && strcmp(v[5], "--build-dir") == 0 && !v[7] && strcmp(v[4], "arm64") == 0);
        free(v);
}

static void shadow_tree(void)
{
        char src[] = "/tmp/kw-shadow-XXXXXX", dst[300], p[400], cmd[700];

        CHECK(kw_shadow_skip("hello.o") && kw_shadow_skip(".hello.o.cmd") && kw_shadow_skip("hello.mod.c") &&
              kw_shadow_skip("modules.order") && kw_shadow_skip(".git") && !kw_shadow_skip("hello.c") &&
              !kw_shadow_skip("Makefile") && !kw_shadow_skip("Kbuild"));
        if (!mkdtemp(src))
                return;
        snprintf(dst, sizeof(dst), "%s/.shadow", src); /* inside the sources: left out of itself */
        snprintf(cmd, sizeof(cmd), "cd %s && mkdir sub && touch a.c a.o Kbuild sub/b.h", src);
        CHECK_EQ(system(cmd), 0);
        CHECK_EQ(kw_shadow_sync(src, dst), 0);
        char link[400];
        snprintf(p, sizeof(p), "%s/sub/b.h", dst);
        ssize_t n = readlink(p, link, sizeof(link) - 1);
        CHECK(n > 0);
        snprintf(p, sizeof(p), "%s/a.o", dst);
        CHECK(access(p, F_OK) != 0);
        snprintf(cmd, sizeof(cmd), "cd %s && rm a.c && touch c.c && touch .shadow/built.o", src);
        CHECK_EQ(system(cmd), 0);
        CHECK_EQ(kw_shadow_sync(src, dst), 0);
        snprintf(p, sizeof(p), "%s/a.c", dst);
        struct stat st;
        CHECK(lstat(p, &st) != 0); /* its source went: the link too */
        snprintf(p, sizeof(p), "%s/c.c", dst);
        CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
        snprintf(p, sizeof(p), "%s/built.o", dst);
        CHECK(access(p, F_OK) == 0); /* what a build wrote stays */
        char text[1400];
        snprintf(text, sizeof(text), "%s/c.c:1:2: error: x\nmake: %s] Error %s-2 %s", dst, dst, dst, dst);
        char *u = kw_shadow_unmap(text, dst, src), want[1400];
        snprintf(want, sizeof(want), "%s/c.c:1:2: error: x\nmake: %s] Error %s-2 %s", src, src, dst, src);
        CHECK(u && strcmp(u, want) == 0);
        free(u);
        /* compile_commands.json back in DIR, naming DIR's files */
        snprintf(p, sizeof(p), "%s/compile_commands.json", dst);
        FILE *f = fopen(p, "w");
        if (f) {
                fprintf(f, "[{\"file\":\"%s/c.c\"}]\n", dst);
                fclose(f);
        }
        CHECK_EQ(kw_shadow_copy_back(dst, src, "compile_commands.json"), 0);
        snprintf(p, sizeof(p), "%s/compile_commands.json", src);
        char got[600] = "", expect[600];
        f = fopen(p, "r");
        if (f) {
                if (!fgets(got, sizeof(got), f))
                        got[0] = 0;
                fclose(f);
        }
        snprintf(expect, sizeof(expect), "[{\"file\":\"%s/c.c\"}]\n", src);
        CHECK(strcmp(got, expect) == 0);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", src);
        CHECK_EQ(system(cmd), 0);
}

int main(void)
{
        RUN(reads_an_event);
        RUN(worst_status);
        RUN(child_command_line);
        RUN(shadow_tree);
        TEST_DONE();
}
