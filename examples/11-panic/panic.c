// SPDX-License-Identifier: GPL-2.0
/*
 * panic() in init while crash is 1. kmod-watch boots its guest with
 * panic=-1 and -no-reboot, so QEMU exits; kmod-watch reports the panic,
 * starts the guest again, and does not load this build again. Edit crash
 * to 0 and save: the fixed module loads in the fresh guest.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static int crash = 1;

static int __init panic_init(void)
{
	if (crash)
		panic("11-panic: crash requested by the example");
	pr_info("11-panic: loaded without crashing\n");
	return 0;
}

static void __exit panic_exit(void)
{
	pr_info("11-panic: unloaded\n");
}

module_init(panic_init);
module_exit(panic_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: panic in init, fixable by an edit");
