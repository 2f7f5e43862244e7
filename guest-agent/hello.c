/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hello.c — builds HELLO (see hello.h). Sent on every (re)connect and in
 * answer to SYNC; BOOT_ID lets the host tell a rebooted guest from a
 * reconnect, MOUNT saves it a MOUNT request when the share is already there.
 */
#include <sys/utsname.h>

#include "config.h"
#include "hello.h"
#include "mount9p.h"
#include "util.h"

void hello_build(struct kw_msg *m, uint32_t id, uint64_t nonce)
{
        struct utsname u;
        char boot_id[64];

        kw_msg_init(m, KW_HELLO, id);
        kw_msg_put_u64(m, KW_F_NONCE, nonce);
        kw_msg_put_u64(m, KW_F_PROTO, KW_PROTO_VERSION);
        kw_msg_put_str(m, KW_F_VERSION, KW_VERSION);
        if (uname(&u) == 0) {
                kw_msg_put_str(m, KW_F_ARCH, u.machine);
                kw_msg_put_str(m, KW_F_RELEASE, u.release);
        }
        if (read_text_file("/proc/sys/kernel/random/boot_id", boot_id, sizeof(boot_id)) > 0)
                kw_msg_put_str(m, KW_F_BOOT_ID, boot_id);
        mount9p_put_mounts(m);
}
