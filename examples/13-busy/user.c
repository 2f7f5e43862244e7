// SPDX-License-Identifier: GPL-2.0
/*
 * user.ko: calls base_greet() and has no module_exit(), so the kernel will
 * not unload it (only a forced unload, kmod-watch --force-unload, does) and
 * it keeps base.ko in use.
 */
#include <linux/init.h>
#include <linux/module.h>

void base_greet(const char *who);

static int __init user_init(void)
{
	base_greet("user");
	return 0;
}

module_init(user_init);
/* no module_exit(): the forgotten exit function */

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: holds base.ko and cannot be unloaded");
