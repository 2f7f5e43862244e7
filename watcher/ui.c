/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ui.c — terminal and JSON output. JSON lines are written with one fwrite of
 * a fully built line, so a reader never sees half an event.
 */
#include "ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <time.h>

#include "loop.h"
#include "utf8.h"

static struct kw_ui_opts opts;
static struct kw_ui_habits habits;
static char *ev_buf;
static size_t ev_size;
static FILE *ev;
static bool ev_first;
static char last_error[4096];

void kw_ui_setup(const struct kw_ui_opts *o)
{
        opts = *o;
        setvbuf(stdout, NULL, _IOLBF, 0);
}

void kw_ui_set_habits(const struct kw_ui_habits *h)
{
        habits = *h;
}

int kw_ui_verbosity(void)
{
        return opts.verbosity;
}

static bool status_shown;
static char status_slot[KW_SLOT_MAX][256];

static void status_draw(void)
{
        char line[1024];
        struct winsize ws;
        size_t len = 0;

        line[0] = 0;
        for (int i = 0; i < KW_SLOT_MAX; i++)
                if (status_slot[i][0] && len < sizeof(line))
                        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? " · " : "",
                                                status_slot[i]);
        if (!line[0]) {
                kw_ui_status_clear();
                return;
        }
        size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1u : 79u;
        size_t n = 0, cols = 0;
        for (; line[n] && cols < width; n++) /* count characters, not UTF-8 continuation bytes */
                cols += ((unsigned char)line[n] & 0xc0) != 0x80;
        while (line[n] && ((unsigned char)line[n] & 0xc0) == 0x80)
                n++;
        fprintf(stderr, "\r\033[K%.*s", (int)n, line);
        fflush(stderr);
        status_shown = true;
}

void kw_ui_status(enum kw_ui_slot slot, const char *fmt, ...)
{
        va_list ap;

        if (!opts.status || slot >= KW_SLOT_MAX)
                return;
        va_start(ap, fmt);
        vsnprintf(status_slot[slot], sizeof(status_slot[slot]), fmt, ap);
        va_end(ap);
        status_draw();
}

void kw_ui_status_done(enum kw_ui_slot slot)
{
        if (!opts.status || slot >= KW_SLOT_MAX || !status_slot[slot][0])
                return;
        status_slot[slot][0] = 0;
        status_draw();
}

void kw_ui_status_clear(void)
{
        if (!status_shown)
                return;
        fputs("\r\033[K", stderr);
        fflush(stderr);
        status_shown = false;
}

/* A matrix's parent speaks for a target: "[x86_64/6.1] " instead of "kmod-watch: ". */
static char target_prefix[80], target_name[72];

void kw_ui_set_target(const char *target)
{
        snprintf(target_name, sizeof(target_name), "%s", target ? target : "");
        if (target && *target)
                snprintf(target_prefix, sizeof(target_prefix), "[%s] ", target);
        else
                target_prefix[0] = 0;
}

static void vmsg(const char *color, const char *prefix, const char *fmt, va_list ap)
{
        char line[4096];

        if (target_prefix[0]) {
                char p[128];
                snprintf(p, sizeof(p), "%s%s", target_prefix,
                         prefix + (strncmp(prefix, "kmod-watch: ", 12) == 0 ? 12 : 0));
                vsnprintf(line, sizeof(line), fmt, ap);
                kw_ui_status_clear();
                if (opts.color && color)
                        fprintf(stderr, "\033[%sm%s%s\033[0m\n", color, p, line);
                else
                        fprintf(stderr, "%s%s\n", p, line);
                return;
        }
        kw_ui_status_clear();
        vsnprintf(line, sizeof(line), fmt, ap);
        if (opts.color && color)
                fprintf(stderr, "\033[%sm%s%s\033[0m\n", color, prefix, line);
        else
                fprintf(stderr, "%s%s\n", prefix, line);
}

void kw_info(const char *fmt, ...)
{
        va_list ap;

        if (opts.verbosity < 0)
                return;
        va_start(ap, fmt);
        vmsg("1", "kmod-watch: ", fmt, ap);
        va_end(ap);
}

void kw_warn(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vmsg("1;33", "kmod-watch: warning: ", fmt, ap);
        va_end(ap);
}

void kw_err(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(last_error, sizeof(last_error), fmt, ap);
        va_end(ap);
        fprintf(stderr, opts.color ? "\033[1;31mkmod-watch: %s\033[0m\n" : "kmod-watch: %s\n", last_error);
}

const char *kw_ui_last_error(void)
{
        return last_error;
}

void kw_ui_step_line(const char *fmt, ...)
{
        va_list ap;

        if (opts.json || opts.status || opts.verbosity < 0)
                return;
        va_start(ap, fmt);
        vmsg("1", "kmod-watch: ", fmt, ap);
        va_end(ap);
}

