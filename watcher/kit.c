/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit.c — see kit.h. The kit is built by kit/kmod-watch-kit (shell: apt-get
 * download, dpkg-deb -x, depmod, cpio; or from an installed kernel tree,
 * `from-root`); here we only read its kit.env and run the script.
 */
#include "kit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "arch.h"
#include "kit-progress.h"
#include "loop.h"
#include "paths.h"
#include "spawn.h"
#include "ui.h"

#define KIT_ENV_MAX (64 * 1024)

static const struct {
        const char *key;
        size_t offset;
        size_t size;
        int required;
} keys[] = {
#define K(name, field, req) { "KW_KIT_" name, offsetof(struct kw_kit, field), sizeof(((struct kw_kit *)0)->field), req }
        K("ARCH", arch, 1),
        K("RELEASE", release, 1),
        K("KERNEL", kernel, 1),
        K("INITRD", initrd, 1),
        K("KDIR", kdir, 1),
        K("CONFIG", config, 0),
        K("MODULES", modules, 0),
        K("QEMU", qemu, 0),
        K("MACHINE", machine, 0),
        K("CONSOLE", console, 0),
        K("CPU", cpu, 0),
#undef K
};

int kw_kit_parse_env(const char *text, struct kw_kit *ret)
{
        unsigned seen = 0;

        memset(ret, 0, sizeof(*ret));
        for (const char *line = text; *line;) {
                const char *end = strchr(line, '\n');
                const char *next = end ? end + 1 : line + strlen(line);
                if (!end)
                        end = next;
                while (line < end && (*line == ' ' || *line == '\t'))
                        line++;
                const char *stop = end;
                while (stop > line && (stop[-1] == '\r' || stop[-1] == ' ' || stop[-1] == '\t'))
                        stop--;
                if (line == stop || *line == '#') {
                        line = next;
                        continue;
                }
                const char *eq = memchr(line, '=', (size_t)(stop - line));
                if (!eq || eq == line)
                        return -EBADMSG;
                const char *val = eq + 1;
                size_t klen = (size_t)(eq - line), vlen = (size_t)(stop - val);
                if (vlen >= 2 && (val[0] == '"' || val[0] == '\'') && val[vlen - 1] == val[0]) {
                        val++;
                        vlen -= 2;
                }
                for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                        if (strlen(keys[i].key) != klen || memcmp(keys[i].key, line, klen) != 0)
                                continue;
                        if (vlen >= keys[i].size)
                                return -ENAMETOOLONG;
                        char *field = (char *)ret + keys[i].offset;
                        memcpy(field, val, vlen);
                        field[vlen] = 0;
                        seen |= 1u << i;
                }
                line = next;
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (keys[i].required && (!(seen & (1u << i)) || !((char *)ret + keys[i].offset)[0]))
                        return -EBADMSG;
        return 0;
}

static int read_text(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t used = 0;

        if (fd < 0)
                return -errno;
        for (;;) {
                if (used == size - 1) {
                        close(fd);
                        return -EFBIG;
                }
                ssize_t n = read(fd, buf + used, size - 1 - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        close(fd);
                        return r;
                }
                if (n == 0)
                        break;
                used += (size_t)n;
        }
        close(fd);
        buf[used] = 0;
        return 0;
}

/* kit.env names its files by the absolute paths they had when the kit was
 * made. A kit copied or moved since (another user's cache, a CI cache
 * restored under another HOME) is found through its own directory: a path
 * with ".../kits/ARCH/RELEASE/" in it is taken under ret->dir. */
static int relocate(struct kw_kit *k)
{
        char marker[128], fixed[PATH_MAX];
        char *fields[] = { k->kernel, k->initrd, k->kdir, k->config, k->modules };

        /* a kit made from an installed tree (kw_kit_from_root) names that tree's files */
        const char *base = strrchr(k->dir, '/');
        if (!base || strcmp(base + 1, k->release) != 0)
                return 0;
        snprintf(marker, sizeof(marker), "/kits/%s/%s/", k->arch, k->release);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                const char *at = strstr(fields[i], marker);
                if (!at)
                        continue;
                int n = snprintf(fixed, sizeof(fixed), "%s/%s", k->dir, at + strlen(marker));
                if (n < 0 || (size_t)n >= sizeof(fixed))
                        return -ENAMETOOLONG;
                memcpy(fields[i], fixed, (size_t)n + 1);
        }
        return 0;
}

