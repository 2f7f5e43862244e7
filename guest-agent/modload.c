/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * modload.c — LOAD and UNLOAD requests (see modload.h).
 *
 * The module's name comes from its .modinfo (hello-A.ko may hold module
 * "hello"), read with kw_modinfo_read_file(). For an unknown-symbol failure
 * the kernel names the symbols only in its log, so a second /dev/kmsg reader
 * is positioned at the tail before finit_module() and read afterwards.
 * finit_module() itself runs in a forked child whose exit code is the errno.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "deps.h"
#include "kmsg.h"
#include "modload.h"
#include "util.h"

#define MAX_SYMBOLS 32
#define UNLOAD_BUDGET_USEC 1000000
#define UNLOAD_FIRST_DELAY_MS 10

/* What the kernel logged while the load failed. */
struct load_log {
        char symbols[MAX_SYMBOLS][128];
        int n_symbols;
        char reason[256]; /* last line that looks like the cause, or "" */
};

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
        size_t n = strlen(prefix);

        return len >= n && memcmp(s, prefix, n) == 0;
}

static bool contains(const char *s, size_t len, const char *needle)
{
        return memmem(s, len, needle, strlen(needle)) != NULL;
}

/* "NAME: Unknown symbol SYM (err -2)" — kernel/module/main.c. */
static void take_unknown_symbol(struct load_log *log, const char *text, size_t len)
{
        static const char tag[] = ": Unknown symbol ";
        const char *p = memmem(text, len, tag, sizeof(tag) - 1);
        const char *end = text + len;
        size_t n = 0;

        if (!p)
                return;
        p += sizeof(tag) - 1;
        while (p + n < end && p[n] != ' ' && n < sizeof(log->symbols[0]) - 1)
                n++;
        if (n == 0 || log->n_symbols == MAX_SYMBOLS)
                return;
        for (int i = 0; i < log->n_symbols; i++)
                if (strlen(log->symbols[i]) == n && memcmp(log->symbols[i], p, n) == 0)
                        return;
        memcpy(log->symbols[log->n_symbols], p, n);
        log->symbols[log->n_symbols][n] = '\0';
        log->n_symbols++;
}

static void read_load_log(int fd, const char *name, struct load_log *log)
{
        static char buf[16384];
        char prefix[KW_MODULE_NAME_LEN + 3];

        memset(log, 0, sizeof(*log));
        if (fd < 0)
                return;
        snprintf(prefix, sizeof(prefix), "%s: ", name);
        for (int i = 0; i < 1024; i++) {
                struct kw_kmsg_rec rec;
                ssize_t n = read(fd, buf, sizeof(buf));

                if (n < 0 && (errno == EINTR || errno == EPIPE))
                        continue;
                if (n <= 0)
                        break;
                if (kw_kmsg_parse(buf, (size_t)n, &rec) < 0)
                        continue;
                if (contains(rec.text, rec.text_len, ": Unknown symbol ")) {
                        take_unknown_symbol(log, rec.text, rec.text_len);
                        continue;
                }
                /* Taint notices come with every out-of-tree load: not a cause. */
                if (contains(rec.text, rec.text_len, "taint"))
                        continue;
                if ((name[0] && has_prefix(rec.text, rec.text_len, prefix)) ||
                    has_prefix(rec.text, rec.text_len, "module") || contains(rec.text, rec.text_len, "ELF")) {
                        size_t l = rec.text_len < sizeof(log->reason) - 1 ? rec.text_len : sizeof(log->reason) - 1;

                        memcpy(log->reason, rec.text, l);
                        log->reason[l] = '\0';
                }
        }
}

/* The words for a finit_module() errno. The module's own init function can
 * return any errno too, and the kernel logs nothing then, so codes that are
 * not the loader's own are reported as the init's. An unknown symbol is
 * explained with the module that provides it (depends: the module's own). */
