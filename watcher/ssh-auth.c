/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-auth.c — logging in to the target (see ssh-int.h): "none" (a board
 * whose root has an empty password), keys (ssh-agent, --identity, the usual
 * files), then a password by the "password" or "keyboard-interactive"
 * method: from --password-file, else from SSH_ASKPASS, else an empty one.
 * The password file's checks and the askpass rule are pure (ssh.h). A
 * password never goes on a command line, into a child's environment or into
 * a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spawn.h"
#include "ssh-int.h"
#include "ssh.h"

#define KW_SSH_ASKPASS_TIMEOUT_MS (5 * 60 * 1000) /* a person answers a dialog */

/* ---- the pure parts ---- */

int kw_ssh_read_password_file(const char *path, char *buf, size_t size, char *err, size_t err_size)
{
        struct stat st;
        int r = 0;

        buf[0] = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(err, err_size, "--password-file %s: %s", path, strerror(-r));
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(err, err_size, "--password-file %s: not a regular file", path);
                r = -EINVAL;
                goto out;
        }
        if (st.st_mode & 077) {
                snprintf(err, err_size, "--password-file %s is open to others (mode %04o): chmod 600 %s", path,
                         (unsigned)(st.st_mode & 07777), path);
                r = -EINVAL;
                goto out;
        }
        size_t n = 0;
        for (;;) {
                ssize_t k = read(fd, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        snprintf(err, err_size, "--password-file %s: %s", path, strerror(-r));
                        goto out;
                }
                n += (size_t)k;
                buf[n] = 0;
                if (k == 0 || strchr(buf, '\n') || n == size - 1)
                        break;
        }
        char *nl = strchr(buf, '\n');
        if (!nl && n == size - 1) {
                snprintf(err, err_size, "--password-file %s: its first line is longer than %zu bytes", path,
                         size - 2);
                r = -EINVAL;
                goto out;
        }
        size_t len = nl ? (size_t)(nl - buf) : n;
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        explicit_bzero(buf + len, size - len); /* the rest of the file goes */
out:
        if (fd >= 0)
                close(fd);
        if (r < 0)
                explicit_bzero(buf, size);
        return r;
}

bool kw_ssh_askpass_wanted(const char *askpass, const char *require, const char *display, const char *wayland)
{
        bool allowed = (display && display[0]) || (wayland && wayland[0]);

        if (!askpass || !askpass[0])
                return false;
        if (require && strcasecmp(require, "never") == 0)
                return false;
        if (require && strcasecmp(require, "force") == 0)
                return true;
        return allowed;
}

/* ---- logging in ---- */

/* The password to try, and where it came from (for messages). */
static int get_password(struct worker *w, struct conn *c, struct fail *f, const char **from)
{
        const struct target *t = &w->t;

        if (t->password_file[0]) {
                *from = "the password from --password-file";
                return 0; /* read when the options were checked */
        }
        if (!t->askpass[0]) {
                *from = "an empty password";
                w->pw[0] = 0;
                return 0;
        }
        *from = "the password SSH_ASKPASS gave";
        if (w->have_pw)
                return 0;
        char prompt[600];
        snprintf(prompt, sizeof(prompt), "kmod-watch: %s's password: ", c->desc);
        char *argv[] = { (char *)t->askpass, prompt, NULL };
        worker_log(w, WLOG_DEBUG, "ssh: asking %s for the password of %s", t->askpass, c->desc);
        int r = kw_spawn_capture(argv, KW_SPAWN_NULL, KW_SSH_ASKPASS_TIMEOUT_MS, w->pw, sizeof(w->pw));
        if (r != 0) {
                explicit_bzero(w->pw, sizeof(w->pw));
                return conn_failf(f, true, "SSH_ASKPASS %s gave no password for %s (%s %d)", t->askpass, c->desc,
                             r < 0 ? "error" : "exit status", r < 0 ? -r : r);
        }
        w->pw[strcspn(w->pw, "\r\n")] = 0;
        w->have_pw = true;
        return 0;
}

/* keyboard-interactive, answering the hidden prompts with pw once. */
static int kbdint(ssh_session ssh, const char *pw)
{
        bool answered = false;
        int r = ssh_userauth_kbdint(ssh, NULL, NULL);

        for (int round = 0; r == SSH_AUTH_INFO && round < 8; round++) {
                int n = ssh_userauth_kbdint_getnprompts(ssh);
                for (int i = 0; i < n; i++) {
                        char echo = 0;
                        (void)ssh_userauth_kbdint_getprompt(ssh, (unsigned)i, &echo);
                        if (echo || answered) /* a question we cannot answer, or asked again: refused */
                                return SSH_AUTH_DENIED;
                        if (ssh_userauth_kbdint_setanswer(ssh, (unsigned)i, pw) < 0)
                                return SSH_AUTH_ERROR;
                }
                answered = answered || n > 0;
                r = ssh_userauth_kbdint(ssh, NULL, NULL);
        }
        return r == SSH_AUTH_INFO ? SSH_AUTH_DENIED : r;
}

