/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-session.c — kmod-watch's end of the channel (watcher/session.c and
 * transport.c, in the real poll loop) against a fake agent on a socketpair,
 * written with the common codec. Fault injection the real agent cannot
 * produce: garbage before the greeting, a stale HELLO, garbage between
 * frames, a stream of random bytes and random well-formed frames, a frame
 * cut off by a hang-up, a request never answered, an agent that restarts.
 * The session must warn, resynchronise, reach "ready" again, keep
 * delivering the kernel log — and never crash. Every run is bounded by a
 * watchdog timer. Then the typed requests (load, unload, reload, run, ping): what
 * goes on the wire, what comes back, and a timeout told from a lost channel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "proto.h"
#include "session.h"
#include "test.h"

#define WATCHDOG_MS 20000

enum scenario {
        GARBAGE_GREETING, RANDOM_STREAM, HANGUP_MIDFRAME, NO_ANSWER, AGENT_RESTART,
        TYPED, TYPED_TIMEOUT, TYPED_DETACH, TYPED_RESTART, TYPED_RELOAD,
};

/* The typed requests of the TYPED scenarios, by the userdata they carry. */
enum { T_LOAD, T_LOAD_BARE, T_UNLOAD, T_RUN, T_PING, T_N };
/* TYPED_RELOAD's: a slow one (each half near the deadline), one whose unload fails, one to
 * an agent without RELOAD, one whose load never ends; and their UNLOADED callbacks. */
enum { R_SLOW, R_BUSY, R_OLD, R_HUNG, R_N };

struct typed_seen {
        int calls;
        struct kw_reply r;
        char why[128];
        bool in_call; /* the callback ran before the call returned */
        bool ready;   /* the session was ready when it ran */
};

static struct {
        enum scenario sc;
        struct kw_loop *loop;
        struct kw_session *s;
        struct kw_timer *watchdog, *step;
        int fd; /* the fake agent's end */
        struct kw_decoder dec;
        uint8_t out[1 << 20];
        size_t out_len;
        bool closed;
        /* what the host did */
        int ready, rebooted, failed, kmsgs;
        char last_kmsg[256];
        bool survived;
        uint64_t proto_error_bytes; /* the host's PROTO_ERROR reports */
        int syncs;
        /* a request of the test's own */
        int replies;
        bool reply_null;
        bool ready_at_reply;
        char reply_why[128];
        uint32_t modules_id;
        int rounds;
        char boot_id[16];
        uint64_t rng;
        /* the typed requests: what the fake agent got, what the host was told */
        char got_path[2][64], got_params[2][64], got_module[32], got_cmd[64];
        int got_loads;
        bool got_no_params;
        uint64_t got_flags;
        bool in_call;
        struct typed_seen typed[T_N];
        int typed_replies;
        struct typed_seen reloaded[R_N], unloaded[R_N];
        uint64_t unloaded_at[R_N], reloaded_at[R_N], reload_sent_at;
        uint32_t slow_id;
        int slow_step;
        char got_reload[R_N][96]; /* "MODULE PATH PARAMS FLAGS" */
} t;

static struct kw_msg m;

static uint32_t rnd(void)
{
        t.rng ^= t.rng << 13;
        t.rng ^= t.rng >> 7;
        t.rng ^= t.rng << 17;
        return (uint32_t)(t.rng >> 11);
}

/* ---- the fake agent's output: queued, written as the socket takes it ---- */

