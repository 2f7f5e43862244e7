/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-exec.c — commands on exec channels, and files copied over them for a
 * target that has no SFTP server (see ssh-int.h): `cat > FILE.part`, a
 * checksum computed there with the best tool it has (or its size), compared
 * with ours, then renamed into place; the private directory made and checked
 * with mkdir and ls. The pure parts (the probe, the checks, ls lines, shell
 * quoting) are declared in ssh.h and unit-tested.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "md5.h"
#include "ssh-int.h"
#include "ssh.h"

/* ---- the pure parts ---- */

/* Best first. Each prints "DIGEST  NAME" (or "DIGEST  -" for stdin). */
static const struct kw_ssh_check checks[] = {
        { "sha256sum", "sha256sum", KW_CHECK_SHA256 },
        { "busybox sha256sum", "busybox sha256sum", KW_CHECK_SHA256 },
        { "md5sum", "md5sum", KW_CHECK_MD5 },
        { "busybox md5sum", "busybox md5sum", KW_CHECK_MD5 },
};
static const struct kw_ssh_check size_check = { "its size (wc -c)", "wc -c <", KW_CHECK_SIZE };

#define PROBE_INPUT "kw"
/* sha256("kw") and md5("kw") */
#define PROBE_SHA256 "103c54b6c5b1ad282520a33d86320b77259e797cabe194b9200fb23d965561a3"
#define PROBE_MD5 "048685d96262085442a1d5bb4a14bc3b"

int kw_ssh_check_probe(char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
                int k = snprintf(buf + n, size - n, "%sprintf %s | %s 2>/dev/null", i ? "; echo =; " : "",
                                 PROBE_INPUT, checks[i].cmd);
                if (k < 0 || (size_t)k >= size - n)
                        return -ENAMETOOLONG;
                n += (size_t)k;
        }
        return 0;
}

/* The first word of s into w. */
static void first_word(const char *s, char *w, size_t size)
{
        size_t n = 0;

        s += strspn(s, " \t\r\n");
        while (s[n] && !strchr(" \t\r\n", s[n]))
                n++;
        snprintf(w, size, "%.*s", (int)(n < size ? n : size - 1), s);
}

const struct kw_ssh_check *kw_ssh_check_pick(const char *out)
{
        size_t seg = 0;

        for (const char *line = out; line && *line && seg < sizeof(checks) / sizeof(checks[0]);) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                if (len == 1 && line[0] == '=') {
                        seg++;
                } else {
                        char w[80];
                        first_word(line, w, sizeof(w));
                        const char *want = checks[seg].kind == KW_CHECK_SHA256 ? PROBE_SHA256 : PROBE_MD5;
                        if (strcmp(w, want) == 0)
                                return &checks[seg];
                }
                line = nl ? nl + 1 : NULL;
        }
        return &size_check;
}

int kw_ssh_check_compare(const struct kw_ssh_check *ck, const char *out, const char *sha256_hex, const char *md5_hex,
                         uint64_t size, char *got, size_t got_size)
{
        char want[32];

        first_word(out, got, got_size);
        switch (ck->kind) {
        case KW_CHECK_SHA256:
                return strcmp(got, sha256_hex) == 0 ? 0 : -EBADMSG;
        case KW_CHECK_MD5:
                return strcmp(got, md5_hex) == 0 ? 0 : -EBADMSG;
        case KW_CHECK_SIZE:
                snprintf(want, sizeof(want), "%" PRIu64, size);
                return strcmp(got, want) == 0 ? 0 : -EBADMSG;
        }
        return -EBADMSG;
}

static int perm_bits(const char *p, unsigned *mode)
{
        static const char rwx[] = "rwx";

        *mode = 0;
        for (int i = 0; i < 9; i++) {
                char ch = p[i];
                unsigned bit = 1u << (8 - i);
                if (ch == rwx[i % 3])
                        *mode |= bit;
                else if (i % 3 == 2 && (ch == 's' || ch == 't'))
                        *mode |= bit; /* setuid/setgid/sticky with x */
                else if (!(ch == '-' || (i % 3 == 2 && (ch == 'S' || ch == 'T'))))
                        return -EINVAL;
        }
        return 0;
}

int kw_ssh_parse_ls(const char *line, struct kw_ssh_ls *ret)
{
        char mode[16];
        unsigned long links, uid, gid;
        unsigned long long size;

        if (sscanf(line, "%15s %lu %lu %lu %llu", mode, &links, &uid, &gid, &size) != 5 || strlen(mode) < 10 ||
            !strchr("-dlcbps", mode[0]) || perm_bits(mode + 1, &ret->mode) < 0)
                return -EINVAL;
        ret->type = mode[0];
        ret->uid = (unsigned)uid;
        ret->size = size;
        return 0;
}

