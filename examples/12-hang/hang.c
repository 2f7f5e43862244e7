// SPDX-License-Identifier: GPL-2.0
/*
 * An init that waits for something that never happens (while hang is 1).
 * finit_module() never returns, and nothing in the guest can end it:
 * kmod-watch reports the hung load after --load-timeout seconds and restarts
 * the guest. It sleeps instead of spinning, so the rest of the guest keeps
 * running (a spinning init would freeze a one-CPU guest; the restart ends
 * that too). Edit hang to 0 and save: the module loads.
 */
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/module.h>

static int hang = 1;

static int __init hang_init(void)
{
	pr_info("12-hang: waiting for a device that never answers\n");
	while (READ_ONCE(hang))
		msleep(1000);
	pr_info("12-hang: loaded\n");
	return 0;
}

static void __exit hang_exit(void)
{
	pr_info("12-hang: unloaded\n");
}

module_init(hang_init);
module_exit(hang_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: an init that never returns, fixable by an edit");
