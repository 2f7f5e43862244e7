/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-cycle.c — the controller (watcher/cycle/) without QEMU, make or
 * inotify: a fake world behind its port (make that finishes when the test
 * says, an agent whose answers the test gives, a guest that restarts on
 * request) and a virtual clock, so load timeouts, oops quiet periods and
 * --once windows pass in microseconds. Each case drives one sequence and
 * checks the events the cycle emitted, in order, and how the run ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cycle.h"
#include "loop.h"
#include "ui.h"

/* TAP goes to the real stdout; the ui's human output to /dev/null. */
static FILE *tap;
#define printf(...) fprintf(tap, __VA_ARGS__)
#include "test.h"

/* ---- the fake world ---- */

struct request {
        char what[16]; /* load, unload, reload, run, ping */
        char arg[256];
        kw_result_fn fn;
        kw_result_fn unloaded; /* reload: its UNLOADED */
        void *ud;
};

static struct fake {
        struct kw_loop *loop;
        struct kw_cycle *cycle;
        struct kw_opts o;
        /* make */
        int builds;
        bool building;
        kw_port_built_fn built;
        void *core;
        struct kw_module modules[64];
        size_t n_modules;
        bool quick;     /* build_quick says yes (a replay) */
        bool replaying; /* the running build is a replay: build_supersede stops it */
        int superseded;
        /* the watch */
        const char *changes[8];
        size_t n_changes;
        /* the guest */
        bool up;
        bool managed;
        int restarts;
        char restart_reason[256];
        /* the agent */
        bool knows_reload; /* the port has reload (else -EOPNOTSUPP) */
        bool old_agent;    /* and the agent answers it EOPNOTSUPP */
        struct request req[64];
        size_t n_req;
        kw_stats_fn stats_fn; /* a STATS request waiting (--repeat) */
        void *stats_ud;
        int n_stats;
        /* what came out */
        char events[4096];
        char fingerprint[2][24]; /* of the last two oops events */
        long oops_count;         /* the last oops event's count */
} F;

static void sink(void *userdata, const char *event, const struct kw_ev *e)
{
        char item[256];
        const char *module = kw_ev_field(e, "module"), *ok = kw_ev_field(e, "ok");

        if (strcmp(event, "kmsg") == 0)
                return;
        snprintf(item, sizeof(item), "%s%s%s%s%s ", event, module ? ":" : "", module ? module : "",
                 ok ? ":" : "", ok ? ok : "");
        if (strcmp(event, "oops") == 0) {
                snprintf(item, sizeof(item), "oops:%s ", kw_ev_field(e, "kind"));
                memcpy(F.fingerprint[0], F.fingerprint[1], sizeof(F.fingerprint[0]));
                snprintf(F.fingerprint[1], sizeof(F.fingerprint[1]), "%s", kw_ev_field(e, "fingerprint"));
                F.oops_count = atol(kw_ev_field(e, "count"));
        }
        strncat(F.events, item, sizeof(F.events) - strlen(F.events) - 1);
}

static int f_build_start(void *impl, const struct kw_batch *b, kw_port_built_fn done, void *core)
{
        F.builds++;
        F.building = true;
        F.built = done;
        F.core = core;
        return 0;
}

static void f_build_cancel(void *impl)
{
        F.building = false;
}

static bool f_build_quick(void *impl, const struct kw_batch *b)
{
        return F.quick && b->n > 0;
}

static bool f_build_supersede(void *impl)
{
        if (!F.building || !F.replaying)
                return false;
        F.building = false;
        F.superseded++;
        return true;
}

static int f_collect(void *impl, struct kw_modlist *ret)
{
        for (size_t i = 0; i < F.n_modules; i++)
                if (kw_modlist_add(ret, &F.modules[i]) < 0)
                        return -ENOMEM;
        return F.n_modules ? 0 : -ENOENT;
}

static int f_watch_drain(void *impl, struct kw_debounce *d, uint64_t now_ms)
{
        for (size_t i = 0; i < F.n_changes; i++)
                kw_debounce_add(d, F.changes[i], KW_CHANGE_MOVED_IN, now_ms);
        F.n_changes = 0;
        return 0;
}

static bool f_channel_up(void *impl) { return F.up; }
static bool f_can_restart(void *impl) { return F.managed; }
static void f_ready_ack(void *impl) {}
static const char *f_transport(void *impl) { return "fake"; }

static void fail_all(enum kw_reply_kind kind, const char *why)
{
        while (F.n_req) {
                struct request r = F.req[0];
                struct kw_reply reply = { .kind = kind, .err = EIO, .status = 255, .why = why };
                memmove(F.req, F.req + 1, --F.n_req * sizeof(F.req[0]));
                r.fn(r.ud, &reply);
        }
}

static void f_detach(void *impl, const char *why)
{
        F.up = false;
        fail_all(KW_REPLY_LOST, why);
}

static int f_restart(void *impl, const char *reason)
{
        F.restarts++;
        snprintf(F.restart_reason, sizeof(F.restart_reason), "%s", reason);
        F.up = false;
        return 0;
}

static int f_deliver(void *impl, const struct kw_module *m, char *ret_path, size_t size, kw_port_delivered_fn done,
                     void *ud)
{
        snprintf(ret_path, size, "/mnt/kmod-watch/%s", m->relpath);
        done(ud, 0);
        return 0;
}

