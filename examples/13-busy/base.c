// SPDX-License-Identifier: GPL-2.0
/*
 * base.ko: a tiny library module. user.ko uses base_greet(), which makes
 * user a holder of base: base cannot go while user is loaded.
 */
#include <linux/init.h>
#include <linux/module.h>

void base_greet(const char *who)
{
	pr_info("13-busy base: hello, %s\n", who);
}
EXPORT_SYMBOL_GPL(base_greet);

static int __init base_init(void)
{
	pr_info("13-busy base: loaded\n");
	return 0;
}

static void __exit base_exit(void)
{
	pr_info("13-busy base: unloaded\n");
}

module_init(base_init);
module_exit(base_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: a module another one holds");