void kw_note(const char *fmt, ...)
{
        va_list ap;

        if (opts.json || opts.verbosity < 0)
                return;
        va_start(ap, fmt);
        vmsg("1", "kmod-watch: ", fmt, ap);
        va_end(ap);
}

void kw_note_err(const char *fmt, ...)
{
        va_list ap;

        if (opts.json)
                return;
        va_start(ap, fmt);
        vmsg("1;31", "kmod-watch: ", fmt, ap);
        va_end(ap);
}

void kw_note_detail(const char *fmt, ...)
{
        va_list ap;

        if (opts.json)
                return;
        va_start(ap, fmt);
        vmsg(NULL, "    ", fmt, ap);
        va_end(ap);
}

void kw_ui_bell(void)
{
        if (habits.bell)
                fputc('\a', stderr);
}

void kw_ui_clear(bool force)
{
        if (!force && (opts.json || !habits.clear))
                return;
        status_shown = false;
        fputs("\033[H\033[2J\033[3J", stdout); /* like entr -c */
        fflush(stdout);
}

/* The start of a character a --run chunk ended in, per stream (1, 2): the
 * next chunk completes it, so a run_output event never splits one. */
static struct {
        char b[4];
        size_t n;
} carry[3];

static void run_output_event(unsigned stream, const char *text, size_t len)
{
        char *t = strndup(text, len);

        kw_ev_begin("run_output");
        kw_ev_int("stream", stream);
        kw_ev_str("text", t ? t : "");
        kw_ev_end();
        free(t);
}

void kw_ui_run_output(unsigned stream, const char *text, size_t len)
{
        if (!opts.json) {
                kw_ui_text(text, len);
                return;
        }
        if (stream > 2)
                stream = 2;
        char *buf = malloc(carry[stream].n + len);
        if (!buf)
                return;
        memcpy(buf, carry[stream].b, carry[stream].n);
        memcpy(buf + carry[stream].n, text, len);
        len += carry[stream].n;
        size_t whole = kw_utf8_whole(buf, len);
        carry[stream].n = len - whole;
        memcpy(carry[stream].b, buf + whole, carry[stream].n);
        if (whole)
                run_output_event(stream, buf, whole);
        free(buf);
}

void kw_ui_run_output_end(void)
{
        for (unsigned s = 1; s <= 2; s++) {
                if (carry[s].n)
                        run_output_event(s, carry[s].b, carry[s].n);
                carry[s].n = 0;
        }
}

void kw_debug(const char *fmt, ...)
{
        va_list ap;

        if (opts.verbosity < 1)
                return;
        va_start(ap, fmt);
        vmsg("2", "kmod-watch: ", fmt, ap);
        va_end(ap);
}