static void load_words(int err, const char *name, const struct load_log *log, const char *depends, char *words,
                       size_t size)
{
        const char *code = strerrorname_np(err);
        size_t off;

        if (!code)
                code = "?";
        if ((err == ENOENT || err == EINVAL) && log->n_symbols > 0) {
                off = (size_t)snprintf(words, size, "unknown symbol");
                for (int i = 0; i < log->n_symbols && off < size; i++) {
                        char why[384];

                        deps_explain_symbol(log->symbols[i], depends, why, sizeof(why));
                        off += (size_t)snprintf(words + off, size - off, "%s%s", i == 0 ? ": " : "; ", why);
                }
                return;
        }
        switch (err) {
        case ENOENT:
                snprintf(words, size, "the module's init returned -ENOENT (%s)", strerror(err));
                break;
        case ENOEXEC:
                snprintf(words, size, "not a valid module for this kernel (bad ELF or wrong architecture)");
                break;
        case EEXIST:
                snprintf(words, size, "module %s is already loaded", name);
                break;
        case EINVAL:
                snprintf(words, size,
                         "invalid module parameters or module format, or its init returned -EINVAL (see kernel log)");
                break;
        case EKEYREJECTED:
                snprintf(words, size, "signature rejected (module signing enforced)");
                break;
        case EPERM:
                snprintf(words, size, "not permitted (CAP_SYS_MODULE, or module loading disabled)");
                break;
        case EBUSY:
                snprintf(words, size, "module %s is still loading or unloading", name);
                break;
        case ENOSYS:
                snprintf(words, size, "this kernel cannot load modules (CONFIG_MODULES off)");
                break;
        case ENOMEM:
                snprintf(words, size, "out of memory (in the guest, or in the module's init)");
                break;
        default:
                snprintf(words, size, "the module's init returned -%s (%s)", code, strerror(err));
                break;
        }
}

static void load_error(struct kw_msg *reply, int err, const char *name, const struct load_log *log,
                       const struct modop *op)
{
        const char *depends = op->depends;
        char words[1536], tree[900] = "";

        load_words(err, name, log, depends, words, sizeof(words));
        if (op->deps.no_tree)
                snprintf(tree, sizeof(tree), "; it needs in-kernel modules (%s), but this guest has no %s/modules.dep "
                         "to load them from", depends, op->deps.tree);
        if (log->reason[0] && !log->n_symbols && err != EEXIST)
                result_error(reply, err, "%s; kernel: %s%s", words, log->reason, tree);
        else
                result_error(reply, err, "%s%s", words, tree);
        for (int i = 0; i < log->n_symbols; i++)
                kw_msg_put_str(reply, KW_F_SYMBOL, log->symbols[i]);
}

/* An in-kernel dependency failed: the module itself was not tried. */
static void dep_error(struct kw_msg *reply, int err, const struct modop *op, const char *dep,
                      const struct load_log *log)
{
        char words[1536];

        load_words(err, dep, log, "", words, sizeof(words));
        result_error(reply, err, "cannot load %s's in-kernel dependency %s from %s: %s%s%s", op->name, dep,
                     op->deps.tree, words, log->reason[0] ? "; kernel: " : "", log->reason);
}

int modop_init(struct modop *op)
{
        memset(op, 0, sizeof(*op));
        op->log_fd = -1;
        op->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        return op->timer_fd < 0 ? -errno : 0;
}

bool modop_busy(const struct modop *op)
{
        return op->kind != MODOP_NONE;
}

/* The child: its exit code carries finit_module()'s errno (all < 256). */
static _Noreturn void load_child(int fd, const char *params, const struct deps_plan *deps)
{
        long r = deps_load(deps);

        if (r != 0)
                _exit(r < 256 ? (int)r : 255);
        r = syscall(SYS_finit_module, fd, params, 0);

        _exit(r == 0 ? 0 : errno > 0 && errno < 256 ? errno : 255);
}

