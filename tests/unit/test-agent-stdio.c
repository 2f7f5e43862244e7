/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-agent-stdio.c — drives the real kmod-agent binary over --stdio with the
 * common codec: greeting and SYNC, garbage and resynchronisation, malformed
 * and unknown requests, LOAD/UNLOAD/RELOAD failures, RUN, MODULES, KMSG_START, a
 * burst of random bytes, PTY_OPEN shells (their window, limit, hang-up), and
 * exit at end of input.
 *
 * Usage: test-agent-stdio PATH-TO-kmod-agent
 *
 * This runs on the build host, often as root: the agent here talks to the
 * HOST kernel. So it is never sent a LOAD of anything that could be a module,
 * an UNLOAD of a real module name, or a MOUNT; random frames are only of
 * harmless types. Every wait is bounded so the test cannot hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"
#include "test.h"

#define TIMEOUT_MS 10000

static const char *agent_path;
static pid_t agent_pid;
static int to_agent = -1, from_agent = -1;
static struct kw_decoder dec;
static uint32_t next_id = 100;
static int proto_errors;       /* PROTO_ERROR frames seen while waiting for others */
static uint64_t proto_error_bytes;

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void start_agent(void)
{
        int in[2], out[2];

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
                perror("pipe2");
                exit(1);
        }
        agent_pid = fork();
        if (agent_pid < 0) {
                perror("fork");
                exit(1);
        }
        if (agent_pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                execl(agent_path, agent_path, "--stdio", (char *)NULL);
                perror(agent_path);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        to_agent = in[1];
        from_agent = out[0];
        kw_decoder_init(&dec);
}

static bool agent_alive(void)
{
        int status;

        return waitpid(agent_pid, &status, WNOHANG) == 0;
}

static void send_raw(const void *p, size_t n)
{
        const uint8_t *b = p;

        while (n > 0) {
                ssize_t w = write(to_agent, b, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        printf("# write to agent: %s\n", strerror(errno));
                        return;
                }
                b += w;
                n -= (size_t)w;
        }
}

static void send_msg(struct kw_msg *m)
{
        int n = kw_msg_finish(m);

        if (n < 0) {
                printf("# kw_msg_finish: %s\n", strerror(-n));
                return;
        }
        send_raw(m->buf, (size_t)n);
}

/* 1: *f is the next frame from the agent (valid until the next call);
 * 0: nothing before the deadline, or the agent closed its output. */
static int next_frame(struct kw_frame *f, uint64_t deadline)
{
        for (;;) {
                struct pollfd p = { .fd = from_agent, .events = POLLIN };
                uint64_t now = now_ms();
                size_t room;
                uint8_t *space;
                ssize_t n;

                if (kw_decoder_next(&dec, f) == 1)
                        return 1;
                if (now >= deadline)
                        return 0;
                if (poll(&p, 1, (int)(deadline - now)) <= 0)
                        continue;
                space = kw_decoder_space(&dec, &room);
                n = read(from_agent, space, room);
                if (n <= 0)
                        return 0;
                kw_decoder_commit(&dec, (size_t)n);
        }
}

/* Waits for a frame of this type and id, passing over the kernel log and
 * counting PROTO_ERRORs on the way. */
static int expect(uint8_t type, uint32_t id, struct kw_frame *f)
{
        uint64_t deadline = now_ms() + TIMEOUT_MS;
        int others = 0;

        while (next_frame(f, deadline)) {
                uint64_t count = 0;

                if (f->type == type && f->id == id)
                        return 1;
                if (f->type == KW_PROTO_ERROR) {
                        proto_errors++;
                        if (kw_frame_u64(f, KW_F_COUNT, &count) == 0)
                                proto_error_bytes += count;
                        continue;
                }
                if (f->type == KW_KMSG || f->type == KW_KMSG_GAP)
                        continue;
                if (others++ < 3)
                        printf("# while waiting for %s id %u: got %s id %u\n", kw_type_name(type), id,
                               kw_type_name(f->type), f->id);
        }
        printf("# timed out waiting for %s id %u\n", kw_type_name(type), id);
        return 0;
}

static bool field_eq(const struct kw_frame *f, enum kw_field key, const char *want)
{
        char buf[4096];

        return kw_frame_str(f, key, buf, sizeof(buf)) == 0 && strcmp(buf, want) == 0;
}

static bool field_has(const struct kw_frame *f, enum kw_field key, const char *needle)
{
        char buf[4096];

        if (kw_frame_str(f, key, buf, sizeof(buf)) < 0)
                return false;
        printf("# %s\n", buf);
        return strstr(buf, needle) != NULL;
}

static uint64_t field_u64(const struct kw_frame *f, enum kw_field key)
{
        uint64_t v = UINT64_MAX;

        (void)kw_frame_u64(f, key, &v);
        return v;
}

