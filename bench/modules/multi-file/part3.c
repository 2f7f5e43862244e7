// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 3 of 10: a little real work at load
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

#define MULTI_TAG "part3" /* bench: tag */

const char *multi_tag3(void)
{
	return MULTI_TAG;
}

/* FNV-1a over a formatted buffer */
unsigned long multi_work3(void)
{
	char buf[128];
	u32 h = 2166136261u;
	int n, i;

	n = scnprintf(buf, sizeof(buf), "multi part %d of %d, jiffies-free", 3, MULTI_PARTS);
	for (i = 0; i < n; i++) {
		h ^= (u8)buf[i];
		h *= 16777619u;
	}
	return h;
}
