/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * opts.c — getopt_long over the options of doc/contract.md. The subcommand, if
 * any, is the first argument; every value is checked here so the rest of
 * the program can trust struct kw_opts.
 */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "arch.h"
#include "config.h"

enum {
        O_ONCE = 0x100, O_POSTPONE, O_ARCH, O_ACCEL, O_EXPECT, O_TIMEOUT, O_BOOT_TIMEOUT, O_JSON,
        O_PARAM, O_RUN, O_REPEAT, O_DEBOUNCE, O_INCLUDE, O_EXCLUDE, O_NO_COLOR, O_COLOR, O_CONNECT, O_SHARE, O_TAG,
        O_SSH, O_KERNEL, O_INITRD, O_KDIR, O_CROSS, O_MEM, O_GDB, O_CPUS, O_APPEND, O_QEMU_OPT, O_HELP, O_VERSION, O_SOCKET,
        O_LOAD_TIMEOUT, O_FORCE_UNLOAD, O_CONFIG, O_JUNIT, O_CLEAR, O_BELL, O_IDENTITY, O_KNOWN_HOSTS, O_ACCEPT_NEW_HOST_KEY, O_PASSWORD_FILE,
        O_MAKE, O_NO_REPLAY, O_NO_COMPDB, O_KTAP, O_KCIDB, O_KCIDB_ORIGIN, O_LAVA,
        O_TARGET, O_BUILD_DIR,
        O_RELEASE,
        O_KERNEL_ROOT, O_KERNEL_RELEASE, O_HOST_KERNEL,
};

static const struct option longopts[] = {
        { "once", no_argument, NULL, O_ONCE },
        { "postpone", no_argument, NULL, O_POSTPONE },
        { "arch", required_argument, NULL, O_ARCH },
        { "release", required_argument, NULL, O_RELEASE },
        { "accel", required_argument, NULL, O_ACCEL },
        { "expect", required_argument, NULL, O_EXPECT },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "boot-timeout", required_argument, NULL, O_BOOT_TIMEOUT },
        { "load-timeout", required_argument, NULL, O_LOAD_TIMEOUT },
        { "config", required_argument, NULL, O_CONFIG },
        { "junit", required_argument, NULL, O_JUNIT },
        { "ktap", required_argument, NULL, O_KTAP },
        { "kcidb", required_argument, NULL, O_KCIDB },
        { "kcidb-origin", required_argument, NULL, O_KCIDB_ORIGIN },
        { "lava", no_argument, NULL, O_LAVA },
        { "clear", no_argument, NULL, O_CLEAR },
        { "bell", no_argument, NULL, O_BELL },
        { "force-unload", no_argument, NULL, O_FORCE_UNLOAD },
        { "json", no_argument, NULL, O_JSON },
        { "param", required_argument, NULL, O_PARAM },
        { "run", required_argument, NULL, O_RUN },
        { "repeat", required_argument, NULL, O_REPEAT },
        { "debounce", required_argument, NULL, O_DEBOUNCE },
        { "include", required_argument, NULL, O_INCLUDE },
        { "exclude", required_argument, NULL, O_EXCLUDE },
        { "jobs", required_argument, NULL, 'j' },
        { "no-color", no_argument, NULL, O_NO_COLOR },
        { "color", required_argument, NULL, O_COLOR },
        { "no-replay", no_argument, NULL, O_NO_REPLAY },
        { "no-compile-commands", no_argument, NULL, O_NO_COMPDB },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "connect", required_argument, NULL, O_CONNECT },
        { "share", required_argument, NULL, O_SHARE },
        { "tag", required_argument, NULL, O_TAG },
        { "socket", required_argument, NULL, O_SOCKET },
        { "ssh", required_argument, NULL, O_SSH },
        { "identity", required_argument, NULL, O_IDENTITY },
        { "known-hosts", required_argument, NULL, O_KNOWN_HOSTS },
        { "accept-new-host-key", no_argument, NULL, O_ACCEPT_NEW_HOST_KEY },
        { "password-file", required_argument, NULL, O_PASSWORD_FILE },
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "kdir", required_argument, NULL, O_KDIR },
        { "kernel-root", required_argument, NULL, O_KERNEL_ROOT },
        { "kernel-release", required_argument, NULL, O_KERNEL_RELEASE },
        { "host-kernel", no_argument, NULL, O_HOST_KERNEL },
        { "make", required_argument, NULL, O_MAKE },
        { "cross-compile", required_argument, NULL, O_CROSS },
        { "memory", required_argument, NULL, O_MEM },
        { "cpus", required_argument, NULL, O_CPUS },
        { "gdb", required_argument, NULL, O_GDB },
        { "append", required_argument, NULL, O_APPEND },
        { "qemu-opt", required_argument, NULL, O_QEMU_OPT },
        { "target", required_argument, NULL, O_TARGET },
        { "build-dir", required_argument, NULL, O_BUILD_DIR },
        { "help", no_argument, NULL, O_HELP },
        { "version", no_argument, NULL, O_VERSION },
        {}
};

