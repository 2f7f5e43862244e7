/* SPDX-License-Identifier: MIT */
/*
 * oops.h — spots the kernel reporting trouble in its log: oops, panic, BUG,
 * WARNING (the x86_64 and arm64 wordings), one report per incident: the
 * lines of a trace that follow the first are part of it, not new reports.
 * Pure: fed one log line at a time.
 */
#pragma once

#include <stdbool.h>

enum kw_oops_kind { KW_OOPS_OOPS, KW_OOPS_PANIC, KW_OOPS_BUG, KW_OOPS_WARNING };

struct kw_oops {
        enum kw_oops_kind kind;
        char text[256]; /* the line that opened the incident */
};

struct kw_oops_scanner {
        bool in_incident;
        unsigned lines_in_incident;
};

void kw_oops_init(struct kw_oops_scanner *s);
/* true: this line opens a new incident, described in *ret. */
bool kw_oops_feed(struct kw_oops_scanner *s, const char *line, struct kw_oops *ret);
const char *kw_oops_kind_name(enum kw_oops_kind kind);