static void flush_out(void)
{
        while (t.out_len > 0 && t.fd >= 0) {
                ssize_t n = write(t.fd, t.out, t.out_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                memmove(t.out, t.out + n, t.out_len - (size_t)n);
                t.out_len -= (size_t)n;
        }
        if (t.fd >= 0)
                kw_loop_set_events(t.loop, t.fd, POLLIN | (t.out_len ? POLLOUT : 0));
}

static void put_raw(const void *p, size_t n)
{
        if (n > sizeof(t.out) - t.out_len)
                n = sizeof(t.out) - t.out_len;
        memcpy(t.out + t.out_len, p, n);
        t.out_len += n;
        flush_out();
}

static void put_msg(struct kw_msg *msg)
{
        int n = kw_msg_finish(msg);

        if (n > 0)
                put_raw(msg->buf, (size_t)n);
}

static void put_garbage(size_t n)
{
        uint8_t b[4096];

        while (n > 0) {
                size_t k = n < sizeof(b) ? n : sizeof(b);
                for (size_t i = 0; i < k; i++)
                        b[i] = (uint8_t)rnd();
                put_raw(b, k);
                n -= k;
        }
}

static void hello(uint32_t id, uint64_t nonce)
{
        kw_msg_init(&m, KW_HELLO, id);
        kw_msg_put_u64(&m, KW_F_NONCE, nonce);
        kw_msg_put_u64(&m, KW_F_PROTO, KW_PROTO_VERSION);
        kw_msg_put_str(&m, KW_F_VERSION, "fake");
        kw_msg_put_str(&m, KW_F_ARCH, "x86_64");
        kw_msg_put_str(&m, KW_F_RELEASE, "6.1.0-test");
        kw_msg_put_str(&m, KW_F_BOOT_ID, t.boot_id);
        put_msg(&m);
}

static void result(uint32_t id)
{
        kw_msg_init(&m, KW_RESULT, id);
        kw_msg_put_u64(&m, KW_F_ERRNO, 0);
        put_msg(&m);
}

static void kmsg(uint64_t seq, const char *text)
{
        kw_msg_init(&m, KW_KMSG, 0);
        kw_msg_put_u64(&m, KW_F_SEQ, seq);
        kw_msg_put_u64(&m, KW_F_LEVEL, 6);
        kw_msg_put_u64(&m, KW_F_TS, seq * 1000);
        kw_msg_put_str(&m, KW_F_TEXT, text);
        put_msg(&m);
}

static void finish(void)
{
        kw_loop_exit(t.loop, 0);
}

/* ---- the fake agent's input ---- */

static void unloaded(uint32_t id, const char *module, int err)
{
        kw_msg_init(&m, KW_UNLOADED, id);
        kw_msg_put_str(&m, KW_F_MODULE, module);
        kw_msg_put_u64(&m, KW_F_ERRNO, (uint64_t)err);
        kw_msg_put_u64(&m, KW_F_USEC, 77);
        put_msg(&m);
}

/* The fake agent's RELOADs: by module name, what each case needs. */
static void reload_request(const struct kw_frame *f)
{
        char module[32] = "", path[32] = "", params[32] = "";
        uint64_t flags = 0;

        (void)kw_frame_str(f, KW_F_MODULE, module, sizeof(module));
        (void)kw_frame_str(f, KW_F_PATH, path, sizeof(path));
        (void)kw_frame_str(f, KW_F_PARAMS, params, sizeof(params));
        (void)kw_frame_u64(f, KW_F_FLAGS, &flags);
        int k = !strcmp(module, "slow") ? R_SLOW : !strcmp(module, "busy") ? R_BUSY : !strcmp(module, "old") ? R_OLD
                                                                                                           : R_HUNG;
        snprintf(t.got_reload[k], sizeof(t.got_reload[0]), "%s %s %s %llu", module, path, params,
                 (unsigned long long)flags);
        kw_msg_init(&m, KW_RESULT, f->id);
        switch (k) {
        case R_SLOW: /* UNLOADED after 150 ms, the RESULT 150 ms later: each half within 200 */
                t.slow_id = f->id;
                kw_timer_arm_ms(t.step, 150);
                return;
        case R_BUSY: /* the unload fails: its RESULT only, no UNLOADED, no load */
                kw_msg_put_u64(&m, KW_F_ERRNO, EBUSY);
                kw_msg_put_str(&m, KW_F_ERROR, "module busy is in use");
                kw_msg_put_str(&m, KW_F_MODULE, "busy");
                kw_msg_put_u64(&m, KW_F_UNLOAD_ERRNO, EBUSY);
                kw_msg_put_u64(&m, KW_F_UNLOAD_USEC, 5);
                break;
        case R_OLD: /* an agent of before RELOAD */
                kw_msg_put_u64(&m, KW_F_ERRNO, EOPNOTSUPP);
                kw_msg_put_str(&m, KW_F_ERROR, "unknown request type 15");
                break;
        default: /* unloaded, then an init that never returns */
                unloaded(f->id, module, ENOENT);
                return;
        }
        put_msg(&m);
}

static void slow_step(void)
{
        if (t.slow_step++ == 0) {
                unloaded(t.slow_id, "slow", 0);
                kw_timer_arm_ms(t.step, 150);
                return;
        }
        kw_msg_init(&m, KW_RESULT, t.slow_id);
        kw_msg_put_u64(&m, KW_F_ERRNO, 0);
        kw_msg_put_u64(&m, KW_F_USEC, 900);
        kw_msg_put_str(&m, KW_F_MODULE, "slow");
        kw_msg_put_u64(&m, KW_F_UNLOAD_ERRNO, 0);
        kw_msg_put_u64(&m, KW_F_UNLOAD_USEC, 77);
        put_msg(&m);
}

/* The fake agent's answers in the TYPED scenarios. */
static void typed_request(const struct kw_frame *f)
{
        char params[64];

        switch (f->type) {
        case KW_RELOAD:
                reload_request(f);
                return;
        case KW_LOAD:
                if (t.sc == TYPED_TIMEOUT)
                        return; /* an init function that never returns */
                if (t.got_loads < 2)
                        (void)kw_frame_str(f, KW_F_PATH, t.got_path[t.got_loads], sizeof(t.got_path[0]));
                kw_msg_init(&m, KW_RESULT, f->id);
                if (kw_frame_str(f, KW_F_PARAMS, params, sizeof(params)) == -ENOENT) {
                        t.got_no_params = true;
                        kw_msg_put_u64(&m, KW_F_ERRNO, ENOEXEC);
                        kw_msg_put_str(&m, KW_F_ERROR, "Exec format error: bad module");
                } else {
                        snprintf(t.got_params[t.got_loads & 1], sizeof(t.got_params[0]), "%s", params);
                        kw_msg_put_u64(&m, KW_F_ERRNO, 0);
                        kw_msg_put_u64(&m, KW_F_USEC, 1234);
                        kw_msg_put_str(&m, KW_F_DEPS, "mc,videodev");
                }
                t.got_loads++;
                put_msg(&m);
                return;
        case KW_UNLOAD:
                (void)kw_frame_str(f, KW_F_MODULE, t.got_module, sizeof(t.got_module));
                (void)kw_frame_u64(f, KW_F_FLAGS, &t.got_flags);
                if (t.sc == TYPED_DETACH) {
                        kw_session_detach(t.s, "QEMU exited"); /* the guest died with the request */
                        return;
                }
                result(f->id);
                return;
        case KW_RUN:
                (void)kw_frame_str(f, KW_F_CMD, t.got_cmd, sizeof(t.got_cmd));
                if (t.sc == TYPED_RESTART) {
                        snprintf(t.boot_id, sizeof(t.boot_id), "boot-2");
                        hello(0, 0);
                        return;
                }
                kw_msg_init(&m, KW_OUTPUT, f->id);
                kw_msg_put_u64(&m, KW_F_STREAM, 1);
                kw_msg_put_str(&m, KW_F_TEXT, "hi\n");
                put_msg(&m);
                kw_msg_init(&m, KW_RESULT, f->id);
                kw_msg_put_u64(&m, KW_F_ERRNO, 0);
                kw_msg_put_u64(&m, KW_F_STATUS, 3);
                put_msg(&m);
                return;
        case KW_MODULES:
                kw_msg_init(&m, KW_RESULT, f->id);
                kw_msg_put_u64(&m, KW_F_ERRNO, 0);
                kw_msg_put_str(&m, KW_F_MODULE, "hello");
                put_msg(&m);
                return;
        default:
                result(f->id);
        }
}

static void on_request(const struct kw_frame *f)
{
        uint64_t nonce = 0;

        if (t.sc >= TYPED && f->type != KW_SYNC && f->type != KW_MOUNT && f->type != KW_KMSG_START) {
                typed_request(f);
                return;
        }
        switch (f->type) {
        case KW_SYNC:
                t.syncs++;
                (void)kw_frame_u64(f, KW_F_NONCE, &nonce);
                if (t.sc == GARBAGE_GREETING) {
                        /* noise, a stale answer, a false header, then the real answer */
                        put_garbage(4096);
                        hello(f->id - 1, nonce ^ 0x5a5a);
                        put_raw("KW\x01\x07\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 16);
                        put_garbage(100);
                }
                hello(f->id, nonce);
                return;
        case KW_MOUNT:
        case KW_KMSG_START:
                result(f->id);
                if (f->type == KW_KMSG_START && t.sc == GARBAGE_GREETING) {
                        kmsg(1, "first");
                        put_garbage(333);
                        kmsg(2, "second");
                        put_raw("KW", 2); /* a lone magic right before a frame */
                        kmsg(3, "third");
                }
                return;
        case KW_MODULES:
                t.modules_id = f->id;
                if (t.sc == HANGUP_MIDFRAME) {
                        kw_msg_init(&m, KW_RESULT, f->id);
                        kw_msg_put_u64(&m, KW_F_ERRNO, 0);
                        kw_msg_put_str(&m, KW_F_MODULE, "hello");
                        int n = kw_msg_finish(&m);
                        put_raw(m.buf, (size_t)n / 2);
                        kw_loop_del(t.loop, t.fd);
                        close(t.fd);
                        t.fd = -1;
                        return;
                }
                if (t.sc == AGENT_RESTART) {
                        /* the agent died with the request; a new one greets */
                        snprintf(t.boot_id, sizeof(t.boot_id), "boot-2");
                        hello(0, 0);
                        return;
                }
                if (t.sc == NO_ANSWER)
                        return;
                result(f->id);
                return;
        case KW_PROTO_ERROR: {
                uint64_t count = 0;
                (void)kw_frame_u64(f, KW_F_COUNT, &count);
                t.proto_error_bytes += count;
                return;
        }
        default:
                result(f->id);
        }
}

static int on_agent_io(void *userdata, int fd, short revents)
{
        if (revents & POLLOUT)
                flush_out();
        if (!(revents & (POLLIN | POLLHUP | POLLERR)))
                return 0;
        size_t room;
        uint8_t *p = kw_decoder_space(&t.dec, &room);
        ssize_t n = read(fd, p, room);
        if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return 0;
                kw_loop_del(t.loop, fd);
                t.closed = true;
                return 0;
        }
        kw_decoder_commit(&t.dec, (size_t)n);
        struct kw_frame f;
        while (t.fd >= 0 && kw_decoder_next(&t.dec, &f) == 1)
                on_request(&f);
        return 0;
}

/* ---- the host's callbacks ---- */

static void request(void);

static void on_ready(void *userdata, const struct kw_guest *g, bool rebooted)
{
        t.ready++;
        t.rebooted += rebooted;
        if (t.sc == GARBAGE_GREETING || t.sc == RANDOM_STREAM)
                return;
        if (t.ready == 1)
                request();
        else if (t.sc == AGENT_RESTART)
                finish();
}

static void on_kmsg(void *userdata, uint64_t seq, unsigned level, uint64_t ts, const char *text)
{
        t.kmsgs++;
        snprintf(t.last_kmsg, sizeof(t.last_kmsg), "%s", text);
        if (strcmp(text, "survived") == 0) {
                t.survived = true;
                finish();
        }
        if (t.sc == GARBAGE_GREETING && strcmp(text, "third") == 0)
                finish();
}

static void on_gap(void *userdata, uint64_t seq, uint64_t count)
{
}

static void on_output(void *userdata, uint32_t id, unsigned stream, const char *text, size_t len)
{
}

static void on_failed(void *userdata, const char *reason)
{
        t.failed++;
}

static const struct kw_session_ops ops = {
        .ready = on_ready,
        .kmsg = on_kmsg,
        .gap = on_gap,
        .output = on_output,
        .failed = on_failed,
};

static void on_reply(void *userdata, const struct kw_frame *f, const char *why)
{
        t.replies++;
        t.reply_null = f == NULL;
        t.ready_at_reply = kw_session_ready(t.s);
        snprintf(t.reply_why, sizeof(t.reply_why), "%s", why ? why : "");
        if (t.sc == NO_ANSWER)
                finish();
        if (t.sc == HANGUP_MIDFRAME)
                finish();
}

static void seen_set(struct typed_seen *seen, const struct kw_reply *r)
{
        seen->calls++;
        seen->r = *r;
        seen->r.why = NULL;
        snprintf(seen->why, sizeof(seen->why), "%s", r->why ? r->why : "(null)");
        seen->in_call = t.in_call;
        seen->ready = kw_session_ready(t.s);
}

static void on_reload_unloaded(void *userdata, const struct kw_reply *r)
{
        seen_set(&t.unloaded[(intptr_t)userdata], r);
        t.unloaded_at[(intptr_t)userdata] = kw_now_ms();
}

static void on_reloaded(void *userdata, const struct kw_reply *r)
{
        seen_set(&t.reloaded[(intptr_t)userdata], r);
        t.reloaded_at[(intptr_t)userdata] = kw_now_ms();
        if (++t.typed_replies == R_N)
                finish();
}

static void on_typed(void *userdata, const struct kw_reply *r)
{
        seen_set(&t.typed[(intptr_t)userdata], r);
        if (++t.typed_replies == (t.sc == TYPED ? T_N : 1))
                finish();
}

#define TYPED_CALL(call)                       \
        do {                                   \
                t.in_call = true;              \
                CHECK_EQ(call, 0);             \
                t.in_call = false;             \
        } while (0)

static void typed_requests(void)
{
        const unsigned ms = t.sc == TYPED_TIMEOUT ? 200 : 5000;

        switch (t.sc) {
        case TYPED:
                TYPED_CALL(kw_session_load(t.s, "/mnt/kmod-watch/a.ko", "a=1 b=\"x y\"", ms, on_typed,
                                           (void *)T_LOAD));
                TYPED_CALL(kw_session_load(t.s, "/mnt/kmod-watch/b.ko", "", ms, on_typed, (void *)T_LOAD_BARE));
                TYPED_CALL(kw_session_unload(t.s, "a", true, ms, on_typed, (void *)T_UNLOAD));
                TYPED_CALL(kw_session_run(t.s, "echo hi; exit 3", ms, on_typed, (void *)T_RUN));
                TYPED_CALL(kw_session_ping(t.s, ms, on_typed, (void *)T_PING));
                return;
        case TYPED_TIMEOUT:
                TYPED_CALL(kw_session_load(t.s, "/mnt/kmod-watch/a.ko", NULL, ms, on_typed, (void *)T_LOAD));
                return;
        case TYPED_DETACH:
                TYPED_CALL(kw_session_unload(t.s, "a", false, ms, on_typed, (void *)T_UNLOAD));
                return;
        case TYPED_RESTART:
                TYPED_CALL(kw_session_run(t.s, "sleep 100", ms, on_typed, (void *)T_RUN));
                return;
        case TYPED_RELOAD:
                t.reload_sent_at = kw_now_ms();
                TYPED_CALL(kw_session_reload(t.s, "slow", false, "/mnt/kmod-watch/slow.ko", "x=1", 200,
                                             on_reload_unloaded, on_reloaded, (void *)R_SLOW));
                TYPED_CALL(kw_session_reload(t.s, "busy", true, "/mnt/kmod-watch/busy.ko", NULL, 5000,
                                             on_reload_unloaded, on_reloaded, (void *)R_BUSY));
                TYPED_CALL(kw_session_reload(t.s, "old", false, "/mnt/kmod-watch/old.ko", "", 5000,
                                             on_reload_unloaded, on_reloaded, (void *)R_OLD));
                TYPED_CALL(kw_session_reload(t.s, "hung", false, "/mnt/kmod-watch/hung.ko", NULL, 300,
                                             on_reload_unloaded, on_reloaded, (void *)R_HUNG));
                return;
        default:
                abort();
        }
}

static void request(void)
{
        if (t.sc >= TYPED) {
                typed_requests();
                return;
        }
        kw_msg_init(&m, KW_MODULES, kw_session_next_id(t.s));
        CHECK_EQ(kw_session_call(t.s, &m, t.sc == NO_ANSWER ? 200 : 5000, on_reply, NULL), 0);
}

/* ---- random bytes and random frames at the host ---- */

static void random_round(void)
{
        uint8_t b[512];
        size_t n;

        switch (rnd() % 5) {
        case 0: /* plain noise */
                put_garbage(rnd() % 2048);
                break;
        case 1: /* noise full of false magics */
                n = rnd() % sizeof(b);
                for (size_t i = 0; i < n; i++)
                        b[i] = (uint8_t)(i % 3 == 0 ? 'K' : i % 3 == 1 ? 'W' : rnd());
                put_raw(b, n);
                break;
        case 2: /* a well-formed frame of any type with random fields */
        case 3:
                kw_msg_init(&m, (enum kw_type)(rnd() % 16), rnd() % 4 ? rnd() : 0);
                for (unsigned k = rnd() % 6; k > 0; k--) {
                        n = rnd() % 64;
                        for (size_t i = 0; i < n; i++)
                                b[i] = (uint8_t)rnd();
                        if (rnd() % 2)
                                kw_msg_put_u64(&m, (enum kw_field)(rnd() % 27), (uint64_t)rnd() << 32 | rnd());
                        else
                                kw_msg_put_bytes(&m, (enum kw_field)(rnd() % 27), b, n);
                }
                put_msg(&m);
                break;
        default: { /* a valid frame cut short */
                kw_msg_init(&m, KW_KMSG, 0);
                kw_msg_put_str(&m, KW_F_TEXT, "cut short");
                int len = kw_msg_finish(&m);
                put_raw(m.buf, (size_t)(rnd() % (unsigned)len));
        }
        }
}

static void on_step(void *userdata)
{
        if (t.sc == TYPED_RELOAD && t.slow_id) {
                slow_step();
                return;
        }
        if (t.sc != RANDOM_STREAM)
                return;
        if (t.ready == 0 || t.out_len > sizeof(t.out) / 2) {
                kw_timer_arm_ms(t.step, 1);
                return;
        }
        if (t.rounds++ < 400) {
                random_round();
                kw_timer_arm_ms(t.step, 0);
                return;
        }
        /* a stale header may hold back what follows until disproved: sync bytes disprove it */
        static uint8_t ff[KW_MAX_FRAME];
        memset(ff, KW_SYNC_BYTE, sizeof(ff));
        put_raw(ff, sizeof(ff));
        kmsg(999, "survived");
}

static void on_watchdog(void *userdata)
{
        printf("# watchdog: the scenario did not finish in %d ms\n", WATCHDOG_MS);
        kw_loop_exit(t.loop, -ETIMEDOUT);
}

static int run(enum scenario sc)
{
        int sv[2];

        memset(&t, 0, sizeof(t));
        t.sc = sc;
        t.rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)sc;
        snprintf(t.boot_id, sizeof(t.boot_id), "boot-1");
        kw_decoder_init(&t.dec);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        CHECK_EQ(kw_loop_new(&t.loop), 0);
        CHECK_EQ(kw_session_new(t.loop, &ops, NULL, "kmodwatch", "/mnt/kmod-watch", &t.s), 0);
        CHECK_EQ(kw_timer_new(t.loop, on_watchdog, NULL, &t.watchdog), 0);
        CHECK_EQ(kw_timer_new(t.loop, on_step, NULL, &t.step), 0);
        t.fd = sv[1];
        CHECK_EQ(kw_loop_add(t.loop, t.fd, POLLIN, on_agent_io, NULL), 0);
        CHECK_EQ(kw_session_attach_fd(t.s, sv[0]), 0);
        kw_timer_arm_ms(t.watchdog, WATCHDOG_MS);
        kw_timer_arm_ms(t.step, 0);
        int r = kw_loop_run(t.loop);
        kw_session_free(t.s);
        kw_timer_free(t.watchdog);
        kw_timer_free(t.step);
        if (t.fd >= 0) {
                kw_loop_del(t.loop, t.fd);
                close(t.fd);
        }
        kw_loop_free(t.loop);
        return r;
}

