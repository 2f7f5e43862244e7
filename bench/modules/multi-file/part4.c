// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 4 of 10: a little real work at load
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

#define MULTI_TAG "part4" /* bench: tag */

const char *multi_tag4(void)
{
	return MULTI_TAG;
}

/* a bitmap: set every third bit, count them */
unsigned long multi_work4(void)
{
	DECLARE_BITMAP(map, 512);
	int i;

	bitmap_zero(map, 512);
	for (i = 0; i < 512; i += 3)
		set_bit(i, map);
	return bitmap_weight(map, 512);
}
