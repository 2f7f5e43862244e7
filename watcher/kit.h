/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit.h — the guest kit: Debian's kernel, its headers and a busybox initramfs,
 * built by the kmod-watch-kit script into
 *   ${XDG_CACHE_HOME:-~/.cache}/kmod-watch/kits/<arch>/<release>/
 * with kits/<arch>/current pointing at Debian's default kernel's, and
 * kits/<arch>/<short release> ("6.12") at the one --release 6.12 resolved to. Its kit.env (KEY=value
 * lines, no quoting) describes it:
 *   KW_KIT_ARCH KW_KIT_RELEASE KW_KIT_KERNEL KW_KIT_INITRD KW_KIT_KDIR
 *   KW_KIT_CONFIG KW_KIT_MODULES KW_KIT_QEMU KW_KIT_MACHINE KW_KIT_CONSOLE KW_KIT_CPU
 * A kit made from an installed kernel tree (--kernel-root, --host-kernel) is
 * in kits/<arch>/root-CKSUM-<release>/ (host-<release> for /): its kit.env
 * names the tree's image, modules and headers; only its initramfs (and
 * vmlinux) are its own.
 * This file reads that description and runs the script (`kmod-watch kit …`).
 */
#pragma once

#include <limits.h>
#include <stddef.h>

struct kw_kit {
        char arch[16];          /* "x86_64" | "arm64" */
        char release[64];       /* uname -r of the guest kernel, "6.1.0-56-amd64" */
        char kernel[PATH_MAX];  /* image for -kernel (x86_64: uncompressed vmlinux, PVH boot) */
        char initrd[PATH_MAX];  /* base initramfs (gzip'd newc); append the agent to a copy */
        char kdir[PATH_MAX];    /* make -C KDIR M=… modules */
        char config[PATH_MAX];  /* the kernel's .config */
        char modules[PATH_MAX]; /* lib/modules/<release> of the kit ("" if absent) */
        char qemu[64];          /* qemu-system-x86_64 | qemu-system-aarch64 */
        char machine[32];       /* -M: q35 | virt ("" = QEMU's default) */
        char console[16];       /* ttyS0 | ttyAMA0 */
        char cpu[32];           /* -cpu: max */
        char dir[PATH_MAX];     /* the kit's directory (resolved) */
};

/* Reads kits/<arch>/<release>/kit.env under the cache (arch NULL: the host's;
 * release NULL or "": current; else a full release or a short one's link).
 * Its paths are taken under the kit's own directory when they name another
 * .../kits/<arch>/<release>/ (a kit copied from another user's cache works).
 * -ENOENT if there is no kit or a file it names is missing; -EBADMSG if
 * kit.env is malformed; -ENAMETOOLONG. */
int kw_kit_load(const char *arch, const char *release, struct kw_kit *ret);
/* As kw_kit_load() with an explicit cache directory (the one holding kits/). */
int kw_kit_load_from(const char *cache, const char *arch, const char *release, struct kw_kit *ret);

/* As kw_kit_load() for the kit in DIR (its kit.env); arch must match. */
int kw_kit_load_dir(const char *dir, const char *arch, struct kw_kit *ret);

/* The kit for (arch, release) (NULLs: the host's arch, the default kernel):
 * the cached one, else fetched now, its progress shown (kit-progress.h), then
 * loaded. 0; -EINVAL if apt offers no such release (the script's one line
 * said what it offers); -EINTR if the fetch was interrupted (^C); -EIO if it
 * failed, or kw_kit_load()'s errors (each said with kw_err). */
int kw_kit_get(const char *arch, const char *release, struct kw_kit *ret);
/* The signal that interrupted the last fetch (SIGINT, SIGTERM, SIGHUP), 0 if none.
 * One blocked by the caller (a signalfd's) is passed on to the script at once. */
int kw_kit_fetch_signal(void);

struct kw_kit_progress;
/* Runs `kmod-watch-kit fetch --progress-fd 3` and shows its progress: the
 * script's exit status (69 with p->unknown_release: no such release in apt),
 * or -errno. p ends with what the script said (p->dir: the kit). */
int kw_kit_fetch(const char *arch, const char *release, struct kw_kit_progress *p);

/* A kit made from an installed kernel tree (--kernel-root, --host-kernel):
 * runs `kmod-watch-kit from-root ROOT [RELEASE] --arch ARCH`, which makes (or
 * finds up to date) a kit in the cache whose kernel, modules and headers are
 * ROOT's, and prints its directory; then loads that kit. root NULL: the
 * host's own kernel, "/" with RELEASE `uname -r` unless release is given;
 * release NULL: ROOT's only kernel. 0; > 0: the script's exit status (it
 * said why, in one line); -errno after one line. */
int kw_kit_from_root(const char *root, const char *release, const char *arch, struct kw_kit *ret);
/* The same checks, making nothing (`from-root … --check`): what it would use,
 * or the one line saying what ROOT lacks, into out (NUL-terminated, its
 * first line). Returns the script's exit status (0: usable), or -errno. */
int kw_kit_check_root(const char *root, const char *release, const char *arch, char *out, size_t size);

/* Parses kit.env text: KEY=value lines; blank lines and # comments skipped,
 * unknown keys ignored, one level of matching quotes around a value removed.
 * Required: ARCH, RELEASE, KERNEL, INITRD, KDIR. Pure.
 * 0, -EBADMSG (a line without '=', a required key missing) or -ENAMETOOLONG. */
int kw_kit_parse_env(const char *text, struct kw_kit *ret);

/* The kmod-watch-kit script (build tree or installed; KMOD_WATCH_KIT_SCRIPT
 * overrides). Never NULL; the file may not exist. */
const char *kw_kit_script(void);

/* Runs `kmod-watch-kit VERB [--arch ARCH] [--release R]` with our
 * stdin/stdout/stderr and waits for it. Returns its exit status (128+N if
 * killed by signal N), or -errno if it could not be started. verb NULL: the
 * script prints its usage. */
int kw_kit_run_script(const char *verb, const char *arch, const char *release);

/* `kmod-watch kit VERB`: fetch with progress shown (kit-progress.h), then the
 * kit's directory on stdout; path and list run the script as it is. The
 * script's exit status (doc/contract.md). */
int kw_kit_command(const char *verb, const char *arch, const char *release);