void kw_opts_help(FILE *f)
{
        fputs("Usage:\n"
              "  kmod-watch [OPTIONS] [DIR]             watch DIR (default .): build, reload, stream the log\n"
              "  kmod-watch --once [OPTIONS] [DIR]      one cycle: build, load, collect, unload, exit\n"
              "  kmod-watch kit fetch|path|list [--arch A] [--release R]  the guest kit\n"
              "  kmod-watch doctor [OPTIONS] [DIR]      check what the loop needs, say how to fix it\n"
              "  kmod-watch shell [DIR]                 a root shell in the guest of the kmod-watch\n"
              "                                         running for DIR, from another terminal\n"
              "  kmod-watch qemu-args [--socket PATH] [--share DIR] [--tag TAG] [DIR]\n"
              "                                         QEMU arguments for your own QEMU (--connect)\n"
              "  kmod-watch inject-agent IN.cpio[.gz] OUT.cpio.gz [--arch A]\n"
              "                                         the agent added to your initramfs; boot with\n"
              "                                         rdinit=/kmod-watch-init (no shell needed)\n"
              "\n"
              "Guest:\n"
              "      --arch ARCH         x86_64 or arm64 (default: the host's)\n"
              "      --release R         the kit's kernel: a release apt offers for ARCH, short\n"
              "                          (6.12) or full (6.12.117+deb12-amd64); default: Debian's\n"
              "                          default kernel (6.1)\n"
              "      --target ARCH[/RELEASE]  a guest and a build per target, all from one save\n"
              "                          (repeatable; e.g. x86_64/6.1 x86_64/6.12 arm64/6.1)\n"
              "      --accel MODE        auto, kvm or tcg (default auto: KVM if it answers, else TCG)\n"
              "      --kernel IMAGE      boot this kernel instead of the kit's (with --kdir)\n"
              "      --initrd CPIO       its initramfs (the agent is appended at boot)\n"
              "      --kdir DIR          kernel build tree or headers to build against\n"
              "      --kernel-root ROOT  boot the kernel installed in ROOT (ROOT/boot/vmlinuz-R, its\n"
              "                          modules ROOT/lib/modules/R) and build against its headers\n"
              "      --kernel-release R  which of ROOT's kernels (default: its only one)\n"
              "      --host-kernel       this machine's own kernel: --kernel-root / for uname -r\n"
              "      --memory MIB        guest memory (default 256; the kit's kernel needs 128 on\n"
              "                          x86_64, 96 on arm64)\n"
              "      --cpus N            guest CPUs (default 2 with KVM, 1 under TCG)\n"
              "      --append 'ARGS'     added to the guest kernel's command line\n"
              "      --qemu-opt 'ARGS'   extra QEMU arguments, split at spaces (repeatable)\n"
              "      --gdb PORT          QEMU's gdbstub on 127.0.0.1:PORT (the guest boots with nokaslr);\n"
              "                          each load prints gdb's add-symbol-file line\n"
              "      --boot-timeout S    seconds for the guest agent to greet (default 120)\n"
              "      --connect unix:PATH  a QEMU you started (see qemu-args), its agent socket\n"
              "      --share DIR         its 9p share root (default $QEMU_9P_PATH)\n"
              "      --tag TAG           its 9p mount_tag (default $QEMU_9P_TAG or hostshare)\n"
              "      --socket PATH       qemu-args: where the agent channel's socket goes\n"
              "      --ssh [USER@]HOST[:PORT]  a board or VM over SSH (~/.ssh/config applies)\n"
              "      --identity FILE     SSH private key (besides ssh-agent and ~/.ssh/id_*)\n"
              "      --known-hosts FILE  SSH known_hosts file (default ~/.ssh/known_hosts)\n"
              "      --accept-new-host-key  record an unknown host key (a changed one is\n"
              "                          always refused)\n"
              "      --password-file FILE  SSH password: FILE's first line (mode 600); else\n"
              "                          SSH_ASKPASS as ssh uses it, else an empty password\n"
              "      --load-timeout S    seconds a load or unload may take before the guest\n"
              "                          counts as hung and is restarted (default 10)\n"
              "\n"
              "Build and load:\n"
              "      --param NAME=VALUE  module parameter (repeatable)\n"
              "      --run CMD           run CMD in the guest after each load\n"
              "      --force-unload      unload even a module in use or without an exit\n"
              "                          function (delete_module O_TRUNC; taints the kernel)\n"
              "  -j, --jobs N            make -j N\n"
              "      --make CMD          build with CMD (run by /bin/sh -c in DIR, with KDIR,\n"
              "                          ARCH, CROSS_COMPILE, KERNELRELEASE in its environment)\n"
              "                          instead of dkms.conf, kbuild or DIR's Makefile\n"
              "      --cross-compile P   CROSS_COMPILE prefix (default from the environment)\n"
              "      --no-replay         always run make (by default a save that changes only\n"
              "                          sources kbuild recorded replays their commands)\n"
              "      --no-compile-commands  do not write DIR/compile_commands.json (for clangd)\n"
              "\n"
              "Watching:\n"
              "      --postpone          wait for the first change before building\n"
              "      --debounce MS       quiet time before a build (default 20)\n"
              "      --include GLOB      files that trigger a build (repeatable; replaces\n"
              "                          the default *.c *.h *.S Makefile Kbuild Kconfig)\n"
              "      --exclude GLOB      files that never trigger a build (repeatable)\n"
              "\n"
              "Headless:\n"
              "      --once              build, load, check, unload, exit with a status\n"
              "      --expect REGEX      a kernel log line that must appear (repeatable)\n"
              "      --timeout S         how long --once waits for --expect (default 30)\n"
              "      --repeat N          --once: load and unload N times; a slab cache growing\n"
              "                          every cycle, or an entry left behind, fails (1)\n"
              "      --json              one JSON event per line on stdout\n"
              "      --junit FILE        JUnit XML: a case per build, load, unload, --expect,\n"
              "                          --run and kernel report (bodies: compiler, oops)\n"
              "      --ktap FILE         the same as KTAP version 1 (- for stdout)\n"
              "      --kcidb FILE        the same as KernelCI KCIDB JSON (schema 5.3)\n"
              "      --kcidb-origin NAME  the KCIDB origin (default kmod_watch)\n"
              "      --lava              LAVA test-case signals on stdout (default when\n"
              "                          lava-test-case is on PATH)\n"
              "      --config FILE       settings (default DIR/.kmod-watch: 'option = value' lines;\n"
              "                          ~/.config/kmod-watch/config is read before it)\n"
              "\n"
              "Output:\n"
              "      --color WHEN        auto (colours on a terminal, decided per stream;\n"
              "                          not with NO_COLOR or TERM=dumb), always, never\n"
              "      --no-color          the same as --color never\n"
              "  -v, --verbose           show make's output and the guest console\n"
              "  -q, --quiet             only the kernel log and errors\n"
              "      --clear             clear the screen before each build (like entr -c)\n"
              "      --bell              ring the terminal bell when a build, load or the kernel fails\n"
              "  -h, --help              this text\n"
              "  -V, --version           the version\n"
              "\n"
              "Keys (on a terminal): r rebuild and reload, u unload, b reboot the guest,\n"
              "c clear, q quit, ? help.\n"
              "\n"
              "--once exit status: 0 ok, 1 --expect not matched (or --run failed, or --repeat\n"
              "found a leak), 2 build failed, 3 load or unload failed, 4 oops/panic/BUG/WARNING,\n"
              "5 no guest, 64 usage error.\n",
              f);
}

