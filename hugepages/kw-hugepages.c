/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kw-hugepages.c — preloaded (LD_PRELOAD) into the commands of a replay build
 * (watcher/replay-run.c), nothing else: it asks the kernel for transparent
 * huge pages on a program's large anonymous mappings. gcc's cc1 keeps its
 * garbage-collected heap in 2 MiB mmaps (16 of them, 32 MiB, to compile a
 * module's hello.c against 6.1's headers); with THP in "madvise" mode
 * (Debian's default) each is then one page fault instead of 512. In a VM,
 * where a fault costs 10–16 µs, that is 60–80 ms of a 400 ms compile.
 *
 * What the programs compute is unchanged: MADV_HUGEPAGE is advice about how
 * memory is backed, nothing a program can read back (the replay's outputs are
 * checked byte for byte against make's by tests/e2e/test_replay.py). With THP
 * "never" or "always" it changes nothing. KMOD_WATCH_HUGEPAGES=0 leaves it out.
 *
 * mmap is the raw system call: glibc's mmap on 64-bit hosts is that system
 * call, and dlsym(RTLD_NEXT) could allocate, and so mmap, while it resolves.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#undef _FILE_OFFSET_BITS /* define mmap and mmap64 themselves, not one renamed to the other */
#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define KW_HUGE (2UL << 20) /* a PMD's worth: the smallest mapping a huge page can back */

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);

__attribute__((visibility("default"))) void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
        void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);

        if (p != MAP_FAILED && (flags & MAP_ANONYMOUS) && len >= KW_HUGE) {
                int saved = errno;
                (void)madvise(p, len, MADV_HUGEPAGE);
                errno = saved;
        }
        return p;
}

/* the same symbol under its large-file name (64-bit: off_t is 64 bits) */
__attribute__((visibility("default"))) void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
        return mmap(addr, len, prot, flags, fd, off);
}
