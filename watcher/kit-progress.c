/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kit-progress.c — see kit-progress.h. The script knows the steps and the
 * bytes; here they become words, a rate, and the few lines or events a
 * reader wants (not every half-second sample).
 */
#include "kit-progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

static const char *const phase_names[] = {
        [KW_KIT_RESOLVE] = "resolve", [KW_KIT_DOWNLOAD] = "download", [KW_KIT_UNPACK] = "unpack",
        [KW_KIT_DEPMOD] = "depmod",   [KW_KIT_INITRAMFS] = "initramfs", [KW_KIT_DONE] = "done",
};

void kw_kit_progress_init(struct kw_kit_progress *p, const char *arch, const char *release)
{
        memset(p, 0, sizeof(*p));
        snprintf(p->arch, sizeof(p->arch), "%s", arch ? arch : "");
        snprintf(p->release, sizeof(p->release), "%s", release ? release : "");
}

/* "WORD rest": rest if line starts with WORD and a space (or is WORD), else NULL */
static const char *word(const char *line, const char *w)
{
        size_t n = strlen(w);

        if (strncmp(line, w, n) != 0 || (line[n] != ' ' && line[n] != 0))
                return NULL;
        return line[n] ? line + n + 1 : line + n;
}

static enum kw_kit_feed step(struct kw_kit_progress *p, enum kw_kit_phase phase)
{
        if (p->phase == phase)
                return KW_KIT_FEED_NONE;
        p->phase = phase;
        p->say_event = p->say_plain = true;
        return KW_KIT_FEED_PROGRESS;
}

static enum kw_kit_feed download(struct kw_kit_progress *p, const char *rest, uint64_t now_ms)
{
        char *end;
        uint64_t done = strtoull(rest, &end, 10);

        if (end == rest || *end != ' ')
                return KW_KIT_FEED_NONE;
        const char *t = end + 1;
        uint64_t total = strtoull(t, &end, 10);
        if (end == t)
                return KW_KIT_FEED_NONE;
        bool first = p->phase != KW_KIT_DOWNLOAD;
        if (first) {
                p->phase = KW_KIT_DOWNLOAD;
                p->dl_start_ms = now_ms;
                p->last_event_ms = now_ms;
        }
        p->bytes = done;
        p->total = total;
        uint64_t ms = now_ms - p->dl_start_ms;
        p->rate = ms >= 200 ? done * 1000 / ms : 0;
        bool complete = total && done >= total;
        p->say_event = first || complete || now_ms - p->last_event_ms >= 1000;
        if (p->say_event)
                p->last_event_ms = now_ms;
        unsigned quarter = total ? (unsigned)(done >= total ? 4 : done * 4 / total) : 0;
        p->say_plain = first || quarter > p->plain_quarter;
        if (quarter > p->plain_quarter)
                p->plain_quarter = quarter;
        return KW_KIT_FEED_PROGRESS;
}

enum kw_kit_feed kw_kit_progress_feed(struct kw_kit_progress *p, const char *line, uint64_t now_ms)
{
        const char *rest;

        p->say_event = p->say_plain = false;
        if ((rest = word(line, "release"))) {
                snprintf(p->release, sizeof(p->release), "%s", rest);
                snprintf(p->note, sizeof(p->note), "fetching the guest kit %s for %s (once: it is cached)", p->release,
                         p->arch);
                return KW_KIT_FEED_NOTE;
        }
        if ((rest = word(line, "download")))
                return download(p, rest, now_ms);
        if (word(line, "unpack"))
                return step(p, KW_KIT_UNPACK);
        if (word(line, "depmod"))
                return step(p, KW_KIT_DEPMOD);
        if (word(line, "initramfs"))
                return step(p, KW_KIT_INITRAMFS);
        if ((rest = word(line, "done"))) {
                snprintf(p->dir, sizeof(p->dir), "%s", rest);
                enum kw_kit_feed f = step(p, KW_KIT_DONE);
                p->say_plain = false; /* the script's "kit ready" note says it */
                return f;
        }
        if ((rest = word(line, "unknown-release"))) {
                p->unknown_release = true;
                snprintf(p->note, sizeof(p->note), "%s", rest);
                return KW_KIT_FEED_NONE;
        }
        if ((rest = word(line, "note"))) {
                snprintf(p->note, sizeof(p->note), "%s", rest);
                return KW_KIT_FEED_NOTE;
        }
        if ((rest = word(line, "error"))) {
                if (strncmp(rest, "kmod-watch: ", 12) == 0) /* kw_err says it */
                        rest += 12;
                snprintf(p->note, sizeof(p->note), "%s", rest);
                return KW_KIT_FEED_ERROR;
        }
        return KW_KIT_FEED_NONE;
}

static double mb(uint64_t bytes)
{
        return (double)bytes / 1e6;
}

void kw_kit_progress_words(const struct kw_kit_progress *p, char *buf, unsigned size)
{
        int n = snprintf(buf, size, "guest kit %s%s(%s): ", p->release, p->release[0] ? " " : "", p->arch);
        if (n < 0 || (unsigned)n >= size)
                return;
        char *at = buf + n;
        unsigned left = size - (unsigned)n;

        static const char *const words[] = {
                [KW_KIT_RESOLVE] = "asking apt", [KW_KIT_UNPACK] = "unpacking", [KW_KIT_DEPMOD] = "depmod",
                [KW_KIT_INITRAMFS] = "building the initramfs", [KW_KIT_DONE] = "ready",
        };
        if (p->phase != KW_KIT_DOWNLOAD)
                snprintf(at, left, "%s", words[p->phase]);
        else if (p->rate)
                snprintf(at, left, "downloading %.1f of %.1f MB, %.1f MB/s", mb(p->bytes), mb(p->total), mb(p->rate));
        else
                snprintf(at, left, "downloading %.1f of %.1f MB", mb(p->bytes), mb(p->total));
}

void kw_kit_progress_show(struct kw_kit_progress *p, const char *line, uint64_t now_ms)
{
        char words[512];

        switch (kw_kit_progress_feed(p, line, now_ms)) {
        case KW_KIT_FEED_NONE:
                return;
        case KW_KIT_FEED_NOTE:
                kw_note("%s", p->note);
                return;
        case KW_KIT_FEED_ERROR:
                kw_err("%s", p->note);
                return;
        case KW_KIT_FEED_PROGRESS:
                break;
        }
        kw_kit_progress_words(p, words, sizeof(words));
        if (p->phase == KW_KIT_DONE)
                kw_ui_status_done(KW_SLOT_KIT);
        else
                kw_ui_status(KW_SLOT_KIT, "%s", words);
        if (p->say_plain)
                kw_ui_step_line("%s", words);
        if (!p->say_event)
                return;
        kw_ev_begin("kit_progress");
        kw_ev_str("arch", p->arch);
        kw_ev_str("release", p->release);
        kw_ev_str("phase", phase_names[p->phase]);
        if (p->phase == KW_KIT_DOWNLOAD) {
                kw_ev_int("bytes", (long long)p->bytes);
                kw_ev_int("total", (long long)p->total);
                kw_ev_int("rate", (long long)p->rate);
        }
        if (p->phase == KW_KIT_DONE)
                kw_ev_str("dir", p->dir);
        kw_ev_end();
}

void kw_kit_progress_end(struct kw_kit_progress *p)
{
        (void)p;
        kw_ui_status_done(KW_SLOT_KIT);
}
