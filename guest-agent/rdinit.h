/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rdinit.h — the agent as the kernel's first program (rdinit=/kmod-watch-init,
 * added by `kmod-watch inject-agent`): it needs nothing from the initramfs —
 * no shell, no applet links. As PID 1 it forks a child that keeps an agent
 * running (starting it again if it ever exits) and then execs the user's own
 * init in PID 1: kw_init=PATH from the kernel command line, else /init, else
 * /sbin/init. When none can run, it says why on the console (/dev/kmsg, else
 * /dev/console) before the kernel panics.
 */
#pragma once

#include <stdbool.h>

/* Returns false at once when this process is not PID 1 (a normal agent start).
 * As PID 1 it returns true only in the child that goes on as the agent (its
 * arguments were the user's init's, not the agent's); PID 1 itself becomes the
 * user's init and never returns. */
bool rdinit_start(int argc, char **argv);