static int request(const char *what, const char *arg, kw_result_fn fn, void *ud)
{
        if (!F.up)
                return -ENOTCONN;
        struct request *r = &F.req[F.n_req++];
        snprintf(r->what, sizeof(r->what), "%s", what);
        snprintf(r->arg, sizeof(r->arg), "%s", arg);
        r->fn = fn;
        r->ud = ud;
        return 0;
}

static int f_load(void *impl, const char *path, const char *params, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return request("load", path, fn, ud);
}

static int f_unload(void *impl, const char *module, bool force, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return request("unload", module, fn, ud);
}

static int f_reload(void *impl, const char *module, bool force, const char *path, const char *params,
                    unsigned timeout_ms, kw_result_fn unloaded, kw_result_fn fn, void *ud)
{
        char arg[256];

        if (!F.knows_reload)
                return -EOPNOTSUPP;
        snprintf(arg, sizeof(arg), "%s %s", module, path);
        int r = request("reload", arg, fn, ud);
        if (r == 0)
                F.req[F.n_req - 1].unloaded = unloaded;
        return r;
}

static int f_run(void *impl, const char *cmd, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return request("run", cmd, fn, ud);
}

static int f_ping(void *impl, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return request("ping", "", fn, ud);
}

static int f_log_sync(void *impl, unsigned timeout_ms, kw_result_fn fn, void *ud)
{
        return request("log_sync", "", fn, ud);
}

static int f_stats(void *impl, unsigned flags, unsigned timeout_ms, kw_stats_fn fn, void *ud)
{
        if (!F.up || F.stats_fn)
                return -EBUSY;
        F.stats_fn = fn;
        F.stats_ud = ud;
        F.n_stats++;
        return 0;
}

static const struct kw_cycle_port port = {
        .build_start = f_build_start, .build_cancel = f_build_cancel, .build_quick = f_build_quick,
        .build_supersede = f_build_supersede, .collect = f_collect,
        .watch_drain = f_watch_drain, .channel_up = f_channel_up, .can_restart = f_can_restart,
        .restart = f_restart, .detach = f_detach, .ready_ack = f_ready_ack, .transport = f_transport,
        .deliver = f_deliver, .load = f_load, .unload = f_unload, .reload = f_reload, .run = f_run, .ping = f_ping,
        .log_sync = f_log_sync, .stats = f_stats,
};

/* ---- driving it ---- */

static void module(size_t i, const char *name, const char *depends, unsigned char version)
{
        struct kw_module *m = &F.modules[i];
        *m = (struct kw_module){ 0 };
        snprintf(m->name, sizeof(m->name), "%s", name);
        snprintf(m->relpath, sizeof(m->relpath), "%s.ko", name);
        snprintf(m->depends, sizeof(m->depends), "%s", depends);
        memset(m->hash, version, sizeof(m->hash));
        if (i >= F.n_modules)
                F.n_modules = i + 1;
}

static void setup(void)
{
        kw_loop_free(F.loop);
        F = (struct fake){ .managed = true };
        F.o = (struct kw_opts){ .dir = "/src/hello", .arch = "x86_64", .timeout_s = 30, .load_timeout_s = 10,
                                .debounce_ms = 20 };
        module(0, "hello", "", 1);
}

static void start(void)
{
        CHECK_EQ(kw_loop_new_virtual(&F.loop), 0);
        CHECK_EQ(kw_cycle_new(F.loop, &F.o, "/src/hello", &port, NULL, NULL, &F.cycle), 0);
        kw_cycle_start(F.cycle);
}

static void finish(void)
{
        kw_cycle_free(F.cycle);
        F.cycle = NULL;
}

static void advance(uint64_t ms)
{
        kw_loop_advance(F.loop, ms);
}

static void make_done(bool ok)
{
        CHECK(F.building);
        F.building = false;
        struct kw_port_build res = { .ok = ok, .shown = ok ? "" : "hello.c:3:1: error: expected ';'\n", .ms = 700,
                                     .why_make = "no replay state yet" };
        F.built(F.core, &res);
        advance(0);
}

static void guest_ready(bool rebooted)
{
        static const struct kw_guest g = { .arch = "x86_64", .release = "6.1.0-fake" };
        F.up = true;
        kw_cycle_on_ready(F.cycle, &g, rebooted);
        advance(0);
}

static void save(const char *path)
{
        F.changes[F.n_changes++] = path;
        kw_cycle_on_changes(F.cycle);
        advance(25); /* the debounce quiet window */
}

static void kmsg(const char *text)
{
        static uint64_t seq;
        kw_cycle_on_kmsg(F.cycle, ++seq, 6, 1000, text);
}

/* Answers the oldest request; returns what it was ("load /mnt/kmod-watch/hello.ko"). */
static const char *answer(int err, uint64_t status)
{
        static char was[300];
        if (!F.n_req)
                return "(none)";
        struct request r = F.req[0];
        memmove(F.req, F.req + 1, --F.n_req * sizeof(F.req[0]));
        snprintf(was, sizeof(was), "%s %s", r.what, r.arg);
        struct kw_reply reply = { .kind = KW_REPLY_OK, .err = err, .status = status, .usec = 1800 };
        if (err)
                snprintf(reply.error, sizeof(reply.error), "%s", strerror(err));
        r.fn(r.ud, &reply);
        advance(0);
        return was;
}

