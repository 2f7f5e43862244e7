/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-kdeps.c — modules.dep, modules.softdep, modules.builtin, modules.alias
 * and modules.symbols as strings: names, the closure and its order, providers.
 */
#include <errno.h>
#include <string.h>

#include "kdeps.h"
#include "test.h"

static const char dep[] =
        "kernel/lib/crc-itu-t.ko:\n"
        "kernel/drivers/media/v4l2-core/videodev.ko: kernel/drivers/media/mc/mc.ko\n"
        "kernel/drivers/media/mc/mc.ko:\n"
        "kernel/drivers/md/dm-bufio.ko: kernel/drivers/md/dm-mod.ko\n"
        "kernel/drivers/md/dm-mod.ko:\n"
        "kernel/lib/libcrc32c.ko: kernel/crypto/crc32c_generic.ko\n"
        "kernel/crypto/crc32c_generic.ko:\n"
        "kernel/net/a.ko.xz: kernel/net/c.ko kernel/net/b.ko\n"
        "kernel/net/b.ko: kernel/net/c.ko\n"
        "kernel/net/c.ko:\n";
static const char softdep[] =
        "# Soft dependencies extracted from modules themselves.\n"
        "softdep libcrc32c pre: crc32c post: foo\n"
        "softdep ext4 pre: crypto-crc32c\n"
        "softdep b pre: crc-itu-t\n";
static const char builtin[] = "kernel/crypto/aes_generic.ko\nkernel/lib/crypto/libaes.ko\n";
static const char alias[] = "alias crc32c crc32c_generic\nalias crypto-crc32c crc32c_generic\n";
static const char symbols[] =
        "# Aliases for symbols, used by symbol_request().\n"
        "alias symbol:crc_itu_t_table crc_itu_t\n"
        "alias symbol:crc_itu_t crc_itu_t\n"
        "alias symbol:video_register_device videodev\n";

static const struct kw_kdeps_db db = { dep, softdep, builtin, alias };

static void names(void)
{
        char n[KW_MODULE_NAME_LEN];
        const char *p = "kernel/lib/crc-itu-t.ko.xz";

        kw_kdeps_name_of(p, strlen(p), n, sizeof(n));
        CHECK(!strcmp(n, "crc_itu_t"));
        kw_kdeps_name_of("x.ko", 4, n, sizeof(n));
        CHECK(!strcmp(n, "x"));
        kw_kdeps_name_of("a/kobold.ko", 11, n, sizeof(n));
        CHECK(!strcmp(n, "kobold"));
        kw_kdeps_name_of("a/very-long-name.ko", 19, n, 5);
        CHECK(!strcmp(n, "very"));
        CHECK(kw_kdeps_name_eq("dm-mod", "dm_mod"));
        CHECK(!kw_kdeps_name_eq("dm-mod", "dm_mo"));
        CHECK(!kw_kdeps_name_eq("dm", "dm_mod"));
}

static void builtins(void)
{
        CHECK(kw_kdeps_builtin(builtin, "aes_generic"));
        CHECK(kw_kdeps_builtin(builtin, "aes-generic"));
        CHECK(!kw_kdeps_builtin(builtin, "aes"));
        CHECK(!kw_kdeps_builtin(NULL, "aes"));
        CHECK(!kw_kdeps_builtin("", "aes"));
}

static void closure_simple(void)
{
        struct kw_kdeps_list l;

        kw_kdeps_closure(&db, "crc-itu-t", &l);
        CHECK_EQ(l.n, 1);
        CHECK(!strcmp(l.mod[0].name, "crc_itu_t"));
        CHECK(!strcmp(l.mod[0].path, "kernel/lib/crc-itu-t.ko"));
        CHECK(!strcmp(l.missing, ""));
        CHECK(!l.truncated);

        kw_kdeps_closure(&db, "", &l);
        CHECK_EQ(l.n, 0);
        kw_kdeps_closure(&db, NULL, &l);
        CHECK_EQ(l.n, 0);
}

