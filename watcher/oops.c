/* SPDX-License-Identifier: MIT */
/*
 * oops.c — see oops.h. The patterns are the kernel's own fixed strings
 * (lib/bug.c, arch/x86/mm/fault.c, arch/arm64/mm/fault.c, kernel/panic.c,
 * kernel/watchdog.c, kernel/hung_task.c); an incident ends at the
 * "---[ end trace" line or after a trace's worth of lines.
 */
#include "oops.h"

#include <stdio.h>
#include <string.h>

#define KW_INCIDENT_LINES 80

void kw_oops_init(struct kw_oops_scanner *s)
{
        *s = (struct kw_oops_scanner){ 0 };
}

static const struct {
        const char *needle;
        enum kw_oops_kind kind;
} patterns[] = {
        { "Kernel panic - not syncing", KW_OOPS_PANIC },
        { "BUG: kernel NULL pointer dereference", KW_OOPS_OOPS },
        { "BUG: unable to handle page fault", KW_OOPS_OOPS },
        { "BUG: unable to handle kernel", KW_OOPS_OOPS },
        { "Unable to handle kernel", KW_OOPS_OOPS },       /* arm64 */
        { "general protection fault", KW_OOPS_OOPS },
        { "Internal error: Oops", KW_OOPS_OOPS },          /* arm64 */
        { "Oops: ", KW_OOPS_OOPS },
        { "kernel BUG at ", KW_OOPS_BUG },
        { "BUG: ", KW_OOPS_BUG },                          /* soft lockup, sleeping in atomic, … */
        { "watchdog: Watchdog detected hard LOCKUP", KW_OOPS_BUG },
        { "INFO: task ", KW_OOPS_BUG },                    /* hung task ("blocked for more than") */
        { "WARNING: ", KW_OOPS_WARNING },
};

bool kw_oops_feed(struct kw_oops_scanner *s, const char *line, struct kw_oops *ret)
{
        if (s->in_incident) {
                if (strstr(line, "---[ end trace") || ++s->lines_in_incident > KW_INCIDENT_LINES)
                        s->in_incident = false;
                /* a panic after an oops is news: the machine is going down */
                if (!strstr(line, "Kernel panic - not syncing"))
                        return false;
        }
        for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
                if (!strstr(line, patterns[i].needle))
                        continue;
                if (patterns[i].kind == KW_OOPS_BUG && strstr(line, "INFO: task ") &&
                    !strstr(line, "blocked for more than"))
                        continue;
                ret->kind = patterns[i].kind;
                snprintf(ret->text, sizeof(ret->text), "%s", line);
                s->in_incident = true;
                s->lines_in_incident = 0;
                return true;
        }
        return false;
}

const char *kw_oops_kind_name(enum kw_oops_kind kind)
{
        switch (kind) {
        case KW_OOPS_OOPS: return "oops";
        case KW_OOPS_PANIC: return "panic";
        case KW_OOPS_BUG: return "bug";
        case KW_OOPS_WARNING: return "warning";
        }
        return "oops";
}