/* PATH and PARAMS of a LOAD or RELOAD into op. false: reply says what is wrong. */
static bool parse_load(struct modop *op, const struct kw_frame *req, struct kw_msg *reply)
{
        int r = frame_string(req, KW_F_PATH, op->path, sizeof(op->path));

        if (r < 0) {
                result_error(reply, r == -ENAMETOOLONG ? ENAMETOOLONG : EBADMSG, "%s needs a PATH (%s)",
                             kw_type_name(req->type), r == -ENOENT ? "missing" : strerror(-r));
                return false;
        }
        r = frame_string(req, KW_F_PARAMS, op->params, sizeof(op->params));
        if (r == -ENOENT) {
                op->params[0] = '\0';
        } else if (r < 0) {
                result_error(reply, r == -ENAMETOOLONG ? E2BIG : EBADMSG, "bad PARAMS: %s", strerror(-r));
                return false;
        }
        return true;
}

bool modop_load(struct modop *op, const struct kw_frame *req, struct kw_msg *reply)
{
        op->reload = false;
        if (!parse_load(op, req, reply))
                return true;
        op->id = req->id;
        return modop_load_start(op, reply);
}

bool modop_load_start(struct modop *op, struct kw_msg *reply)
{
        struct kw_modinfo info;
        int r, fd;
        pid_t pid;

        fd = open(op->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                r = errno;
                result_error(reply, r, "cannot open %s: %s", op->path, strerror(r));
                return true;
        }
        /* A file our reader cannot name is no module the kernel would take
         * either; not asking it keeps stray files away from the loader. */
        r = kw_modinfo_read_file(op->path, &info);
        if (r < 0) {
                close(fd);
                if (r == -ENOEXEC || r == -ENOENT)
                        result_error(reply, ENOEXEC, "%s: not a valid module for this kernel (%s)", op->path,
                                     r == -ENOEXEC ? "not an ELF relocatable object" : "no module name in it");
                else
                        result_error(reply, -r, "cannot read %s: %s", op->path, strerror(-r));
                return true;
        }
        snprintf(op->name, sizeof(op->name), "%s", info.name);
        snprintf(op->depends, sizeof(op->depends), "%s", info.depends);
        deps_plan(info.depends, &op->deps);

        op->log_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (op->log_fd >= 0)
                (void)lseek(op->log_fd, 0, SEEK_END);

        op->start_usec = now_usec();
        pid = fork();
        if (pid == 0)
                load_child(fd, op->params, &op->deps);
        r = errno;
        close(fd);
        if (pid < 0) {
                if (op->log_fd >= 0)
                        close(op->log_fd);
                op->log_fd = -1;
                kw_msg_put_str(reply, KW_F_MODULE, op->name);
                result_error(reply, r, "cannot start loading %s: %s", op->name, strerror(r));
                return true;
        }
        op->kind = MODOP_LOAD;
        op->pid = pid;
        return false;
}

/* Where the module's sections are (SECTIONS), in the words of gdb's
 * add-symbol-file: the .text address (when the module has one), then "-s NAME
 * ADDR" for the others gdb needs (a module of init and exit code only has no
 * .text). */
static void put_sections(struct kw_msg *reply, const char *name)
{
        static const char *const more[] = { ".init.text", ".exit.text", ".data", ".bss", ".rodata" };
        char path[160], addr[32], text[512];
        size_t off = 0;

        text[0] = 0;
        snprintf(path, sizeof(path), "/sys/module/%s/sections/.text", name);
        if (read_text_file(path, addr, sizeof(addr)) > 0)
                off = (size_t)snprintf(text, sizeof(text), "%s", addr);
        for (size_t i = 0; i < sizeof(more) / sizeof(more[0]) && off < sizeof(text); i++) {
                snprintf(path, sizeof(path), "/sys/module/%s/sections/%s", name, more[i]);
                if (read_text_file(path, addr, sizeof(addr)) > 0)
                        off += (size_t)snprintf(text + off, sizeof(text) - off, "%s-s %s %s", off ? " " : "",
                                                more[i], addr);
        }
        if (text[0])
                kw_msg_put_str(reply, KW_F_SECTIONS, text);
}

