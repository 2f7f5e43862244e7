/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * oops.h — spots the kernel reporting trouble in its log and gathers each
 * report into one block: oops, panic, BUG (lockups, hung tasks, stalls),
 * WARNING, and a bare Call Trace; x86_64 and arm64 wordings. A block runs
 * from the line that opens it to its end marker ("---[ end …"), a line
 * bound, or kw_oops_flush() (the caller's quiet timer: lockup and hung-task
 * reports have no end marker). From the block it takes the faulting
 * function (RIP: / pc :), the reliable Call Trace frames, the taint flags,
 * and whether the kernel killed the context ("[#1]").
 *
 * Lines come from two sources that overlap: the kernel log streamed by the
 * agent, and the guest console, which outlives a dead agent (a panic) but
 * shows only urgent lines. A line seen on one source is dropped when its
 * twin arrives on the other, so a report read from both is one block.
 * Pure: fed one line at a time; no I/O, no clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KW_OOPS_MAX_FRAMES 24
#define KW_OOPS_MAX_LINES 200
#define KW_OOPS_TEXT 16384
#define KW_OOPS_DEDUPE 256

enum kw_oops_kind { KW_OOPS_OOPS, KW_OOPS_PANIC, KW_OOPS_BUG, KW_OOPS_WARNING };
enum kw_oops_src { KW_OOPS_SRC_KMSG, KW_OOPS_SRC_CONSOLE };

/* One stack frame as the kernel prints it: "hello_init+0x15/0x30 [hello]". */
struct kw_oops_frame {
        char function[128];
        uint64_t offset, size;
        char module[64]; /* "" in the core kernel */
        bool exact;      /* the faulting instruction (RIP: / pc :), not a return address */
};

struct kw_oops {
        enum kw_oops_kind kind;
        char text[256];              /* the line that opened the block */
        bool fatal;                  /* the kernel killed the context ("[#1]") or panicked */
        bool ended;                  /* reached its end marker (not cut by a bound) */
        bool has_where;
        struct kw_oops_frame where;  /* faulting function, else the first frame of a module */
        struct kw_oops_frame frames[KW_OOPS_MAX_FRAMES]; /* innermost first; unreliable "? " frames left out */
        size_t n_frames;
        char tainted[40];            /* "G OE" from "Tainted: G           OE", "" when not tainted */
        char lines[KW_OOPS_TEXT];    /* the block as read, '\n' after each line */
        size_t n_lines;
        enum kw_oops_src last_src;   /* where its last line came from */
};

struct kw_oops_scanner {
        bool open;
        bool in_trace;
        bool standalone;             /* opened by a bare "Call Trace:" */
        struct kw_oops_frame rip;
        bool has_rip;
        struct kw_oops cur;
        struct kw_oops done;
        uint32_t seen[2][KW_OOPS_DEDUPE]; /* recent line hashes per source; 0 = free */
        unsigned seen_pos[2];
        char history[3][256];        /* the last lines outside a block (a bare trace's title) */
        unsigned n_history;
        uint32_t last_hash;          /* the hash of the last line added to the block */
        uint32_t echo_hash;          /* the last line of the last block, awaited from the other source */
};

/* kw_oops_feed() and kw_oops_flush() return a mask of: */
#define KW_OOPS_OPEN 1 /* a block is being gathered: flush it if no line comes for a while */
#define KW_OOPS_DONE 2 /* a block is complete: kw_oops_done() until the next feed or flush */
#define KW_OOPS_ECHO 4 /* the other source has now delivered the last block's last line too
                        * (the kernel log has caught up with the console) */

void kw_oops_init(struct kw_oops_scanner *s);
int kw_oops_feed(struct kw_oops_scanner *s, enum kw_oops_src src, const char *line);
/* Ends the open block, if any. */
int kw_oops_flush(struct kw_oops_scanner *s);
const struct kw_oops *kw_oops_done(const struct kw_oops_scanner *s);

/* "? fn+0x15/0x30 [mod]" (leading blanks and "? " allowed) → *ret; -EINVAL if not a frame. */
int kw_oops_parse_frame(const char *text, struct kw_oops_frame *ret);
/* "fn+0x15/0x30 [mod]" back, as the kernel prints it. */
void kw_oops_format_frame(const struct kw_oops_frame *f, char *buf, size_t size);
/* Console lines start with "[    5.208193] ": the text after it (or line). */
const char *kw_oops_strip_stamp(const char *line);
const char *kw_oops_kind_name(enum kw_oops_kind kind);