int kw_kit_load_dir(const char *dir, const char *arch, struct kw_kit *ret)
{
        char env[PATH_MAX];
        int n = snprintf(env, sizeof(env), "%s/kit.env", dir);

        if (n < 0 || (size_t)n >= sizeof(env))
                return -ENAMETOOLONG;
        char *text = malloc(KIT_ENV_MAX);
        if (!text)
                return -ENOMEM;
        int r = read_text(env, text, KIT_ENV_MAX);
        if (r == 0)
                r = kw_kit_parse_env(text, ret);
        free(text);
        if (r < 0)
                return r == -ENOTDIR ? -ENOENT : r;
        if (strcmp(ret->arch, arch) != 0)
                return -EBADMSG;
        if (!realpath(dir, ret->dir))
                return -errno;
        r = relocate(ret);
        if (r < 0)
                return r;
        /* A kit whose files went away is no kit: fetch it again. */
        if (access(ret->kernel, R_OK) < 0 || access(ret->initrd, R_OK) < 0 || access(ret->kdir, R_OK) < 0)
                return -ENOENT;
        return 0;
}

int kw_kit_load_from(const char *cache, const char *arch, const char *release, struct kw_kit *ret)
{
        char current[PATH_MAX];

        if (!arch)
                arch = kw_arch_host()->name;
        /* "current", a full release's own directory, or a short release's link */
        if (!release || !*release)
                release = "current";
        if (strchr(release, '/') || release[0] == '.')
                return -EINVAL;
        int n = snprintf(current, sizeof(current), "%s/kits/%s/%s", cache, arch, release);
        if (n < 0 || (size_t)n >= sizeof(current))
                return -ENAMETOOLONG;
        return kw_kit_load_dir(current, arch, ret);
}

int kw_kit_load(const char *arch, const char *release, struct kw_kit *ret)
{
        char cache[PATH_MAX];
        int r = kw_path_cache(cache, sizeof(cache));

        if (r < 0)
                return r;
        return kw_kit_load_from(cache, arch, release, ret);
}

const char *kw_kit_script(void)
{
        static char path[PATH_MAX];

        (void)kw_path_kit_script(path, sizeof(path));
        return path;
}

/* argv for the script: VERB [--arch A] [--release R] [more…] */
static int script_argv(const char **argv, const char *verb, const char *arch, const char *release)
{
        int argc = 0;

        argv[argc++] = kw_kit_script();
        if (verb)
                argv[argc++] = verb;
        if (verb && arch) {
                argv[argc++] = "--arch";
                argv[argc++] = arch;
        }
        if (verb && release && *release) {
                argv[argc++] = "--release";
                argv[argc++] = release;
        }
        argv[argc] = NULL;
        return argc;
}

static int script_runnable(void)
{
        const char *script = kw_kit_script();

        if (access(script, X_OK) == 0)
                return 0;
        int r = errno;
        kw_err("cannot run the kit script %s: %s (set KMOD_WATCH_KIT_SCRIPT)", script, strerror(r));
        return r == ENOENT ? 127 : 126;
}

/* Starts the kit script with argv[1…] (argv[0] is filled in), its stdout on
 * out (or ours: KW_SPAWN_KEEP). 0 with *ret_pid; else the exit status to
 * report (126, 127: said why) or -errno. */
static int script_start(const char **argv, int out, pid_t *ret_pid)
{
        int r = script_runnable();

        if (r)
                return r;
        argv[0] = kw_kit_script();
        /* in our process group, on our stdio: ^C stops it too */
        static const struct kw_spawn_opts so = { .same_group = true };
        const struct kw_spawn_fds fds = { KW_SPAWN_KEEP, out, KW_SPAWN_KEEP, KW_SPAWN_NULL };
        return kw_spawn_run((char *const *)argv, &so, &fds, ret_pid);
}

int kw_kit_run_script(const char *verb, const char *arch, const char *release)
{
        const char *argv[8];
        pid_t pid;

        script_argv(argv, verb, arch, release);
        int r = script_start(argv, KW_SPAWN_KEEP, &pid);
        return r != 0 ? r : kw_spawn_wait(pid);
}