void modop_load_done(struct modop *op, int status, struct kw_msg *reply)
{
        uint64_t usec = now_usec() - op->start_usec;
        struct load_log log;
        char loaded[1024];
        const char *failed = deps_loaded(&op->deps, loaded, sizeof(loaded));
        int r;

        kw_msg_put_str(reply, KW_F_MODULE, op->name);
        kw_msg_put_u64(reply, KW_F_USEC, usec);
        if (loaded[0]) {
                kw_msg_put_str(reply, KW_F_DEPS, loaded);
                log_msg("loaded in-kernel dependencies of %s: %s", op->name, loaded);
        }
        if (WIFSIGNALED(status)) {
                result_error(reply, EINTR, "loading %s: the loading process was killed by signal %d", op->name,
                             WTERMSIG(status));
        } else if ((r = WEXITSTATUS(status)) != 0 && failed) {
                read_load_log(op->log_fd, failed, &log);
                dep_error(reply, r, op, failed, &log);
                log_msg("loading %s's dependency %s failed: %s", op->name, failed, strerror(r));
        } else if (r != 0) {
                read_load_log(op->log_fd, op->name, &log);
                load_error(reply, r, op->name, &log, op);
                log_msg("loading %s failed: %s", op->path, strerror(r));
        } else {
                put_sections(reply, op->name);
        } /* a good load is said by the RESULT only, as a good unload: no console line */
        if (op->log_fd >= 0)
                close(op->log_fd);
        op->log_fd = -1;
        op->pid = 0;
        op->kind = MODOP_NONE;
}

/* "refcount N, holders: a, b" from /sys/module/NAME. */
static void describe_users(const char *name, char *buf, size_t size)
{
        char path[128], refcnt[32];
        size_t off;
        DIR *d;
        struct dirent *e;
        int n = 0;

        snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
        if (read_text_file(path, refcnt, sizeof(refcnt)) < 0)
                snprintf(refcnt, sizeof(refcnt), "?");
        off = (size_t)snprintf(buf, size, "refcount %s", refcnt);
        snprintf(path, sizeof(path), "/sys/module/%s/holders", name);
        d = opendir(path);
        if (!d)
                return;
        while ((e = readdir(d)) && off < size) {
                if (e->d_name[0] == '.')
                        continue;
                off += (size_t)snprintf(buf + off, size - off, "%s%s", n++ ? ", " : ", holders: ", e->d_name);
        }
        closedir(d);
}

static void module_state(const char *name, char *buf, size_t size)
{
        char path[128];

        snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
        if (read_text_file(path, buf, size) < 0)
                snprintf(buf, size, "?");
}

/* One delete_module() attempt. true when the reply is complete. */
static bool unload_attempt(struct modop *op, struct kw_msg *reply)
{
        int flags = O_NONBLOCK | ((op->flags & KW_UNLOAD_FORCE) ? O_TRUNC : 0);
        char state[32], users[512];
        int r;

        r = (int)syscall(SYS_delete_module, op->name, flags);
        r = r < 0 ? errno : 0;
        if (r == EBUSY) {
                uint64_t spent = now_usec() - op->start_usec;

                /* EBUSY is also what a live module without an exit function
                 * gives: no point waiting for that one. */
                module_state(op->name, state, sizeof(state));
                if (strcmp(state, "live") != 0 && spent < UNLOAD_BUDGET_USEC) {
                        uint64_t ms = (UNLOAD_BUDGET_USEC - spent) / 1000 + 1;
                        struct itimerspec its = { 0 };

                        if (ms > op->delay_ms)
                                ms = op->delay_ms;
                        its.it_value.tv_nsec = (long)(ms > 999 ? 999 : ms) * 1000000L;
                        (void)timerfd_settime(op->timer_fd, 0, &its, NULL);
                        op->delay_ms *= 2;
                        op->kind = MODOP_UNLOAD;
                        return false;
                }
        }
        op->kind = MODOP_NONE;
        op->unload_err = r;
        op->unload_usec = now_usec() - op->start_usec;
        kw_msg_put_str(reply, KW_F_MODULE, op->name);
        kw_msg_put_u64(reply, KW_F_USEC, op->unload_usec);
        switch (r) {
        case 0: /* said by the RESULT only: a console line costs a TCG guest ms of UART exits */
                return true;
        case ENOENT:
                result_error(reply, r, "module %s is not loaded", op->name);
                return true;
        case EWOULDBLOCK:
                describe_users(op->name, users, sizeof(users));
                result_error(reply, r, "module %s is in use (%s)", op->name, users);
                break;
        case EBUSY:
                module_state(op->name, state, sizeof(state));
                if (strcmp(state, "live") == 0)
                        result_error(reply, r, "module %s has no exit function and cannot be unloaded",
                                     op->name);
                else
                        result_error(reply, r, "module %s is still loading or unloading (state %s)", op->name,
                                     state);
                break;
        case EPERM:
                result_error(reply, r, "not permitted (CAP_SYS_MODULE, or module unloading disabled)");
                break;
        default:
                result_error(reply, r, "cannot unload %s: %s", op->name, strerror(r));
                break;
        }
        log_msg("unloading %s failed: %s", op->name, strerror(r));
        return true;
}

