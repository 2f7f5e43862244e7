// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 7 of 10: a little real work at load
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

#define MULTI_TAG "part7" /* bench: tag */

const char *multi_tag7(void)
{
	return MULTI_TAG;
}

/* integer square roots */
unsigned long multi_work7(void)
{
	unsigned long s = 0, x;

	for (x = 1; x < 10000; x += 97)
		s += int_sqrt(x);
	return s;
}