/* Runs a scenario with stderr in a file: captured[] is what it printed there. */
static char captured[65536];

static int run_captured(enum scenario sc)
{
        FILE *f = tmpfile();
        int saved = dup(2);

        fflush(stderr);
        dup2(fileno(f), 2);
        int r = run(sc);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        rewind(f);
        size_t n = fread(captured, 1, sizeof(captured) - 1, f);
        captured[n] = 0;
        fclose(f);
        return r;
}

static void garbage_before_greeting(void)
{
        CHECK_EQ(run_captured(GARBAGE_GREETING), 0);
        CHECK_EQ(t.ready, 1);   /* the stale HELLO did not count */
        CHECK_EQ(t.failed, 0);
        CHECK_EQ(t.kmsgs, 3);
        CHECK(strcmp(t.last_kmsg, "third") == 0);
        /* it said so, and told the agent */
        CHECK(strstr(captured, "garbage") != NULL);
        CHECK(t.proto_error_bytes > 0);
}

static void random_stream(void)
{
        CHECK_EQ(run_captured(RANDOM_STREAM), 0);
        CHECK(t.survived);
        CHECK(t.ready >= 1);
        CHECK(t.proto_error_bytes > 0);
        printf("# %d rounds, %d kmsg records, %d failed greetings, %llu garbage bytes reported\n", t.rounds,
               t.kmsgs, t.failed, (unsigned long long)t.proto_error_bytes);
}

