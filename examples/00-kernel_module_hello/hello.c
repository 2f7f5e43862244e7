// SPDX-License-Identifier: GPL-2.0
/*
 * The tutorial's hello module: one printk on load, one on unload.
 * Edit the pr_info text, save, and kmod-watch shows the new line.
 */
#include <linux/init.h>
#include <linux/module.h>

static int __init hello_init(void)
{
	pr_info("9p iter: build A\n");
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("My First Module exit, say goodbye!\n");
}

module_init(hello_init);
module_exit(hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: hello");
