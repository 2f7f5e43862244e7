/* SPDX-License-Identifier: GPL-2.0-only */
/* test-compdb.c — compile_commands.json from kbuild's .cmd files: the flags
 * clang does not take, the cross target, and a database written from a .cmd
 * file of the shape kbuild 6.1 writes (make-escaped, a quoted -D). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compdb.h"
#include "test.h"

static void flags(void)
{
        CHECK(kw_compdb_drop_flag("-mrecord-mcount"));
        CHECK(kw_compdb_drop_flag("-mindirect-branch=thunk-extern"));
        CHECK(kw_compdb_drop_flag("-mindirect-branch-cs-prefix"));
        CHECK(kw_compdb_drop_flag("-fconserve-stack"));
        CHECK(kw_compdb_drop_flag("-Wp,-MMD,/m/.hello.o.d"));
        CHECK(!kw_compdb_drop_flag("-DMODULE"));
        CHECK(!kw_compdb_drop_flag("-I./include"));
        CHECK(!kw_compdb_drop_flag("-mcmodel=kernel"));
}

static void target(void)
{
        char buf[64];
        kw_compdb_target("aarch64-linux-gnu-gcc", buf, sizeof(buf));
        CHECK(!strcmp(buf, "aarch64-linux-gnu"));
        kw_compdb_target("/usr/bin/x86_64-linux-gnu-gcc-12", buf, sizeof(buf));
        CHECK(!strcmp(buf, "x86_64-linux-gnu"));
        kw_compdb_target("gcc-12", buf, sizeof(buf));
        CHECK(!strcmp(buf, ""));
}

static void write_db(void)
{
        char dir[] = "/tmp/kw-test-compdb-XXXXXX", path[128], kdir[160];
        CHECK(mkdtemp(dir) != NULL);
        snprintf(kdir, sizeof(kdir), "%s/kdir", dir);
        CHECK_EQ(mkdir(kdir, 0755), 0);
        snprintf(path, sizeof(path), "%s/.hello.o.cmd", dir);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (!f)
                return;
        fprintf(f, "cmd_%s/hello.o := gcc-12 -Wp,-MMD,%s/.hello.o.d -nostdinc -I./include -mrecord-mcount "
                   "-DKBUILD_MODNAME='\"hello\"' -DX='$$HOME' -c -o %s/hello.o %s/hello.c  ; ./tools/objtool/objtool "
                   "--orc --module %s/hello.o\n\nsource_%s/hello.o := %s/hello.c\n\ndeps_%s/hello.o := \\\n  %s/hello.c \\\n\n",
                dir, dir, dir, dir, dir, dir, dir, dir, dir);
        fclose(f);
        snprintf(path, sizeof(path), "%s/.hello.mod.o.cmd", dir); /* kbuild's generated .mod.c: not an entry */
        f = fopen(path, "w");
        if (f) {
                fprintf(f, "cmd_%s/hello.mod.o := gcc-12 -c -o %s/hello.mod.o %s/hello.mod.c\n\nsource_%s/hello.mod.o := "
                           "%s/hello.mod.c\n", dir, dir, dir, dir, dir);
                fclose(f);
        }
        CHECK_EQ(kw_compdb_write(dir, kdir), 1);
        snprintf(path, sizeof(path), "%s/compile_commands.json", dir);
        f = fopen(path, "r");
        CHECK(f != NULL);
        char text[4096] = "";
        if (f) {
                size_t n = fread(text, 1, sizeof(text) - 1, f);
                text[n] = 0;
                fclose(f);
        }
        CHECK(strstr(text, "\"arguments\": [\"clang\", \"-nostdinc\", \"-I./include\", "
                           "\"-DKBUILD_MODNAME=\\\"hello\\\"\", \"-DX=$HOME\", \"-c\", \"-o\"") != NULL);
        CHECK(strstr(text, "mrecord-mcount") == NULL);
        CHECK(strstr(text, "objtool") == NULL);
        CHECK(strstr(text, "hello.mod.c") == NULL);
        CHECK(strstr(text, "\"directory\": \"") != NULL && strstr(text, "/kdir\"") != NULL);
        unlink(path);
        snprintf(path, sizeof(path), "%s/.hello.o.cmd", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/.hello.mod.o.cmd", dir);
        unlink(path);
        CHECK_EQ(kw_compdb_write(dir, kdir), 0); /* nothing recorded: nothing written */
        snprintf(path, sizeof(path), "%s/compile_commands.json", dir);
        CHECK(access(path, F_OK) != 0);
        rmdir(kdir);
        rmdir(dir);
}

int main(void)
{
        RUN(flags);
        RUN(target);
        RUN(write_db);
        TEST_DONE();
}
