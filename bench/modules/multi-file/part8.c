// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 8 of 10: a little real work at load
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

#define MULTI_TAG "part8" /* bench: tag */

const char *multi_tag8(void)
{
	return MULTI_TAG;
}

/* a tiny state machine over a byte string */
unsigned long multi_work8(void)
{
	static const u8 in[] = "aabbbcaaccbbbbba";
	unsigned long runs = 0;
	u8 prev = 0;
	int i;

	for (i = 0; in[i]; i++) {
		if (in[i] != prev)
			runs++;
		prev = in[i];
	}
	return runs;
}
