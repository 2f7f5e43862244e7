/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-debounce.c — when a burst of changes is over (watcher/debounce.c).
 *
 * Editor saves are replayed as the inotify events they produce, with
 * timestamps, through the default filter (as the watch thread does) into a
 * simulated caller that ticks a millisecond clock, takes a batch when one is
 * ready and optionally "builds" for a while without taking. Timings follow
 * real recordings (vim 9 on Debian 12: rename-away → create 29 µs later →
 * close after fsync ~1.2 ms later; sed -i: one MOVED_TO).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "debounce.h"
#include "filter.h"
#include "test.h"

#define OPEN KW_CHANGE_WRITE_OPEN
#define DONE KW_CHANGE_WRITE_DONE
#define MOVED KW_CHANGE_MOVED_IN
#define GONE KW_CHANGE_GONE
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

struct ev {
        uint64_t t; /* ms */
        enum kw_change kind;
        const char *name;
};

#define MAX_BATCHES 16

struct run {
        int n;                      /* batches taken */
        uint64_t at[MAX_BATCHES];   /* when */
        size_t paths[MAX_BATCHES];  /* how many paths */
        char first[MAX_BATCHES][64]; /* first path */
        char all[MAX_BATCHES][256]; /* paths joined by ' ' */
};

static struct kw_filter filter;

/*
 * Replays EVS (sorted by time) from t = 1000 ms on, ticking a 1 ms clock up
 * to the last event + 2 s. The caller takes a batch whenever one is ready,
 * except while a build runs: each take starts a build lasting build_ms.
 */
static void simulate(const struct ev *evs, size_t n, unsigned quiet_ms, uint64_t build_ms,
                     struct run *out)
{
        const uint64_t base = 1000;
        struct kw_debounce d;
        uint64_t end = base + (n ? evs[n - 1].t : 0) + 2000;
        uint64_t build_end = 0;
        size_t i = 0;

        memset(out, 0, sizeof(*out));
        kw_debounce_init(&d, quiet_ms, 0, 0);
        for (uint64_t now = base; now <= end; now++) {
                struct kw_batch b;

                for (; i < n && base + evs[i].t <= now; i++)
                        if (kw_filter_match(&filter, evs[i].name))
                                CHECK_EQ(kw_debounce_add(&d, evs[i].name, evs[i].kind, now), 0);
                if (now < build_end)
                        continue; /* building: the batch waits */
                if (kw_debounce_take(&d, now, &b) <= 0)
                        continue;
                if (out->n < MAX_BATCHES) {
                        out->at[out->n] = now - base;
                        out->paths[out->n] = b.n;
                        snprintf(out->first[out->n], sizeof(out->first[0]), "%s", b.paths[0]);
                        for (size_t k = 0; k < b.n; k++) {
                                size_t len = strlen(out->all[out->n]);

                                snprintf(out->all[out->n] + len, sizeof(out->all[0]) - len, "%s%s",
                                         k ? " " : "", b.paths[k]);
                        }
                }
                out->n++;
                build_end = now + build_ms;
                kw_batch_free(&b);
        }
        CHECK(!kw_debounce_pending(&d));
        kw_debounce_free(&d);
}

/* vim, default settings (backupcopy=auto, writebackup) — recorded. */
static const struct ev vim_default[] = {
        { 0, OPEN, "4913" },          /* can I create files here? */
        { 0, DONE, "4913" },
        { 0, GONE, "4913" },
        { 0, GONE, "hello.c" },       /* rename hello.c → hello.c~ */
        { 0, MOVED, "hello.c~" },
        { 0, OPEN, "hello.c" },       /* create the new file */
        { 0, OPEN, "hello.c" },       /* write */
        { 1, DONE, "hello.c" },       /* fsync, close */
        { 1, GONE, "hello.c~" },      /* drop the backup */
        { 2, OPEN, ".hello.c.swp" },
};

