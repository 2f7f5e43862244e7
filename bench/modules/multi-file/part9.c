// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 9 of 10: a little real work at load
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

#define MULTI_TAG "part9" /* bench: tag */

const char *multi_tag9(void)
{
	return MULTI_TAG;
}

/* a kmalloc'd matrix multiplied by itself */
unsigned long multi_work9(void)
{
	enum { N = 8 };
	long (*a)[N], s = 0;
	int i, j, k;

	a = kmalloc_array(N, sizeof(*a), GFP_KERNEL);
	if (!a)
		return 0;
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++)
			a[i][j] = i + j;
	for (i = 0; i < N; i++)
		for (j = 0; j < N; j++)
			for (k = 0; k < N; k++)
				s += a[i][k] * a[k][j];
	kfree(a);
	return s;
}