/* Dependencies before dependents; each once; built-in and unknown ones out. */
static void closure_order(void)
{
        struct kw_kdeps_list l;

        kw_kdeps_closure(&db, "videodev,dm_bufio,dm-mod,aes_generic,nosuch,,videodev", &l);
        CHECK_EQ(l.n, 4);
        CHECK(!strcmp(l.mod[0].name, "mc"));
        CHECK(!strcmp(l.mod[1].name, "videodev"));
        CHECK(!strcmp(l.mod[2].name, "dm_mod"));
        CHECK(!strcmp(l.mod[3].name, "dm_bufio"));
        CHECK(!strcmp(l.mod[3].path, "kernel/drivers/md/dm-bufio.ko"));
        CHECK(!strcmp(l.missing, "nosuch"));

        /* a needs c and b, b needs c: c first, whatever order the line gives */
        kw_kdeps_closure(&db, "a", &l);
        CHECK_EQ(l.n, 4);
        CHECK(!strcmp(l.mod[0].name, "c"));
        CHECK(!strcmp(l.mod[1].name, "crc_itu_t")); /* b's softdep pre: */
        CHECK(!strcmp(l.mod[2].name, "b"));
        CHECK(!strcmp(l.mod[3].name, "a"));
        CHECK(!strcmp(l.mod[3].path, "kernel/net/a.ko.xz"));
}

/* softdep pre: comes before the module, through an alias when it is one;
 * post: is not loaded. */
static void closure_softdep(void)
{
        struct kw_kdeps_list l;
        const struct kw_kdeps_db no_alias = { dep, softdep, builtin, NULL };

        kw_kdeps_closure(&db, "libcrc32c", &l);
        CHECK_EQ(l.n, 2);
        CHECK(!strcmp(l.mod[0].name, "crc32c_generic"));
        CHECK(!strcmp(l.mod[1].name, "libcrc32c"));
        CHECK(!strcmp(l.missing, ""));

        kw_kdeps_closure(&no_alias, "libcrc32c", &l);
        CHECK_EQ(l.n, 2);
        CHECK(!strcmp(l.missing, "crc32c"));
}

/* An empty or absent index: everything is missing, nothing crashes. */
static void closure_no_index(void)
{
        const struct kw_kdeps_db none = { 0 };
        struct kw_kdeps_list l;

        kw_kdeps_closure(&none, "videodev,mc", &l);
        CHECK_EQ(l.n, 0);
        CHECK(!strcmp(l.missing, "videodev,mc"));
}

/* A long chain is cut at KW_KDEPS_MAX, and says so. */
static void closure_truncated(void)
{
        static char big[KW_KDEPS_MAX * 2 * 40];
        const struct kw_kdeps_db d = { big, NULL, NULL, NULL };
        struct kw_kdeps_list l;
        size_t off = 0;

        for (int i = 0; i < KW_KDEPS_MAX + 10; i++)
                off += (size_t)snprintf(big + off, sizeof(big) - off, "m%d.ko: m%d.ko\n", i, i + 1);
        kw_kdeps_closure(&d, "m0", &l);
        CHECK(l.truncated);
        CHECK(l.n <= KW_KDEPS_MAX);
}

static void providers(void)
{
        char m[KW_MODULE_NAME_LEN];

        CHECK_EQ(kw_kdeps_provider(symbols, "crc_itu_t", m, sizeof(m)), 0);
        CHECK(!strcmp(m, "crc_itu_t"));
        CHECK_EQ(kw_kdeps_provider(symbols, "video_register_device", m, sizeof(m)), 0);
        CHECK(!strcmp(m, "videodev"));
        CHECK_EQ(kw_kdeps_provider(symbols, "crc_itu", m, sizeof(m)), -ENOENT);
        CHECK_EQ(kw_kdeps_provider(symbols, "symbol:crc_itu_t", m, sizeof(m)), -ENOENT);
        CHECK_EQ(kw_kdeps_provider(NULL, "crc_itu_t", m, sizeof(m)), -ENOENT);
}

int main(void)
{
        RUN(names);
        RUN(builtins);
        RUN(closure_simple);
        RUN(closure_order);
        RUN(closure_softdep);
        RUN(closure_no_index);
        RUN(closure_truncated);
        RUN(providers);
        TEST_DONE();
}
