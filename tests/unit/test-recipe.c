/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-recipe.c — how a module directory is built (watcher/recipe.c): the
 * choice of recipe, reading Makefiles, dkms.conf bound as DKMS binds it (through
 * a real bash), the command lines, and the modules.order search (build.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "recipe.h"
#include "test.h"

static char tmp[PATH_MAX];

static void write_file(const char *rel, const char *text)
{
        char path[PATH_MAX * 2], dir[PATH_MAX * 2];

        snprintf(path, sizeof(path), "%s/%s", tmp, rel);
        snprintf(dir, sizeof(dir), "%s", path);
        for (char *c = dir + strlen(tmp) + 1; (c = strchr(c, '/')); c++) {
                *c = 0;
                mkdir(dir, 0755);
                *c = '/';
        }
        FILE *f = fopen(path, "w");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static void fresh(void)
{
        char cmd[PATH_MAX + 32];

        if (tmp[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
                if (system(cmd) != 0)
                        abort();
        }
        snprintf(tmp, sizeof(tmp), "/tmp/test-recipe-XXXXXX");
        if (!mkdtemp(tmp))
                abort();
}

static bool has_arg(const struct kw_recipe_cmd *c, const char *arg)
{
        for (size_t i = 0; c->argv[i]; i++)
                if (!strcmp(c->argv[i], arg))
                        return true;
        return false;
}

static const char *env(const struct kw_recipe_cmd *c, const char *name)
{
        size_t n = strlen(name);

        for (size_t i = 0; c->envp[i]; i++)
                if (!strncmp(c->envp[i], name, n) && c->envp[i][n] == '=')
                        return c->envp[i] + n + 1;
        return NULL;
}

static void test_choose(void)
{
        fresh();
        CHECK_EQ(kw_recipe_choose(tmp, "make foo"), KW_RECIPE_MAKE);
        CHECK_EQ(kw_recipe_choose(tmp, NULL), KW_RECIPE_MAKEFILE); /* nothing: make says what is missing */
        write_file("Makefile", "KERNEL_DIR ?= /lib/modules/$(shell uname -r)/build\nall:\n\t$(MAKE) -C $(KERNEL_DIR) "
                               "M=$(CURDIR)/src\n# obj-m += not-this.o\n");
        CHECK_EQ(kw_recipe_choose(tmp, NULL), KW_RECIPE_MAKEFILE);
        write_file("Kbuild", "obj-m := x.o\n");
        CHECK_EQ(kw_recipe_choose(tmp, NULL), KW_RECIPE_KBUILD);
        write_file("dkms.conf", "PACKAGE_NAME=x\n");
        CHECK_EQ(kw_recipe_choose(tmp, NULL), KW_RECIPE_DKMS);
        CHECK_EQ(kw_recipe_choose(tmp, ""), KW_RECIPE_DKMS); /* `make =` empty: not set */
        CHECK_EQ(kw_recipe_choose(tmp, "./build.sh"), KW_RECIPE_MAKE);

        fresh();
        write_file("Makefile", "ifneq ($(KERNELRELEASE),)\n\tobj-m := v.o\nelse\nall:\n\tmake -C "
                               "/lib/modules/$(shell uname -r)/build M=$(PWD)\nendif\n");
        CHECK_EQ(kw_recipe_choose(tmp, NULL), KW_RECIPE_KBUILD);

        CHECK(!strcmp(kw_recipe_name(KW_RECIPE_MAKE), "--make"));
        CHECK(!strcmp(kw_recipe_name(KW_RECIPE_DKMS), "dkms.conf"));
        CHECK(!strcmp(kw_recipe_name(KW_RECIPE_KBUILD), "kbuild"));
        CHECK(!strcmp(kw_recipe_name(KW_RECIPE_MAKEFILE), "your Makefile"));
}

static void test_makefile_text(void)
{
        CHECK(kw_makefile_sets_obj_m("obj-m += a.o\n"));
        CHECK(kw_makefile_sets_obj_m("x := 1\n  obj-$(CONFIG_FOO) += foo.o\n"));
        CHECK(!kw_makefile_sets_obj_m("# obj-m += a.o\nall:\n\t$(MAKE) -C src\n"));
        CHECK(!kw_makefile_sets_obj_m(""));

        CHECK(!strcmp(kw_makefile_kdir_var("all:\n\t$(MAKE) -C $(KERNEL_DIR) M=$(PWD)\n"), "KERNEL_DIR"));
        CHECK(!strcmp(kw_makefile_kdir_var("KSRC ?= /lib/modules/$(KVER)/build\nall:\n\tmake -C $(KSRC)\n"), "KSRC"));
        CHECK(!strcmp(kw_makefile_kdir_var("all:\n\tmake -C ${KERNEL_TREE} M=$$PWD\n"), "KERNEL_TREE"));
        CHECK(!strcmp(kw_makefile_kdir_var("KDIR ?= x\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n"), "KDIR"));
        CHECK(!strcmp(kw_makefile_kdir_var("all:\n\tmake -C /lib/modules/$(shell uname -r)/build M=$(PWD)\n"),
                      "uname -r"));
        CHECK(kw_makefile_kdir_var("all:\n\techo hi\n") == NULL);
}

static void test_dkms_parse_and_check(void)
{
        struct kw_dkms d;
        char why[512];

        CHECK_EQ(kw_dkms_parse("PACKAGE_NAME=x\n", &d), -EBADMSG);
        CHECK_EQ(kw_dkms_parse("PACKAGE_NAME=vpoll\nPACKAGE_VERSION=0.1\nMAKE[0]=make -C /k M=/t/build\n"
                               "BUILT_MODULE_NAME[0]=vpoll\nBUILT_MODULE_LOCATION[0]=\n"
                               "BUILT_MODULE_NAME[2]=c\nBUILT_MODULE_LOCATION[2]=sub/\nJUNK\nMAKE[99]=x\n"
                               "BUILD_EXCLUSIVE_KERNEL=^6\\.\nBUILD_EXCLUSIVE_ARCH=x86_64\n",
                               &d),
                 0);
        CHECK(!strcmp(d.package_name, "vpoll"));
        CHECK(!strcmp(d.package_version, "0.1"));
        CHECK(!strcmp(d.make[0], "make -C /k M=/t/build"));
        CHECK_EQ(d.n_modules, 3);
        CHECK(!strcmp(d.name[2], "c"));
        CHECK(!strcmp(d.location[2], "sub/"));
        CHECK_EQ(kw_dkms_check(&d, "6.1.0-57-amd64", "x86_64", NULL, why, sizeof(why)), 0);
        CHECK_EQ(kw_dkms_check(&d, "5.10.0-30-amd64", "x86_64", NULL, why, sizeof(why)), -EPERM);
        CHECK(strstr(why, "BUILD_EXCLUSIVE_KERNEL") && strstr(why, "5.10.0-30-amd64"));
        CHECK_EQ(kw_dkms_check(&d, "6.1.0-57-arm64", "aarch64", NULL, why, sizeof(why)), -EPERM);
        CHECK(strstr(why, "BUILD_EXCLUSIVE_ARCH") && strstr(why, "aarch64"));

        /* BUILD_EXCLUSIVE_CONFIG: each =y or =m; a ! one must not be */
        const char *config = "# CONFIG_FOO is not set\nCONFIG_ACPI=y\nCONFIG_I2C=m\nCONFIG_ACPI_X=n\n";
        snprintf(d.exclusive_config, sizeof(d.exclusive_config), "CONFIG_ACPI  CONFIG_I2C !CONFIG_FOO");
        CHECK_EQ(kw_dkms_check(&d, "6.1", "x86_64", config, why, sizeof(why)), 0);
        snprintf(d.exclusive_config, sizeof(d.exclusive_config), "CONFIG_ACPI CONFIG_FOO");
        CHECK_EQ(kw_dkms_check(&d, "6.1", "x86_64", config, why, sizeof(why)), -EPERM);
        CHECK(strstr(why, "with CONFIG_FOO") && strstr(why, "lacks"));
        snprintf(d.exclusive_config, sizeof(d.exclusive_config), "!CONFIG_I2C");
        CHECK_EQ(kw_dkms_check(&d, "6.1", "x86_64", config, why, sizeof(why)), -EPERM);
        CHECK(strstr(why, "without CONFIG_I2C") && strstr(why, "has"));
        snprintf(d.exclusive_config, sizeof(d.exclusive_config), "CONFIG_ACP");
        CHECK_EQ(kw_dkms_check(&d, "6.1", "x86_64", config, why, sizeof(why)), -EPERM);
        CHECK_EQ(kw_dkms_check(&d, "6.1", "x86_64", NULL, why, sizeof(why)), 0); /* no .config: as DKMS */
}

static void test_dkms_command(void)
{
        struct kw_dkms d = { 0 };
        char cmd[4096];

        snprintf(d.package_name, sizeof(d.package_name), "p");
        snprintf(d.package_version, sizeof(d.package_version), "1");
        /* no MAKE: DKMS's default, with its KERNELRELEASE */
        CHECK_EQ(kw_dkms_command(&d, "6.1.0-57-amd64", "/k", "/tree", 2, cmd, sizeof(cmd)), 0);
        CHECK(!strcmp(cmd, "make -j2 KERNELRELEASE=6.1.0-57-amd64 -C /k M=/tree/p/1/build"));
        snprintf(d.make[0], sizeof(d.make[0]), "'make' -C /k M=/b KVER=6");
        CHECK_EQ(kw_dkms_command(&d, "6.1.0-57-amd64", "/k", "/tree", 0, cmd, sizeof(cmd)), 0);
        CHECK(!strcmp(cmd, "'make' -C /k M=/b KVER=6")); /* as DKMS: only a bare leading make */
        snprintf(d.make[1], sizeof(d.make[1]), "make new");
        snprintf(d.make_match[1], sizeof(d.make_match[1]), "^6\\.");
        CHECK_EQ(kw_dkms_command(&d, "6.1.0-57-amd64", "/k", "/tree", 0, cmd, sizeof(cmd)), 0);
        CHECK(!strcmp(cmd, "make KERNELRELEASE=6.1.0-57-amd64 new"));
        CHECK_EQ(kw_dkms_command(&d, "5.10.0", "/k", "/tree", 0, cmd, sizeof(cmd)), 0);
        CHECK(!strcmp(cmd, "'make' -C /k M=/b KVER=6"));
        CHECK_EQ(kw_dkms_command(&d, "6.1", "/k", "/tree", 0, cmd, 8), -ENAMETOOLONG);
}

/* dkms.conf sourced by a real bash, with DKMS's variables bound */
static void test_dkms_prepare(void)
{
        char cache[PATH_MAX + 16], link[PATH_MAX * 2], target[PATH_MAX];
        struct kw_recipe r = { .kind = KW_RECIPE_DKMS, .kdir = "/k", .release = "6.1.0-57-amd64",
                               .machine = "x86_64", .jobs = 0 };
        struct kw_recipe_cmd c;
        char **v;
        size_t n;

        fresh();
        snprintf(cache, sizeof(cache), "%s/cache", tmp);
        setenv("XDG_CACHE_HOME", cache, 1);
        write_file("src/dkms.conf",
                   "PACKAGE_NAME=\"demo\"\nPACKAGE_VERSION=\"2.0\"\n"
                   "MAKE[0]=\"make -C ${kernel_source_dir} M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build "
                   "KVER=${kernelver} A=${arch} MOD=$module\"\n"
                   "BUILT_MODULE_NAME[0]=demo\nBUILT_MODULE_LOCATION[0]=./\n"
                   "BUILT_MODULE_NAME[1]=\"demo_$PACKAGE_VERSION\"\nBUILT_MODULE_LOCATION[1]=\"sub\"\n"
                   "PRE_BUILD=\"configure --kdir=$kernel_source_dir\"\n"
                   "echo noise; echo more noise >&2\n");
        char dir[PATH_MAX + 8];
        snprintf(dir, sizeof(dir), "%s/src", tmp);
        r.dir = dir;
        CHECK_EQ(kw_recipe_prepare(&r), 0);
        CHECK(!strcmp(r.dkms.package_name, "demo"));
        CHECK_EQ(r.dkms.n_modules, 2);
        snprintf(link, sizeof(link), "%s/demo/2.0/build", r.dkms_tree);
        ssize_t len = readlink(link, target, sizeof(target) - 1);
        CHECK(len > 0);
        if (len > 0) {
                target[len] = 0;
                CHECK(!strcmp(target, dir));
        }
        char want[PATH_MAX * 3];
        snprintf(want, sizeof(want), "make KERNELRELEASE=6.1.0-57-amd64 -C /k M=%s/demo/2.0/build KVER=6.1.0-57-amd64 "
                 "A=x86_64 MOD=demo", r.dkms_tree);
        char make0[PATH_MAX * 3];
        snprintf(make0, sizeof(make0), "make -C /k M=%s/demo/2.0/build KVER=6.1.0-57-amd64 A=x86_64 MOD=demo",
                 r.dkms_tree);
        CHECK(!strcmp(r.dkms.make[0], make0)); /* expanded when sourced, as in DKMS */
        CHECK_EQ(kw_recipe_cmd(&r, &c), 0);
        CHECK(!strcmp(c.argv[0], "bash"));
        CHECK(!strcmp(c.argv[3], want));
        CHECK(!strcmp(c.argv[10], "configure --kdir=/k")); /* PRE_BUILD, expanded */
        CHECK(!strcmp(env(&c, "PWD"), dir));
        kw_recipe_cmd_free(&c);

        CHECK_EQ(kw_recipe_modules(&r, &v, &n), 0);
        CHECK_EQ(n, 2);
        if (n == 2) {
                CHECK(!strcmp(v[0], "demo.ko"));
                CHECK(!strcmp(v[1], "sub/demo_2.0.ko"));
        }
        kw_strv_free(v, n);

        write_file("src/dkms.conf", "PACKAGE_NAME=x\nPACKAGE_VERSION=1\nBUILD_EXCLUSIVE_KERNEL=\"^4\\.\"\n");
        CHECK_EQ(kw_recipe_prepare(&r), -EPERM);
        write_file("src/dkms.conf", "MAKE[0]=make\n");
        CHECK_EQ(kw_recipe_prepare(&r), -EBADMSG);
        unsetenv("XDG_CACHE_HOME");
}

static void test_commands(void)
{
        struct kw_recipe r = { .dir = "/m", .kdir = "/k", .release = "6.1.0-57-amd64", .machine = "aarch64",
                               .kbuild_arch = "arm64", .cross_compile = "aarch64-linux-gnu-", .jobs = 3 };
        struct kw_recipe_cmd c;

        r.kind = KW_RECIPE_KBUILD;
        CHECK_EQ(kw_recipe_cmd(&r, &c), 0);
        CHECK(!strcmp(c.argv[0], "make") && has_arg(&c, "-C/k") && has_arg(&c, "M=/m") && has_arg(&c, "modules"));
        CHECK(has_arg(&c, "ARCH=arm64") && has_arg(&c, "CROSS_COMPILE=aarch64-linux-gnu-") && has_arg(&c, "-j3"));
        CHECK(!strcmp(env(&c, "PWD"), "/m"));
        kw_recipe_cmd_free(&c);

        r.kind = KW_RECIPE_MAKEFILE;
        CHECK_EQ(kw_recipe_cmd(&r, &c), 0);
        CHECK(has_arg(&c, "-C/m") && has_arg(&c, "KDIR=/k") && has_arg(&c, "KERNEL_DIR=/k"));
        CHECK(has_arg(&c, "KERNELDIR=/k") && has_arg(&c, "KSRC=/k") && has_arg(&c, "KERNEL_SRC=/k"));
        CHECK(has_arg(&c, "KERNEL_TREE=/k") && has_arg(&c, "KVER=6.1.0-57-amd64"));
        CHECK(!has_arg(&c, "KERNELRELEASE=6.1.0-57-amd64") && !has_arg(&c, "modules"));
        kw_recipe_cmd_free(&c);

        r.kind = KW_RECIPE_MAKE;
        r.make_cmd = "make -C src K=$KDIR";
        CHECK_EQ(kw_recipe_cmd(&r, &c), 0);
        CHECK(!strcmp(c.argv[0], "/bin/sh") && !strcmp(c.argv[1], "-c") && !strcmp(c.argv[2], r.make_cmd));
        CHECK(c.argv[3] == NULL);
        CHECK(!strcmp(env(&c, "KDIR"), "/k") && !strcmp(env(&c, "ARCH"), "arm64"));
        CHECK(!strcmp(env(&c, "CROSS_COMPILE"), "aarch64-linux-gnu-"));
        CHECK(!strcmp(env(&c, "KERNELRELEASE"), "6.1.0-57-amd64") && !strcmp(env(&c, "PWD"), "/m"));
        kw_recipe_cmd_free(&c);
}

static void test_modules_order_search(void)
{
        char **v;
        size_t n;
        char line[PATH_MAX * 3];

        fresh();
        CHECK_EQ(kw_build_modules(tmp, &v, &n), -ENOENT);
        /* 6.1 with M=: absolute paths, in a sub-directory only (a sub-make) */
        snprintf(line, sizeof(line), "%s/src/a.ko\n%s/../elsewhere/x.ko\n", tmp, tmp);
        write_file("src/modules.order", line);
        write_file("src/a.ko", "");
        /* a relative one (6.2+: .o), and the same module listed again by a parent */
        write_file("modules.order", "top.o\nsrc/a.ko\n");
        write_file("top.ko", "");
        write_file(".hidden/modules.order", "hidden.ko\n");
        CHECK_EQ(kw_build_modules(tmp, &v, &n), 0);
        CHECK_EQ(n, 2);
        if (n == 2) {
                CHECK(!strcmp(v[0], "top.ko"));
                CHECK(!strcmp(v[1], "src/a.ko"));
        }
        kw_strv_free(v, n);

        /* kbuild descending from DIR writes sub/modules.order with paths relative to DIR */
        fresh();
        write_file("modules.order", "");
        write_file("sub/modules.order", "sub/b.ko\n");
        write_file("sub/b.ko", "");
        CHECK_EQ(kw_build_modules(tmp, &v, &n), 0);
        CHECK_EQ(n, 1);
        if (n == 1)
                CHECK(!strcmp(v[0], "sub/b.ko"));
        kw_strv_free(v, n);
}

static void test_kdir_release(void)
{
        char rel[64];

        fresh();
        CHECK(kw_kdir_release(tmp, rel, sizeof(rel)) < 0);
        write_file("include/config/kernel.release", "6.1.192\n");
        CHECK_EQ(kw_kdir_release(tmp, rel, sizeof(rel)), 0);
        CHECK(!strcmp(rel, "6.1.192"));
        write_file("include/generated/utsrelease.h", "#define UTS_RELEASE \"6.1.0-57-amd64\"\n");
        CHECK_EQ(kw_kdir_release(tmp, rel, sizeof(rel)), 0);
        CHECK(!strcmp(rel, "6.1.0-57-amd64"));
}

int main(void)
{
        RUN(test_choose);
        RUN(test_makefile_text);
        RUN(test_dkms_parse_and_check);
        RUN(test_dkms_command);
        RUN(test_dkms_prepare);
        RUN(test_commands);
        RUN(test_modules_order_search);
        RUN(test_kdir_release);
        fresh(); /* and remove it */
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
                return 1;
        TEST_DONE();
}
