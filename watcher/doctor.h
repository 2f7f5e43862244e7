/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * doctor.h — `kmod-watch doctor [DIR]`: the seed tutorial's checklist, run
 * for the guest kmod-watch would use (the kit, --kdir, or --connect with the
 * user's share): kernel config (9p, virtio), QEMU, KVM, the share and its tag
 * and security model, inotify limits, make and the (cross) compiler, the kit
 * and the agent. One line per check, "ok   …" or "FAIL … — fix: …"; exit 0
 * when everything is ok, 1 otherwise.
 */
#pragma once

#include "opts.h"

/* The value of sym (e.g. "CONFIG_9P_FS") in .config text: 'y', 'm', or 0
 * when it is not set or absent (other values, e.g. strings: their first
 * character). Pure. */
char kw_config_value(const char *config, const char *sym);

int kw_doctor_main(const struct kw_opts *o);