void kw_json_string(FILE *f, const char *s)
{
        size_t left = strlen(s);

        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++, left--) {
                if (*p >= 0x80) {
                        size_t len = kw_utf8_char((const char *)p, left);
                        if (!len) {
                                fprintf(f, "\\\\x%02x", *p); /* not UTF-8: the text "\xNN" */
                                continue;
                        }
                        fwrite(p, 1, len, f);
                        p += len - 1;
                        left -= len - 1;
                        continue;
                }
                switch (*p) {
                case '"': fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

void kw_ui_wall_time(char *buf, size_t size)
{
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* The event being built: JSON text for --json, and the same fields kept as
 * strings for the sinks (JUnit), which get the event when it ends. */
struct field {
        char key[32];
        char *value; /* as JSON would print it, unquoted for strings */
};

static struct {
        bool active;
        char name[32];
        struct field f[16];
        size_t n;
} cur;

static kw_ev_sink_fn sink;
static void *sink_userdata;

void kw_ev_set_sink(kw_ev_sink_fn fn, void *userdata)
{
        sink = fn;
        sink_userdata = userdata;
}

const char *kw_ev_field(const struct kw_ev *e, const char *k)
{
        (void)e;
        for (size_t i = 0; i < cur.n; i++)
                if (strcmp(cur.f[i].key, k) == 0)
                        return cur.f[i].value;
        return NULL;
}

void kw_ev_begin(const char *event)
{
        cur.active = opts.json || sink;
        if (!cur.active)
                return;
        snprintf(cur.name, sizeof(cur.name), "%s", event);
        cur.n = 0;
        if (opts.json)
                ev = open_memstream(&ev_buf, &ev_size);
        if (!ev) {
                if (target_name[0])
                        kw_ev_str("target", target_name);
                return;
        }
        fputs("{\"event\":", ev);
        kw_json_string(ev, event);
        fprintf(ev, ",\"t\":%llu", (unsigned long long)kw_now_ms());
        char stamp[40];
        kw_ui_wall_time(stamp, sizeof(stamp));
        fprintf(ev, ",\"time\":\"%s\"", stamp);
        ev_first = false;
        if (target_name[0])
                kw_ev_str("target", target_name);
}

static void keep(const char *k, const char *value)
{
        if (!sink || cur.n >= sizeof(cur.f) / sizeof(cur.f[0]))
                return;
        snprintf(cur.f[cur.n].key, sizeof(cur.f[cur.n].key), "%s", k);
        cur.f[cur.n].value = strdup(value);
        if (cur.f[cur.n].value)
                cur.n++;
}

static bool key(const char *k)
{
        if (!ev)
                return false;
        fputc(',', ev);
        kw_json_string(ev, k);
        fputc(':', ev);
        return true;
}

void kw_ev_str(const char *k, const char *value)
{
        if (!cur.active)
                return;
        keep(k, value ? value : "");
        if (key(k))
                kw_json_string(ev, value ? value : "");
}

void kw_ev_int(const char *k, long long value)
{
        char buf[32];

        if (!cur.active)
                return;
        snprintf(buf, sizeof(buf), "%lld", value);
        keep(k, buf);
        if (key(k))
                fputs(buf, ev);
}

void kw_ev_real(const char *k, double value)
{
        char buf[48];

        if (!cur.active)
                return;
        snprintf(buf, sizeof(buf), "%.2f", value == value ? value : 0.0); /* JSON has no NaN */
        keep(k, buf);
        if (key(k))
                fputs(buf, ev);
}

void kw_ev_bool(const char *k, bool value)
{
        if (!cur.active)
                return;
        keep(k, value ? "true" : "false");
        if (key(k))
                fputs(value ? "true" : "false", ev);
}

void kw_ev_strv(const char *k, const char *const *values, size_t n)
{
        if (!cur.active)
                return;
        if (sink) { /* the sinks get the items one a line */
                char *joined = NULL;
                size_t size = 0;
                FILE *j = open_memstream(&joined, &size);
                for (size_t i = 0; j && i < n; i++)
                        fprintf(j, "%s%s", i ? "\n" : "", values[i]);
                if (j && fclose(j) == 0)
                        keep(k, joined);
                free(joined);
        }
        if (!key(k))
                return;
        fputc('[', ev);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(',', ev);
                kw_json_string(ev, values[i]);
        }
        fputc(']', ev);
}

void kw_ev_end(void)
{
        if (!cur.active)
                return;
        cur.active = false;
        if (ev) {
                fputs("}\n", ev);
                fclose(ev);
                ev = NULL;
                fwrite(ev_buf, 1, ev_size, stdout);
                fflush(stdout);
                free(ev_buf);
                ev_buf = NULL;
        }
        if (sink)
                sink(sink_userdata, cur.name, NULL);
        for (size_t i = 0; i < cur.n; i++)
                free(cur.f[i].value);
        cur.n = 0;
}

void kw_ui_exit(int status)
{
        kw_ev_begin("exit");
        kw_ev_int("status", status);
        if (status && last_error[0])
                kw_ev_str("error", last_error);
        kw_ev_end();
}

/* Colours as dmesg uses them: emerg…err red, warning yellow, notice bold. */
static const char *level_color(unsigned level)
{
        if (level <= 3)
                return "1;31";
        if (level == 4)
                return "1;33";
        if (level == 5)
                return "1";
        if (level == 7)
                return "2";
        return NULL;
}

void kw_ui_kmsg(uint64_t seq, unsigned level, uint64_t ts_usec, const char *text, bool module_line)
{
        if (opts.json) {
                kw_ev_begin("kmsg");
                kw_ev_int("seq", (long long)seq);
                kw_ev_int("level", level);
                kw_ev_int("ts_usec", (long long)ts_usec);
                kw_ev_str("text", text);
                kw_ev_end();
                return;
        }
        kw_ui_status_clear();
        const char *c = level_color(level);
        char stamp[32];
        snprintf(stamp, sizeof(stamp), "[%5llu.%06llu]", (unsigned long long)(ts_usec / 1000000),
                 (unsigned long long)(ts_usec % 1000000));
        if (!opts.color_out) {
                printf("%s%s %s\n", target_prefix, stamp, text);
                return;
        }
        /* The module's own lines stand out with a cyan stamp; the rest dim. */
        printf("%s\033[%sm%s\033[0m \033[%sm%s\033[0m\n", target_prefix, module_line ? "36" : "2", stamp,
               c ? c : "0", text);
}

void kw_ui_report_text(const char *text, size_t len)
{
        FILE *f = opts.json ? stderr : stdout;

        kw_ui_status_clear();
        fwrite(text, 1, len, f);
        fflush(f);
}

void kw_ui_text(const char *text, size_t len)
{
        kw_ui_status_clear();
        if (!target_prefix[0]) {
                fwrite(text, 1, len, stderr);
                return;
        }
        /* a target's text: its prefix on each line */
        for (size_t i = 0; i < len;) {
                const char *nl = memchr(text + i, '\n', len - i);
                size_t n = nl ? (size_t)(nl - (text + i)) + 1 : len - i;
                fputs(target_prefix, stderr);
                fwrite(text + i, 1, n, stderr);
                if (!nl)
                        fputc('\n', stderr);
                i += n;
        }
}
