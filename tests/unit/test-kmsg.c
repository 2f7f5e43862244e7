/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-kmsg.c — /dev/kmsg record parsing: the prefix fields, the caller id
 * newer kernels add, dictionary lines after the text, and malformed records.
 */
#include <errno.h>
#include <string.h>

#include "kmsg.h"
#include "test.h"

static int parse(const char *s, struct kw_kmsg_rec *r)
{
        return kw_kmsg_parse(s, strlen(s), r);
}

static int text_is(const struct kw_kmsg_rec *r, const char *want)
{
        return r->text_len == strlen(want) && !memcmp(r->text, want, r->text_len);
}

static void test_simple(void)
{
        struct kw_kmsg_rec r;

        CHECK_EQ(parse("6,1234,5678901,-;hello: build A\n", &r), 0);
        CHECK_EQ(r.level, 6);
        CHECK_EQ(r.facility, 0);
        CHECK_EQ(r.seq, 1234);
        CHECK_EQ(r.ts_usec, 5678901);
        CHECK_EQ(r.flag, '-');
        CHECK(text_is(&r, "hello: build A"));
}

static void test_facility(void)
{
        struct kw_kmsg_rec r;

        /* Userspace writes to /dev/kmsg default to LOG_USER (1) << 3. */
        CHECK_EQ(parse("14,2,3,-;systemd[1]: started\n", &r), 0);
        CHECK_EQ(r.level, 6);
        CHECK_EQ(r.facility, 1);
        CHECK_EQ(parse("0,0,0,-;\n", &r), 0);
        CHECK_EQ(r.level, 0);
        CHECK_EQ(r.text_len, 0);
        CHECK_EQ(parse("2047,0,0,-;x\n", &r), 0);
        CHECK_EQ(r.facility, 255);
        CHECK_EQ(r.level, 7);
        CHECK_EQ(parse("2048,0,0,-;x\n", &r), -EBADMSG);
}

static void test_flags(void)
{
        struct kw_kmsg_rec r;

        CHECK_EQ(parse("4,10,20,c;first part\n", &r), 0);
        CHECK_EQ(r.flag, 'c');
        CHECK_EQ(parse("4,11,21,+;second part\n", &r), 0);
        CHECK_EQ(r.flag, '+');
        CHECK(text_is(&r, "second part"));
}

static void test_caller_id(void)
{
        struct kw_kmsg_rec r;

        /* CONFIG_PRINTK_CALLER kernels, and whatever comes later. */
        CHECK_EQ(parse("6,339,5140900,-,caller=T1;NET: Registered protocol family 10\n", &r), 0);
        CHECK_EQ(r.seq, 339);
        CHECK_EQ(r.flag, '-');
        CHECK(text_is(&r, "NET: Registered protocol family 10"));
        CHECK_EQ(parse("6,1,2,-,caller=C3,future=1,x;t\n", &r), 0);
        CHECK(text_is(&r, "t"));
        /* ';' may appear in the text; only the first one ends the prefix. */
        CHECK_EQ(parse("6,1,2,-;a;b=c\n", &r), 0);
        CHECK(text_is(&r, "a;b=c"));
}

static void test_continuation_lines(void)
{
        static const char rec[] = "3,824,14412311,-;usb 1-1: device descriptor read/64, error -71\n"
                                  " SUBSYSTEM=usb\n"
                                  " DEVICE=c189:1\n";
        struct kw_kmsg_rec r;

        CHECK_EQ(kw_kmsg_parse(rec, sizeof(rec) - 1, &r), 0);
        CHECK_EQ(r.level, 3);
        CHECK(text_is(&r, "usb 1-1: device descriptor read/64, error -71"));
        CHECK(r.text == rec + 17);
}

static void test_escapes_kept(void)
{
        struct kw_kmsg_rec r;

        /* The kernel escapes newlines in the text as \x0a; they stay so. */
        CHECK_EQ(parse("6,5,6,-;line one\\x0aline two\n", &r), 0);
        CHECK(text_is(&r, "line one\\x0aline two"));
}

static void test_not_terminated(void)
{
        /* The length decides, not a NUL; the caller's buffer carries on. */
        static const char buf[] = "6,1,2,-;abc\nXXXXXXXX";
        struct kw_kmsg_rec r;

        CHECK_EQ(kw_kmsg_parse(buf, 12, &r), 0);
        CHECK(text_is(&r, "abc"));
        /* Without the newline the text runs to the end. */
        CHECK_EQ(kw_kmsg_parse(buf, 10, &r), 0);
        CHECK(text_is(&r, "ab"));
        /* Cut inside the prefix. */
        for (size_t i = 0; i < 8; i++)
                CHECK_EQ(kw_kmsg_parse(buf, i, &r), -EBADMSG);
}

static void test_large_numbers(void)
{
        struct kw_kmsg_rec r;

        CHECK_EQ(parse("6,18446744073709551615,18446744073709551615,-;max\n", &r), 0);
        CHECK(r.seq == UINT64_MAX);
        CHECK(r.ts_usec == UINT64_MAX);
        CHECK_EQ(parse("6,18446744073709551616,0,-;over\n", &r), -EBADMSG);
        CHECK_EQ(parse("6,0,99999999999999999999,-;over\n", &r), -EBADMSG);
        CHECK_EQ(parse("99999999999999999999,0,0,-;over\n", &r), -EBADMSG);
}

static void test_malformed(void)
{
        static const char *const bad[] = {
                "",
                "\n",
                "hello world\n",
                "6,1,2,-\n",          /* no ';' */
                "6,1,2,- hello\n",
                "6,1,2;text\n",       /* no flags */
                "6,1,2,;text\n",      /* empty flags */
                "6,1,2,--;text\n",    /* two-char flags */
                "6,1,,-;text\n",      /* empty field */
                ",1,2,-;text\n",
                "6,x,2,-;text\n",     /* not a number */
                "6,-1,2,-;text\n",
                "6,+1,2,-;text\n",
                " 6,1,2,-;text\n",
                "6,1 ,2,-;text\n",
                "6,1,2,-,caller=T1\n;text\n", /* newline inside the prefix */
                "6;1,2,-;text\n",
                "6,1,2",
        };
        struct kw_kmsg_rec r;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int ret = parse(bad[i], &r);

                if (ret != -EBADMSG)
                        printf("# accepted: \"%s\"\n", bad[i]);
                CHECK_EQ(ret, -EBADMSG);
        }
        CHECK_EQ(kw_kmsg_parse(NULL, 0, &r), -EBADMSG);
}

int main(void)
{
        RUN(test_simple);
        RUN(test_facility);
        RUN(test_flags);
        RUN(test_caller_id);
        RUN(test_continuation_lines);
        RUN(test_escapes_kept);
        RUN(test_not_terminated);
        RUN(test_large_numbers);
        RUN(test_malformed);
        TEST_DONE();
}