static int logged_in(struct conn *c, const char *how)
{
        snprintf(c->login, sizeof(c->login), "%s", how);
        return 0;
}

static int keys_refused(const struct target *t, struct conn *c, struct fail *f, const char *also)
{
        if (t->identity[0])
                return conn_failf(f, true, "%s refused the key %s (and ssh-agent's, if any)%s: wrong user or key? Add "
                             "%s.pub to the target's ~/.ssh/authorized_keys", c->desc, t->identity, also,
                             t->identity);
        return conn_failf(f, true, "%s refused every key offered (ssh-agent, ~/.ssh/id_*, ~/.ssh/config)%s: wrong "
                     "user? Pass --identity FILE or --password-file FILE, or add your public key to the "
                     "target's ~/.ssh/authorized_keys", c->desc, also);
}

int conn_login(struct worker *w, struct conn *c, struct fail *f)
{
        const struct target *t = &w->t;
        int r = ssh_userauth_none(c->ssh, NULL);

        if (r == SSH_AUTH_SUCCESS)
                return logged_in(c, "none (no password)");
        if (r == SSH_AUTH_ERROR)
                return conn_failf(f, false, "%s: %s", c->desc, ssh_get_error(c->ssh));
        int methods = ssh_userauth_list(c->ssh, NULL);
        if (methods & SSH_AUTH_METHOD_PUBLICKEY) {
                r = ssh_userauth_publickey_auto(c->ssh, NULL, NULL);
                if (r == SSH_AUTH_SUCCESS)
                        return logged_in(c, "publickey");
                if (r == SSH_AUTH_ERROR)
                        return conn_failf(f, false, "%s: %s", c->desc, ssh_get_error(c->ssh));
                if (r == SSH_AUTH_PARTIAL)
                        methods = ssh_userauth_list(c->ssh, NULL);
        }
        if (!(methods & (SSH_AUTH_METHOD_PASSWORD | SSH_AUTH_METHOD_INTERACTIVE))) {
                if (!(methods & SSH_AUTH_METHOD_PUBLICKEY))
                        return conn_failf(f, true, "%s accepts neither keys nor passwords: enable "
                                     "PubkeyAuthentication or PasswordAuthentication on the target", c->desc);
                if (t->password_file[0] || t->askpass[0])
                        return keys_refused(t, c, f, " and takes no password logins");
                return keys_refused(t, c, f, "");
        }
        const char *from = "";
        if (get_password(w, c, f, &from) < 0)
                return -1;
        const char *method;
        if (methods & SSH_AUTH_METHOD_PASSWORD) {
                method = "password";
                r = ssh_userauth_password(c->ssh, NULL, w->pw);
        } else {
                method = "keyboard-interactive";
                r = kbdint(c->ssh, w->pw);
        }
        if (!t->password_file[0] && !w->have_pw)
                explicit_bzero(w->pw, sizeof(w->pw));
        if (r == SSH_AUTH_SUCCESS) {
                char how[48];
                snprintf(how, sizeof(how), "%s (%s)", method,
                         t->password_file[0] ? "--password-file" : w->have_pw ? "SSH_ASKPASS" : "empty");
                return logged_in(c, how);
        }
        if (r == SSH_AUTH_ERROR)
                return conn_failf(f, false, "%s: %s", c->desc, ssh_get_error(c->ssh));
        if (t->password_file[0])
                return conn_failf(f, true, "%s refused the password from %s (%s login): wrong password or user?",
                             c->desc, t->password_file, method);
        if (w->have_pw) {
                explicit_bzero(w->pw, sizeof(w->pw)); /* ask again on the next connection */
                w->have_pw = false;
                return conn_failf(f, true, "%s refused %s (%s login): wrong password or user?", c->desc, from, method);
        }
        if (methods & SSH_AUTH_METHOD_PUBLICKEY)
                return keys_refused(t, c, f, ", and an empty password");
        return conn_failf(f, true, "%s refused an empty password (%s login): pass --password-file FILE (or set "
                     "SSH_ASKPASS) for its password", c->desc, method);
}
