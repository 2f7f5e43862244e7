/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hello.h — the HELLO greeting: who the agent is and what guest it runs in.
 */
#pragma once

#include <stdint.h>

#include "proto.h"

/* HELLO for request id (0 when unsolicited) echoing nonce. */
void hello_build(struct kw_msg *m, uint32_t id, uint64_t nonce);