int kw_ssh_quote(const char *s, char *buf, size_t size)
{
        size_t n = 0;

#define PUT(ch)                                   \
        do {                                      \
                if (n + 1 >= size) {              \
                        buf[0] = 0;               \
                        return -ENAMETOOLONG;     \
                }                                 \
                buf[n++] = (ch);                  \
        } while (0)
        PUT('\'');
        for (; *s; s++) {
                if (*s == '\'') {
                        PUT('\'');
                        PUT('\\');
                        PUT('\'');
                }
                PUT(*s);
        }
        PUT('\'');
#undef PUT
        buf[n] = 0;
        return 0;
}

/* ---- exec channels ---- */

static ssh_channel chan_exec(ssh_session ssh, const char *cmd)
{
        ssh_channel ch = ssh_channel_new(ssh);

        if (ch && (ssh_channel_open_session(ch) != SSH_OK || ssh_channel_request_exec(ch, cmd) != SSH_OK)) {
                ssh_channel_free(ch);
                return NULL;
        }
        return ch;
}

/* Reads ch's stdout to its end into out (and what it said on stderr into
 * err, if given), then closes and frees it: its exit status, or -errno. */
static int chan_finish(ssh_channel ch, char *out, size_t size, char *err, size_t err_size)
{
        size_t n = 0;
        int r = -EIO;

        for (;;) {
                char buf[4096];
                int k = ssh_channel_read_timeout(ch, buf, sizeof(buf), 0, KW_SSH_TIMEOUT_S * 1000);
                if (k < 0)
                        goto out;
                /* 0 is a timeout or the end: libssh 0.10 says which only through is_eof */
                if (k == 0) {
                        if (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch))
                                break;
                        r = -ETIMEDOUT;
                        goto out;
                }
                size_t take = (size_t)k < size - 1 - n ? (size_t)k : size - 1 - n;
                memcpy(out + n, buf, take);
                n += take;
        }
        out[n] = 0;
        if (err && err_size) {
                int k = ssh_channel_read_nonblocking(ch, err, (uint32_t)(err_size - 1), 1);
                err[k > 0 ? k : 0] = 0;
                err[strcspn(err, "\r\n")] = 0;
        }
        (void)ssh_channel_send_eof(ch);
        r = ssh_channel_get_exit_status(ch);
        if (r < 0)
                r = 0; /* the server sent none (some do not): the output is what counts */
out:
        if (ssh_channel_is_open(ch))
                (void)ssh_channel_close(ch);
        ssh_channel_free(ch);
        return r;
}

int conn_run(ssh_session ssh, const char *cmd, char *out, size_t size)
{
        ssh_channel ch = chan_exec(ssh, cmd);

        return ch ? chan_finish(ch, out, size, NULL, 0) : -EIO;
}

struct exec_put {
        struct conn *c;
        ssh_channel ch;
        const char *part;
};

static int exec_put(void *ud, const void *p, size_t n, char *why, size_t size)
{
        struct exec_put *e = ud;

        if (ssh_channel_write(e->ch, p, (uint32_t)n) == (int)n)
                return 0;
        snprintf(why, size, "writing %s on %s failed: %s", e->part, e->c->desc, ssh_get_error(e->c->ssh));
        return -EIO;
}

