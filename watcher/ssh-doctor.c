/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ssh-doctor.c — `kmod-watch doctor --ssh`: the transport's connection made
 * once, synchronously, on this thread (no worker thread), with the same
 * set-up as kw_ssh_new() (worker_init), and each step reported as a line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "ssh-int.h"
#include "ssh.h"

int kw_ssh_doctor(const struct kw_opts *o, FILE *out)
{
        struct worker *w = calloc(1, sizeof(*w));
        struct fail f = { 0 };
        struct ev *ok = worker_new_ev(E_CONNECTED);
        char err[600];
        int failed = 0;

        if (!w || !ok) {
                free(w);
                free(ok);
                return 1;
        }
        int r = worker_init(w, o, false, err, sizeof(err));
        if (r < 0) {
                if (r == -EINVAL)
                        fprintf(out, "FAIL --ssh %s — fix: give [USER@]HOST[:PORT]\n", o->ssh);
                else if (r == -EPERM)
                        fprintf(out, "FAIL %s\n", err);
                else
                        fprintf(out, "FAIL ssh %s — fix: %s\n", o->ssh, err);
                failed++;
                goto out;
        }
        if (conn_open(w, &w->c, ok, &f) < 0) {
                fprintf(out, "FAIL ssh %s — fix: %s\n", o->ssh, f.why);
                failed++;
                goto out;
        }
        fprintf(out, "ok   ssh %s: logged in with %s as uid %u, %s %s, files over %s, agent in %s\n", w->c.desc,
                ok->login, ok->uid, ok->arch, ok->release, ok->files, ok->dir);
        if (strcmp(ok->arch, o->arch) != 0) {
                fprintf(out, "FAIL the target is %s, kmod-watch builds for %s — fix: pass --arch %s\n", ok->arch,
                        o->arch, ok->arch);
                failed++;
        }
        if (ok->uid != 0) {
                fprintf(out, "FAIL loading modules needs root, %s is uid %u — fix: log in as root\n", w->c.desc,
                        ok->uid);
                failed++;
        }
        if (!o->kdir) {
                struct kw_kit kit;
                if (kw_kit_load(o->arch, o->release, &kit) < 0 || strcmp(kit.release, ok->release) != 0) {
                        fprintf(out, "FAIL no headers for %s — fix: pass --kdir (headers for %s)\n", ok->release,
                                ok->release);
                        failed++;
                } else {
                        fprintf(out, "ok   the kit's headers match the target's kernel %s\n", ok->release);
                }
        }
out:
        if (ok->fd >= 0)
                close(ok->fd);
        free(ok);
        worker_destroy(w);
        free(w);
        return failed;
}