static void send_sync(uint32_t id, uint64_t nonce, bool sync_byte)
{
        static struct kw_msg m;
        uint8_t ff = KW_SYNC_BYTE;

        if (sync_byte)
                send_raw(&ff, 1);
        kw_msg_init(&m, KW_SYNC, id);
        kw_msg_put_u64(&m, KW_F_NONCE, nonce);
        send_msg(&m);
}

/* SYNC → HELLO with the same id and nonce. */
static bool sync_ok(uint64_t nonce)
{
        struct kw_frame f;
        uint32_t id = next_id++;

        send_sync(id, nonce, true);
        return expect(KW_HELLO, id, &f) && field_u64(&f, KW_F_NONCE) == nonce;
}

/* Sends a one-string-field request, waits for its RESULT. */
static int request(enum kw_type type, enum kw_field key, const char *value, struct kw_frame *f)
{
        static struct kw_msg m;
        uint32_t id = next_id++;

        kw_msg_init(&m, type, id);
        if (value)
                kw_msg_put_str(&m, key, value);
        send_msg(&m);
        return expect(KW_RESULT, id, f);
}

/* ---- cases ---- */

static void greeting_on_start(void)
{
        struct kw_frame f;
        struct utsname u;
        char boot_id[64];

        CHECK(expect(KW_HELLO, 0, &f));
        CHECK_EQ(field_u64(&f, KW_F_PROTO), KW_PROTO_VERSION);
        CHECK_EQ(field_u64(&f, KW_F_NONCE), 0);
        CHECK(uname(&u) == 0);
        CHECK(field_eq(&f, KW_F_ARCH, u.machine));
        CHECK(field_eq(&f, KW_F_RELEASE, u.release));
        CHECK(kw_frame_str(&f, KW_F_VERSION, boot_id, sizeof(boot_id)) == 0 && boot_id[0]);
        CHECK(kw_frame_str(&f, KW_F_BOOT_ID, boot_id, sizeof(boot_id)) == 0 && strlen(boot_id) == 36);
}

static void sync_answers_hello(void)
{
        struct kw_frame f;
        struct utsname u;
        int errors = proto_errors;

        send_sync(7, 0x123456789abcdefull, true);
        CHECK(expect(KW_HELLO, 7, &f));
        CHECK_EQ(field_u64(&f, KW_F_NONCE), 0x123456789abcdefull);
        CHECK(uname(&u) == 0);
        CHECK(field_eq(&f, KW_F_ARCH, u.machine));
        CHECK(field_eq(&f, KW_F_RELEASE, u.release));
        /* The 0xFF sync byte is expected, not garbage. */
        CHECK_EQ(proto_errors, errors);
}

static void garbage_then_resync(void)
{
        static const char junk[] = "this is no frame!";
        struct kw_frame f;

        proto_errors = 0;
        proto_error_bytes = 0;
        send_raw(junk, sizeof(junk) - 1);
        send_sync(8, 42, false);
        CHECK(expect(KW_HELLO, 8, &f));
        CHECK_EQ(field_u64(&f, KW_F_NONCE), 42);
        CHECK(proto_errors >= 1);
        CHECK(proto_error_bytes > 0 && proto_error_bytes <= sizeof(junk) - 1);
}

static void truncated_frame_then_resync(void)
{
        static struct kw_msg m;
        int n;

        /* Half a frame (a host that died mid-write), then a good one. */
        kw_msg_init(&m, KW_SYNC, 9);
        kw_msg_put_u64(&m, KW_F_NONCE, 1);
        n = kw_msg_finish(&m);
        send_raw(m.buf, (size_t)n / 2);
        CHECK(sync_ok(0xfeed));
}

static void oversized_header_skipped(void)
{
        uint8_t hdr[KW_FRAME_HDR] = { 'K', 'W', KW_PROTO_VERSION, KW_SYNC, 1, 0, 0, 0, 0, 0, 0x10, 0 };

        /* Claims a 1 MiB payload: must be dropped as garbage, not waited for. */
        proto_errors = 0;
        send_raw(hdr, sizeof(hdr));
        CHECK(sync_ok(77));
        CHECK(proto_errors >= 1);
}

