// SPDX-License-Identifier: GPL-2.0
/*
 * bench/run's multi-file module, part 2 of 10: a little real work at load
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

#define MULTI_TAG "part2" /* bench: tag */

const char *multi_tag2(void)
{
	return MULTI_TAG;
}

/* a linked list built, walked and freed */
struct item {
	struct list_head node;
	int value;
};

unsigned long multi_work2(void)
{
	LIST_HEAD(head);
	struct item *it, *tmp;
	unsigned long s = 0;
	int i;

	for (i = 0; i < 32; i++) {
		it = kmalloc(sizeof(*it), GFP_KERNEL);
		if (!it)
			break;
		it->value = i * i;
		list_add_tail(&it->node, &head);
	}
	list_for_each_entry_safe(it, tmp, &head, node) {
		s += it->value;
		list_del(&it->node);
		kfree(it);
	}
	return s;
}
