/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-arch.c — watcher/arch.c: the names each arch is known by, what kbuild
 * and QEMU are told, and the cross-compile default.
 */
#include <elf.h>
#include <string.h>

#include "arch.h"
#include "test.h"

static void test_find(void)
{
        const struct kw_arch *x = kw_arch_find("x86_64"), *a = kw_arch_find("arm64");

        CHECK(x && a && x != a);
        CHECK(kw_arch_find("amd64") == x);
        CHECK(kw_arch_find("aarch64") == a);
        CHECK(kw_arch_find("riscv64") == NULL);
        CHECK(kw_arch_find("") == NULL);
        CHECK(kw_arch_find(NULL) == NULL);
}

static void test_fields(void)
{
        const struct kw_arch *x = kw_arch_find("x86_64"), *a = kw_arch_find("arm64");

        CHECK(x->kbuild_arch == NULL); /* kbuild's default, as reload.c always passed */
        CHECK(strcmp(a->kbuild_arch, "arm64") == 0);
        CHECK_EQ(x->elf_machine, EM_X86_64);
        CHECK_EQ(a->elf_machine, EM_AARCH64);
        CHECK(strcmp(x->qemu_binary, "qemu-system-x86_64") == 0);
        CHECK(strcmp(a->qemu_binary, "qemu-system-aarch64") == 0);
        CHECK(strcmp(x->cross_prefix, "x86_64-linux-gnu-") == 0);
        CHECK(strcmp(a->cross_prefix, "aarch64-linux-gnu-") == 0);
        CHECK(strcmp(a->console, "ttyAMA0") == 0 && strcmp(x->console, "ttyS0") == 0);
}

static void test_host(void)
{
        const struct kw_arch *h = kw_arch_host();

        CHECK(h != NULL);
        CHECK(kw_arch_find(h->name) == h);
        CHECK(kw_arch_cross_compile(h) == NULL);
        const struct kw_arch *other = kw_arch_find(strcmp(h->name, "arm64") == 0 ? "x86_64" : "arm64");
        CHECK(strcmp(kw_arch_cross_compile(other), other->cross_prefix) == 0);
}

int main(void)
{
        RUN(test_find);
        RUN(test_fields);
        RUN(test_host);
        TEST_DONE();
}