/* A reload's UNLOADED (the request stays: its load is under way). */
static void unloaded(int err)
{
        struct kw_reply reply = { .kind = KW_REPLY_OK, .err = err, .usec = 300 };
        CHECK(F.n_req && F.req[0].unloaded);
        if (!F.n_req || !F.req[0].unloaded)
                return;
        kw_result_fn fn = F.req[0].unloaded;
        F.req[0].unloaded = NULL;
        fn(F.req[0].ud, &reply);
        advance(0);
}

/* A reload's RESULT: the load's err, or the unload's when it failed (unload_err). */
static const char *answer_reload(int err, int unload_err)
{
        static char was[300];
        struct request r = F.req[0];
        memmove(F.req, F.req + 1, --F.n_req * sizeof(F.req[0]));
        snprintf(was, sizeof(was), "%s %s", r.what, r.arg);
        struct kw_reply reply = { .kind = KW_REPLY_OK, .err = err, .usec = 1800, .has_unload = true,
                                  .unload_err = unload_err };
        if (err)
                snprintf(reply.error, sizeof(reply.error), "%s", strerror(err));
        if (F.old_agent)
                reply = (struct kw_reply){ .kind = KW_REPLY_OK, .err = EOPNOTSUPP, .error = "unknown request type 15" };
        r.fn(r.ud, &reply);
        advance(0);
        return was;
}

static void time_out(void)
{
        struct request r = F.req[0];
        memmove(F.req, F.req + 1, --F.n_req * sizeof(F.req[0]));
        struct kw_reply reply = { .kind = KW_REPLY_TIMEOUT, .err = EIO, .why = "timed out" };
        r.fn(r.ud, &reply);
        advance(0);
}

static bool events_are(const char *want)
{
        if (strcmp(F.events, want) == 0) {
                F.events[0] = 0;
                return true;
        }
        printf("# events: '%s'\n#   want: '%s'\n", F.events, want);
        F.events[0] = 0;
        return false;
}

/* The run's last request is the log barrier: answer it, then the run is over. */
static bool synced_and_ended(int status)
{
        if (!F.n_req || strcmp(F.req[0].what, "log_sync") != 0) {
                printf("# no log barrier at the end (%zu requests)\n", F.n_req);
                return false;
        }
        answer(0, 0);
        if (!kw_loop_exiting(F.loop))
                return false;
        return kw_cycle_status(F.cycle) == status;
}

static bool ended_with(int status)
{
        if (!kw_loop_exiting(F.loop))
                return false;
        return kw_cycle_status(F.cycle) == status;
}

static const char *const oops_lines[] = {
        "BUG: kernel NULL pointer dereference, address: 0000000000000000",
        "Oops: 0000 [#1] PREEMPT SMP NOPTI",
        "CPU: 0 PID: 101 Comm: kmod-agent Tainted: G           OE      6.1.0-56-amd64 #1",
        "RIP: 0010:hello_init+0x11/0x1000 [hello]",
        "Call Trace:",
        " <TASK>",
        " do_one_initcall+0x59/0x220",
        " </TASK>",
        "---[ end trace 0000000000000000 ]---",
};

static void oops(void)
{
        for (size_t i = 0; i < sizeof(oops_lines) / sizeof(oops_lines[0]); i++)
                kmsg(oops_lines[i]);
}

/* ---- the cases ---- */