static void hangup_midframe(void)
{
        CHECK_EQ(run_captured(HANGUP_MIDFRAME), 0);
        CHECK_EQ(t.replies, 1);
        CHECK(t.reply_null);
        CHECK(strstr(t.reply_why, "closed") != NULL);
        CHECK(!t.ready_at_reply);
}

/* The controller tells a hung request from a lost channel by the session still being ready. */
static void request_times_out(void)
{
        CHECK_EQ(run_captured(NO_ANSWER), 0);
        CHECK_EQ(t.replies, 1);
        CHECK(t.reply_null);
        CHECK(strcmp(t.reply_why, "timed out") == 0);
        CHECK(t.ready_at_reply);
}

static void agent_restarts(void)
{
        CHECK_EQ(run_captured(AGENT_RESTART), 0);
        CHECK_EQ(t.replies, 1);
        CHECK(t.reply_null);
        CHECK(strstr(t.reply_why, "restarted") != NULL);
        CHECK_EQ(t.ready, 2);
        CHECK_EQ(t.rebooted, 1); /* a new boot id */
}

/* Every typed call: the frame the agent got and the reply the caller got. */
static void typed_calls(void)
{
        CHECK_EQ(run_captured(TYPED), 0);
        for (int k = 0; k < T_N; k++) {
                CHECK_EQ(t.typed[k].calls, 1);
                CHECK_EQ(t.typed[k].r.kind, KW_REPLY_OK);
                CHECK(!t.typed[k].in_call);
                CHECK(strcmp(t.typed[k].why, "(null)") == 0);
        }
        /* load with parameters; without, no PARAMS field at all */
        CHECK(strcmp(t.got_path[0], "/mnt/kmod-watch/a.ko") == 0);
        CHECK(strcmp(t.got_params[0], "a=1 b=\"x y\"") == 0);
        CHECK(strcmp(t.got_path[1], "/mnt/kmod-watch/b.ko") == 0);
        CHECK(t.got_no_params);
        CHECK_EQ(t.typed[T_LOAD].r.err, 0);
        CHECK_EQ(t.typed[T_LOAD].r.usec, 1234);
        CHECK(strcmp(t.typed[T_LOAD].r.error, "") == 0);
        CHECK_EQ(t.typed[T_LOAD].r.n_deps, 2); /* the in-kernel modules loaded first */
        CHECK(strcmp(t.typed[T_LOAD].r.deps[0], "mc") == 0);
        CHECK(strcmp(t.typed[T_LOAD].r.deps[1], "videodev") == 0);
        CHECK(strcmp(t.typed[T_LOAD].r.deps_text, "mc, videodev") == 0);
        CHECK_EQ(t.typed[T_LOAD_BARE].r.n_deps, 0);
        CHECK_EQ(t.typed[T_LOAD_BARE].r.err, ENOEXEC); /* a RESULT that says it failed */
        CHECK(strcmp(t.typed[T_LOAD_BARE].r.error, "Exec format error: bad module") == 0);
        /* unload with force */
        CHECK(strcmp(t.got_module, "a") == 0);
        CHECK_EQ(t.got_flags, KW_UNLOAD_FORCE);
        CHECK_EQ(t.typed[T_UNLOAD].r.err, 0);
        /* run: the command and its exit status */
        CHECK(strcmp(t.got_cmd, "echo hi; exit 3") == 0);
        CHECK_EQ(t.typed[T_RUN].r.err, 0);
        CHECK_EQ(t.typed[T_RUN].r.status, 3);
        CHECK_EQ(t.typed[T_PING].r.err, 0);
        CHECK_EQ(t.typed[T_PING].r.status, 255); /* not a RUN: no status */
}

