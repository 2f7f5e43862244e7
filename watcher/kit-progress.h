/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit-progress.h — the kit script's progress (kmod-watch-kit --progress-fd)
 * shown to a person or a program: one replaced status line on a terminal
 * (KW_SLOT_KIT), a plain line per step elsewhere, kit_progress events with
 * --json. The script writes one event a line:
 *   release REL (a real fetch begins) | download DONE TOTAL | unpack | depmod | initramfs |
 *   done DIR | note TEXT | error TEXT | unknown-release TEXT
 * The parser is pure (a clock is passed in); kw_kit_progress_show() draws.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

enum kw_kit_phase {
        KW_KIT_RESOLVE, /* asking apt which kernel (before any line) */
        KW_KIT_DOWNLOAD,
        KW_KIT_UNPACK,
        KW_KIT_DEPMOD,
        KW_KIT_INITRAMFS,
        KW_KIT_DONE,
};

struct kw_kit_progress {
        char arch[16];
        char release[64];        /* the full release, once the script named it */
        enum kw_kit_phase phase;
        uint64_t bytes, total;   /* downloaded so far / all packages (bytes) */
        uint64_t rate;           /* bytes per second, over the download so far */
        uint64_t dl_start_ms;    /* when the first download line came */
        uint64_t last_event_ms;  /* the last kit_progress event of the download */
        unsigned plain_quarter;  /* the download quarters (0..4) already said on a plain line */
        bool unknown_release;    /* the script said apt does not offer the release … */
        char note[256];          /* … in these words; else the last note line's text */
        char dir[4096];          /* done: the kit's directory */
        bool say_event;          /* the last feed is worth a kit_progress event … */
        bool say_plain;          /* … and a plain line where no status line is drawn */
};

void kw_kit_progress_init(struct kw_kit_progress *p, const char *arch, const char *release);

/* What a line changed: nothing (a line we do not know), a note or an error
 * (p->note) to print, or progress to show; say_event and say_plain tell whether it is a step worth
 * an event (each step; while downloading, once a second and at the end) and
 * a plain line (each step; each quarter of the download). Pure. */
enum kw_kit_feed { KW_KIT_FEED_NONE, KW_KIT_FEED_NOTE, KW_KIT_FEED_ERROR, KW_KIT_FEED_PROGRESS };
enum kw_kit_feed kw_kit_progress_feed(struct kw_kit_progress *p, const char *line, uint64_t now_ms);

/* The words of the status line: "guest kit 6.12 (x86_64): downloading 12.3 of 124.7 MB, 8.1 MB/s". Pure. */
void kw_kit_progress_words(const struct kw_kit_progress *p, char *buf, unsigned size);

/* Feeds a line and shows what it changed (status slot, plain line, event). */
void kw_kit_progress_show(struct kw_kit_progress *p, const char *line, uint64_t now_ms);
/* The work ended: the status slot is emptied. */
void kw_kit_progress_end(struct kw_kit_progress *p);