int exec_upload(struct conn *c, const char *local, const char *remote, int mode, const uint8_t *expect,
                uint8_t hash[KW_SHA256_LEN], char *why, size_t size)
{
        char qpart[PATH_MAX * 2], qfinal[PATH_MAX * 2], part[PATH_MAX + 8], cmd[PATH_MAX * 7];
        char out[256], err[256] = "", got[80];
        struct kw_sha256 sh;
        struct kw_md5 md;
        uint64_t total = 0;
        int r = 0;

        snprintf(part, sizeof(part), "%s.part", remote);
        if (kw_ssh_quote(part, qpart, sizeof(qpart)) < 0 || kw_ssh_quote(remote, qfinal, sizeof(qfinal)) < 0) {
                snprintf(why, size, "%s: name too long", remote);
                return -ENAMETOOLONG;
        }
        int in = open(local, O_RDONLY | O_CLOEXEC);
        if (in < 0) {
                r = -errno;
                snprintf(why, size, "cannot read %s: %s", local, strerror(-r));
                return r;
        }
        snprintf(cmd, sizeof(cmd), "umask 077 && cat > %s && %s %s", qpart, c->check->cmd, qpart);
        ssh_channel ch = chan_exec(c->ssh, cmd);
        if (!ch) {
                close(in);
                snprintf(why, size, "cannot run cat on %s: %s", c->desc, ssh_get_error(c->ssh));
                return -EIO;
        }
        kw_sha256_init(&sh);
        kw_md5_init(&md);
        struct exec_put put = { c, ch, part };
        r = conn_stream(in, local, exec_put, &put, &sh, &md, &total, why, size);
        close(in);
        if (r == 0 && ssh_channel_send_eof(ch) != SSH_OK) {
                r = -EIO;
                snprintf(why, size, "writing %s on %s failed: %s", part, c->desc, ssh_get_error(c->ssh));
        }
        int st = chan_finish(ch, out, sizeof(out), err, sizeof(err));
        if (r < 0)
                return r;
        if (st != 0) {
                snprintf(why, size, "copying to %s on %s failed: %s", part, c->desc,
                         st < 0 ? strerror(-st) : err[0] ? err : "cat or the check exited with an error");
                return st < 0 ? st : -EIO;
        }
        uint8_t s[KW_SHA256_LEN], m[KW_MD5_LEN];
        char shex[2 * KW_SHA256_LEN + 1], mhex[2 * KW_MD5_LEN + 1];
        kw_sha256_final(&sh, s);
        kw_md5_final(&md, m);
        kw_sha256_hex(s, sizeof(s), shex);
        kw_sha256_hex(m, sizeof(m), mhex);
        if (kw_ssh_check_compare(c->check, out, shex, mhex, total, got, sizeof(got)) < 0) {
                char here[72];
                if (c->check->kind == KW_CHECK_SIZE)
                        snprintf(here, sizeof(here), "%" PRIu64, total);
                else
                        snprintf(here, sizeof(here), "%s", c->check->kind == KW_CHECK_SHA256 ? shex : mhex);
                snprintf(cmd, sizeof(cmd), "rm -f %s", qpart);
                (void)conn_run(c->ssh, cmd, out, sizeof(out));
                snprintf(why, size, "the copy of %s on %s is not what was sent (%s there: '%s', here: %s)", local,
                         c->desc, c->check->name, got, here);
                return -EIO;
        }
        if (expect && memcmp(s, expect, sizeof(s)) != 0) {
                snprintf(why, size, "%s changed while it was copied", local);
                return -EAGAIN;
        }
        snprintf(cmd, sizeof(cmd), "chmod %o %s && mv -f %s %s", (unsigned)mode, qpart, qpart, qfinal);
        st = conn_run(c->ssh, cmd, out, sizeof(out));
        if (st != 0) {
                snprintf(why, size, "cannot rename %s on %s (%s)", part, c->desc,
                         st < 0 ? strerror(-st) : "mv failed");
                return st < 0 ? st : -EIO;
        }
        if (hash)
                memcpy(hash, s, sizeof(s));
        return 0;
}

/* The checksum tool, then the private directory (made if missing, checked
 * either way) and whether the agent is in it, in two round trips. */
int exec_prepare(struct worker *w, struct conn *c, struct fail *f)
{
        char cmd[PATH_MAX * 5], out[1024], qdir[PATH_MAX + 8], agent[PATH_MAX + 32], qagent[PATH_MAX * 2];

        if (kw_ssh_check_probe(cmd, sizeof(cmd)) < 0 || conn_run(c->ssh, cmd, out, sizeof(out)) < 0)
                return conn_failf(f, false, "cannot run commands on %s: %s", c->desc, ssh_get_error(c->ssh));
        c->check = kw_ssh_check_pick(out);
        snprintf(agent, sizeof(agent), "%s/kmod-agent", c->dir);
        kw_ssh_quote(c->dir, qdir, sizeof(qdir));
        kw_ssh_quote(agent, qagent, sizeof(qagent));
        snprintf(cmd, sizeof(cmd), "mkdir -m 700 %s 2>/dev/null; ls -ldn %s && ls -ln %s 2>/dev/null; true", qdir, qdir,
                 qagent);
        int r = conn_run(c->ssh, cmd, out, sizeof(out));
        struct kw_ssh_ls d, a;
        if (r < 0 || kw_ssh_parse_ls(out, &d) < 0)
                return conn_failf(f, r >= 0, "cannot make %s on %s%s%s", c->dir, c->desc, r < 0 ? ": " : "",
                                  r < 0 ? ssh_get_error(c->ssh) : " (mkdir or ls -ldn failed there)");
        if (d.type != 'd' || d.uid != c->uid || (d.mode & 0077) != 0)
                return conn_failf(f, true, "%s on %s is not a private directory of uid %u (a directory, mode "
                                  "0700): remove it on the target", c->dir, c->desc, c->uid);
        const char *second = strchr(out, '\n');
        if (second && kw_ssh_parse_ls(second + 1, &a) == 0 && a.type == '-' && a.size == (uint64_t)w->agent_size &&
            (a.mode & 0100)) {
                worker_log(w, WLOG_DEBUG, "ssh: the agent is already in %s", c->dir);
                return 0;
        }
        char why[1024];
        r = exec_upload(c, w->agent_local, agent, 0700, w->agent_hash, NULL, why, sizeof(why));
        if (r < 0)
                return conn_failf(f, false, "copying the agent: %s", why);
        worker_log(w, WLOG_DEBUG, "ssh: copied the agent to %s (checked with %s)", agent, c->check->name);
        return 0;
}
