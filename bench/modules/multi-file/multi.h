/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/run's multi-file module: what each part exports to main.c. Each
 * part does a little real work at load (so its compile is not trivial) and
 * has a tag the bench rewrites to a new text per save.
 */
#ifndef MULTI_H
#define MULTI_H

#include <linux/types.h>

#define MULTI_PARTS 10

const char *multi_tag0(void);
unsigned long multi_work0(void);
const char *multi_tag1(void);
unsigned long multi_work1(void);
const char *multi_tag2(void);
unsigned long multi_work2(void);
const char *multi_tag3(void);
unsigned long multi_work3(void);
const char *multi_tag4(void);
unsigned long multi_work4(void);
const char *multi_tag5(void);
unsigned long multi_work5(void);
const char *multi_tag6(void);
unsigned long multi_work6(void);
const char *multi_tag7(void);
unsigned long multi_work7(void);
const char *multi_tag8(void);
unsigned long multi_work8(void);
const char *multi_tag9(void);
unsigned long multi_work9(void);

#endif