/* The first load after the guest greets: a stale-module check, then the load. */
static void first_load(void)
{
        CHECK(strcmp(answer(ENOENT, 0), "unload hello") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/hello.ko") == 0);
}

static void test_save_oops_restart_hold_fix(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        CHECK(events_are("build_start ready build_end:true load:hello:true "));

        /* a save whose init oopses */
        module(0, "hello", "", 2);
        save("hello.c");
        make_done(true);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK_EQ(F.n_req, 1); /* the load is in flight */
        oops();
        CHECK(strcmp(answer(EFAULT, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("change build_start build_end:true unload:hello:true oops:oops load:hello:false "));
        CHECK_EQ(F.restarts, 0);
        advance(500); /* time for a panic to take QEMU down by itself: it did not */
        CHECK_EQ(F.restarts, 1);
        CHECK(strstr(F.restart_reason, "the guest kernel crashed: oops in hello_init") != NULL);
        CHECK(events_are("guest_restart "));

        /* the new boot: the build that crashed it is held */
        guest_ready(true);
        CHECK_EQ(F.n_req, 0);
        CHECK(events_are("ready "));

        /* the fix */
        module(0, "hello", "", 3);
        save("hello.c");
        make_done(true);
        first_load();
        CHECK(events_are("change build_start build_end:true load:hello:true "));
        CHECK(!kw_loop_exiting(F.loop));
        finish();
}

static void test_change_during_build(void)
{
        setup();
        start();
        guest_ready(false);
        save("hello.c"); /* while make runs: no second make at once */
        CHECK_EQ(F.builds, 1);
        make_done(true); /* stale: built again, not loaded */
        advance(25);
        CHECK_EQ(F.builds, 2);
        CHECK_EQ(F.n_req, 0);
        make_done(true);
        first_load();
        CHECK(events_are("build_start ready build_end:true change build_start build_end:true load:hello:true "));
        finish();
}

/* A save whose build is quick (a replay) starts it at once, without the window; a save
 * during it supersedes it, and the window applies until a build ends; make runs on. */
static void test_quick_and_superseded(void)
{
        setup();
        F.quick = true;
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        F.events[0] = 0;
        F.replaying = true;
        F.changes[F.n_changes++] = "hello.c";
        kw_cycle_on_changes(F.cycle);
        CHECK_EQ(F.builds, 2); /* no quiet window */
        F.changes[F.n_changes++] = "hello.c";
        kw_cycle_on_changes(F.cycle); /* during the replay */
        CHECK_EQ(F.superseded, 1);
        CHECK_EQ(F.builds, 2); /* the window again */
        F.changes[F.n_changes++] = "hello.c";
        kw_cycle_on_changes(F.cycle);
        CHECK_EQ(F.builds, 2);
        advance(25);
        CHECK_EQ(F.builds, 3);
        F.changes[F.n_changes++] = "hello.c"; /* during the build after the window: it runs on */
        kw_cycle_on_changes(F.cycle);
        CHECK_EQ(F.superseded, 1);
        CHECK(F.building);
        module(0, "hello", "", 2);
        make_done(true);
        advance(25); /* stale: built again */
        CHECK_EQ(F.builds, 4);
        make_done(true);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("change build_start build_end:false change build_start build_end:true change build_start "
                         "build_end:true unload:hello:true load:hello:true "));
        F.replaying = false; /* make: runs on, built again after */
        F.changes[F.n_changes++] = "hello.c";
        kw_cycle_on_changes(F.cycle);
        CHECK_EQ(F.builds, 5);
        F.changes[F.n_changes++] = "hello.c";
        kw_cycle_on_changes(F.cycle);
        CHECK_EQ(F.superseded, 1);
        CHECK(F.building);
        finish();
}

static void test_unchanged_rebuild(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        F.events[0] = 0;
        save("Makefile"); /* same .ko */
        make_done(true);
        CHECK_EQ(F.n_req, 0);
        CHECK(events_are("change build_start build_end:true unchanged "));
        /* the r key reloads it all the same */
        kw_cycle_on_key(F.cycle, 'r');
        make_done(true);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("build_start build_end:true unload:hello:true load:hello:true "));
        finish();
}

static void test_dependents_reload(void)
{
        setup();
        module(0, "lib", "", 1);
        module(1, "user", "lib", 1);
        module(2, "other", "", 1);
        start();
        guest_ready(false);
        make_done(true);
        for (int i = 0; i < 3; i++)
                CHECK(strncmp(answer(ENOENT, 0), "unload", 6) == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/lib.ko") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/user.ko") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/other.ko") == 0);
        F.events[0] = 0;
        module(0, "lib", "", 2); /* lib changed: user depends on it, other does not */
        save("lib.c");
        make_done(true);
        CHECK(strcmp(answer(0, 0), "unload user") == 0);
        CHECK(strcmp(answer(0, 0), "unload lib") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/lib.ko") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/user.ko") == 0);
        CHECK_EQ(F.n_req, 0);
        finish();
}

static void test_silent_guest_restarted(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        advance(1000); /* the first liveness check */
        CHECK(strcmp(answer(0, 0), "ping ") == 0);
        advance(2000);
        CHECK_EQ(F.n_req, 1);
        time_out();
        advance(0);
        CHECK_EQ(F.restarts, 1);
        CHECK(strstr(F.restart_reason, "stopped answering") != NULL);
        finish();
}

static void test_hung_unload_restarts(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        module(0, "hello", "", 2);
        save("hello.c");
        make_done(true);
        time_out(); /* the unload: its exit function hangs */
        CHECK_EQ(F.restarts, 1);
        CHECK(strstr(F.restart_reason, "unloading hello did not return") != NULL);
        guest_ready(true);
        first_load(); /* an unload that hung does not hold the new build */
        finish();
}

/* A save (build N) whose init oopses in a guest we do not restart. */
static void save_that_oopses(int n)
{
        module(0, "hello", "", n);
        save("hello.c");
        make_done(true);
        answer(0, 0);
        oops();
        answer(EFAULT, 0);
        advance(1000);
}

static void test_not_ours_to_restart(void)
{
        setup();
        F.managed = false; /* --connect, --ssh */
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        save_that_oopses(2);
        CHECK_EQ(F.restarts, 0);
        kw_cycle_on_key(F.cycle, 'b');
        advance(0);
        CHECK_EQ(F.restarts, 0);
        /* the user rebooted it (the agent's requests fail with the old boot): the crashing build
         * is not loaded again */
        fail_all(KW_REPLY_LOST, "the agent greeted again");
        guest_ready(true);
        CHECK_EQ(F.n_req, 0);
        finish();
}

/* The same report again in one session: the same fingerprint, counted. */
static void test_same_oops_counted(void)
{
        setup();
        F.managed = false; /* nothing restarts: the module oopses twice in one boot */
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        save_that_oopses(2);
        save_that_oopses(3);
        CHECK_EQ(F.oops_count, 2);
        kw_cycle_on_gap(F.cycle, 900, 17); /* the ring buffer overran: said as an event */
        CHECK(strstr(F.events, "kmsg_gap ") != NULL);
        CHECK_EQ(strlen(F.fingerprint[1]), 16);
        CHECK(strcmp(F.fingerprint[0], F.fingerprint[1]) == 0);
        finish();
}

