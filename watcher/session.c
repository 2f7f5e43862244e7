/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * session.c — protocol state over a kw_chan: the greeting and set-up, and
 * requests matched to their RESULTs (typed calls built and read here, see
 * session.h). The SYNC nonce makes a reconnect safe: until the HELLO carrying
 * our nonce (or a fresh agent's unsolicited HELLO) arrives, stale frames from
 * an earlier conversation are ignored.
 */
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ui.h"

#define KW_MAX_PENDING 64

/* A request waiting for its RESULT: either a low-level call (fn gets the
 * frame) or a typed one (result_fn gets a struct kw_reply). */
struct pending {
        uint32_t id;
        kw_reply_fn fn;
        kw_result_fn result_fn;
        kw_result_fn progress_fn; /* RELOAD: its UNLOADED */
        kw_stats_fn stats_fn;
        void *userdata;
        unsigned timeout_ms;
        uint64_t deadline_ms; /* 0: none */
};

enum state { S_DETACHED, S_SYNCING, S_SETUP, S_READY };

struct kw_session {
        struct kw_loop *loop;
        const struct kw_session_ops *ops;
        void *userdata;
        char tag[128];
        char mount_path[256];
        struct kw_chan *chan;
        enum state state;
        uint64_t nonce;
        uint32_t next_id;
        struct pending pending[KW_MAX_PENDING];
        struct kw_timer *timer;
        struct kw_guest guest;
        char last_boot_id[64];
        bool ever_ready;
        struct kw_msg msg; /* scratch for our own requests */
        const struct kw_session_tap *tap;
        void *tap_userdata;
};

static bool in_use(const struct pending *p)
{
        return p->fn || p->result_fn || p->stats_fn;
}

/* DEPS "a,b" into r->deps[] and r->deps_text "a, b". */
static void reply_deps(struct kw_reply *r, const struct kw_frame *f)
{
        char text[sizeof(r->deps_text)], *save = NULL;
        size_t off = 0;

        if (kw_frame_str(f, KW_F_DEPS, text, sizeof(text)) < 0)
                return;
        for (char *t = strtok_r(text, ",", &save); t && r->n_deps < KW_REPLY_MAX_DEPS;
             t = strtok_r(NULL, ",", &save)) {
                snprintf(r->deps[r->n_deps++], sizeof(r->deps[0]), "%s", t);
                if (off < sizeof(r->deps_text))
                        off += (size_t)snprintf(r->deps_text + off, sizeof(r->deps_text) - off, "%s%s",
                                                off ? ", " : "", t);
        }
}

/* What a typed request's caller is told: the RESULT's fields, or why none came. */
static void reply_from(struct kw_reply *r, const struct kw_frame *f, enum kw_reply_kind kind, const char *why)
{
        uint64_t err = 0;

        r->kind = kind;
        r->status = 255;
        r->usec = 0;
        r->error[0] = 0;
        r->n_deps = 0;
        r->deps_text[0] = 0;
        r->sections[0] = 0;
        r->why = NULL;
        r->has_unload = false;
        r->unload_err = 0;
        if (kind != KW_REPLY_OK) {
                r->err = EIO;
                r->why = why ? why : "";
                return;
        }
        (void)kw_frame_u64(f, KW_F_ERRNO, &err);
        (void)kw_frame_u64(f, KW_F_STATUS, &r->status);
        (void)kw_frame_u64(f, KW_F_USEC, &r->usec);
        if (kw_frame_str(f, KW_F_ERROR, r->error, sizeof(r->error)) < 0)
                r->error[0] = 0;
        reply_deps(r, f);
        if (kw_frame_str(f, KW_F_SECTIONS, r->sections, sizeof(r->sections)) < 0)
                r->sections[0] = 0;
        r->err = (int)err;
        uint64_t unload_err = 0;
        if (kw_frame_u64(f, KW_F_UNLOAD_ERRNO, &unload_err) == 0) {
                r->has_unload = true;
                r->unload_err = (int)unload_err;
        }
        if (err)
                r->status = 255; /* a RUN that did not run has no exit status */
}

/* Ends the request in slot i: f is its RESULT (kind KW_REPLY_OK), or NULL
 * and why says what happened instead. The slot is free before the callback
 * runs, so the callback may send the next request. */
static void complete(struct kw_session *s, int i, const struct kw_frame *f, enum kw_reply_kind kind,
                     const char *why)
{
        struct pending p = s->pending[i];

        s->pending[i] = (struct pending){ 0 };
        if (p.fn) {
                p.fn(p.userdata, f, why);
                return;
        }
        struct kw_reply r;
        reply_from(&r, f, kind, why);
        if (!p.stats_fn) {
                p.result_fn(p.userdata, &r);
                return;
        }
        struct kw_stats st = { 0 };
        if (kind == KW_REPLY_OK && !r.err && kw_stats_parse(f, &st) < 0) {
                r.err = EBADMSG;
                snprintf(r.error, sizeof(r.error), "the agent's STATS answer could not be read");
        }
        p.stats_fn(p.userdata, &r, kind == KW_REPLY_OK && !r.err ? &st : NULL);
        kw_stats_free(&st);
}

/* The channel or the agent is gone: nothing pending will be answered. */
static void fail_all(struct kw_session *s, const char *why)
{
        if (s->tap)
                s->tap->lost(s->tap_userdata, why);
        for (int i = 0; i < KW_MAX_PENDING; i++)
                if (in_use(&s->pending[i]))
                        complete(s, i, NULL, KW_REPLY_LOST, why);
}

static void arm_deadlines(struct kw_session *s)
{
        uint64_t next = 0;

        for (int i = 0; i < KW_MAX_PENDING; i++)
                if (in_use(&s->pending[i]) && s->pending[i].deadline_ms &&
                    (!next || s->pending[i].deadline_ms < next))
                        next = s->pending[i].deadline_ms;
        if (!next) {
                kw_timer_disarm(s->timer);
                return;
        }
        uint64_t now = kw_now_ms();
        kw_timer_arm_ms(s->timer, next > now ? next - now : 0);
}

static void on_deadline(void *userdata)
{
        struct kw_session *s = userdata;
        uint64_t now = kw_now_ms();

        for (int i = 0; i < KW_MAX_PENDING; i++) {
                const struct pending *p = &s->pending[i];
                if (in_use(p) && p->deadline_ms && p->deadline_ms <= now)
                        complete(s, i, NULL, KW_REPLY_TIMEOUT, "timed out");
        }
        arm_deadlines(s);
}

uint32_t kw_session_next_id(struct kw_session *s)
{
        if (++s->next_id == 0)
                s->next_id = 1;
        return s->next_id;
}

/* Sends m and remembers p (its callback) until the RESULT with m's id. */
static int send_request(struct kw_session *s, struct kw_msg *m, unsigned timeout_ms, struct pending p)
{
        int slot = -1;

        if (!s->chan)
                return -ENOTCONN;
        for (int i = 0; i < KW_MAX_PENDING; i++)
                if (!in_use(&s->pending[i])) {
                        slot = i;
                        break;
                }
        if (slot < 0)
                return -EBUSY;
        int r = kw_chan_send(s->chan, m);
        if (r < 0)
                return r;
        p.id = kw_msg_id(m);
        p.timeout_ms = timeout_ms;
        p.deadline_ms = timeout_ms ? kw_now_ms() + timeout_ms : 0;
        s->pending[slot] = p;
        if (timeout_ms)
                arm_deadlines(s);
        return 0;
}

int kw_session_call(struct kw_session *s, struct kw_msg *m, unsigned timeout_ms, kw_reply_fn fn, void *userdata)
{
        return send_request(s, m, timeout_ms, (struct pending){ .fn = fn, .userdata = userdata });
}

/* ---- typed requests: the frame is built here, the RESULT read here ---- */

/* Sends the request built in s->msg. */
static int send_typed(struct kw_session *s, unsigned timeout_ms, kw_result_fn fn, void *userdata)
{
        if (!fn)
                return -EINVAL;
        return send_request(s, &s->msg, timeout_ms, (struct pending){ .result_fn = fn, .userdata = userdata });
}

int kw_session_load(struct kw_session *s, const char *path, const char *params, unsigned timeout_ms,
                    kw_result_fn fn, void *userdata)
{
        kw_msg_init(&s->msg, KW_LOAD, kw_session_next_id(s));
        kw_msg_put_str(&s->msg, KW_F_PATH, path);
        if (params && params[0])
                kw_msg_put_str(&s->msg, KW_F_PARAMS, params);
        return send_typed(s, timeout_ms, fn, userdata);
}

int kw_session_unload(struct kw_session *s, const char *module, bool force, unsigned timeout_ms,
                      kw_result_fn fn, void *userdata)
{
        kw_msg_init(&s->msg, KW_UNLOAD, kw_session_next_id(s));
        kw_msg_put_str(&s->msg, KW_F_MODULE, module);
        if (force)
                kw_msg_put_u64(&s->msg, KW_F_FLAGS, KW_UNLOAD_FORCE);
        return send_typed(s, timeout_ms, fn, userdata);
}

int kw_session_reload(struct kw_session *s, const char *module, bool force, const char *path, const char *params,
                      unsigned timeout_ms, kw_result_fn unloaded, kw_result_fn fn, void *userdata)
{
        if (!unloaded || !fn)
                return -EINVAL;
        kw_msg_init(&s->msg, KW_RELOAD, kw_session_next_id(s));
        kw_msg_put_str(&s->msg, KW_F_MODULE, module);
        if (force)
                kw_msg_put_u64(&s->msg, KW_F_FLAGS, KW_UNLOAD_FORCE);
        kw_msg_put_str(&s->msg, KW_F_PATH, path);
        if (params && params[0])
                kw_msg_put_str(&s->msg, KW_F_PARAMS, params);
        return send_request(s, &s->msg, timeout_ms,
                            (struct pending){ .result_fn = fn, .progress_fn = unloaded, .userdata = userdata });
}

/* A RELOAD's unload is over: told once; its load gets a fresh deadline. */
static void on_unloaded(struct kw_session *s, const struct kw_frame *f)
{
        for (int i = 0; i < KW_MAX_PENDING; i++) {
                struct pending *p = &s->pending[i];
                if (!p->result_fn || !p->progress_fn || p->id != f->id)
                        continue;
                kw_result_fn fn = p->progress_fn;
                p->progress_fn = NULL;
                if (p->timeout_ms) {
                        p->deadline_ms = kw_now_ms() + p->timeout_ms;
                        arm_deadlines(s);
                }
                struct kw_reply r;
                reply_from(&r, f, KW_REPLY_OK, NULL);
                fn(p->userdata, &r);
                return;
        }
        kw_debug("an UNLOADED for request %u that nobody waits for", f->id);
}

int kw_session_run(struct kw_session *s, const char *cmd, unsigned timeout_ms, kw_result_fn fn,
                   void *userdata)
{
        kw_msg_init(&s->msg, KW_RUN, kw_session_next_id(s));
        kw_msg_put_str(&s->msg, KW_F_CMD, cmd);
        return send_typed(s, timeout_ms, fn, userdata);
}

int kw_session_ping(struct kw_session *s, unsigned timeout_ms, kw_result_fn fn, void *userdata)
{
        kw_msg_init(&s->msg, KW_MODULES, kw_session_next_id(s));
        return send_typed(s, timeout_ms, fn, userdata);
}

int kw_session_log_sync(struct kw_session *s, unsigned timeout_ms, kw_result_fn fn, void *userdata)
{
        kw_msg_init(&s->msg, KW_LOG_SYNC, kw_session_next_id(s));
        return send_typed(s, timeout_ms, fn, userdata);
}

int kw_session_stats(struct kw_session *s, unsigned flags, unsigned timeout_ms, kw_stats_fn fn, void *userdata)
{
        if (!fn)
                return -EINVAL;
        kw_msg_init(&s->msg, KW_STATS, kw_session_next_id(s));
        if (flags)
                kw_msg_put_u64(&s->msg, KW_F_FLAGS, flags);
        return send_request(s, &s->msg, timeout_ms, (struct pending){ .stats_fn = fn, .userdata = userdata });
}

static void send_sync(struct kw_session *s)
{
        uint8_t ff = KW_SYNC_BYTE;

        if (getrandom(&s->nonce, sizeof(s->nonce), GRND_NONBLOCK) != sizeof(s->nonce))
                s->nonce = kw_now_us() ^ 0x9e3779b97f4a7c15ull;
        s->nonce |= 1; /* never 0: 0 marks an unsolicited HELLO */
        s->state = S_SYNCING;
        (void)kw_chan_send_raw(s->chan, &ff, 1);
        kw_msg_init(&s->msg, KW_SYNC, kw_session_next_id(s));
        kw_msg_put_u64(&s->msg, KW_F_NONCE, s->nonce);
        (void)kw_chan_send(s->chan, &s->msg);
}

static void setup_failed(struct kw_session *s, const char *what, const struct kw_frame *f, const char *why)
{
        char err[512] = "";

        if (f)
                (void)kw_frame_str(f, KW_F_ERROR, err, sizeof(err));
        char line[1100];
        snprintf(line, sizeof(line), "%s: %s", what, f ? err : why);
        s->ops->failed(s->userdata, line);
}

static uint64_t result_errno(const struct kw_frame *f)
{
        uint64_t e = 0;

        (void)kw_frame_u64(f, KW_F_ERRNO, &e);
        return e;
}

static void on_kmsg_started(void *userdata, const struct kw_frame *f, const char *why)
{
        struct kw_session *s = userdata;

        if (!f) {
                if (s->state == S_SETUP)
                        setup_failed(s, "the agent did not start the kernel log", NULL, why);
                return;
        }
        if (result_errno(f)) {
                setup_failed(s, "the agent cannot read /dev/kmsg", f, NULL);
                return;
        }
        bool rebooted = s->ever_ready && strcmp(s->last_boot_id, s->guest.boot_id) != 0;
        snprintf(s->last_boot_id, sizeof(s->last_boot_id), "%s", s->guest.boot_id);
        s->state = S_READY;
        s->ever_ready = true;
        s->ops->ready(s->userdata, &s->guest, rebooted);
        if (s->tap)
                s->tap->ready(s->tap_userdata);
}

static void start_kmsg(struct kw_session *s)
{
        kw_msg_init(&s->msg, KW_KMSG_START, kw_session_next_id(s));
        (void)kw_session_call(s, &s->msg, 10000, on_kmsg_started, s);
}

static void on_mounted(void *userdata, const struct kw_frame *f, const char *why)
{
        struct kw_session *s = userdata;

        if (!f) {
                if (s->state == S_SETUP)
                        setup_failed(s, "the agent did not mount the share", NULL, why);
                return;
        }
        if (result_errno(f)) {
                char what[512];
                snprintf(what, sizeof(what), "mounting 9p tag '%s' at %s in the guest failed", s->tag,
                         s->mount_path);
                setup_failed(s, what, f, NULL);
                return;
        }
        start_kmsg(s);
}

static void on_hello(struct kw_session *s, const struct kw_frame *f)
{
        uint64_t nonce = 0, proto = 0;

        (void)kw_frame_u64(f, KW_F_NONCE, &nonce);
        if (s->state == S_SYNCING && nonce != 0 && nonce != s->nonce)
                return; /* an answer to an older SYNC */
        if (kw_frame_u64(f, KW_F_PROTO, &proto) < 0 || proto != KW_PROTO_VERSION) {
                char line[200];
                snprintf(line, sizeof(line),
                         "the guest agent speaks protocol %llu, kmod-watch speaks %d: use the agent "
                         "that came with this kmod-watch",
                         (unsigned long long)proto, KW_PROTO_VERSION);
                s->ops->failed(s->userdata, line);
                return;
        }
        if (s->state == S_SETUP || s->state == S_READY) {
                if (nonce == s->nonce)
                        return; /* duplicate answer to our SYNC */
                /* unsolicited: the agent restarted; what was pending died with it */
                fail_all(s, "the agent restarted");
        }
        struct kw_guest g = { 0 };
        (void)kw_frame_str(f, KW_F_ARCH, g.arch, sizeof(g.arch));
        (void)kw_frame_str(f, KW_F_RELEASE, g.release, sizeof(g.release));
        (void)kw_frame_str(f, KW_F_VERSION, g.version, sizeof(g.version));
        (void)kw_frame_str(f, KW_F_BOOT_ID, g.boot_id, sizeof(g.boot_id));
        s->guest = g;
        s->state = S_SETUP;
        if (!s->tag[0] || !s->mount_path[0]) {
                start_kmsg(s); /* no share (SSH): modules are copied to the guest instead */
                return;
        }
        kw_msg_init(&s->msg, KW_MOUNT, kw_session_next_id(s));
        kw_msg_put_str(&s->msg, KW_F_TAG, s->tag);
        kw_msg_put_str(&s->msg, KW_F_PATH, s->mount_path);
        (void)kw_session_call(s, &s->msg, 20000, on_mounted, s);
}

static void on_frame(void *userdata, const struct kw_frame *f)
{
        struct kw_session *s = userdata;
        char text[8192];

        if (kw_frame_validate(f) < 0)
                return;
        if (f->type == KW_HELLO) {
                on_hello(s, f);
                return;
        }
        if (s->state == S_SYNCING || s->state == S_DETACHED)
                return; /* stale traffic before the greeting */
        switch (f->type) {
        case KW_RESULT:
                for (int i = 0; i < KW_MAX_PENDING; i++) {
                        if (!in_use(&s->pending[i]) || s->pending[i].id != f->id)
                                continue;
                        complete(s, i, f, KW_REPLY_OK, NULL);
                        return;
                }
                kw_debug("a result for request %u that nobody waits for", f->id);
                return;
        case KW_UNLOADED:
                on_unloaded(s, f);
                return;
        case KW_KMSG: {
                uint64_t seq = 0, level = 6, ts = 0;
                (void)kw_frame_u64(f, KW_F_SEQ, &seq);
                (void)kw_frame_u64(f, KW_F_LEVEL, &level);
                (void)kw_frame_u64(f, KW_F_TS, &ts);
                if (kw_frame_str(f, KW_F_TEXT, text, sizeof(text)) < 0)
                        text[0] = 0;
                s->ops->kmsg(s->userdata, seq, (unsigned)(level & 7), ts, text);
                return;
        }
        case KW_KMSG_GAP: {
                uint64_t seq = 0, count = 0;
                (void)kw_frame_u64(f, KW_F_SEQ, &seq);
                (void)kw_frame_u64(f, KW_F_COUNT, &count);
                s->ops->gap(s->userdata, seq, count);
                return;
        }
        case KW_OUTPUT: {
                const uint8_t *p;
                size_t len;
                uint64_t stream = 1;
                (void)kw_frame_u64(f, KW_F_STREAM, &stream);
                if (kw_frame_bytes(f, KW_F_TEXT, &p, &len) == 0 && s->ops->output)
                        s->ops->output(s->userdata, f->id, (unsigned)stream, (const char *)p, len);
                return;
        }
        case KW_PTY_DATA:
        case KW_PTY_CLOSE:
                if (s->tap)
                        s->tap->frame(s->tap_userdata, f);
                return;
        case KW_PROTO_ERROR: {
                uint64_t count = 0;
                (void)kw_frame_u64(f, KW_F_COUNT, &count);
                if (kw_frame_str(f, KW_F_ERROR, text, sizeof(text)) < 0)
                        text[0] = 0;
                kw_warn("the guest agent reports a damaged channel (%llu bytes skipped%s%s)",
                        (unsigned long long)count, text[0] ? ": " : "", text);
                return;
        }
        default:
                kw_debug("ignoring a %s frame from the agent", kw_type_name(f->type));
        }
}

static void on_garbage(void *userdata, uint64_t bytes)
{
        struct kw_session *s = userdata;

        kw_warn("skipped %llu bytes of garbage from the guest channel", (unsigned long long)bytes);
        if (!s->chan)
                return;
        kw_msg_init(&s->msg, KW_PROTO_ERROR, 0);
        kw_msg_put_u64(&s->msg, KW_F_COUNT, bytes);
        kw_msg_put_str(&s->msg, KW_F_ERROR, "kmod-watch skipped bytes that were not a valid frame");
        (void)kw_chan_send(s->chan, &s->msg);
}

static void on_closed(void *userdata, int err)
{
        struct kw_session *s = userdata;

        kw_session_detach(s, err ? "the guest channel failed" : "the guest channel closed");
}

static const struct kw_chan_ops chan_ops = {
        .frame = on_frame,
        .garbage = on_garbage,
        .closed = on_closed,
};

int kw_session_new(struct kw_loop *l, const struct kw_session_ops *ops, void *userdata, const char *tag,
                   const char *mount_path, struct kw_session **ret)
{
        struct kw_session *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->loop = l;
        s->ops = ops;
        s->userdata = userdata;
        snprintf(s->tag, sizeof(s->tag), "%s", tag ? tag : "");
        snprintf(s->mount_path, sizeof(s->mount_path), "%s", mount_path ? mount_path : "");
        int r = kw_timer_new(l, on_deadline, s, &s->timer);
        if (r < 0) {
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

void kw_session_free(struct kw_session *s)
{
        if (!s)
                return;
        if (s->chan)
                kw_chan_free(s->chan);
        kw_timer_free(s->timer);
        free(s);
}

int kw_session_attach_fd(struct kw_session *s, int fd)
{
        if (s->chan)
                kw_session_detach(s, "replaced by a new connection");
        int r = kw_chan_new(s->loop, fd, &chan_ops, s, &s->chan);
        if (r < 0)
                return r;
        send_sync(s);
        return 0;
}

void kw_session_detach(struct kw_session *s, const char *why)
{
        if (s->chan) {
                kw_chan_free(s->chan);
                s->chan = NULL;
        }
        s->state = S_DETACHED;
        fail_all(s, why);
        kw_timer_disarm(s->timer);
}

void kw_session_set_tap(struct kw_session *s, const struct kw_session_tap *tap, void *userdata)
{
        s->tap = tap;
        s->tap_userdata = userdata;
}

int kw_session_send(struct kw_session *s, struct kw_msg *m)
{
        if (!s->chan || s->state != S_READY)
                return -ENOTCONN;
        return kw_chan_send(s->chan, m);
}

bool kw_session_ready(const struct kw_session *s)
{
        return s->state == S_READY;
}

bool kw_session_attached(const struct kw_session *s)
{
        return s->chan != NULL;
}

const struct kw_guest *kw_session_guest(const struct kw_session *s)
{
        return &s->guest;
}
