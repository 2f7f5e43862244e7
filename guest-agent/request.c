/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * request.c — decoding host requests and answering them (see agent.h).
 *
 * Every request gets exactly one RESULT with its id, except SYNC (answered
 * by HELLO). The RESULT of a RUN or LOAD that started comes when its child
 * process ends; of an UNLOAD being retried, when the retries end; of a
 * RELOAD, after its UNLOADED, when its load ends. Frames
 * only the agent sends are ignored when they come in, never answered: two
 * agents wired to each other must not ping-pong forever.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "agent.h"
#include "hello.h"
#include "modload.h"
#include "mount9p.h"
#include "stats.h"
#include "util.h"

static struct kw_msg reply;
static unsigned ignored; /* frames from the host of agent-only types */

static void send_proto_error(struct agent *a, uint64_t skipped)
{
        static struct kw_msg m;
        char text[128];

        snprintf(text, sizeof(text), "agent skipped %llu bytes that were not a valid frame",
                 (unsigned long long)skipped);
        kw_msg_init(&m, KW_PROTO_ERROR, 0);
        kw_msg_put_u64(&m, KW_F_COUNT, skipped);
        kw_msg_put_str(&m, KW_F_ERROR, text);
        (void)chan_send(&a->chan, &m);
}

static void modules(struct kw_msg *m)
{
        FILE *f = fopen("/proc/modules", "re");
        char line[1024];

        if (!f) {
                int r = errno;

                result_error(m, r, "cannot read /proc/modules: %s", strerror(r));
                return;
        }
        while (fgets(line, sizeof(line), f)) {
                size_t n = strcspn(line, " \n");

                /* Leave room for ERRNO; a guest has nowhere near 1000 modules. */
                if (n == 0 || !kw_msg_fits(m, n + 64))
                        continue;
                kw_msg_put_bytes(m, KW_F_MODULE, line, n);
        }
        fclose(f);
}

static void kmsg_start(struct agent *a, const struct kw_frame *f, struct kw_msg *m)
{
        uint64_t seq = 0;
        int r = kw_frame_u64(f, KW_F_SEQ, &seq);

        if (r == -EBADMSG) {
                result_error(m, EBADMSG, "bad SEQ");
                return;
        }
        r = kmsgstream_start(&a->kmsg, r == 0, seq);
        if (r < 0)
                result_error(m, -r, "cannot read /dev/kmsg: %s", strerror(-r));
}

/* false when the RESULT comes later (RUN started). */
static bool run(struct agent *a, const struct kw_frame *f, struct kw_msg *m)
{
        static char cmd[KW_MAX_PAYLOAD];
        int r = frame_string(f, KW_F_CMD, cmd, sizeof(cmd));

        if (r < 0) {
                result_error(m, EBADMSG, "RUN needs a CMD (%s)", r == -ENOENT ? "missing" : strerror(-r));
                return true;
        }
        r = run_start(&a->run, f->id, cmd);
        if (r == -EBUSY) {
                result_error(m, EBUSY, "another RUN is still running");
                return true;
        }
        if (r < 0) {
                result_error(m, -r, "cannot run /bin/sh: %s", strerror(-r));
                return true;
        }
        return false;
}

/* The host is meant to wait for one LOAD/UNLOAD's RESULT before the next. */
static void busy(struct agent *a, struct kw_msg *m)
{
        const struct modop *op = &a->modop;

        result_error(m, EBUSY, "the %s of %s (request %u) is still in progress after %llu ms",
                     op->kind == MODOP_LOAD ? "LOAD" : "UNLOAD", op->name, op->id,
                     (unsigned long long)((now_usec() - op->start_usec) / 1000));
}

/* A LOAD, UNLOAD or the unload of a RELOAD ended: reply is complete. A
 * RELOAD whose unload went well says UNLOADED and goes on with its load
 * (whose RESULT comes later, or now when it failed to start). */
static void modop_answer(struct agent *a)
{
        static struct kw_msg unloaded;
        struct modop *op = &a->modop;

        if (modop_reload_loads(op)) {
                kw_msg_init(&unloaded, KW_UNLOADED, op->id);
                modop_put_unloaded(op, &unloaded);
                /* out now, not after the load has started: the host's unload event and the
                 * load's deadline start from it */
                if (chan_send(&a->chan, &unloaded) == 0)
                        (void)chan_flush(&a->chan);
                result_init(&reply, op->id);
                if (!modop_load_start(op, &reply))
                        return;
        }
        modop_put_unload_outcome(op, &reply);
        result_default_ok(&reply);
        (void)chan_send(&a->chan, &reply);
}

static bool from_agent(uint8_t type)
{
        switch (type) {
        case KW_HELLO:
        case KW_RESULT:
        case KW_KMSG:
        case KW_KMSG_GAP:
        case KW_PROTO_ERROR:
        case KW_OUTPUT:
        case KW_UNLOADED:
                return true;
        default:
                return false;
        }
}

