/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mount9p.h — MOUNT requests (9p over virtio) and the list of 9p mounts the
 * greeting reports, both from /proc/mounts.
 */
#pragma once

#include "proto.h"

/* MOUNT(TAG, PATH) → RESULT(ERRNO, ERROR?, USEC) in reply. */
void mount9p_request(const struct kw_frame *req, struct kw_msg *reply);
/* One MOUNT field "TAG PATH" per 9p mount, as many as fit. */
void mount9p_put_mounts(struct kw_msg *m);