static void test_signal_twice(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        kw_cycle_on_signal(F.cycle, 2);
        CHECK(!kw_loop_exiting(F.loop)); /* unloading first */
        CHECK(strcmp(F.req[0].what, "unload") == 0);
        kw_cycle_on_signal(F.cycle, 2); /* a second Ctrl-C: now */
        CHECK(ended_with(0));
        finish();
}

/* ---- --once ---- */

static void once_setup(void)
{
        setup();
        F.o.once = true;
}

static void test_once_ok(void)
{
        once_setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        advance(1000); /* the module's first lines */
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK(synced_and_ended(KW_EXIT_OK));
        CHECK(events_are("build_start ready build_end:true load:hello:true unload:hello:true "));
        finish();
}

static void test_once_expect(void)
{
        static const char *const pattern[] = { "Hello, world" };

        once_setup();
        F.o.expect[0] = pattern[0];
        F.o.n_expect = 1;
        start();
        guest_ready(false);
        make_done(true);
        CHECK(strcmp(answer(ENOENT, 0), "unload hello") == 0);
        kmsg("hello: Hello, world"); /* printed during the load */
        answer(0, 0);
        advance(200);
        answer(0, 0);
        CHECK(synced_and_ended(KW_EXIT_OK));
        CHECK(events_are("build_start ready build_end:true load:hello:true expect:true unload:hello:true "));
        finish();

        once_setup();
        F.o.expect[0] = pattern[0];
        F.o.n_expect = 1;
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        kmsg("hello: Goodbye");
        advance(29999);
        CHECK(!kw_loop_exiting(F.loop));
        advance(1);
        answer(0, 0);
        CHECK(synced_and_ended(KW_EXIT_EXPECT));
        finish();
}

/* The guest's counters: kmalloc-4k holds k4 objects. */
static bool stats_answer(uint64_t k4)
{
        struct kw_stat slab[1] = { { "kmalloc-4k", k4, 4096 } };
        struct kw_stats st = { .slab = slab, .n_slab = 1 };
        struct kw_reply ok = { .kind = KW_REPLY_OK };
        kw_stats_fn fn = F.stats_fn;

        if (!fn)
                return false;
        F.stats_fn = NULL;
        fn(F.stats_ud, &ok, &st);
        advance(0);
        return true;
}

/* --repeat 5: counted before the first load, then after each of 5 unloads; leak: +1 a cycle. */
static void repeat_run(int leak, int want)
{
        once_setup();
        F.o.repeat = 5;
        start();
        guest_ready(false);
        make_done(true);
        CHECK_EQ(F.n_req, 0); /* the count first */
        CHECK(stats_answer(100));
        first_load();
        advance(1000); /* the first cycle's --once collection */
        for (int k = 1; k <= 5; k++) {
                CHECK(strcmp(answer(0, 0), "unload hello") == 0);
                CHECK_EQ(F.n_req, 0);
                CHECK(stats_answer(100 + (uint64_t)(leak * k)));
                if (k < 5)
                        first_load(); /* a stale one of the same name is unloaded first, as always */
        }
        CHECK_EQ(F.n_stats, 6);
        CHECK(synced_and_ended(want)); /* nothing left to unload: the barrier, the end */
        CHECK(events_are(leak ? "build_start ready build_end:true load:hello:true unload:hello:true "
                                "load:hello:true unload:hello:true load:hello:true unload:hello:true "
                                "load:hello:true unload:hello:true load:hello:true unload:hello:true "
                                "leak repeat:false "
                              : "build_start ready build_end:true load:hello:true unload:hello:true "
                                "load:hello:true unload:hello:true load:hello:true unload:hello:true "
                                "load:hello:true unload:hello:true load:hello:true unload:hello:true "
                                "repeat:true "));
        finish();
}

