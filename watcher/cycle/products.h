/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * products.h — what a finished make produced: the modules kbuild listed in
 * modules.order files (or, without one, the ones the recipe names), read from
 * their .ko files (name, depends=, content hash), checked for the guest's
 * architecture and kernel release (vermagic). Problems are said in one line each.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "modules.h"

struct kw_recipe;

/* In modules.order order. machine: the guest's ELF machine (e_machine);
 * guest_release: the release the guest runs when known (else NULL: rc->release,
 * KDIR's, is taken as the guest's). -ENOENT: no module; -ENOEXEC: not a module,
 * or for another machine; -EPROTO: built for another kernel release. */
int kw_products_collect(const struct kw_recipe *rc, uint16_t machine, const char *guest_release,
                        struct kw_modlist *ret);