static void typed_timeout(void)
{
        struct typed_seen *seen = &t.typed[T_LOAD];

        CHECK_EQ(run_captured(TYPED_TIMEOUT), 0);
        CHECK_EQ(seen->calls, 1);
        CHECK_EQ(seen->r.kind, KW_REPLY_TIMEOUT);
        CHECK_EQ(seen->r.err, EIO);
        CHECK_EQ(seen->r.status, 255);
        CHECK(strcmp(seen->why, "timed out") == 0);
        CHECK(strcmp(seen->r.error, "") == 0);
        CHECK(seen->ready); /* hung, not gone */
        CHECK(!seen->in_call);
}

static void typed_detach(void)
{
        struct typed_seen *seen = &t.typed[T_UNLOAD];

        CHECK_EQ(run_captured(TYPED_DETACH), 0);
        CHECK_EQ(t.got_flags, 0); /* no force: no flag */
        CHECK_EQ(seen->calls, 1);
        CHECK_EQ(seen->r.kind, KW_REPLY_LOST);
        CHECK_EQ(seen->r.err, EIO);
        CHECK(strcmp(seen->why, "QEMU exited") == 0);
        CHECK(!seen->ready);
}

/* The session is still "ready" while it fails what the old agent had: only
 * the kind tells the caller that the request was lost, not hung. */
