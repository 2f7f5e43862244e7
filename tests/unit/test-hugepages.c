/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-hugepages.c — kw-hugepages.so (hugepages/), run with it preloaded (meson
 * sets LD_PRELOAD): a 4 MiB anonymous mapping carries the kernel's "hg" flag
 * (VM_HUGEPAGE, from madvise) in /proc/self/smaps, through mmap and mmap64; a
 * 64 KiB one and a file mapping do not; a failed mmap still fails with its errno.
 */
#undef _FILE_OFFSET_BITS /* mmap and mmap64 called by their own names */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

/* The VmFlags line of the mapping that starts at p contains " hg"? */
static bool advised(const void *p)
{
        char line[512], want[32];
        bool in = false, found = false;
        FILE *f = fopen("/proc/self/smaps", "re");

        if (!f)
                return false;
        snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
        while (fgets(line, sizeof(line), f)) {
                if (strncmp(line, want, strlen(want)) == 0)
                        in = true;
                else if (in && strncmp(line, "VmFlags:", 8) == 0) {
                        found = strstr(line, " hg") != NULL;
                        break;
                }
        }
        fclose(f);
        return found;
}

typedef void *(*map_fn)(void *, size_t, int, int, int, off_t);

static void check_large(map_fn map, size_t n)
{
        void *p = map(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        CHECK(p != MAP_FAILED);
        CHECK(advised(p));
        munmap(p, n);
}

static void test_large(void)
{
        check_large(mmap, 4u << 20);
}

static void test_large64(void)
{
        check_large(mmap64, 2u << 20);
}

static void test_small_and_files(void)
{
        void *p = mmap(NULL, 64u << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

        CHECK(p != MAP_FAILED && !advised(p));
        munmap(p, 64u << 10);
        int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        CHECK(p != MAP_FAILED && !advised(p));
        munmap(p, 4096);
        close(fd);
}

static void test_failure(void)
{
        errno = 0;
        void *p = mmap(NULL, 4u << 20, PROT_READ, MAP_PRIVATE, -1, 0); /* no fd, not anonymous */
        CHECK(p == MAP_FAILED);
        CHECK_EQ(errno, EBADF);
}

int main(void)
{
        const char *pre = getenv("LD_PRELOAD");

        if (!pre || !strstr(pre, "kw-hugepages.so")) {
                printf("Bail out! run without kw-hugepages.so in LD_PRELOAD (meson test sets it)\n");
                return 1;
        }
        RUN(test_large);
        RUN(test_large64);
        RUN(test_small_and_files);
        RUN(test_failure);
        TEST_DONE();
}