static void test_once_repeat(void)
{
        repeat_run(1, KW_EXIT_EXPECT);
        repeat_run(0, KW_EXIT_OK);

        /* a failed load in a later cycle ends it with 3, and nothing is counted any more */
        once_setup();
        F.o.repeat = 5;
        start();
        guest_ready(false);
        make_done(true);
        CHECK(stats_answer(100));
        first_load();
        advance(1000);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK(stats_answer(100));
        CHECK(strcmp(answer(ENOENT, 0), "unload hello") == 0);
        CHECK(strcmp(answer(ENOEXEC, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(synced_and_ended(KW_EXIT_LOAD));
        CHECK_EQ(F.n_stats, 2);
        finish();
}

/* Records lost in the guest: a kmsg_gap event (and a line), the run goes on. */
static void test_gap_event(void)
{
        setup();
        start();
        guest_ready(false);
        kw_cycle_on_gap(F.cycle, 5000, 1200);
        kw_cycle_on_gap(F.cycle, 7000, 0);
        CHECK(events_are("build_start ready kmsg_gap kmsg_gap "));
        CHECK(!kw_loop_exiting(F.loop));
        finish();
}

/* A --once run of hello up to its log barrier at the end. */
static void once_until_barrier(void)
{
        once_setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        advance(1000);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK(F.n_req == 1 && strcmp(F.req[0].what, "log_sync") == 0);
}

/* The log barrier at the end is asked again while records still flow (a flood), not otherwise. */
static void test_once_barrier_renewed(void)
{
        once_until_barrier();
        kmsg("flood 1");
        time_out();
        CHECK(!kw_loop_exiting(F.loop));
        CHECK(synced_and_ended(KW_EXIT_OK)); /* asked again, answered */
        finish();

        once_until_barrier();
        time_out(); /* nothing came: give up waiting */
        CHECK(ended_with(KW_EXIT_OK));
        finish();
}

static void test_once_build_failed(void)
{
        once_setup();
        start();
        make_done(false);
        CHECK(ended_with(KW_EXIT_BUILD));
        finish();

        once_setup();
        F.n_modules = 0; /* make wrote no module */
        start();
        make_done(true);
        CHECK(ended_with(KW_EXIT_BUILD));
        finish();
}

static void test_once_load_failed(void)
{
        once_setup();
        start();
        guest_ready(false);
        make_done(true);
        answer(ENOENT, 0);
        answer(ENOEXEC, 0);
        CHECK(synced_and_ended(KW_EXIT_LOAD));
        finish();

        once_setup(); /* an init that hangs */
        start();
        guest_ready(false);
        make_done(true);
        answer(ENOENT, 0);
        time_out();
        CHECK(synced_and_ended(KW_EXIT_LOAD));
        finish();
}

static void test_once_oops(void)
{
        once_setup();
        start();
        guest_ready(false);
        make_done(true);
        answer(ENOENT, 0);
        oops();
        answer(EFAULT, 0); /* a kernel report beats the failed load */
        advance(700);
        CHECK(synced_and_ended(KW_EXIT_OOPS));
        CHECK(events_are("build_start ready build_end:true oops:oops load:hello:false "));
        finish();
}

static void test_once_guest(void)
{
        once_setup();
        start();
        make_done(true);
        kw_cycle_on_lost(F.cycle, "QEMU exited with status 1", false);
        CHECK(ended_with(KW_EXIT_GUEST));
        finish();
}

static void test_once_signal_and_run(void)
{
        once_setup();
        start();
        guest_ready(false);
        kw_cycle_on_signal(F.cycle, 15);
        CHECK(synced_and_ended(128 + 15));
        finish();

        once_setup();
        F.o.run = "cat /sys/module/hello/parameters/x";
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        advance(1000);
        CHECK(strcmp(answer(0, 1), "run cat /sys/module/hello/parameters/x") == 0);
        answer(0, 0); /* the unload */
        CHECK(synced_and_ended(KW_EXIT_EXPECT)); /* a failing --run fails the run */
        finish();
}

static void test_once_every_module_tried(void)
{
        once_setup();
        module(0, "first", "", 1);
        module(1, "second", "", 1);
        module(2, "third", "", 1);
        module(3, "needs_second", "second", 1);
        start();
        guest_ready(false);
        make_done(true);
        for (int i = 0; i < 4; i++)
                answer(ENOENT, 0); /* the stale-module checks */
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/first.ko") == 0);
        CHECK(strcmp(answer(EINVAL, 0), "load /mnt/kmod-watch/second.ko") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/third.ko") == 0);
        CHECK_EQ(F.n_req, 1); /* needs_second is skipped: the unloads on the way out */
        CHECK(strcmp(answer(0, 0), "unload third") == 0);
        CHECK(strcmp(answer(0, 0), "unload first") == 0);
        CHECK(synced_and_ended(KW_EXIT_LOAD));
        CHECK(events_are("build_start ready build_end:true load:first:true load:second:false load:third:true "
                         "load:needs_second:false unload:third:true unload:first:true "));
        finish();
}

static void test_quit_with_a_hanging_exit(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        kw_cycle_on_signal(F.cycle, 2); /* the unload on the way out never returns */
        advance(2999);
        CHECK(!kw_loop_exiting(F.loop));
        advance(1);
        CHECK(ended_with(0));
        finish();
}

static void test_once_crash_in_exit(void)
{
        once_setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        advance(1000);
        CHECK_EQ(F.n_req, 1); /* the unload: its exit function oopses */
        oops();
        advance(700); /* the kernel log's grace, not the 10 s deadline */
        CHECK(ended_with(KW_EXIT_OOPS));
        finish();
}

static void test_once_warning_after_the_end(void)
{
        static const char *const warning[] = {
                "------------[ cut here ]------------",
                "WARNING: CPU: 0 PID: 93 at hello.c:12 hello_exit+0x15/0x20 [hello]",
                "RIP: 0010:hello_exit+0x15/0x20 [hello]",
                "Call Trace:",
                " <TASK>",
                " __do_sys_delete_module+0x1a5/0x2c0",
                " </TASK>",
        };

        once_setup();
        start();
        guest_ready(false);
        make_done(true);
        first_load();
        advance(1000);
        answer(0, 0); /* the unload returned before its WARNING reached us */
        CHECK(!kw_loop_exiting(F.loop)); /* the barrier: the rest of the log first */
        for (size_t i = 0; i < sizeof(warning) / sizeof(warning[0]); i++)
                kmsg(warning[i]);
        CHECK(synced_and_ended(KW_EXIT_OOPS));
        finish();
}

static void test_fifty_modules(void)
{
        char name[32];
        int loads = 0;

        once_setup();
        for (size_t i = 0; i < 50; i++) {
                snprintf(name, sizeof(name), "m%02zu", i);
                module(i, name, i ? "m00" : "", 1);
        }
        start();
        guest_ready(false);
        make_done(true);
        for (int i = 0; i < 50; i++)
                answer(ENOENT, 0);
        while (F.n_req && strncmp(F.req[0].what, "load", 4) == 0) {
                answer(0, 0);
                loads++;
        }
        CHECK_EQ(loads, 50);
        finish();
}

static void test_save_during_a_load(void)
{
        setup();
        start();
        guest_ready(false);
        make_done(true);
        answer(ENOENT, 0); /* the load is in flight ... */
        module(0, "hello", "", 2);
        save("hello.c");
        make_done(true); /* ... when the next build is done */
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0); /* then the new build replaces it */
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("build_start ready build_end:true change build_start build_end:true load:hello:true "
                         "unload:hello:true load:hello:true "));
        finish();
}

/* ---- unload + load as one RELOAD ---- */

static void reload_setup(void)
{
        setup();
        F.knows_reload = true;
        start();
        guest_ready(false);
        make_done(true);
        /* the first load: the stale-module check and the load in one request */
        CHECK(strcmp(F.req[0].what, "reload") == 0);
        CHECK_EQ(F.n_req, 1);
        unloaded(ENOENT);
        CHECK(strcmp(answer_reload(0, ENOENT), "reload hello /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("build_start ready build_end:true load:hello:true "));
        module(0, "hello", "", 2);
        save("hello.c");
        make_done(true);
        CHECK_EQ(F.n_req, 1);
}

static void test_reload_one_request(void)
{
        reload_setup();
        CHECK(events_are("change build_start build_end:true "));
        unloaded(0); /* the unload event comes when the unload is over, not with the RESULT */
        CHECK(events_are("unload:hello:true "));
        kmsg("hello: build 2");
        CHECK(strcmp(answer_reload(0, 0), "reload hello /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("load:hello:true "));
        CHECK_EQ(F.n_req, 0);
        kw_cycle_on_key(F.cycle, 'u'); /* the new build is what is loaded */
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        finish();
}

static void test_reload_unload_fails(void)
{
        reload_setup();
        CHECK(strcmp(answer_reload(EWOULDBLOCK, EWOULDBLOCK), "reload hello /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("change build_start build_end:true unload:hello:false "));
        CHECK_EQ(F.n_req, 0); /* the new build is not loaded over it */
        CHECK_EQ(F.restarts, 0);
        finish();
}

static void test_reload_unload_hangs(void)
{
        reload_setup();
        time_out(); /* no UNLOADED: the exit function hangs */
        CHECK_EQ(F.restarts, 1);
        CHECK(strstr(F.restart_reason, "unloading hello did not return") != NULL);
        CHECK(events_are("change build_start build_end:true unload:hello:false guest_restart "));
        finish();
}

static void test_reload_load_hangs(void)
{
        reload_setup();
        unloaded(0);
        time_out(); /* the init function hangs */
        CHECK_EQ(F.restarts, 1);
        CHECK(strstr(F.restart_reason, "loading hello did not return") != NULL);
        CHECK(events_are("change build_start build_end:true unload:hello:true load:hello:false guest_restart "));
        finish();
}

static void test_reload_exit_oopses(void)
{
        reload_setup();
        oops(); /* in the exit function: the agent dies in delete_module */
        f_detach(NULL, "the agent restarted");
        CHECK(events_are("change build_start build_end:true oops:oops unload:hello:false "));
        CHECK_EQ(F.n_req, 0);
        finish();
}

static void test_reload_init_fails(void)
{
        reload_setup();
        unloaded(0);
        CHECK(strcmp(answer_reload(ENOEXEC, 0), "reload hello /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("change build_start build_end:true unload:hello:true load:hello:false "));
        kw_cycle_on_key(F.cycle, 'u'); /* nothing is loaded */
        CHECK_EQ(F.n_req, 0);
        finish();
}

/* An agent of before RELOAD: two requests, now and from then on. */
static void test_reload_old_agent(void)
{
        setup();
        F.knows_reload = F.old_agent = true;
        start();
        guest_ready(false);
        make_done(true);
        CHECK(strcmp(answer_reload(0, 0), "reload hello /mnt/kmod-watch/hello.ko") == 0);
        F.old_agent = false;
        first_load();
        CHECK(events_are("build_start ready build_end:true load:hello:true "));
        module(0, "hello", "", 2);
        save("hello.c");
        make_done(true);
        CHECK(strcmp(answer(0, 0), "unload hello") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/hello.ko") == 0);
        CHECK(events_are("change build_start build_end:true unload:hello:true load:hello:true "));
        finish();
}

/* Several modules: the last unload goes with the first load. */
static void test_reload_dependents(void)
{
        setup();
        F.knows_reload = true;
        module(0, "lib", "", 1);
        module(1, "user", "lib", 1);
        start();
        guest_ready(false);
        make_done(true);
        CHECK(strcmp(answer(ENOENT, 0), "unload user") == 0);
        unloaded(ENOENT);
        CHECK(strcmp(answer_reload(0, ENOENT), "reload lib /mnt/kmod-watch/lib.ko") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/user.ko") == 0);
        module(0, "lib", "", 2);
        save("lib.c");
        make_done(true);
        CHECK(strcmp(answer(0, 0), "unload user") == 0);
        unloaded(0);
        CHECK(strcmp(answer_reload(0, 0), "reload lib /mnt/kmod-watch/lib.ko") == 0);
        CHECK(strcmp(answer(0, 0), "load /mnt/kmod-watch/user.ko") == 0);
        CHECK(events_are("build_start ready build_end:true load:lib:true load:user:true change build_start "
                         "build_end:true unload:user:true unload:lib:true load:lib:true load:user:true "));
        CHECK_EQ(F.n_req, 0);
        finish();
}

static void test_verdict_rules(void)
{
        struct kw_verdict v = { .once = true, .oopsed = true };
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_OK), KW_EXIT_OOPS);
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_EXPECT), KW_EXIT_OOPS);
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_LOAD), KW_EXIT_OOPS);
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_GUEST), KW_EXIT_OOPS);
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_BUILD), KW_EXIT_BUILD);
        CHECK_EQ(kw_verdict_final(&v, 130), 130);
        v = (struct kw_verdict){ .once = true, .load_failed = true };
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_OK), KW_EXIT_LOAD);
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_EXPECT), KW_EXIT_EXPECT);
        v = (struct kw_verdict){ .once = false, .oopsed = true, .load_failed = true };
        CHECK_EQ(kw_verdict_final(&v, KW_EXIT_OK), KW_EXIT_OK);
        CHECK_EQ(kw_verdict_after_run(KW_EXIT_OK, 1), KW_EXIT_EXPECT);
        CHECK_EQ(kw_verdict_after_run(KW_EXIT_OK, 0), KW_EXIT_OK);
        CHECK_EQ(kw_verdict_after_run(KW_EXIT_EXPECT, 0), KW_EXIT_EXPECT);
        CHECK_EQ(kw_verdict_signal(true, 2), 130);
        CHECK_EQ(kw_verdict_signal(false, 2), 0);
}