static void typed_agent_restart(void)
{
        struct typed_seen *seen = &t.typed[T_RUN];

        CHECK_EQ(run_captured(TYPED_RESTART), 0);
        CHECK_EQ(seen->calls, 1);
        CHECK_EQ(seen->r.kind, KW_REPLY_LOST);
        CHECK_EQ(seen->r.err, EIO);
        CHECK_EQ(seen->r.status, 255);
        CHECK(strstr(seen->why, "restarted") != NULL);
}

/* RELOAD: UNLOADED before the RESULT; a fresh deadline for the load half; an unload that
 * fails answered alone; an old agent's EOPNOTSUPP told from the load's own errors. */
static void typed_reload(void)
{
        const struct typed_seen *u = t.unloaded, *r = t.reloaded;

        CHECK_EQ(run_captured(TYPED_RELOAD), 0);
        CHECK(strcmp(t.got_reload[R_SLOW], "slow /mnt/kmod-watch/slow.ko x=1 0") == 0);
        CHECK(strcmp(t.got_reload[R_BUSY], "busy /mnt/kmod-watch/busy.ko  1") == 0);
        CHECK(strcmp(t.got_reload[R_OLD], "old /mnt/kmod-watch/old.ko  0") == 0); /* "" params: none */
        for (int k = 0; k < R_N; k++) {
                CHECK_EQ(r[k].calls, 1);
                CHECK(!r[k].in_call && !u[k].in_call);
        }
        /* 300 ms in all, but each half within its 200 ms */
        CHECK_EQ(u[R_SLOW].calls, 1);
        CHECK_EQ(u[R_SLOW].r.kind, KW_REPLY_OK);
        CHECK_EQ(u[R_SLOW].r.err, 0);
        CHECK_EQ(u[R_SLOW].r.usec, 77);
        CHECK(t.unloaded_at[R_SLOW] <= t.reloaded_at[R_SLOW]);
        CHECK_EQ(r[R_SLOW].r.kind, KW_REPLY_OK);
        CHECK_EQ(r[R_SLOW].r.err, 0);
        CHECK_EQ(r[R_SLOW].r.usec, 900);
        CHECK(r[R_SLOW].r.has_unload);
        CHECK_EQ(r[R_SLOW].r.unload_err, 0);
        CHECK(t.reloaded_at[R_SLOW] - t.reload_sent_at >= 250);
        /* the unload failed: no UNLOADED, the RESULT is the unload's */
        CHECK_EQ(u[R_BUSY].calls, 0);
        CHECK_EQ(r[R_BUSY].r.err, EBUSY);
        CHECK(r[R_BUSY].r.has_unload);
        CHECK_EQ(r[R_BUSY].r.unload_err, EBUSY);
        CHECK(strcmp(r[R_BUSY].r.error, "module busy is in use") == 0);
        /* an old agent */
        CHECK_EQ(u[R_OLD].calls, 0);
        CHECK_EQ(r[R_OLD].r.err, EOPNOTSUPP);
        CHECK(!r[R_OLD].r.has_unload);
        /* the load half never ends: a timeout after its UNLOADED, the session still up */
        CHECK_EQ(u[R_HUNG].calls, 1);
        CHECK_EQ(u[R_HUNG].r.err, ENOENT);
        CHECK_EQ(r[R_HUNG].r.kind, KW_REPLY_TIMEOUT);
        CHECK(r[R_HUNG].ready);
}

