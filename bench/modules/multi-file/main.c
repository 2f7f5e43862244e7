// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 0 of 10: init and exit. The load
 * prints every part's tag and the sum of their work on one line.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include "multi.h"

#define MULTI_TAG "part0" /* bench: tag */

const char *multi_tag0(void)
{
	return MULTI_TAG;
}

unsigned long multi_work0(void)
{
	return MULTI_PARTS;
}

static int __init multi_init(void)
{
	unsigned long sum = multi_work0() + multi_work1() + multi_work2() + multi_work3() +
			    multi_work4() + multi_work5() + multi_work6() + multi_work7() +
			    multi_work8() + multi_work9();

	pr_info("multi: %s %s %s %s %s %s %s %s %s %s (%lu)\n",
		multi_tag0(), multi_tag1(), multi_tag2(), multi_tag3(), multi_tag4(),
		multi_tag5(), multi_tag6(), multi_tag7(), multi_tag8(), multi_tag9(), sum);
	return 0;
}

static void __exit multi_exit(void)
{
	pr_info("multi: exit\n");
}

module_init(multi_init);
module_exit(multi_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("bench/run: a module of ten .c files");