/* argv[1…] (up to 6 entries and NULL) for `kmod-watch-kit from-root ROOT
 * [RELEASE] --arch ARCH`: root NULL is the host's kernel, "/" and uname -r
 * unless release is given. The index of its NULL, or -errno. */
static int from_root_argv(const char *root, const char *release, const char *arch, struct utsname *u,
                          const char **argv)
{
        if (!root && !release) {
                if (uname(u) < 0) {
                        int r = -errno;
                        kw_err("uname: %s", strerror(-r));
                        return r;
                }
                release = u->release;
        }
        int n = 1;
        argv[n++] = "from-root";
        argv[n++] = root ? root : "/";
        if (release)
                argv[n++] = release;
        argv[n++] = "--arch";
        argv[n++] = arch;
        argv[n] = NULL;
        return n;
}

int kw_kit_check_root(const char *root, const char *release, const char *arch, char *out, size_t size)
{
        struct utsname u;
        const char *argv[8];
        int n = from_root_argv(root, release, arch, &u, argv);

        if (n < 0)
                return n;
        argv[0] = kw_kit_script();
        argv[n++] = "--check";
        argv[n] = NULL;
        int r = kw_spawn_capture((char *const *)argv, KW_SPAWN_NULL, 60000, out, size);
        out[strcspn(out, "\n")] = 0;
        return r;
}