static void on_never(void *userdata, const struct kw_reply *r)
{
        CHECK(!"a request that was not sent was answered");
}

/* Not sent: an error, and the callback never runs. */
static void typed_not_sent(void)
{
        struct kw_loop *l;
        struct kw_session *s;

        CHECK_EQ(kw_loop_new(&l), 0);
        CHECK_EQ(kw_session_new(l, &ops, NULL, "", "", &s), 0);
        CHECK_EQ(kw_session_load(s, "/x.ko", NULL, 100, on_never, NULL), -ENOTCONN);
        CHECK_EQ(kw_session_unload(s, "x", true, 100, on_never, NULL), -ENOTCONN);
        CHECK_EQ(kw_session_reload(s, "x", false, "/x.ko", NULL, 100, on_never, on_never, NULL), -ENOTCONN);
        CHECK_EQ(kw_session_run(s, "true", 100, on_never, NULL), -ENOTCONN);
        CHECK_EQ(kw_session_ping(s, 100, on_never, NULL), -ENOTCONN);
        kw_session_detach(s, "nothing was attached");
        kw_session_free(s);
        kw_session_free(NULL);
        kw_loop_free(l);
}

int main(void)
{
        RUN(garbage_before_greeting);
        RUN(random_stream);
        RUN(hangup_midframe);
        RUN(request_times_out);
        RUN(agent_restarts);
        RUN(typed_calls);
        RUN(typed_timeout);
        RUN(typed_detach);
        RUN(typed_agent_restart);
        RUN(typed_not_sent);
        RUN(typed_reload);
        TEST_DONE();
}
