// SPDX-License-Identifier: GPL-2.0
/*
 * A NULL pointer dereference in init: the kernel oopses, the insmod dies,
 * and kmod-watch reports "oops in oops_null_init" with oops-null.c:LINE of
 * the faulting store (kmod-watch --once exits 4).
 */
#include <linux/init.h>
#include <linux/module.h>

struct counter {
	int hits;
};

static struct counter *counter; /* never allocated: the bug */

static int __init oops_null_init(void)
{
	pr_info("oops-null: counting a hit\n");
	counter->hits++;
	return 0;
}

static void __exit oops_null_exit(void)
{
}

module_init(oops_null_init);
module_exit(oops_null_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmod-watch example: a NULL pointer dereference in init");
