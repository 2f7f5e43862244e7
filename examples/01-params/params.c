// SPDX-License-Identifier: GPL-2.0
/*
 * Module parameters: kmod-watch --param greeting=hi --param repeat=3 passes
 * them to finit_module(); edit, save, and the new values print again.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static char *greeting = "hello";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "what to say");

static int repeat = 1;
module_param(repeat, int, 0444);
MODULE_PARM_DESC(repeat, "how many times");

static int __init params_init(void)
{
	int i;

	for (i = 0; i < repeat && i < 10; i++)
		pr_info("params: %s (%d/%d)\n", greeting, i + 1, repeat);
	return 0;
}

static void __exit params_exit(void)
{
	pr_info("params: bye\n");
}

module_init(params_init);
module_exit(params_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: module parameters");