static void test_plan(void)
{
        struct kw_module built[3] = { 0 };
        struct kw_modlist loaded = { 0 };

        for (int i = 0; i < 3; i++)
                memset(built[i].hash, 7, sizeof(built[i].hash));
        snprintf(built[0].name, sizeof(built[0].name), "user");
        snprintf(built[0].depends, sizeof(built[0].depends), "lib");
        snprintf(built[1].name, sizeof(built[1].name), "lib");
        snprintf(built[2].name, sizeof(built[2].name), "a");
        snprintf(built[2].depends, sizeof(built[2].depends), "b");
        CHECK_EQ(kw_modules_order(built, 2), 0);
        CHECK(strcmp(built[0].name, "lib") == 0);
        struct kw_module circle[2] = { 0 };
        snprintf(circle[0].name, sizeof(circle[0].name), "a");
        snprintf(circle[0].depends, sizeof(circle[0].depends), "b");
        snprintf(circle[1].name, sizeof(circle[1].name), "b");
        snprintf(circle[1].depends, sizeof(circle[1].depends), "a");
        CHECK_EQ(kw_modules_order(circle, 2), -ELOOP);

        struct kw_plan p = kw_modules_plan(built, 2, &loaded, false);
        CHECK_EQ(p.reload, 2);
        CHECK_EQ(p.drop, 2); /* stale copies, unloaded first */
        CHECK_EQ(loaded.n, 2);
        kw_modlist_free(&loaded);
        char params[128];
        const char *param[] = { "debug=1", "lib.size=4", "user.size=8" };
        kw_module_params(param, 3, "lib", params, sizeof(params));
        CHECK(strcmp(params, "debug=1 size=4") == 0);
}

