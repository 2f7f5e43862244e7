// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 6 of 10: a little real work at load
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

#define MULTI_TAG "part6" /* bench: tag */

const char *multi_tag6(void)
{
	return MULTI_TAG;
}

/* string work: reverse, compare, search */
unsigned long multi_work6(void)
{
	char s[] = "kmod-watch multi-file bench module";
	size_t n = strlen(s), i;
	char c;

	for (i = 0; i < n / 2; i++) {
		c = s[i];
		s[i] = s[n - 1 - i];
		s[n - 1 - i] = c;
	}
	return (strnstr(s, "hcraw", n) ? 1000 : 0) + n;
}
