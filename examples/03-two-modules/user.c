// SPDX-License-Identifier: GPL-2.0
/* user calls base's exported kw_base_greet(): see base.c. */
#include <linux/init.h>
#include <linux/module.h>

int kw_base_greet(const char *who);

static int __init user_init(void)
{
	pr_info("user: base answered %d\n", kw_base_greet("user"));
	return 0;
}

static void __exit user_exit(void)
{
	pr_info("user: unloaded\n");
}

module_init(user_init);
module_exit(user_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: a module using another's export");
