/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cpio.c — see cpio.h. A newc entry is a 110-byte ASCII header ("070701" and
 * 13 eight-digit hex fields), the NUL-terminated name padded so header+name
 * is a multiple of 4, then the data padded to a multiple of 4.
 */
#include "cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEWC_HDR 110
#define NEWC_MAX_FILE 0xffffffffULL

static const char zeros[4];

static int write_all(struct kw_cpio *c, const void *buf, size_t len)
{
        const char *p = buf;

        if (c->error)
                return c->error;
        while (len > 0) {
                ssize_t n = write(c->fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        c->error = -errno;
                        return c->error;
                }
                p += n;
                len -= (size_t)n;
                c->offset += (uint64_t)n;
        }
        return 0;
}

static int pad4(struct kw_cpio *c)
{
        size_t pad = (size_t)((4 - (c->offset & 3)) & 3);

        return pad ? write_all(c, zeros, pad) : 0;
}

/* The name as stored: no leading '/' or "./". NULL if nothing is left. */
static const char *entry_name(const char *name)
{
        for (;;) {
                if (name[0] == '/')
                        name++;
                else if (name[0] == '.' && name[1] == '/')
                        name += 2;
                else
                        break;
        }
        return name[0] ? name : NULL;
}

static int write_header(struct kw_cpio *c, const char *name, mode_t mode, uint64_t size, unsigned rmajor,
                        unsigned rminor)
{
        char hdr[NEWC_HDR + 1];

        if (c->error)
                return c->error;
        if (size > NEWC_MAX_FILE)
                return -EFBIG;
        size_t namesize = strlen(name) + 1;
        if (namesize > PATH_MAX)
                return -ENAMETOOLONG;
        snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                 ++c->ino,                     /* c_ino */
                 (unsigned)mode,               /* c_mode */
                 0u, 0u,                       /* c_uid, c_gid */
                 S_ISDIR(mode) ? 2u : 1u,      /* c_nlink */
                 0u,                           /* c_mtime */
                 (unsigned)size,               /* c_filesize */
                 0u, 0u,                       /* c_maj, c_min (of the archive's device) */
                 rmajor, rminor,               /* c_rmaj, c_rmin */
                 (unsigned)namesize,           /* c_namesize, with the NUL */
                 0u);                          /* c_chksum: unused in newc */
        int r = write_all(c, hdr, NEWC_HDR);
        if (r < 0)
                return r;
        r = write_all(c, name, namesize);
        if (r < 0)
                return r;
        return pad4(c);
}

int kw_cpio_open(struct kw_cpio *c, int fd)
{
        /* With O_APPEND the next write goes to the end, wherever the offset is. */
        int fl = fcntl(fd, F_GETFL);
        off_t off = lseek(fd, 0, fl >= 0 && (fl & O_APPEND) ? SEEK_END : SEEK_CUR);

        *c = (struct kw_cpio){ .fd = fd, .offset = off > 0 ? (uint64_t)off : 0 };
        if (off < 0 && errno != ESPIPE)
                return -errno;
        /* The kernel skips zero bytes between archives; an uncompressed one
         * must start 4-byte aligned in the initrd. */
        return pad4(c);
}

int kw_cpio_add_dir(struct kw_cpio *c, const char *name, mode_t mode)
{
        const char *n = entry_name(name);

        if (!n)
                return -EINVAL;
        return write_header(c, n, S_IFDIR | (mode & 07777), 0, 0, 0);
}

int kw_cpio_add_data(struct kw_cpio *c, const char *name, mode_t mode, const void *data, size_t len)
{
        const char *n = entry_name(name);

        if (!n)
                return -EINVAL;
        int r = write_header(c, n, S_IFREG | (mode & 07777), len, 0, 0);
        if (r < 0)
                return r;
        r = write_all(c, data, len);
        if (r < 0)
                return r;
        return pad4(c);
}

int kw_cpio_add_file(struct kw_cpio *c, const char *name, mode_t mode, const char *src)
{
        const char *n = entry_name(name);
        struct stat st;
        char buf[65536];
        int r;

        if (!n)
                return -EINVAL;
        if (c->error)
                return c->error;
        int in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return -errno;
        if (fstat(in, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                goto out;
        }
        if (mode == (mode_t)-1)
                mode = st.st_mode;
        uint64_t size = (uint64_t)st.st_size;
        r = write_header(c, n, S_IFREG | (mode & 07777), size, 0, 0);
        if (r < 0)
                goto out;
        while (size > 0) {
                ssize_t got = read(in, buf, size < sizeof(buf) ? (size_t)size : sizeof(buf));
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0) {
                        /* The header promised more: the entry is wrong; the
                         * archive is not worth finishing. */
                        c->error = got < 0 ? -errno : -EIO;
                        r = c->error;
                        goto out;
                }
                r = write_all(c, buf, (size_t)got);
                if (r < 0)
                        goto out;
                size -= (uint64_t)got;
        }
        r = pad4(c);
out:
        close(in);
        return r;
}

int kw_cpio_add_symlink(struct kw_cpio *c, const char *name, const char *target)
{
        const char *n = entry_name(name);
        size_t len = strlen(target);

        if (!n || len == 0)
                return -EINVAL;
        if (len >= PATH_MAX)
                return -ENAMETOOLONG;
        /* The link's data is its target, without a NUL. */
        int r = write_header(c, n, S_IFLNK | 0777, len, 0, 0);
        if (r < 0)
                return r;
        r = write_all(c, target, len);
        if (r < 0)
                return r;
        return pad4(c);
}

int kw_cpio_add_node(struct kw_cpio *c, const char *name, mode_t type, mode_t mode, unsigned major,
                     unsigned minor)
{
        const char *n = entry_name(name);

        if (!n || (type != S_IFCHR && type != S_IFBLK))
                return -EINVAL;
        return write_header(c, n, type | (mode & 07777), 0, major, minor);
}

int kw_cpio_finish(struct kw_cpio *c)
{
        int r = write_header(c, "TRAILER!!!", 0, 0, 0, 0);

        if (r < 0)
                return r;
        return pad4(c);
}

int kw_cpio_append_agent(int fd, const char *agent)
{
        struct kw_cpio c;
        int r = kw_cpio_open(&c, fd);

        if (r < 0)
                return r;
        r = kw_cpio_add_dir(&c, "sbin", 0755);
        if (r < 0)
                return r;
        r = kw_cpio_add_file(&c, "sbin/kmod-agent", 0755, agent);
        if (r < 0)
                return r;
        return kw_cpio_finish(&c);
}