static void test_vim_default(void)
{
        struct run r;

        simulate(vim_default, ELEMENTSOF(vim_default), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.paths[0], 1);
        CHECK(strcmp(r.first[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], 1 + KW_DEBOUNCE_QUIET_MS); /* quiet window after the close */
}

/* vim with a slow disk: fsync takes 150 ms between the write and the close */
static void test_vim_slow_fsync(void)
{
        const struct ev evs[] = {
                { 0, GONE, "hello.c" },   { 0, MOVED, "hello.c~" }, { 0, OPEN, "hello.c" },
                { 0, OPEN, "hello.c" },   { 150, DONE, "hello.c" }, { 150, GONE, "hello.c~" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.at[0], 150 + KW_DEBOUNCE_QUIET_MS); /* not at 20: the file was open */
}

/* vim nowritebackup, or backupcopy=yes: truncate and write in place */
static void test_vim_in_place(void)
{
        const struct ev evs[] = {
                { 0, OPEN, "hello.c" }, /* O_TRUNC */
                { 0, OPEN, "hello.c" },
                { 1, DONE, "hello.c" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK(strcmp(r.first[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], 1 + KW_DEBOUNCE_QUIET_MS);
}

/* sed -i: write sedXXXXXX, rename it over hello.c — recorded */
static void test_sed_i(void)
{
        const struct ev evs[] = {
                { 0, OPEN, "sed87yaQU" },  { 0, OPEN, "sed87yaQU" },  { 0, DONE, "sed87yaQU" },
                { 0, GONE, "sed87yaQU" },  { 0, MOVED, "hello.c" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.paths[0], 1);
        CHECK(strcmp(r.first[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], KW_DEBOUNCE_QUIET_MS);
}

/* emacs: lock symlink, autosave, backup by rename, write, cleanup */
static void test_emacs(void)
{
        const struct ev evs[] = {
                { 0, MOVED, ".#hello.c" },   /* lock (a symlink) on first change */
                { 300, OPEN, "#hello.c#" },  /* autosave */
                { 300, DONE, "#hello.c#" },
                { 900, GONE, "hello.c" },    /* C-x C-s: hello.c → hello.c~ */
                { 900, MOVED, "hello.c~" },
                { 900, OPEN, "hello.c" },
                { 901, OPEN, "hello.c" },
                { 902, DONE, "hello.c" },
                { 902, GONE, "#hello.c#" },
                { 903, GONE, ".#hello.c" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1); /* nothing before the save itself */
        CHECK(strcmp(r.all[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], 902 + KW_DEBOUNCE_QUIET_MS);
}

/* JetBrains safe write */
static void test_jetbrains(void)
{
        const struct ev evs[] = {
                { 0, OPEN, "hello.c___jb_tmp___" },  { 0, OPEN, "hello.c___jb_tmp___" },
                { 1, DONE, "hello.c___jb_tmp___" },  { 1, GONE, "hello.c" },
                { 1, MOVED, "hello.c___jb_old___" }, { 2, GONE, "hello.c___jb_tmp___" },
                { 2, MOVED, "hello.c" },             { 3, GONE, "hello.c___jb_old___" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK(strcmp(r.all[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], 2 + KW_DEBOUNCE_QUIET_MS); /* the last relevant event was at 2 */
}

static void test_burst_of_50_writes(void)
{
        struct ev evs[100];
        struct run r;

        for (int i = 0; i < 50; i++) {
                evs[2 * i] = (struct ev){ (uint64_t)i, OPEN, "hello.c" };
                evs[2 * i + 1] = (struct ev){ (uint64_t)i, DONE, "hello.c" };
        }
        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.paths[0], 1);
        CHECK_EQ(r.at[0], 49 + KW_DEBOUNCE_QUIET_MS);
}

/* 300 ms between the open-and-modify and the close: one batch, after close */
static void test_slow_writer(void)
{
        const struct ev evs[] = {
                { 0, OPEN, "hello.c" },
                { 0, OPEN, "hello.c" },
                { 300, OPEN, "hello.c" },
                { 300, DONE, "hello.c" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.at[0], 300 + KW_DEBOUNCE_QUIET_MS);

        /* and with no write in between either */
        const struct ev quiet[] = { { 0, OPEN, "big.c" }, { 300, DONE, "big.c" } };
        simulate(quiet, ELEMENTSOF(quiet), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.at[0], 300 + KW_DEBOUNCE_QUIET_MS);
}

/* a writer that never closes costs hold_ms, not forever */
static void test_hold_cap(void)
{
        const struct ev evs[] = { { 0, OPEN, "hello.c" }, { 40, OPEN, "hello.c" } };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.at[0], 40 + KW_DEBOUNCE_HOLD_MS);
}

/* one file still open holds the whole batch */
static void test_open_file_holds_others(void)
{
        const struct ev evs[] = {
                { 0, OPEN, "a.c" },
                { 1, DONE, "b.c" },
                { 200, DONE, "a.c" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK(strcmp(r.all[0], "a.c b.c") == 0);
        CHECK_EQ(r.at[0], 200 + KW_DEBOUNCE_QUIET_MS);
}

/* rm hello.c: a real change, but only after the gone window */
static void test_delete_alone(void)
{
        const struct ev evs[] = { { 0, GONE, "hello.c" } };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK(strcmp(r.all[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], KW_DEBOUNCE_GONE_MS);
        CHECK(KW_DEBOUNCE_GONE_MS >= KW_DEBOUNCE_QUIET_MS);
}

/* vim's rename-away seen alone for a while, then the new file: one batch */
static void test_rename_away_then_new_file(void)
{
        const struct ev evs[] = {
                { 0, GONE, "hello.c" },
                { 0, MOVED, "hello.c~" },
                { 60, OPEN, "hello.c" },
                { 61, DONE, "hello.c" },
                { 61, GONE, "hello.c~" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK(strcmp(r.all[0], "hello.c") == 0);
        CHECK_EQ(r.at[0], 61 + KW_DEBOUNCE_QUIET_MS);
}

/* a deleted file next to a written one is not held by the gone window */
static void test_delete_with_write(void)
{
        const struct ev evs[] = { { 0, GONE, "old.c" }, { 1, DONE, "new.c" } };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK(strcmp(r.all[0], "new.c old.c") == 0);
        CHECK_EQ(r.at[0], 1 + KW_DEBOUNCE_QUIET_MS);
}

/* events that keep coming keep the window open */
static void test_quiet_window_slides(void)
{
        struct ev evs[20];
        struct run r;

        for (int i = 0; i < 20; i++)
                evs[i] = (struct ev){ (uint64_t)i * (KW_DEBOUNCE_QUIET_MS - 5), DONE,
                                      i % 2 ? "a.c" : "b.h" };
        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 1);
        CHECK_EQ(r.at[0], evs[19].t + KW_DEBOUNCE_QUIET_MS);
        CHECK(strcmp(r.all[0], "a.c b.h") == 0);
}

/* two saves further apart than the window: two builds */
static void test_two_saves_two_batches(void)
{
        const struct ev evs[] = { { 0, DONE, "hello.c" }, { 500, DONE, "hello.c" } };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 2);
        CHECK_EQ(r.at[0], KW_DEBOUNCE_QUIET_MS);
        CHECK_EQ(r.at[1], 500 + KW_DEBOUNCE_QUIET_MS);
}

/* saves during a build: exactly one more build after it, with all paths */
static void test_changes_during_build(void)
{
        const struct ev evs[] = {
                { 0, DONE, "hello.c" },
                { 100, DONE, "hello.c" }, /* the build (20 → 1020) is running */
                { 400, DONE, "util.c" },
                { 700, DONE, "hello.h" },
                { 900, DONE, "hello.c" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 1000, &r);
        CHECK_EQ(r.n, 2);
        CHECK_EQ(r.at[0], KW_DEBOUNCE_QUIET_MS);
        CHECK_EQ(r.at[1], KW_DEBOUNCE_QUIET_MS + 1000); /* right when the build ends */
        CHECK(strcmp(r.all[1], "hello.c hello.h util.c") == 0);
}

/* a save still settling when the build ends waits for its own window */
static void test_change_at_build_end(void)
{
        const struct ev evs[] = { { 0, DONE, "hello.c" }, { 1015, DONE, "util.c" } };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 1000, &r);
        CHECK_EQ(r.n, 2);
        CHECK_EQ(r.at[1], 1015 + KW_DEBOUNCE_QUIET_MS);
}

/* build outputs and editor noise alone never make a batch */
static void test_noise_only(void)
{
        const struct ev evs[] = {
                { 0, OPEN, "hello.o" },       { 0, DONE, "hello.o" },
                { 1, DONE, ".hello.o.cmd" },  { 2, DONE, "hello.mod.c" },
                { 3, MOVED, "modules.order" }, { 4, DONE, "Module.symvers" },
                { 5, OPEN, ".hello.c.swp" },  { 6, DONE, "hello.ko" },
                { 7, OPEN, "4913" },          { 7, GONE, "4913" },
        };
        struct run r;

        simulate(evs, ELEMENTSOF(evs), KW_DEBOUNCE_QUIET_MS, 0, &r);
        CHECK_EQ(r.n, 0);
}

static void test_dedup_and_sort(void)
{
        struct kw_debounce d;
        struct kw_batch b;

        kw_debounce_init(&d, 20, 0, 0);
        CHECK_EQ(kw_debounce_add(&d, "zz.c", DONE, 10), 0);
        CHECK_EQ(kw_debounce_add(&d, "b.c", DONE, 10), 0);
        CHECK_EQ(kw_debounce_add(&d, "a/x.c", DONE, 11), 0);
        CHECK_EQ(kw_debounce_add(&d, "b.c", OPEN, 12), 0);
        CHECK_EQ(kw_debounce_add(&d, "b.c", DONE, 12), 0);
        CHECK_EQ(kw_debounce_add(&d, "a.c", MOVED, 12), 0);
        CHECK_EQ(kw_debounce_take(&d, 32, &b), 4);
        CHECK_EQ(b.n, 4);
        CHECK(strcmp(b.paths[0], "a.c") == 0);
        CHECK(strcmp(b.paths[1], "a/x.c") == 0);
        CHECK(strcmp(b.paths[2], "b.c") == 0);
        CHECK(strcmp(b.paths[3], "zz.c") == 0);
        kw_batch_free(&b);
        CHECK_EQ(b.n, 0);
        kw_batch_free(&b);
        kw_debounce_free(&d);
}

static void test_deadline_and_take(void)
{
        struct kw_debounce d;
        struct kw_batch b;

        kw_debounce_init(&d, 20, 0, 0);
        CHECK(!kw_debounce_pending(&d));
        CHECK(kw_debounce_deadline(&d) == KW_DEBOUNCE_NEVER);
        CHECK_EQ(kw_debounce_take(&d, 5000, &b), 0);
        CHECK_EQ(b.n, 0);

        CHECK_EQ(kw_debounce_add(&d, "hello.c", OPEN, 100), 0);
        CHECK(kw_debounce_pending(&d));
        CHECK_EQ(kw_debounce_deadline(&d), 100 + KW_DEBOUNCE_HOLD_MS);
        CHECK_EQ(kw_debounce_add(&d, "hello.c", DONE, 103), 0);
        CHECK_EQ(kw_debounce_deadline(&d), 123);
        /* not ready: nothing taken, nothing lost */
        CHECK_EQ(kw_debounce_take(&d, 122, &b), 0);
        CHECK_EQ(b.n, 0);
        CHECK(kw_debounce_pending(&d));
        CHECK_EQ(kw_debounce_take(&d, 123, &b), 1);
        kw_batch_free(&b);
        CHECK(!kw_debounce_pending(&d));
        CHECK(kw_debounce_deadline(&d) == KW_DEBOUNCE_NEVER);

        /* KW_DEBOUNCE_NEVER as "now" takes whatever is pending */
        CHECK_EQ(kw_debounce_add(&d, "x.c", OPEN, 200), 0);
        CHECK_EQ(kw_debounce_take(&d, KW_DEBOUNCE_NEVER, &b), 1);
        kw_batch_free(&b);

        /* a clock that steps back never moves the deadline earlier */
        CHECK_EQ(kw_debounce_add(&d, "x.c", DONE, 300), 0);
        CHECK_EQ(kw_debounce_add(&d, "y.c", DONE, 290), 0);
        CHECK_EQ(kw_debounce_deadline(&d), 320);
        kw_debounce_free(&d);
}

static void test_custom_windows(void)
{
        struct kw_debounce d;

        kw_debounce_init(&d, 0, 50, 30);
        CHECK_EQ(kw_debounce_add(&d, "a.c", DONE, 10), 0);
        CHECK_EQ(kw_debounce_deadline(&d), 10); /* quiet 0: at once */
        CHECK_EQ(kw_debounce_add(&d, "b.c", OPEN, 10), 0);
        CHECK_EQ(kw_debounce_deadline(&d), 60);
        kw_debounce_free(&d);

        kw_debounce_init(&d, 200, 50, 30);
        CHECK_EQ(kw_debounce_add(&d, "a.c", GONE, 10), 0);
        CHECK_EQ(kw_debounce_deadline(&d), 210); /* gone window shorter than quiet */
        kw_debounce_free(&d);
}

/* many distinct paths (a git checkout) */
static void test_many_paths(void)
{
        struct kw_debounce d;
        struct kw_batch b;
        char name[32];

        kw_debounce_init(&d, 20, 0, 0);
        for (int i = 999; i >= 0; i--) {
                snprintf(name, sizeof(name), "f%04d.c", i);
                CHECK_EQ(kw_debounce_add(&d, name, DONE, 1), 0);
                CHECK_EQ(kw_debounce_add(&d, name, DONE, 2), 0);
        }
        CHECK_EQ(kw_debounce_take(&d, 22, &b), 1000);
        for (size_t i = 1; i < b.n; i++)
                CHECK(strcmp(b.paths[i - 1], b.paths[i]) < 0);
        kw_batch_free(&b);
        kw_debounce_free(&d);
}

int main(void)
{
        kw_filter_init(&filter);
        RUN(test_vim_default);
        RUN(test_vim_slow_fsync);
        RUN(test_vim_in_place);
        RUN(test_sed_i);
        RUN(test_emacs);
        RUN(test_jetbrains);
        RUN(test_burst_of_50_writes);
        RUN(test_slow_writer);
        RUN(test_hold_cap);
        RUN(test_open_file_holds_others);
        RUN(test_delete_alone);
        RUN(test_rename_away_then_new_file);
        RUN(test_delete_with_write);
        RUN(test_quiet_window_slides);
        RUN(test_two_saves_two_batches);
        RUN(test_changes_during_build);
        RUN(test_change_at_build_end);
        RUN(test_noise_only);
        RUN(test_dedup_and_sort);
        RUN(test_deadline_and_take);
        RUN(test_custom_windows);
        RUN(test_many_paths);
        kw_filter_free(&filter);
        TEST_DONE();
}
