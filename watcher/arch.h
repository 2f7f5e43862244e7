/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arch.h — the one place that knows the architectures kmod-watch can build
 * for and boot: their names (ours, kbuild's, uname's, Debian's), the ELF
 * machine of their modules, the QEMU that runs them and how, the default
 * cross compiler and the agent binary. Everything else asks here instead of
 * comparing strings with "arm64".
 */
#pragma once

#include <stdint.h>

struct kw_arch {
        const char *name;          /* kmod-watch's name: "x86_64", "arm64" */
        const char *kbuild_arch;   /* ARCH= for kbuild: NULL for x86_64 (kbuild's default) */
        uint16_t elf_machine;      /* EM_X86_64, EM_AARCH64 */
        const char *qemu_binary;   /* "qemu-system-x86_64", "qemu-system-aarch64" */
        const char *cross_prefix;  /* default CROSS_COMPILE when the host is not this arch */
        const char *agent_name;    /* the agent binary built for this arch ("kmod-agent-arm64");
                                      the host's own is plain "kmod-agent" (kw_path_agent) */
        const char *uname_machine; /* `uname -m` on it: "x86_64", "aarch64" */
        const char *debian_arch;   /* "amd64", "arm64" */
        const char *qemu_machine;  /* -M for a --kernel guest: "" (QEMU's default), "virt" */
        const char *qemu_cpu;      /* -cpu for a --kernel guest */
        const char *console;       /* the kernel's serial console: "ttyS0", "ttyAMA0" */
        const char *qemu_package;  /* the Debian package with qemu_binary */
        const char *cross_package; /* the Debian package with cross_prefix's gcc */
        unsigned kit_min_mem_mb;   /* the least --memory for the kit's kernel (measured under TCG,
                                      with margin: below it the guest never greets) */
        unsigned kit_boots_mb;     /* the least it was seen to boot with */
};

/* By kmod-watch's name, uname's or Debian's ("arm64", "aarch64"; "x86_64",
 * "amd64"). NULL: unknown name. */
const struct kw_arch *kw_arch_find(const char *name);
/* The arch this program runs on (the compiler's: what it was built for). */
const struct kw_arch *kw_arch_host(void);
/* NULL when a is the host's arch, else a->cross_prefix. */
const char *kw_arch_cross_compile(const struct kw_arch *a);
/* "x86_64 or arm64", for messages. */
const char *kw_arch_names(void);