/* MODULE and FLAGS of an UNLOAD or RELOAD into op. false: reply says what is wrong. */
static bool parse_unload(struct modop *op, const struct kw_frame *req, struct kw_msg *reply)
{
        uint64_t flags = 0;
        int r;

        r = frame_string(req, KW_F_MODULE, op->name, sizeof(op->name));
        if (r == 0 && (op->name[0] == '\0' || strchr(op->name, '/')))
                r = -EINVAL;
        if (r < 0) {
                result_error(reply, r == -ENOENT ? EBADMSG : -r, "%s needs a MODULE name (%s)",
                             kw_type_name(req->type), r == -ENOENT ? "missing" : strerror(-r));
                return false;
        }
        r = kw_frame_u64(req, KW_F_FLAGS, &flags);
        if (r == -EBADMSG) {
                result_error(reply, EBADMSG, "bad FLAGS");
                return false;
        }
        op->flags = (unsigned)flags;
        return true;
}

static bool unload_start(struct modop *op, const struct kw_frame *req, struct kw_msg *reply)
{
        op->id = req->id;
        op->delay_ms = UNLOAD_FIRST_DELAY_MS;
        op->start_usec = now_usec();
        return unload_attempt(op, reply);
}

bool modop_unload(struct modop *op, const struct kw_frame *req, struct kw_msg *reply)
{
        op->reload = false;
        if (!parse_unload(op, req, reply))
                return true;
        return unload_start(op, req, reply);
}

bool modop_reload(struct modop *op, const struct kw_frame *req, struct kw_msg *reply)
{
        op->reload = false;
        if (!parse_unload(op, req, reply) || !parse_load(op, req, reply))
                return true;
        op->reload = true;
        return unload_start(op, req, reply);
}

bool modop_reload_loads(const struct modop *op)
{
        return op->reload && op->kind == MODOP_NONE && (op->unload_err == 0 || op->unload_err == ENOENT);
}

void modop_put_unloaded(const struct modop *op, struct kw_msg *m)
{
        kw_msg_put_str(m, KW_F_MODULE, op->name);
        kw_msg_put_u64(m, KW_F_ERRNO, (uint64_t)op->unload_err);
        kw_msg_put_u64(m, KW_F_USEC, op->unload_usec);
}

void modop_put_unload_outcome(struct modop *op, struct kw_msg *reply)
{
        if (!op->reload)
                return;
        kw_msg_put_u64(reply, KW_F_UNLOAD_ERRNO, (uint64_t)op->unload_err);
        kw_msg_put_u64(reply, KW_F_UNLOAD_USEC, op->unload_usec);
        op->reload = false;
}

bool modop_unload_retry(struct modop *op, struct kw_msg *reply)
{
        uint64_t ticks;

        (void)!read(op->timer_fd, &ticks, sizeof(ticks));
        if (op->kind != MODOP_UNLOAD)
                return false;
        return unload_attempt(op, reply);
}
