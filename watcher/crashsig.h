/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crashsig.h — a kernel report's stable identity, the way syzkaller titles
 * crashes: a title ("BUG: kernel NULL pointer dereference in f [mod]") and a
 * fingerprint (16 hex digits) made only of what stays the same across
 * reboots, rebuilds and machines: the kind, the first line cut before its
 * first number ("BUG: unable to handle page fault for address: ffff…" gives
 * "BUG: unable to handle page fault"), the faulting function and module, and the functions of the
 * module frames in the trace. Addresses, offsets, CPU and PID numbers,
 * timestamps and paths are left out. The same bug gives the same
 * fingerprint; the oops event, JUnit, KTAP and KCIDB carry it.
 * Pure: no I/O.
 */
#pragma once

#include <stddef.h>

#include "oops.h"

#define KW_CRASHSIG_LEN 17 /* 16 hex digits and the NUL */

struct kw_crashsig {
        char title[256];
        char fingerprint[KW_CRASHSIG_LEN];
};

void kw_crashsig(const struct kw_oops *o, struct kw_crashsig *ret);