bool kw_opts_takes_value(const char *name, size_t n)
{
        for (const struct option *l = longopts; l->name; l++)
                if (strlen(l->name) == n && strncmp(l->name, name, n) == 0)
                        return l->has_arg == required_argument;
        return false;
}

const char *kw_host_arch(void)
{
        return kw_arch_host()->name;
}

const char *kw_opts_cross_compile(const struct kw_opts *o)
{
        const char *cc = o->cross_compile ? o->cross_compile : getenv("CROSS_COMPILE");
        const struct kw_arch *a = kw_arch_find(o->arch);

        return cc ? cc : a ? kw_arch_cross_compile(a) : NULL;
}

/* Raw stderr, not kw_err(): options are parsed before the ui is set up
 * (the ui's colour and verbosity come from them). */
static int usage(const char *fmt, ...)
{
        va_list ap;

        fputs("kmod-watch: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs(" (see kmod-watch --help)\n", stderr);
        return -EINVAL;
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *ret)
{
        char *end;

        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
                return usage("%s wants a whole number from %u to %u, not '%s'", opt, min, max, s);
        *ret = (unsigned)v;
        return 0;
}

/* ARCH[/RELEASE]: a known arch, and a release made of what kernel releases are. */
static int parse_target(const char *t)
{
        char arch[32];
        const char *slash = strchr(t, '/');
        size_t n = slash ? (size_t)(slash - t) : strlen(t);

        if (n >= sizeof(arch))
                return usage("--target wants ARCH[/RELEASE] (ARCH: %s), not '%s'", kw_arch_names(), t);
        memcpy(arch, t, n);
        arch[n] = 0;
        if (!kw_arch_find(arch))
                return usage("--target wants ARCH[/RELEASE] (ARCH: %s), not '%s'", kw_arch_names(), t);
        /* the release as --release takes it */
        if (slash && (!slash[1] || slash[1] == '.' || strlen(slash + 1) >= 48 ||
                      strspn(slash + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+_~-") !=
                              strlen(slash + 1)))
                return usage("--target %s: the release after '/' is a kernel release such as 6.12", t);
        return 0;
}

static int push(const char **list, size_t *n, const char *opt, const char *v)
{
        if (*n >= KW_MAX_LIST)
                return usage("too many %s options (at most %d)", opt, KW_MAX_LIST);
        list[(*n)++] = v;
        return 0;
}

bool kw_opts_want_color(const struct kw_opts *o, int fd, bool isatty_fd, const char *no_color_env,
                        const char *term)
{
        if (o->no_color || (o->json && fd == STDOUT_FILENO))
                return false;
        if (o->force_color)
                return true;
        if (no_color_env && no_color_env[0])
                return false;
        return isatty_fd && !(term && strcmp(term, "dumb") == 0);
}

int kw_opts_parse(int argc, char **argv, struct kw_opts *o)
{
        int c, r = 0;

        *o = (struct kw_opts){
                .dir = ".",
                .arch = kw_host_arch(),
                .timeout_s = 30,
                .boot_timeout_s = 120,
                .load_timeout_s = 10,
                .debounce_ms = 20,
                .mem_mb = 256,
                .kcidb_origin = "kmod_watch",
        };
        int first = 1;
        if (argc > 1) {
                static const struct { const char *name; enum kw_cmd cmd; } cmds[] = {
                        { "doctor", KW_CMD_DOCTOR },
                        { "kit", KW_CMD_KIT },
                        { "inject-agent", KW_CMD_INJECT },
                        { "qemu-args", KW_CMD_QEMU_ARGS },
                        { "shell", KW_CMD_SHELL },
                };
                for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
                        if (strcmp(argv[1], cmds[i].name) == 0) {
                                o->cmd = cmds[i].cmd;
                                first = 2;
                        }
        }

        opterr = 0;
        optind = first;
        const char *positional[8];
        size_t n_pos = 0;
        /* Leading '-' in optstring: operands come back as 1, so options may follow DIR. */
        while ((c = getopt_long(argc, argv, "-j:vqhV", longopts, NULL)) != -1) {
                switch (c) {
                case 1:
                        if (n_pos >= 8)
                                return usage("too many arguments ('%s')", optarg);
                        positional[n_pos++] = optarg;
                        break;
                case O_ONCE: o->once = true; break;
                case O_POSTPONE: o->postpone = true; break;
                case O_ARCH: {
                        const struct kw_arch *a = kw_arch_find(optarg);
                        if (!a)
                                return usage("--arch is %s, not '%s'", kw_arch_names(), optarg);
                        o->arch = a->name;
                        break;
                }
                case O_RELEASE:
                        if (!*optarg || optarg[0] == '.' || strlen(optarg) >= 64 ||
                            strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+_~-") !=
                                    strlen(optarg))
                                return usage("--release wants a kernel release like 6.12 or 6.12.117+deb12-amd64, "
                                             "not '%s'", optarg);
                        o->release = optarg;
                        break;
                case O_ACCEL:
                        if (strcmp(optarg, "auto") == 0)
                                o->accel = KW_ACCEL_AUTO;
                        else if (strcmp(optarg, "kvm") == 0)
                                o->accel = KW_ACCEL_KVM;
                        else if (strcmp(optarg, "tcg") == 0)
                                o->accel = KW_ACCEL_TCG;
                        else
                                return usage("--accel is auto, kvm or tcg, not '%s'", optarg);
                        break;
                case O_EXPECT: r = push(o->expect, &o->n_expect, "--expect", optarg); break;
                case O_TIMEOUT: r = parse_uint("--timeout", optarg, 1, 86400, &o->timeout_s); break;
                case O_BOOT_TIMEOUT:
                        r = parse_uint("--boot-timeout", optarg, 1, 86400, &o->boot_timeout_s);
                        break;
                case O_LOAD_TIMEOUT:
                        r = parse_uint("--load-timeout", optarg, 1, 86400, &o->load_timeout_s);
                        break;
                case O_FORCE_UNLOAD: o->force_unload = true; break;
                case O_JSON: o->json = true; break;
                case O_PARAM:
                        if (!strchr(optarg, '=') || optarg[0] == '=')
                                return usage("--param wants NAME=VALUE, not '%s'", optarg);
                        r = push(o->param, &o->n_param, "--param", optarg);
                        break;
                case O_RUN: o->run = optarg; break;
                case O_REPEAT: r = parse_uint("--repeat", optarg, 1, 100000, &o->repeat); break;
                case O_DEBOUNCE: r = parse_uint("--debounce", optarg, 0, 10000, &o->debounce_ms); break;
                case O_INCLUDE: r = push(o->include, &o->n_include, "--include", optarg); break;
                case O_EXCLUDE: r = push(o->exclude, &o->n_exclude, "--exclude", optarg); break;
                case 'j': r = parse_uint("--jobs", optarg, 1, 1024, &o->jobs); break;
                case O_NO_COLOR: o->no_color = true; o->force_color = false; break;
                case O_COLOR:
                        if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never"))
                                return usage("--color is auto, always or never, not '%s'", optarg);
                        o->no_color = strcmp(optarg, "never") == 0;
                        o->force_color = strcmp(optarg, "always") == 0;
                        break;
                case O_NO_REPLAY: o->no_replay = true; break;
                case O_NO_COMPDB: o->no_compile_commands = true; break;
                case 'v': o->verbosity++; break;
                case 'q': o->verbosity = -1; break;
                case O_CONNECT:
                        if (strncmp(optarg, "unix:", 5) != 0 || !optarg[5])
                                return usage("--connect wants unix:PATH, not '%s'", optarg);
                        o->connect = optarg;
                        break;
                case O_SHARE: o->share = optarg; break;
                case O_TAG: o->tag = optarg; break;
                case O_SOCKET: o->socket = optarg; break;
                case O_CONFIG: o->config = optarg; break;
                case O_JUNIT: o->junit = optarg; break;
                case O_KTAP: o->ktap = optarg; break;
                case O_KCIDB: o->kcidb = optarg; break;
                case O_KCIDB_ORIGIN:
                        if (!*optarg || strspn(optarg, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(optarg))
                                return usage("--kcidb-origin %s: lower-case letters, digits and _ only", optarg);
                        o->kcidb_origin = optarg;
                        break;
                case O_LAVA: o->lava = true; break;
                case O_CLEAR: o->clear = true; break;
                case O_BELL: o->bell = true; break;
                case O_SSH: o->ssh = optarg; break;
                case O_IDENTITY: o->identity = optarg; break;
                case O_KNOWN_HOSTS: o->known_hosts = optarg; break;
                case O_ACCEPT_NEW_HOST_KEY: o->accept_new_host_key = true; break;
                case O_PASSWORD_FILE: o->password_file = optarg; break;
                case O_KERNEL: o->kernel = optarg; break;
                case O_INITRD: o->initrd = optarg; break;
                case O_KDIR: o->kdir = optarg; break;
                case O_KERNEL_ROOT: o->kernel_root = optarg; break;
                case O_KERNEL_RELEASE: o->kernel_release = optarg; break;
                case O_HOST_KERNEL: o->host_kernel = true; break;
                case O_MAKE: o->make = optarg; break;
                case O_CROSS: o->cross_compile = optarg; break;
                case O_MEM: r = parse_uint("--memory", optarg, 64, 65536, &o->mem_mb); break;
                case O_CPUS: r = parse_uint("--cpus", optarg, 1, 256, &o->cpus); break;
                case O_GDB: r = parse_uint("--gdb", optarg, 1, 65535, &o->gdb_port); break;
                case O_APPEND: o->append = optarg; break;
                case O_QEMU_OPT: r = push(o->qemu_opt, &o->n_qemu_opt, "--qemu-opt", optarg); break;
                case O_TARGET: r = parse_target(optarg) < 0 ? -EINVAL : push(o->target, &o->n_target, "--target", optarg); break;
                case O_BUILD_DIR: o->build_dir = optarg; break;
                case 'h':
                case O_HELP: o->cmd = KW_CMD_HELP; return 0;
                case 'V':
                case O_VERSION: o->cmd = KW_CMD_VERSION; return 0;
                case '?':
                default:
                        if (optopt && optopt < 0x100)
                                return usage("unknown option '-%c'", optopt);
                        if (optopt)
                                return usage("option '%s' needs a value", argv[optind - 1]);
                        return usage("unknown option '%s'", argv[optind - 1]);
                }
                if (r < 0)
                        return r;
        }

        switch (o->cmd) {
        case KW_CMD_WATCH:
        case KW_CMD_DOCTOR:
        case KW_CMD_QEMU_ARGS:
        case KW_CMD_SHELL:
                if (n_pos > 1)
                        return usage("one directory only, got '%s' and '%s'", positional[0], positional[1]);
                if (n_pos == 1)
                        o->dir = positional[0];
                break;
        case KW_CMD_KIT:
                if (n_pos != 1 || (strcmp(positional[0], "fetch") && strcmp(positional[0], "path") &&
                                   strcmp(positional[0], "list")))
                        return usage("kit wants one of: fetch, path, list");
                o->args[o->n_args++] = positional[0];
                break;
        case KW_CMD_INJECT:
                if (n_pos != 2)
                        return usage("inject-agent wants IN.cpio[.gz] OUT.cpio.gz");
                o->args[o->n_args++] = positional[0];
                o->args[o->n_args++] = positional[1];
                break;
        default:
                break;
        }
        if (o->n_expect && !o->once)
                return usage("--expect goes with --once");
        if (o->repeat && !o->once)
                return usage("--repeat goes with --once");
        if (o->connect && o->ssh)
                return usage("--connect and --ssh exclude each other");
        if ((o->identity || o->known_hosts || o->accept_new_host_key || o->password_file) && !o->ssh)
                return usage("--identity, --known-hosts, --accept-new-host-key and --password-file go with --ssh");
        if ((o->connect || o->ssh) && o->kernel)
                return usage("--kernel is for a managed guest, not with --connect or --ssh");
        if ((o->connect || o->ssh) && (o->append || o->n_qemu_opt || o->cpus || o->gdb_port))
                return usage("--cpus, --append, --qemu-opt and --gdb are for a managed guest, not with --connect or "
                             "--ssh");
        if (o->initrd && !o->kernel)
                return usage("--initrd goes with --kernel");
        if (o->n_target && !o->build_dir &&
            (o->connect || o->ssh || o->kernel || o->gdb_port || o->kernel_root || o->host_kernel))
                return usage("--target boots a kit's guest per target: not with --connect, --ssh, --kernel, "
                             "--kernel-root, --host-kernel or --gdb");
        if (o->release && o->kernel)
                return usage("--release picks the kit's kernel; not with --kernel");
        bool root = o->kernel_root || o->host_kernel;
        if (o->kernel_root && o->host_kernel)
                return usage("--kernel-root and --host-kernel exclude each other (--host-kernel is --kernel-root /)");
        if (o->kernel_release && !root)
                return usage("--kernel-release goes with --kernel-root or --host-kernel");
        if (root && (o->kernel || o->connect || o->ssh))
                return usage("--kernel-root and --host-kernel are for a managed guest booted from that tree, not "
                             "with --kernel, --connect or --ssh");
        if (o->release && root)
                return usage("--release picks the kit's kernel; --kernel-root and --host-kernel boot a tree's own");
        /* The kit's kernel below this never greets: say so now, not after --boot-timeout. */
        const struct kw_arch *a = kw_arch_find(o->arch);
        if (o->cmd == KW_CMD_WATCH && a && !o->kernel && !root && !o->connect && !o->ssh &&
            o->mem_mb < a->kit_min_mem_mb)
                return usage("--memory %u is too little for the %s kit's kernel: give it at least %u MiB "
                             "(with less than about %u it never boots)",
                             o->mem_mb, a->name, a->kit_min_mem_mb, a->kit_boots_mb);
        return 0;
}
