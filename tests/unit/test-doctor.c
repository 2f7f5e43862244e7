/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-doctor.c — reading a kernel .config the way doctor does: y, m, "is
 * not set", absent, a prefix of another symbol, the last line without a
 * newline.
 */
#include <string.h>

#include "doctor.h"
#include "test.h"

static const char config[] = "#\n"
                             "# Automatically generated file; DO NOT EDIT.\n"
                             "CONFIG_NET_9P=m\n"
                             "CONFIG_NET_9P_VIRTIO=m\n"
                             "# CONFIG_NET_9P_XEN is not set\n"
                             "CONFIG_9P_FS_POSIX_ACL=y\n"
                             "CONFIG_LOCALVERSION=\"-kw\"\n"
                             "CONFIG_MODULES=y\n"
                             "CONFIG_EMPTY=\n"
                             "CONFIG_VIRTIO_CONSOLE=y";

static void values(void)
{
        CHECK_EQ(kw_config_value(config, "CONFIG_NET_9P"), 'm');
        CHECK_EQ(kw_config_value(config, "CONFIG_NET_9P_VIRTIO"), 'm');
        CHECK_EQ(kw_config_value(config, "CONFIG_NET_9P_XEN"), 0);
        CHECK_EQ(kw_config_value(config, "CONFIG_MODULES"), 'y');
        CHECK_EQ(kw_config_value(config, "CONFIG_VIRTIO_CONSOLE"), 'y'); /* no final newline */
        CHECK_EQ(kw_config_value(config, "CONFIG_LOCALVERSION"), '"');
        CHECK_EQ(kw_config_value(config, "CONFIG_EMPTY"), 0);
}

static void prefixes(void)
{
        /* CONFIG_9P_FS_POSIX_ACL=y must not count as CONFIG_9P_FS */
        CHECK_EQ(kw_config_value(config, "CONFIG_9P_FS"), 0);
        CHECK_EQ(kw_config_value(config, "CONFIG_NET"), 0);
        CHECK_EQ(kw_config_value("", "CONFIG_MODULES"), 0);
        CHECK_EQ(kw_config_value("XCONFIG_MODULES=y\n", "CONFIG_MODULES"), 0);
}

int main(void)
{
        RUN(values);
        RUN(prefixes);
        TEST_DONE();
}