static void handle(struct agent *a, const struct kw_frame *f)
{
        uint64_t nonce = 0;
        bool answer = true;

        if (from_agent(f->type)) {
                uint64_t count = 0;

                /* A confused host could send thousands: the console gets
                 * the first few. */
                if (ignored++ >= 8)
                        return;
                if (f->type == KW_PROTO_ERROR && kw_frame_u64(f, KW_F_COUNT, &count) == 0)
                        log_msg("host skipped %llu bytes of ours", (unsigned long long)count);
                else
                        log_msg("ignoring a %s frame from the host%s", kw_type_name(f->type),
                                ignored == 8 ? " (no more of these logged)" : "");
                return;
        }
        if (f->type == KW_PTY_DATA || f->type == KW_PTY_RESIZE || f->type == KW_PTY_CLOSE) {
                pty_request(&a->ptys, f); /* traffic of an open shell: never answered */
                return;
        }
        result_init(&reply, f->id);
        if (kw_frame_validate(f) < 0) {
                result_error(&reply, EBADMSG, "malformed fields in a %s request", kw_type_name(f->type));
                goto send;
        }
        switch (f->type) {
        case KW_SYNC:
                if (kw_frame_u64(f, KW_F_NONCE, &nonce) == -EBADMSG) {
                        result_error(&reply, EBADMSG, "bad NONCE");
                        break;
                }
                hello_build(&reply, f->id, nonce);
                (void)chan_send(&a->chan, &reply);
                return;
        case KW_MOUNT:
                mount9p_request(f, &reply);
                break;
        case KW_LOAD:
        case KW_UNLOAD:
        case KW_RELOAD:
                if (modop_busy(&a->modop)) {
                        busy(a, &reply);
                        break;
                }
                if (f->type == KW_LOAD ? modop_load(&a->modop, f, &reply)
                    : f->type == KW_UNLOAD ? modop_unload(&a->modop, f, &reply)
                                           : modop_reload(&a->modop, f, &reply))
                        modop_answer(a);
                return;
        case KW_KMSG_START:
                kmsg_start(a, f, &reply);
                break;
        case KW_RUN:
                answer = run(a, f, &reply);
                break;
        case KW_MODULES:
                modules(&reply);
                break;
        case KW_STATS:
                stats_request(f, &reply);
                break;
        case KW_PTY_OPEN:
                pty_open(&a->ptys, f, &reply);
                break;
        case KW_LOG_SYNC:
                /* one barrier at a time: a second one answers with the first */
                a->log_sync = true;
                a->log_sync_id = f->id;
                request_log_pumped(a, kmsgstream_pump(&a->kmsg, &a->chan));
                return;
        default:
                result_error(&reply, EOPNOTSUPP, "unknown request type %u", f->type);
                break;
        }
        if (!answer)
                return;
send:
        result_default_ok(&reply);
        (void)chan_send(&a->chan, &reply);
}

void request_log_pumped(struct agent *a, bool drained)
{
        if (!a->log_sync || !drained)
                return;
        a->log_sync = false;
        result_init(&reply, a->log_sync_id);
        uint64_t next = kmsgstream_next_seq(&a->kmsg);
        if (next)
                kw_msg_put_u64(&reply, KW_F_SEQ, next - 1);
        result_default_ok(&reply);
        (void)chan_send(&a->chan, &reply);
}

void request_process(struct agent *a)
{
        struct kw_frame f;

        while (chan_room(&a->chan) >= CHAN_REQUEST_ROOM) {
                int r = chan_next(&a->chan, &f);
                uint64_t skipped = kw_decoder_take_skipped(&a->chan.dec);

                /* Before the frame's answer, so the host reads them in order. */
                if (skipped > 0)
                        send_proto_error(a, skipped);
                if (r <= 0)
                        return;
                handle(a, &f);
        }
}

void request_unload_timer(struct agent *a)
{
        result_init(&reply, a->modop.id);
        if (!modop_unload_retry(&a->modop, &reply))
                return;
        modop_answer(a);
}

void request_reap(struct agent *a)
{
        int status;
        pid_t pid;

        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                if (run_exited(&a->run, pid, status, &a->chan) || pty_exited(&a->ptys, pid, status, &a->chan))
                        continue;
                if (a->modop.kind != MODOP_LOAD || pid != a->modop.pid)
                        continue;
                result_init(&reply, a->modop.id);
                modop_load_done(&a->modop, status, &reply);
                modop_put_unload_outcome(&a->modop, &reply);
                result_default_ok(&reply);
                (void)chan_send(&a->chan, &reply);
        }
}

void request_greet(struct agent *a)
{
        static struct kw_msg m;

        hello_build(&m, 0, 0);
        (void)chan_send_first(&a->chan, &m);
}
