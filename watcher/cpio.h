/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpio.h — a writer for "newc" cpio archives (the format Linux unpacks as an
 * initramfs; Documentation/driver-api/early-userspace/buffer-format.rst),
 * uncompressed, straight to a file descriptor.
 *
 * Linux accepts several archives concatenated into one initrd, compressed or
 * not, later entries overriding earlier ones; an uncompressed archive must
 * start at a 4-byte aligned offset of the whole initrd. kw_cpio_open() pads
 * with zero bytes up to that alignment (the kernel skips zeros between
 * archives), so an archive can be appended to any existing initramfs file.
 *
 * Entries: names are stored without a leading '/'; parents are not created
 * implicitly (add them first); every entry gets its own inode number, nlink 1
 * (2 for directories), uid/gid 0 and mtime 0 (reproducible output).
 * After the first failed write every call returns that error.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kw_cpio {
        int fd;
        uint64_t offset;  /* bytes from the start of the file (for alignment) */
        uint32_t ino;     /* the last inode number given out */
        int error;        /* first -errno, sticky */
};

/* Starts an archive at fd's current offset (0 for a pipe), first padding with
 * zeros to 4-byte alignment. The fd stays the caller's. 0 or -errno. */
int kw_cpio_open(struct kw_cpio *c, int fd);

/* A directory; mode: permission bits (0755). */
int kw_cpio_add_dir(struct kw_cpio *c, const char *name, mode_t mode);
/* A regular file with the contents of the file at src (read now);
 * mode: permission bits, or (mode_t)-1 for src's own. -EFBIG over 4 GiB,
 * -EIO if src shrank while being copied. */
int kw_cpio_add_file(struct kw_cpio *c, const char *name, mode_t mode, const char *src);
/* A regular file with the given contents. */
int kw_cpio_add_data(struct kw_cpio *c, const char *name, mode_t mode, const void *data, size_t len);
/* A symbolic link name -> target. */
int kw_cpio_add_symlink(struct kw_cpio *c, const char *name, const char *target);
/* A device node; type: S_IFCHR or S_IFBLK; e.g. ("dev/console", S_IFCHR, 0600, 5, 1). */
int kw_cpio_add_node(struct kw_cpio *c, const char *name, mode_t type, mode_t mode, unsigned major,
                     unsigned minor);
/* The TRAILER!!! entry, padded to 4 bytes. The archive is complete after it.
 * 0 or the first error of the archive. */
int kw_cpio_finish(struct kw_cpio *c);

/* The guest agent as an archive appended at fd's current offset: sbin/ and
 * sbin/kmod-agent (0755) with the contents of the file at agent. */
int kw_cpio_append_agent(int fd, const char *agent);
