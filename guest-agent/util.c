/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * util.c — the agent's small shared helpers (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

void log_msg(const char *fmt, ...)
{
        char line[512];
        va_list ap;
        int n;

        /* One write per line so lines from the agent and the kernel console
         * interleave whole rather than byte by byte. */
        n = snprintf(line, sizeof(line), "kmod-agent: ");
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
        va_end(ap);
        n = (int)strlen(line);
        line[n++] = '\n';
        (void)!write(STDERR_FILENO, line, (size_t)n);
}

uint64_t now_usec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int read_text_file(const char *path, char *buf, size_t size)
{
        size_t len = 0;
        int fd;

        if (size == 0)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        while (len < size - 1) {
                ssize_t n = read(fd, buf + len, size - 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;

                        close(fd);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        close(fd);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '\t'))
                len--;
        buf[len] = '\0';
        return (int)len;
}

int frame_string(const struct kw_frame *f, enum kw_field key, char *buf, size_t size)
{
        const uint8_t *p;
        size_t len;
        int r;

        r = kw_frame_bytes(f, key, &p, &len);
        if (r < 0)
                return r;
        if (len >= size)
                return -ENAMETOOLONG;
        if (memchr(p, '\0', len))
                return -EBADMSG;
        memcpy(buf, p, len);
        buf[len] = '\0';
        return 0;
}

void result_init(struct kw_msg *m, uint32_t id)
{
        kw_msg_init(m, KW_RESULT, id);
}

void result_default_ok(struct kw_msg *m)
{
        struct kw_frame view;
        uint64_t err;

        kw_msg_view(m, &view);
        if (kw_frame_u64(&view, KW_F_ERRNO, &err) == -ENOENT)
                kw_msg_put_u64(m, KW_F_ERRNO, 0);
}

void result_error(struct kw_msg *m, int err, const char *fmt, ...)
{
        char text[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        kw_msg_put_u64(m, KW_F_ERRNO, (uint64_t)err);
        kw_msg_put_str_trunc(m, KW_F_ERROR, text);
}
