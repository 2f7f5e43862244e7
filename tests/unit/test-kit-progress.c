/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-kit-progress.c — watcher/kit-progress.c: the kit script's progress
 * lines read into steps, bytes and a rate; which samples are worth an event
 * or a plain line; the words of the status line.
 */
#include <string.h>

#include "kit-progress.h"
#include "test.h"

static void test_steps(void)
{
        struct kw_kit_progress p;
        char w[256];

        kw_kit_progress_init(&p, "x86_64", "6.12");
        kw_kit_progress_words(&p, w, sizeof(w));
        CHECK(strcmp(w, "guest kit 6.12 (x86_64): asking apt") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "release 6.12.117+deb12-amd64", 0), KW_KIT_FEED_NOTE);
        CHECK(strcmp(p.release, "6.12.117+deb12-amd64") == 0);
        CHECK(strcmp(p.note, "fetching the guest kit 6.12.117+deb12-amd64 for x86_64 (once: it is cached)") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "unpack", 10), KW_KIT_FEED_PROGRESS);
        CHECK(p.say_event && p.say_plain);
        CHECK_EQ(kw_kit_progress_feed(&p, "unpack", 11), KW_KIT_FEED_NONE); /* the same step again */
        CHECK_EQ(kw_kit_progress_feed(&p, "depmod", 12), KW_KIT_FEED_PROGRESS);
        CHECK_EQ(kw_kit_progress_feed(&p, "initramfs", 13), KW_KIT_FEED_PROGRESS);
        kw_kit_progress_words(&p, w, sizeof(w));
        CHECK(strcmp(w, "guest kit 6.12.117+deb12-amd64 (x86_64): building the initramfs") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "note kit ready: /c/kits (272M)", 14), KW_KIT_FEED_NOTE);
        CHECK(strcmp(p.note, "kit ready: /c/kits (272M)") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "done /c/kits/x86_64/6.12.117+deb12-amd64", 15), KW_KIT_FEED_PROGRESS);
        CHECK(p.say_event && !p.say_plain); /* the note said it */
        CHECK(strcmp(p.dir, "/c/kits/x86_64/6.12.117+deb12-amd64") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "something new", 16), KW_KIT_FEED_NONE);
        CHECK_EQ(kw_kit_progress_feed(&p, "", 16), KW_KIT_FEED_NONE);
        CHECK_EQ(kw_kit_progress_feed(&p, "unpacking", 16), KW_KIT_FEED_NONE); /* a word, not a prefix */
}

static void test_download(void)
{
        struct kw_kit_progress p;
        char w[256];

        kw_kit_progress_init(&p, "arm64", NULL);
        kw_kit_progress_words(&p, w, sizeof(w));
        CHECK(strcmp(w, "guest kit (arm64): asking apt") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 0 100000000", 1000), KW_KIT_FEED_PROGRESS);
        CHECK(p.say_event && p.say_plain); /* the first sample */
        CHECK_EQ(p.rate, 0);
        kw_kit_progress_words(&p, w, sizeof(w));
        CHECK(strcmp(w, "guest kit (arm64): downloading 0.0 of 100.0 MB") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 10000000 100000000", 1500), KW_KIT_FEED_PROGRESS);
        CHECK(!p.say_event && !p.say_plain); /* half a second, under a quarter */
        CHECK_EQ(p.rate, 20000000);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 30000000 100000000", 2000), KW_KIT_FEED_PROGRESS);
        CHECK(p.say_event && p.say_plain); /* a second since the last event; the first quarter */
        kw_kit_progress_words(&p, w, sizeof(w));
        CHECK(strcmp(w, "guest kit (arm64): downloading 30.0 of 100.0 MB, 30.0 MB/s") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 40000000 100000000", 2500), KW_KIT_FEED_PROGRESS);
        CHECK(!p.say_event && !p.say_plain);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 90000000 100000000", 2600), KW_KIT_FEED_PROGRESS);
        CHECK(!p.say_event && p.say_plain); /* jumped to the third quarter: one plain line */
        CHECK_EQ(p.plain_quarter, 3);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 100004096 100000000", 2700), KW_KIT_FEED_PROGRESS);
        CHECK(p.say_event && p.say_plain); /* complete (du counts blocks: a little over) */
        CHECK_EQ(kw_kit_progress_feed(&p, "download x 1", 2800), KW_KIT_FEED_NONE);
        CHECK_EQ(kw_kit_progress_feed(&p, "download 1", 2800), KW_KIT_FEED_NONE);
        CHECK_EQ(p.bytes, 100004096);
}

static void test_unknown(void)
{
        struct kw_kit_progress p;

        kw_kit_progress_init(&p, "x86_64", "5.10");
        CHECK(!p.unknown_release);
        CHECK_EQ(kw_kit_progress_feed(&p, "unknown-release no kernel 5.10 for x86_64 in apt; offered: 6.1, 6.12", 0),
                 KW_KIT_FEED_NONE);
        CHECK(p.unknown_release);
        CHECK(strcmp(p.note, "no kernel 5.10 for x86_64 in apt; offered: 6.1, 6.12") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "error kmod-watch-kit: apt-get download failed", 1), KW_KIT_FEED_ERROR);
        CHECK(strcmp(p.note, "kmod-watch-kit: apt-get download failed") == 0);
        CHECK_EQ(kw_kit_progress_feed(&p, "error kmod-watch: the amd64 kit needs …", 1), KW_KIT_FEED_ERROR);
        CHECK(strcmp(p.note, "the amd64 kit needs …") == 0); /* kw_err adds the prefix */
}

int main(void)
{
        RUN(test_steps);
        RUN(test_download);
        RUN(test_unknown);
        TEST_DONE();
}