static void malformed_fields(void)
{
        static struct kw_msg m;
        static const uint8_t bad_field[] = { KW_F_PATH, 0xff, 0x00, 'x' }; /* says 255 bytes, has 1 */
        static const uint8_t short_u64[] = { KW_F_NONCE, 3, 0, 1, 2, 3 };
        struct kw_frame f;
        uint32_t id = next_id++;

        kw_msg_init(&m, KW_MODULES, id);
        memcpy(m.buf + m.len, bad_field, sizeof(bad_field));
        m.len += sizeof(bad_field);
        send_msg(&m);
        CHECK(expect(KW_RESULT, id, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);

        id = next_id++;
        kw_msg_init(&m, KW_SYNC, id);
        memcpy(m.buf + m.len, short_u64, sizeof(short_u64));
        m.len += sizeof(short_u64);
        send_msg(&m);
        CHECK(expect(KW_RESULT, id, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);
        CHECK(agent_alive());
}

static void unknown_types(void)
{
        static struct kw_msg m;
        struct kw_frame f;
        uint32_t id;

        id = next_id++;
        kw_msg_init(&m, (enum kw_type)99, id);
        send_msg(&m);
        CHECK(expect(KW_RESULT, id, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EOPNOTSUPP);
        CHECK(field_has(&f, KW_F_ERROR, "99"));

        id = next_id++;
        kw_msg_init(&m, (enum kw_type)0, id);
        send_msg(&m);
        CHECK(expect(KW_RESULT, id, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EOPNOTSUPP);

        /* Frames only agents send are ignored, not answered: the next frame
         * for us must be the HELLO, not a RESULT for these. */
        kw_msg_init(&m, KW_RESULT, 555);
        send_msg(&m);
        kw_msg_init(&m, KW_HELLO, 556);
        send_msg(&m);
        send_sync(557, 5, true);
        CHECK(next_frame(&f, now_ms() + TIMEOUT_MS));
        while (f.type == KW_KMSG || f.type == KW_KMSG_GAP)
                CHECK(next_frame(&f, now_ms() + TIMEOUT_MS));
        CHECK_EQ(f.type, KW_HELLO);
        CHECK_EQ(f.id, 557);
}

static void missing_fields(void)
{
        struct kw_frame f;

        CHECK(request(KW_LOAD, KW_F_PATH, NULL, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);
        CHECK(request(KW_UNLOAD, KW_F_MODULE, NULL, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);
        CHECK(request(KW_RUN, KW_F_CMD, NULL, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);
        CHECK(request(KW_UNLOAD, KW_F_MODULE, "a/b", &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EINVAL);
}

static void load_missing_file(void)
{
        static const char path[] = "/nonexistent-kmod-watch-test/kw-no-such-file.ko";
        struct kw_frame f;

        CHECK(request(KW_LOAD, KW_F_PATH, path, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENOENT);
        CHECK(field_has(&f, KW_F_ERROR, path));
}

static void load_not_elf(void)
{
        char path[] = "/tmp/kw-test-not-elf-XXXXXX";
        static const char text[] = "this is a text file, not an ELF module\n";
        struct kw_frame f;
        int fd = mkstemp(path);

        CHECK(fd >= 0);
        if (fd < 0)
                return;
        CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
        close(fd);
        CHECK(request(KW_LOAD, KW_F_PATH, path, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENOEXEC);
        CHECK(field_has(&f, KW_F_ERROR, "not a valid module"));

        /* Empty file, and a directory. */
        fd = open(path, O_WRONLY | O_TRUNC);
        close(fd);
        CHECK(request(KW_LOAD, KW_F_PATH, path, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENOEXEC);
        unlink(path);
        CHECK(request(KW_LOAD, KW_F_PATH, "/tmp", &f));
        CHECK(field_u64(&f, KW_F_ERRNO) != 0);
        CHECK(field_has(&f, KW_F_ERROR, "/tmp"));
}

static void load_path_too_long(void)
{
        static char path[5001];
        struct kw_frame f;

        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        CHECK(request(KW_LOAD, KW_F_PATH, path, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENAMETOOLONG);
}

static void unload_not_loaded(void)
{
        struct kw_frame f;
        uint64_t err;

        CHECK(request(KW_UNLOAD, KW_F_MODULE, "kw_no_such_module_xyz", &f));
        err = field_u64(&f, KW_F_ERRNO);
        /* Without CAP_SYS_MODULE (a container) the kernel says EPERM first;
         * a kernel without module support says ENOSYS. */
        CHECK(err == ENOENT || err == EPERM || err == ENOSYS);
        if (err == ENOENT)
                CHECK(field_has(&f, KW_F_ERROR, "module kw_no_such_module_xyz is not loaded"));
        else
                printf("# this kernel cannot unload modules here: %s\n", strerror((int)err));
        CHECK(field_eq(&f, KW_F_MODULE, "kw_no_such_module_xyz"));
}

/* Sends a RELOAD (module, path: NULL leaves the field out); *unloaded says
 * whether an UNLOADED with its id came first, copied into *u. */
static int reload(const char *module, const char *path, bool *unloaded, struct kw_msg *u, struct kw_frame *f)
{
        static struct kw_msg m;
        uint32_t id = next_id++;
        uint64_t deadline = now_ms() + TIMEOUT_MS;

        kw_msg_init(&m, KW_RELOAD, id);
        if (module)
                kw_msg_put_str(&m, KW_F_MODULE, module);
        if (path)
                kw_msg_put_str(&m, KW_F_PATH, path);
        send_msg(&m);
        *unloaded = false;
        while (next_frame(f, deadline)) {
                if (f->id != id)
                        continue;
                if (f->type == KW_RESULT)
                        return 1;
                if (f->type == KW_UNLOADED && !*unloaded) {
                        *unloaded = true;
                        kw_msg_init(u, KW_UNLOADED, id); /* a copy: f is gone by the next frame */
                        size_t pos = 0, n;
                        uint8_t key;
                        const uint8_t *v;
                        while (kw_frame_next_field(f, &pos, &key, &v, &n) > 0)
                                kw_msg_put_bytes(u, (enum kw_field)key, v, n);
                        continue;
                }
                printf("# unexpected %s for RELOAD %u\n", kw_type_name(f->type), id);
                return 0;
        }
        printf("# timed out waiting for the RESULT of RELOAD %u\n", id);
        return 0;
}

static void reload_missing_fields(void)
{
        static struct kw_msg u;
        struct kw_frame f;
        bool unloaded;

        /* refused before anything is unloaded */
        CHECK(reload(NULL, "/nonexistent-kmod-watch-test/a.ko", &unloaded, &u, &f));
        CHECK(!unloaded);
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);
        CHECK(field_has(&f, KW_F_ERROR, "RELOAD needs a MODULE"));
        CHECK(reload("kw_no_such_module_xyz", NULL, &unloaded, &u, &f));
        CHECK(!unloaded);
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBADMSG);
        CHECK(field_has(&f, KW_F_ERROR, "RELOAD needs a PATH"));
        CHECK(reload("a/b", "/x.ko", &unloaded, &u, &f));
        CHECK(!unloaded);
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EINVAL);
}

/* Unload half: a module that is not loaded (fine: the load goes on); load
 * half: a file that is no module. Nothing reaches finit_module(). */
static void reload_not_loaded_then_load_fails(void)
{
        static const char missing[] = "/nonexistent-kmod-watch-test/kw-no-such-file.ko";
        static struct kw_msg u;
        struct kw_frame f, uf;
        bool unloaded;

        CHECK(reload("kw_no_such_module_xyz", missing, &unloaded, &u, &f));
        uint64_t uerr = field_u64(&f, KW_F_UNLOAD_ERRNO);
        CHECK(field_u64(&f, KW_F_UNLOAD_USEC) != UINT64_MAX);
        if (uerr != ENOENT) {
                /* no CAP_SYS_MODULE here (EPERM) or no module support (ENOSYS): the unload
                 * failed, so the load was not tried and the RESULT is the unload's */
                printf("# this kernel cannot unload modules here: %s\n", strerror((int)uerr));
                CHECK(uerr == EPERM || uerr == ENOSYS);
                CHECK(!unloaded);
                CHECK_EQ(field_u64(&f, KW_F_ERRNO), uerr);
                CHECK(field_eq(&f, KW_F_MODULE, "kw_no_such_module_xyz"));
                return;
        }
        CHECK(unloaded);
        kw_msg_view(&u, &uf);
        CHECK(field_eq(&uf, KW_F_MODULE, "kw_no_such_module_xyz"));
        CHECK_EQ(field_u64(&uf, KW_F_ERRNO), ENOENT);
        CHECK(field_u64(&uf, KW_F_USEC) != UINT64_MAX);
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENOENT); /* the load's: the file is not there */
        CHECK(field_has(&f, KW_F_ERROR, missing));

        char path[] = "/tmp/kw-test-reload-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        if (fd < 0)
                return;
        CHECK(write(fd, "not ELF\n", 8) == 8);
        close(fd);
        CHECK(reload("kw_no_such_module_xyz", path, &unloaded, &u, &f));
        unlink(path);
        CHECK(unloaded);
        CHECK_EQ(field_u64(&f, KW_F_UNLOAD_ERRNO), ENOENT);
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENOEXEC);
        CHECK(field_has(&f, KW_F_ERROR, "not a valid module"));

        /* the agent is free again: a plain UNLOAD is answered as ever, without the RELOAD's fields */
        CHECK(request(KW_UNLOAD, KW_F_MODULE, "kw_no_such_module_xyz", &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), ENOENT);
        CHECK_EQ(field_u64(&f, KW_F_UNLOAD_ERRNO), UINT64_MAX);
}

/* Runs cmd; collects stdout/stderr; returns the STATUS (or -1). */
static long run_cmd(const char *cmd, char *out, size_t out_size, char *err, size_t err_size, size_t *ret_out_len)
{
        static struct kw_msg m;
        struct kw_frame f;
        uint32_t id = next_id++;
        uint64_t deadline = now_ms() + TIMEOUT_MS;
        size_t olen = 0, elen = 0;

        kw_msg_init(&m, KW_RUN, id);
        kw_msg_put_str(&m, KW_F_CMD, cmd);
        send_msg(&m);
        while (next_frame(&f, deadline)) {
                const uint8_t *text;
                size_t n;

                if (f.id != id)
                        continue;
                if (f.type == KW_RESULT) {
                        if (out_size)
                                out[olen < out_size ? olen : out_size - 1] = '\0';
                        if (err_size)
                                err[elen < err_size ? elen : err_size - 1] = '\0';
                        if (ret_out_len)
                                *ret_out_len = olen;
                        if (field_u64(&f, KW_F_ERRNO) != 0)
                                return -1;
                        return (long)field_u64(&f, KW_F_STATUS);
                }
                if (f.type != KW_OUTPUT || kw_frame_bytes(&f, KW_F_TEXT, &text, &n) < 0)
                        continue;
                if (field_u64(&f, KW_F_STREAM) == 1) {
                        if (olen + n < out_size)
                                memcpy(out + olen, text, n);
                        olen += n;
                } else {
                        if (elen + n < err_size)
                                memcpy(err + elen, text, n);
                        elen += n;
                }
        }
        printf("# RUN %s: no RESULT\n", cmd);
        return -1;
}

static void run_exit_status(void)
{
        char out[256], err[256];

        CHECK_EQ(run_cmd("echo hi; echo oops >&2; exit 3", out, sizeof(out), err, sizeof(err), NULL), 3);
        CHECK(strcmp(out, "hi\n") == 0);
        CHECK(strcmp(err, "oops\n") == 0);
        CHECK_EQ(run_cmd("kill -9 $$", out, sizeof(out), err, sizeof(err), NULL), 128 + 9);
        CHECK_EQ(run_cmd("true", out, sizeof(out), err, sizeof(err), NULL), 0);
        CHECK(out[0] == '\0');
}

static void run_big_output(void)
{
        static char out[400000];
        size_t len = 0;
        bool all_x = true;

        CHECK_EQ(run_cmd("head -c 300000 /dev/zero | tr '\\000' x", out, sizeof(out), NULL, 0, &len), 0);
        CHECK_EQ(len, 300000);
        for (size_t i = 0; i < len && i < sizeof(out); i++)
                all_x &= out[i] == 'x';
        CHECK(all_x);
}

static void run_background_child(void)
{
        char out[256];
        uint64_t t0 = now_ms();

        /* The sleep keeps the output pipe open; the RESULT must not wait. */
        CHECK_EQ(run_cmd("sleep 3 & echo bg", out, sizeof(out), NULL, 0, NULL), 0);
        CHECK(now_ms() - t0 < 2500);
        CHECK(strcmp(out, "bg\n") == 0);
}

/* ---- PTY_OPEN: shells on ptys (kmod-watch shell) ---- */

static uint32_t pty_open(uint64_t rows, uint64_t cols, struct kw_frame *f)
{
        static struct kw_msg m;
        uint32_t id = next_id++;

        kw_msg_init(&m, KW_PTY_OPEN, id);
        kw_msg_put_u64(&m, KW_F_ROWS, rows);
        kw_msg_put_u64(&m, KW_F_COLS, cols);
        kw_msg_put_str(&m, KW_F_TERM, "dumb");
        send_msg(&m);
        return expect(KW_RESULT, id, f) ? id : 0;
}

static void pty_send(enum kw_type type, uint32_t id, const char *text, uint64_t ack)
{
        static struct kw_msg m;

        kw_msg_init(&m, type, id);
        if (text)
                kw_msg_put_str(&m, KW_F_TEXT, text);
        if (ack)
                kw_msg_put_u64(&m, KW_F_ACK, ack);
        send_msg(&m);
}

/* Collects pty id's output (ACKing it when ack) until needle shows, PTY_CLOSE
 * comes (its STATUS in *ret_status) or ms pass. Returns the bytes seen. */
static size_t pty_read(uint32_t id, const char *needle, bool ack, unsigned ms, uint64_t *ret_status)
{
        static char seen[1 << 16];
        uint64_t deadline = now_ms() + ms;
        size_t total = 0, kept = 0;
        struct kw_frame f;

        seen[0] = 0;
        while (next_frame(&f, deadline)) {
                const uint8_t *p;
                size_t n;

                if (f.id != id)
                        continue;
                if (f.type == KW_PTY_CLOSE) {
                        *ret_status = field_u64(&f, KW_F_STATUS);
                        break;
                }
                if (f.type != KW_PTY_DATA || kw_frame_bytes(&f, KW_F_TEXT, &p, &n) < 0)
                        continue;
                total += n;
                if (kept + n < sizeof(seen)) {
                        memcpy(seen + kept, p, n);
                        seen[kept += n] = 0;
                }
                if (ack)
                        pty_send(KW_PTY_DATA, id, NULL, n);
                if (needle && strstr(seen, needle))
                        break;
        }
        return total;
}

static void pty_shell(void)
{
        struct kw_frame f;
        uint64_t status = UINT64_MAX;
        uint32_t id = pty_open(31, 97, &f);

        CHECK(id && field_u64(&f, KW_F_ERRNO) == 0);
        pty_send(KW_PTY_DATA, id, "stty size; echo X$((6*7))X\n", 0);
        CHECK(pty_read(id, "X42X", true, TIMEOUT_MS, &status) > 0);
        static struct kw_msg m;
        kw_msg_init(&m, KW_PTY_RESIZE, id);
        kw_msg_put_u64(&m, KW_F_ROWS, 12);
        kw_msg_put_u64(&m, KW_F_COLS, 34);
        send_msg(&m);
        pty_send(KW_PTY_DATA, id, "stty size; echo Y$((6*7))Y\n", 0);
        CHECK(pty_read(id, "12 34", true, TIMEOUT_MS, &status) > 0);
        pty_send(KW_PTY_DATA, id, "sleep 100; echo slept=$?\n", 0);
        pty_send(KW_PTY_DATA, id, "\003", 0); /* Ctrl-C: SIGINT to the foreground job */
        CHECK(pty_read(id, "slept=130", true, TIMEOUT_MS, &status) > 0);
        pty_send(KW_PTY_DATA, id, "exit 3\n", 0);
        pty_read(id, NULL, true, TIMEOUT_MS, &status);
        CHECK_EQ(status, 3);
}

/* Without ACKs the agent stops at KW_PTY_WINDOW bytes; ACKs let the rest come. */
static void pty_window(void)
{
        struct kw_frame f;
        uint64_t status = UINT64_MAX;
        uint32_t id = pty_open(24, 80, &f);

        CHECK(id && field_u64(&f, KW_F_ERRNO) == 0);
        pty_send(KW_PTY_DATA, id, "stty -echo; yes 0123456789abcdef | head -c 300000; echo; echo DONE; exit\n", 0);
        size_t held = pty_read(id, NULL, false, 1500, &status);
        printf("# without ACKs: %zu bytes\n", held);
        CHECK(held >= KW_PTY_WINDOW / 2 && held <= KW_PTY_WINDOW);
        CHECK_EQ(status, UINT64_MAX);
        pty_send(KW_PTY_DATA, id, NULL, held);
        size_t rest = pty_read(id, NULL, true, TIMEOUT_MS, &status);
        printf("# with ACKs: %zu more\n", rest);
        CHECK(held + rest >= 300000);
        CHECK_EQ(status, 0);
}

/* PTY_MAX shells, then EBUSY; PTY_CLOSE from the host hangs one up (nothing
 * more comes from it) and frees its place. */
static void pty_limit_and_hangup(void)
{
        struct kw_frame f;
        uint32_t ids[4];
        uint64_t status = UINT64_MAX;

        for (int i = 0; i < 4; i++) {
                ids[i] = pty_open(24, 80, &f);
                CHECK(ids[i] && field_u64(&f, KW_F_ERRNO) == 0);
        }
        CHECK(pty_open(24, 80, &f) && field_u64(&f, KW_F_ERRNO) == EBUSY);
        CHECK(field_has(&f, KW_F_ERROR, "shells are open"));
        for (int i = 0; i < 4; i++)
                pty_send(KW_PTY_CLOSE, ids[i], NULL, 0);
        CHECK(pty_read(ids[0], "never", true, 1000, &status) == 0 || status == UINT64_MAX);
        CHECK_EQ(status, UINT64_MAX);
        uint32_t id = pty_open(24, 80, &f);
        CHECK(id && field_u64(&f, KW_F_ERRNO) == 0);
        pty_send(KW_PTY_DATA, id, "exit 0\n", 0);
        pty_read(id, NULL, true, TIMEOUT_MS, &status);
        CHECK_EQ(status, 0);
}

static void run_busy(void)
{
        static struct kw_msg m;
        struct kw_frame f;
        uint32_t first = next_id++, second = next_id++;

        kw_msg_init(&m, KW_RUN, first);
        kw_msg_put_str(&m, KW_F_CMD, "sleep 0.3");
        send_msg(&m);
        kw_msg_init(&m, KW_RUN, second);
        kw_msg_put_str(&m, KW_F_CMD, "true");
        send_msg(&m);
        CHECK(expect(KW_RESULT, second, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), EBUSY);
        CHECK(expect(KW_RESULT, first, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), 0);
        CHECK_EQ(field_u64(&f, KW_F_STATUS), 0);
        /* Requests are answered while a command runs. */
        kw_msg_init(&m, KW_RUN, first = next_id++);
        kw_msg_put_str(&m, KW_F_CMD, "sleep 0.5");
        send_msg(&m);
        CHECK(sync_ok(31337));
        CHECK(expect(KW_RESULT, first, &f));
}

static void modules_list(void)
{
        struct kw_frame f;
        FILE *pm = fopen("/proc/modules", "re");
        int lines = 0, fields = 0;
        char line[1024];
        size_t pos = 0, n;
        const uint8_t *v;
        uint8_t key;

        CHECK(request(KW_MODULES, 0, NULL, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), pm ? 0 : ENOENT);
        while (kw_frame_next_field(&f, &pos, &key, &v, &n) > 0)
                fields += key == KW_F_MODULE;
        while (pm && fgets(line, sizeof(line), pm))
                lines++;
        if (pm)
                fclose(pm);
        /* The list can change between the two reads; near enough. */
        CHECK(fields >= lines - 2 && fields <= lines + 2);
}

/* STATS without flags (no cache is flushed on this machine): the counts as they are. */
static void stats_counts(void)
{
        struct kw_frame f;
        size_t pos = 0, n;
        const uint8_t *v;
        uint8_t key;
        int slab = 0, entries = 0;
        bool memtotal = false, proc_meminfo = false;

        CHECK(request(KW_STATS, 0, NULL, &f));
        if (access("/proc/slabinfo", R_OK) < 0) { /* not root */
                CHECK_EQ(field_u64(&f, KW_F_ERRNO), EACCES);
                return;
        }
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), 0);
        CHECK(kw_frame_validate(&f) == 0);
        while (kw_frame_next_field(&f, &pos, &key, &v, &n) > 0) {
                slab += key == KW_F_SLAB;
                entries += key == KW_F_ENTRY;
                memtotal |= key == KW_F_MEMINFO && n > 9 && memcmp(v, "MemTotal ", 9) == 0;
                proc_meminfo |= key == KW_F_ENTRY && n == 13 && memcmp(v, "/proc/meminfo", 13) == 0;
        }
        CHECK(slab > 10);
        CHECK(entries > 10);
        CHECK(memtotal);
        CHECK(proc_meminfo);
        uint64_t k = 99;
        CHECK(kw_frame_u64(&f, KW_F_KMEMLEAK, &k) == 0 && k <= 1);
}

static void kmsg_stream(void)
{
        char marker[128];
        struct kw_frame f;
        uint64_t deadline;
        int fd;
        bool seen = false;

        CHECK(request(KW_KMSG_START, 0, NULL, &f));
        if (field_u64(&f, KW_F_ERRNO) != 0) {
                printf("# /dev/kmsg not readable here; stream not checked\n");
                return;
        }
        /* Starting again keeps the stream. */
        CHECK(request(KW_KMSG_START, 0, NULL, &f));
        CHECK_EQ(field_u64(&f, KW_F_ERRNO), 0);
        fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
                printf("# /dev/kmsg not writable here; stream not checked\n");
                return;
        }
        snprintf(marker, sizeof(marker), "kmod-watch test-agent-stdio marker %d", (int)getpid());
        {
                char rec[160];
                int len = snprintf(rec, sizeof(rec), "<6>%s\n", marker);

                CHECK(write(fd, rec, (size_t)len) == len);
        }
        close(fd);
        deadline = now_ms() + TIMEOUT_MS;
        while (!seen && next_frame(&f, deadline)) {
                const uint8_t *text;
                size_t n;

                if (f.type != KW_KMSG || kw_frame_bytes(&f, KW_F_TEXT, &text, &n) < 0)
                        continue;
                if (n == strlen(marker) && memcmp(text, marker, n) == 0) {
                        seen = true;
                        CHECK_EQ(field_u64(&f, KW_F_LEVEL), 6);
                        CHECK(field_u64(&f, KW_F_SEQ) != UINT64_MAX);
                        CHECK(field_u64(&f, KW_F_TS) != UINT64_MAX);
                }
        }
        CHECK(seen);
}

/* LOG_SYNC: every record logged before it comes before its RESULT. */
static void log_sync_barrier(void)
{
        static struct kw_msg m;
        char marker[128], rec[200];
        struct kw_frame f;
        uint64_t deadline, last_seq = 0;
        int fd, seen = 0;
        bool answered = false;
        uint32_t id;

        fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
                printf("# /dev/kmsg not writable here; barrier not checked\n");
                return;
        }
        snprintf(marker, sizeof(marker), "kmod-watch log-sync marker %d", (int)getpid());
        for (int i = 0; i < 8; i++) { /* /dev/kmsg takes a burst of 10 from user space */
                int len = snprintf(rec, sizeof(rec), "<6>%s %d\n", marker, i);
                CHECK(write(fd, rec, (size_t)len) == len);
        }
        close(fd);
        id = next_id++;
        kw_msg_init(&m, KW_LOG_SYNC, id);
        send_msg(&m);
        deadline = now_ms() + TIMEOUT_MS;
        while (!answered && next_frame(&f, deadline)) {
                const uint8_t *text;
                size_t n;

                if (f.type == KW_RESULT && f.id == id) {
                        answered = true;
                        CHECK_EQ(field_u64(&f, KW_F_ERRNO), 0);
                        CHECK(field_u64(&f, KW_F_SEQ) >= last_seq);
                        continue;
                }
                if (f.type != KW_KMSG || kw_frame_bytes(&f, KW_F_TEXT, &text, &n) < 0)
                        continue;
                if (n > strlen(marker) && memcmp(text, marker, strlen(marker)) == 0) {
                        seen++;
                        last_seq = field_u64(&f, KW_F_SEQ);
                }
        }
        CHECK(answered);
        CHECK_EQ(seen, 8); /* all of them, before the answer */
}

static void max_size_frame(void)
{
        static struct kw_msg m;
        static uint8_t big[KW_MAX_PAYLOAD - 3];
        struct kw_frame f;
        uint32_t id = next_id++;

        /* The largest legal frame: a SYNC with a huge field it ignores. */
        memset(big, 'z', sizeof(big));
        kw_msg_init(&m, KW_SYNC, id);
        kw_msg_put_bytes(&m, KW_F_TEXT, big, sizeof(big) - 11);
        kw_msg_put_u64(&m, KW_F_NONCE, 99);
        CHECK(!m.overflow);
        CHECK_EQ(m.len, KW_MAX_FRAME);
        send_msg(&m);
        CHECK(expect(KW_HELLO, id, &f));
        CHECK_EQ(field_u64(&f, KW_F_NONCE), 99);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t xorshift(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static void random_bytes_survived(void)
{
        static uint8_t junk[8192];

        for (size_t i = 0; i < sizeof(junk); i++)
                junk[i] = (uint8_t)xorshift();
        /* Sprinkle frame starts so the decoder's header checks are exercised. */
        for (size_t i = 0; i + 3 < sizeof(junk); i += 97) {
                junk[i] = 'K';
                junk[i + 1] = 'W';
                junk[i + 2] = KW_PROTO_VERSION;
        }
        send_raw(junk, sizeof(junk));
        CHECK(sync_ok(0xabad1dea));
        CHECK(agent_alive());
}

/* Well-formed frames with random fields, of types that cannot touch the host
 * (no LOAD, UNLOAD, MOUNT or RUN). */
static void random_frames_survived(void)
{
        static const uint8_t safe[] = { 0, KW_HELLO, KW_SYNC, KW_RESULT, KW_KMSG, KW_KMSG_GAP,
                                        KW_KMSG_START, KW_PROTO_ERROR, KW_OUTPUT, KW_MODULES, KW_UNLOADED, KW_TYPE_MAX, 200, 255 };
        static struct kw_msg m;
        uint8_t val[64];

        for (int i = 0; i < 300; i++) {
                int fields = (int)(xorshift() % 6);

                kw_msg_init(&m, (enum kw_type)safe[xorshift() % sizeof(safe)], (uint32_t)xorshift());
                for (int k = 0; k < fields; k++) {
                        size_t n = xorshift() % sizeof(val);

                        for (size_t j = 0; j < n; j++)
                                val[j] = (uint8_t)xorshift();
                        kw_msg_put_bytes(&m, (enum kw_field)(xorshift() % 30), val, xorshift() % 4 ? n : 8);
                }
                send_msg(&m);
        }
        CHECK(sync_ok(0x5eed));
        CHECK(agent_alive());
}

static void eof_exits_zero(void)
{
        struct kw_frame f;
        uint64_t deadline = now_ms() + TIMEOUT_MS;
        int status = -1;
        pid_t r;

        close(to_agent);
        to_agent = -1;
        while (next_frame(&f, deadline))
                ;
        while ((r = waitpid(agent_pid, &status, WNOHANG)) == 0 && now_ms() < deadline) {
                struct timespec ts = { 0, 10 * 1000 * 1000 };

                nanosleep(&ts, NULL);
        }
        CHECK_EQ(r, agent_pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (r == 0) {
                kill(agent_pid, SIGKILL);
                waitpid(agent_pid, &status, 0);
        }
}

int main(int argc, char **argv)
{
        struct stat st;

        if (argc < 2 || stat(argv[1], &st) < 0) {
                printf("1..0 # SKIP usage: test-agent-stdio PATH-TO-kmod-agent\n");
                return 0;
        }
        agent_path = argv[1];
        signal(SIGPIPE, SIG_IGN);
        setvbuf(stdout, NULL, _IOLBF, 0);
        start_agent();

        RUN(greeting_on_start);
        RUN(sync_answers_hello);
        RUN(garbage_then_resync);
        RUN(truncated_frame_then_resync);
        RUN(oversized_header_skipped);
        RUN(malformed_fields);
        RUN(unknown_types);
        RUN(missing_fields);
        RUN(load_missing_file);
        RUN(load_not_elf);
        RUN(stats_counts);
        RUN(load_path_too_long);
        RUN(unload_not_loaded);
        RUN(reload_missing_fields);
        RUN(reload_not_loaded_then_load_fails);
        RUN(run_exit_status);
        RUN(run_big_output);
        RUN(run_background_child);
        RUN(run_busy);
        RUN(pty_shell);
        RUN(pty_window);
        RUN(pty_limit_and_hangup);
        RUN(modules_list);
        RUN(max_size_frame);
        RUN(kmsg_stream);
        RUN(log_sync_barrier);
        RUN(random_bytes_survived);
        RUN(random_frames_survived);
        RUN(eof_exits_zero);
        TEST_DONE();
}
