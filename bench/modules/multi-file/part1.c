// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 1 of 10: a little real work at load
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

#define MULTI_TAG "part1" /* bench: tag */

const char *multi_tag1(void)
{
	return MULTI_TAG;
}

/* sort a table and sum its order-weighted values */
static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

unsigned long multi_work1(void)
{
	u32 v[64];
	unsigned long s = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		v[i] = (u32)(i * 2654435761u);
	sort(v, ARRAY_SIZE(v), sizeof(v[0]), cmp_u32, NULL);
	for (i = 0; i < ARRAY_SIZE(v); i++)
		s += (unsigned long)v[i] * (i + 1);
	return s;
}
