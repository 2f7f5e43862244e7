/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz-modinfo.c — libFuzzer target for the .ko reader: any bytes at all,
 * seeded with real modules. It must never read outside the buffer (ASan sees
 * to that, as libFuzzer hands over an exactly sized copy) and whatever it
 * reports must be well-formed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "modinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kw_modinfo mi;
        char buf[24];
        const char *m;
        int r = kw_modinfo_parse(data, size, &mi);

        if (r && r != -ENOEXEC && r != -ENOENT)
                abort();
        if (!memchr(mi.name, 0, sizeof(mi.name)) || !memchr(mi.depends, 0, sizeof(mi.depends)) ||
            !memchr(mi.vermagic, 0, sizeof(mi.vermagic)))
                abort();
        if (r == 0 && (!mi.name[0] || (mi.elf_class != 1 && mi.elf_class != 2)))
                abort();
        if (r == -ENOENT && mi.name[0])
                abort();
        m = kw_elf_machine_name(mi.machine, buf, sizeof(buf));
        if (!m || strlen(m) >= sizeof(buf))
                abort();
        return 0;
}
