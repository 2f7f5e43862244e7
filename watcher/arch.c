/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arch.c — see arch.h: the table of architectures.
 */
#include "arch.h"

#include <elf.h>
#include <stddef.h>
#include <string.h>

static const struct kw_arch arches[] = {
        {
                .name = "x86_64",
                .kbuild_arch = NULL,
                .elf_machine = EM_X86_64,
                .qemu_binary = "qemu-system-x86_64",
                .cross_prefix = "x86_64-linux-gnu-",
                .agent_name = "kmod-agent-x86_64",
                .uname_machine = "x86_64",
                .debian_arch = "amd64",
                .qemu_machine = "",
                .qemu_cpu = "max",
                .console = "ttyS0",
                .qemu_package = "qemu-system-x86",
                .cross_package = "gcc-x86-64-linux-gnu",
                /* Debian 6.1 amd64 kit: boots with 88 MiB; at 84 the kernel
                 * runs out of memory unpacking the initramfs */
                .kit_min_mem_mb = 128,
                .kit_boots_mb = 88,
        },
        {
                .name = "arm64",
                .kbuild_arch = "arm64",
                .elf_machine = EM_AARCH64,
                .qemu_binary = "qemu-system-aarch64",
                .cross_prefix = "aarch64-linux-gnu-",
                .agent_name = "kmod-agent-arm64",
                .uname_machine = "aarch64",
                .debian_arch = "arm64",
                .qemu_machine = "virt",
                /* TCG emulates pointer authentication 4x faster with QEMU's own algorithm */
                .qemu_cpu = "max,pauth-impdef=on",
                .console = "ttyAMA0",
                .qemu_package = "qemu-system-arm",
                .cross_package = "gcc-aarch64-linux-gnu",
                /* Debian 6.1 arm64 kit: boots with 64 MiB, not with 48 */
                .kit_min_mem_mb = 96,
                .kit_boots_mb = 64,
        },
};

const struct kw_arch *kw_arch_find(const char *name)
{
        if (!name)
                return NULL;
        for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
                const struct kw_arch *a = &arches[i];
                if (strcmp(name, a->name) == 0 || strcmp(name, a->uname_machine) == 0 ||
                    strcmp(name, a->debian_arch) == 0)
                        return a;
        }
        return NULL;
}

const struct kw_arch *kw_arch_host(void)
{
#if defined(__aarch64__)
        return &arches[1];
#else
        return &arches[0]; /* x86_64, and the fallback it always was */
#endif
}

const char *kw_arch_cross_compile(const struct kw_arch *a)
{
        return a == kw_arch_host() ? NULL : a->cross_prefix;
}

const char *kw_arch_names(void)
{
        return "x86_64 or arm64";
}
