/* SPDX-License-Identifier: MIT */
/*
 * products.h — what a finished make produced: the modules kbuild listed in
 * modules.order, read from their .ko files (name, depends=, content hash),
 * checked for the guest's architecture. Problems are said in one line each.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "modules.h"

/* In modules.order order. machine: the guest's ELF machine (e_machine).
 * -ENOENT: no module; -ENOEXEC: not a module, or for another machine. */
int kw_products_collect(const char *dir, uint16_t machine, struct kw_modlist *ret);
