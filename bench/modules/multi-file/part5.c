// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 5 of 10: a little real work at load
 * and the tag the bench rewrites per save (the MULTI_TAG line).
 */
#include <linux/bitmap.h>
#include <linux/gcd.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include "multi.h"

#define MULTI_TAG "part5" /* bench: tag */

const char *multi_tag5(void)
{
	return MULTI_TAG;
}

/* gcd and lcm of a few numbers */
unsigned long multi_work5(void)
{
	static const unsigned long n[] = { 12, 18, 30, 42, 66, 78 };
	unsigned long l = 1;
	int i;

	for (i = 0; i < ARRAY_SIZE(n); i++)
		l = l / gcd(l, n[i]) * n[i];
	return l;
}
