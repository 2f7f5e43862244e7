// SPDX-License-Identifier: GPL-2.0
/*
 * base exports kw_base_greet(); user (user.c) calls it. kmod-watch loads base
 * first and user after it (user's .modinfo says depends=base), unloads them in
 * reverse, and when base changes reloads user too.
 */
#include <linux/init.h>
#include <linux/module.h>

int kw_base_greet(const char *who)
{
	pr_info("base: hello, %s\n", who);
	return 42;
}
EXPORT_SYMBOL_GPL(kw_base_greet);

static int __init base_init(void)
{
	pr_info("base: loaded\n");
	return 0;
}

static void __exit base_exit(void)
{
	pr_info("base: unloaded\n");
}

module_init(base_init);
module_exit(base_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: a module that exports a symbol");