int main(void)
{
        int real = dup(STDOUT_FILENO);
        int null = open("/dev/null", O_WRONLY);

        fflush(stdout);
        dup2(null, STDOUT_FILENO);
        tap = fdopen(real, "w");
        setvbuf(tap, NULL, _IOLBF, 0);
        kw_ui_setup(&(struct kw_ui_opts){ .verbosity = 0 });
        kw_ev_set_sink(sink, NULL);

        RUN(test_save_oops_restart_hold_fix);
        RUN(test_change_during_build);
        RUN(test_unchanged_rebuild);
        RUN(test_dependents_reload);
        RUN(test_silent_guest_restarted);
        RUN(test_hung_unload_restarts);
        RUN(test_reload_one_request);
        RUN(test_reload_unload_fails);
        RUN(test_reload_unload_hangs);
        RUN(test_reload_load_hangs);
        RUN(test_reload_exit_oopses);
        RUN(test_reload_init_fails);
        RUN(test_reload_old_agent);
        RUN(test_reload_dependents);
        RUN(test_not_ours_to_restart);
        RUN(test_same_oops_counted);
        RUN(test_signal_twice);
        RUN(test_once_ok);
        RUN(test_once_expect);
        RUN(test_once_build_failed);
        RUN(test_once_load_failed);
        RUN(test_once_oops);
        RUN(test_once_guest);
        RUN(test_once_signal_and_run);
        RUN(test_once_every_module_tried);
        RUN(test_quit_with_a_hanging_exit);
        RUN(test_once_crash_in_exit);
        RUN(test_once_warning_after_the_end);
        RUN(test_fifty_modules);
        RUN(test_save_during_a_load);
        RUN(test_verdict_rules);
        RUN(test_once_repeat);
        RUN(test_once_barrier_renewed);
        RUN(test_gap_event);
        RUN(test_plan);
        RUN(test_quick_and_superseded);
        TEST_DONE();
}