int kw_kit_from_root(const char *root, const char *release, const char *arch, struct kw_kit *ret)
{
        struct utsname u;
        const char *argv[8];
        char dir[PATH_MAX + 1];
        size_t used = 0;
        int fds[2];
        pid_t pid;

        int r = from_root_argv(root, release, arch, &u, argv);
        if (r < 0)
                return r;
        if (pipe2(fds, O_CLOEXEC) < 0) {
                r = -errno;
                kw_err("cannot run the kit script: %s", strerror(-r));
                return r;
        }
        r = script_start(argv, fds[1], &pid);
        close(fds[1]);
        if (r != 0) {
                close(fds[0]);
                if (r < 0)
                        kw_err("cannot run the kit script: %s", strerror(-r));
                return r;
        }
        for (;;) {
                ssize_t n = read(fds[0], dir + used, sizeof(dir) - 1 - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                used += (size_t)n;
                if (used == sizeof(dir) - 1)
                        break;
        }
        close(fds[0]);
        r = kw_spawn_wait(pid);
        if (r != 0)
                return r;
        dir[used] = 0;
        dir[strcspn(dir, "\n")] = 0;
        if (!dir[0]) {
                kw_err("the kit script made no kit from %s", root ? root : "/");
                return -EPROTO;
        }
        r = kw_kit_load_dir(dir, arch, ret);
        if (r < 0)
                kw_err("the kit made from %s (%s) is unusable: %s", root ? root : "/", dir, strerror(-r));
        return r;
}

/* The signal that stopped the last fetch (0: none). */
static int fetch_signal;

int kw_kit_fetch_signal(void)
{
        return fetch_signal;
}

/* A signalfd for the stop signals the caller blocked (the loop's signalfd
 * takes them; a blocked one would otherwise wait until the fetch ends): -1
 * when none is blocked (then they act as usual). */
static int stop_signals_fd(void)
{
        static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
        sigset_t blocked, mine;
        bool any = false;

        if (sigprocmask(SIG_BLOCK, NULL, &blocked) < 0)
                return -1;
        sigemptyset(&mine);
        for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
                if (sigismember(&blocked, stops[i]) == 1) {
                        sigaddset(&mine, stops[i]);
                        any = true;
                }
        return any ? signalfd(-1, &mine, SFD_CLOEXEC | SFD_NONBLOCK) : -1;
}

/* Reads the script's progress lines until it closes the pipe. The fetch
 * comes before the loop has work (set-up, `kit fetch`), so we wait here on
 * the pipe and the stop signals: a signal is passed on to the script, which
 * removes its half-built kit and exits (then so do we). */
static void follow_progress(int fd, pid_t pid, struct kw_kit_progress *p)
{
        char buf[8192];
        size_t used = 0;
        int sfd = stop_signals_fd();
        struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };

        for (;;) {
                if (poll(pfd, sfd >= 0 ? 2 : 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                struct signalfd_siginfo si;
                if (sfd >= 0 && (pfd[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
                        fetch_signal = (int)si.ssi_signo;
                        kill(pid, fetch_signal);
                }
                if (!pfd[0].revents)
                        continue;
                ssize_t n = read(fd, buf + used, sizeof(buf) - 1 - used);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                used += (size_t)n;
                buf[used] = 0;
                char *line = buf, *nl;
                while ((nl = strchr(line, '\n'))) {
                        *nl = 0;
                        kw_kit_progress_show(p, line, kw_now_ms());
                        line = nl + 1;
                }
                used = (size_t)(buf + used - line);
                memmove(buf, line, used);
                if (used == sizeof(buf) - 1) /* a line longer than the buffer: dropped */
                        used = 0;
        }
        if (sfd >= 0)
                close(sfd);
        kw_kit_progress_end(p);
}

int kw_kit_fetch(const char *arch, const char *release, struct kw_kit_progress *p)
{
        const char *argv[12];
        int pfd[2];

        if (!arch)
                arch = kw_arch_host()->name;
        kw_kit_progress_init(p, arch, release);
        fetch_signal = 0;
        int r = script_runnable();
        if (r)
                return r;
        int argc = script_argv(argv, "fetch", arch, release);
        argv[argc++] = "--progress-fd";
        argv[argc++] = "3";
        argv[argc] = NULL;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        /* stdout (the kit's dir) is not ours to print: the caller loads the kit */
        static const struct kw_spawn_opts so = { .same_group = true };
        const struct kw_spawn_fds fds = { KW_SPAWN_NULL, KW_SPAWN_NULL, KW_SPAWN_KEEP, pfd[1] };
        pid_t pid;
        r = kw_spawn_run((char *const *)argv, &so, &fds, &pid);
        close(pfd[1]);
        if (r < 0) {
                close(pfd[0]);
                return r;
        }
        char words[256];
        kw_kit_progress_words(p, words, sizeof(words));
        kw_ui_status(KW_SLOT_KIT, "%s", words);
        follow_progress(pfd[0], pid, p);
        close(pfd[0]);
        return kw_spawn_wait(pid);
}

int kw_kit_get(const char *arch, const char *release, struct kw_kit *ret)
{
        struct kw_kit_progress p;

        if (!arch)
                arch = kw_arch_host()->name;
        const char *rel = release && *release ? release : NULL;
        int r = kw_kit_load(arch, rel, ret);
        if (r == -ENOENT) {
                r = kw_kit_fetch(arch, rel, &p);
                if (r == 69 && p.unknown_release) {
                        kw_err("%s", p.note); /* which releases apt offers */
                        return -EINVAL;
                }
                if (fetch_signal || r == 128 + SIGINT || r == 128 + SIGTERM || r == 128 + SIGHUP) {
                        if (!fetch_signal)
                                fetch_signal = r - 128;
                        kw_err("the guest kit fetch was interrupted");
                        return -EINTR;
                }
                if (r != 0) {
                        kw_err("fetching the guest kit failed; pass --kernel IMAGE --kdir DIR to use your own");
                        return -EIO;
                }
                r = kw_kit_load(arch, rel, ret);
        }
        if (r < 0) {
                kw_err("the guest kit for %s%s%s is unusable (%s): run 'kmod-watch kit fetch --arch %s%s%s'", arch,
                       rel ? " " : "", rel ? rel : "", strerror(-r), arch, rel ? " --release " : "", rel ? rel : "");
                return r == -EINVAL ? -EIO : r;
        }
        return 0;
}

int kw_kit_command(const char *verb, const char *arch, const char *release)
{
        struct kw_kit_progress p;
        struct kw_kit kit;

        if (!verb || strcmp(verb, "fetch") != 0)
                return kw_kit_run_script(verb, arch, release);
        int r = kw_kit_fetch(arch, release, &p);
        if (r == 69 && p.unknown_release)
                kw_err("%s", p.note);
        if (r != 0)
                return r < 0 ? 70 : r;
        r = kw_kit_load(p.arch, release, &kit);
        if (r < 0) {
                kw_err("the kit script succeeded but the kit does not load (%s)", strerror(-r));
                return 70;
        }
        printf("%s\n", kit.dir);
        return 0;
}
