/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test-results.c — the results for CI (watcher/results.c) built from events
 * as the cycle emits them (through ui.c's sink), and what the writers make
 * of them: JUnit (failure and error bodies, counts, properties), KTAP
 * (result lines, SKIP, diagnostics), KCIDB (statuses, MISS, issues keyed by
 * the fingerprint), LAVA lines; and the UTF-8 rules (utf8.c) that keep every
 * output valid whatever a module printed; and the KCIDB checkout's commit
 * read from .git (gitrev.c) against what real git says, for a loose ref, packed
 * refs, a detached HEAD and a worktree. The e2e test (test_results.py)
 * checks the same outputs from real runs against the real schemas and
 * kunit_tool's parser.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitrev.h"
#include "junit.h"
#include "kcidb.h"
#include "ktap.h"
#include "lava.h"
#include "results.h"
#include "test.h"
#include "ui.h"
#include "utf8.h"

static void utf8_chars(void)
{
        CHECK_EQ(kw_utf8_char("a", 1), 1);
        CHECK_EQ(kw_utf8_char("\xc3\xa9", 2), 2);
        CHECK_EQ(kw_utf8_char("\xe2\x82\xac", 3), 3);
        CHECK_EQ(kw_utf8_char("\xf0\x9f\x98\x80", 4), 4);
        CHECK_EQ(kw_utf8_char("\xc0\x80", 2), 0);         /* overlong NUL */
        CHECK_EQ(kw_utf8_char("\xe0\x80\xaf", 3), 0);     /* overlong '/' */
        CHECK_EQ(kw_utf8_char("\xed\xa0\x80", 3), 0);     /* a surrogate */
        CHECK_EQ(kw_utf8_char("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
        CHECK_EQ(kw_utf8_char("\x80", 1), 0);             /* a stray continuation */
        CHECK_EQ(kw_utf8_char("\xc3", 1), 0);             /* cut short */
        CHECK_EQ(kw_utf8_char("\xff", 1), 0);
}

static void utf8_whole_chunks(void)
{
        CHECK_EQ(kw_utf8_whole("ab\xc3", 3), 2);
        CHECK_EQ(kw_utf8_whole("ab\xe2\x82", 4), 2);
        CHECK_EQ(kw_utf8_whole("\xf0\x9f\x98", 3), 0);
        CHECK_EQ(kw_utf8_whole("ab\xc3\xa9", 4), 4);
        CHECK_EQ(kw_utf8_whole("ab\xff", 3), 3);     /* never valid: passed on (and escaped) */
        CHECK_EQ(kw_utf8_whole("ab\xed\xa0", 4), 4); /* a surrogate's start: never valid */
        CHECK_EQ(kw_utf8_whole("", 0), 0);
}

static void utf8_clean(void)
{
        const char *in = "a\xff\x01\tb\n\xc3\xa9\x1b[0m";
        char *s = kw_utf8_clean(in, strlen(in), KW_UTF8_CONTROLS);
        CHECK(s && strcmp(s, "a\\xff\\x01\tb\n\xc3\xa9\\x1b[0m") == 0);
        free(s);
        s = kw_utf8_clean("a\x01\xc3", 3, 0);
        CHECK(s && strcmp(s, "a\x01\\xc3") == 0);
        free(s);

        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        kw_json_string(f, "a\xff\x01\xc3\xa9\"");
        fclose(f);
        CHECK(strcmp(buf, "\"a\\\\xff\\u0001\xc3\xa9\\\"\"") == 0);
        free(buf);
}

/* Every byte of s is part of a valid UTF-8 character, and no control but \t \n (\r in JSON escapes). */
static bool clean_utf8(const char *s)
{
        for (size_t n = strlen(s), i = 0; i < n;) {
                size_t len = kw_utf8_char(s + i, n - i);
                if (!len || ((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t'))
                        return false;
                i += len;
        }
        return true;
}

static char *written(int (*fn)(FILE *, const struct kw_results *))
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        CHECK(fn(f, kw_results_get()) == 0);
        fclose(f);
        return buf;
}

static int kcidb(FILE *f, const struct kw_results *r)
{
        return kw_kcidb_write(f, r, "kmod_watch");
}

static void ev(const char *name, const char *const *kv)
{
        kw_ev_begin(name);
        for (; kv && kv[0]; kv += 2) {
                if (strcmp(kv[1], "true") == 0 || strcmp(kv[1], "false") == 0)
                        kw_ev_bool(kv[0], kv[1][0] == 't');
                else if (strcmp(kv[0], "modules") == 0)
                        kw_ev_strv(kv[0], (const char *const[]){ "hello", "helper" }, 2);
                else
                        kw_ev_str(kv[0], kv[1]);
        }
        kw_ev_end();
}

#define EV(name, ...) ev(name, (const char *const[]){ __VA_ARGS__, NULL })

static const char *const expects[] = { "hello: ready" };

static void open_model(void)
{
        kw_results_reset();
        kw_ui_setup(&(struct kw_ui_opts){ .json = false, .verbosity = -1 });
        kw_results_open(&(struct kw_results_cfg){
                .dir = "/src/hello", .expect = expects, .n_expect = 1, .run = "cat /dev/x", .guest = "managed",
                .once = true });
}

static void a_crashing_run(void)
{
        open_model();
        EV("ready", "arch", "x86_64", "kernel_release", "6.1.0-57-amd64", "transport", "virtio-serial");
        EV("build_end", "ok", "true", "ms", "2100", "modules", "");
        EV("load", "module", "hello", "ok", "true", "ms", "40");
        EV("load", "module", "helper", "ok", "false", "ms", "12", "error", "Unknown symbol in module");
        EV("expect", "pattern", "hello: ready", "ok", "true");
        EV("run_output", "stream", "1", "text", "out \xff\x01 <&>\n");
        EV("run", "cmd", "cat /dev/x", "status", "0", "ms", "5");
        EV("oops", "kind", "oops", "title", "BUG: kernel NULL pointer dereference in hello_init [hello]",
           "fingerprint", "8cefb8f416b942ac", "module", "hello",
           "report", "BUG: kernel NULL pointer dereference\nCPU: 0 \x1b[1m\xc3( <tag> & \"q\"\n");
        EV("unload", "module", "hello", "ok", "false", "error", "the guest went away", "harness", "true");
        EV("exit", "status", "4");

        const struct kw_results *r = kw_results_get();
        CHECK_EQ(r->n, 7);
        size_t count[4];
        kw_results_count(r, count);
        CHECK_EQ(count[KW_RES_PASS], 4);
        CHECK_EQ(count[KW_RES_FAIL], 2);
        CHECK_EQ(count[KW_RES_ERROR], 1);
        CHECK(strcmp(r->v[2].path, "kmod.helper.load") == 0);
        CHECK(strcmp(r->v[3].path, "kmod.hello.expect.1") == 0);
        CHECK(strcmp(r->v[5].path, "kmod.hello.kernel.8cefb8f416b942ac") == 0);

        char *x = written(kw_junit_write);
        CHECK(clean_utf8(x));
        CHECK(strstr(x, "tests=\"7\" failures=\"2\" errors=\"1\" skipped=\"0\""));
        CHECK(strstr(x, "<property name=\"kernel_release\" value=\"6.1.0-57-amd64\"/>"));
        CHECK(strstr(x, "<property name=\"guest\" value=\"managed\"/>"));
        CHECK(strstr(x, "<failure type=\"load\" message=\"Unknown symbol in module\">"));
        CHECK(strstr(x, "<error type=\"unload\" message=\"the guest went away\">"));
        CHECK(strstr(x, "<failure type=\"8cefb8f416b942ac\" message=\"BUG: kernel NULL pointer dereference in "
                        "hello_init [hello]\">BUG: kernel NULL pointer dereference\nCPU: 0 \\x1b[1m\\xc3( "
                        "&lt;tag&gt; &amp; \"q\"\n</failure>"));
        CHECK(strstr(x, "<system-out>out \\xff\\x01 &lt;&amp;&gt;\n</system-out>"));
        free(x);

        char *k = written(kw_ktap_write);
        CHECK(clean_utf8(k));
        CHECK(strncmp(k, "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: kmod.hello\n", 60) == 0);
        CHECK(strstr(k, "    1..7\n    ok 1 kmod.hello.build\n    ok 2 kmod.hello.load\n"));
        CHECK(strstr(k, "    # Unknown symbol in module\n    not ok 3 kmod.helper.load\n"));
        CHECK(strstr(k, "    # fingerprint: 8cefb8f416b942ac\n    # BUG: kernel NULL pointer dereference\n"));
        CHECK(strstr(k, "    # error: the guest went away\n    not ok 7 kmod.hello.unload\n"));
        CHECK(strstr(k, "\nnot ok 1 kmod.hello\n"));
        free(k);

        char *j = written(kcidb);
        CHECK(clean_utf8(j));
        CHECK(strncmp(j, "{\"version\":{\"major\":5,\"minor\":3},\"checkouts\":[{\"id\":\"kmod_watch:", 64) == 0);
        CHECK(strstr(j, "\"path\":\"kmod.helper.load\",\"status\":\"FAIL\""));
        CHECK(strstr(j, "\"path\":\"kmod.hello.unload\",\"status\":\"ERROR\""));
        CHECK(strstr(j, "\"issues\":[{\"id\":\"kmod_watch:8cefb8f416b942ac\",\"version\":1"));
        CHECK(strstr(j, "\"categories\":[\"runtime.oops\"]"));
        CHECK(strstr(j, "\"issue_id\":\"kmod_watch:8cefb8f416b942ac\""));
        CHECK(strstr(j, "\\\\xc3( <tag>"));
        free(j);

        char line[400];
        kw_lava_line(&r->v[2], line, sizeof(line));
        CHECK(strcmp(line, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=kmod.helper.load RESULT=fail>\n") == 0);
        kw_lava_line(&r->v[0], line, sizeof(line));
        CHECK(strcmp(line, "<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=kmod.hello.build RESULT=pass>\n") == 0);
}

/* The guest never came: what the run would have done is there, as errors. */
static void no_guest(void)
{
        open_model();
        kw_err("the guest agent did not greet within 1 s");
        EV("exit", "status", "5", "error", "the guest agent did not greet within 1 s");

        const struct kw_results *r = kw_results_get();
        CHECK_EQ(r->n, 4); /* build, expect, run, guest */
        for (size_t i = 0; i < r->n; i++)
                CHECK_EQ(r->v[i].status, KW_RES_ERROR);
        CHECK(strcmp(r->v[3].path, "kmod.hello.guest") == 0);
        char *x = written(kw_junit_write);
        CHECK(strstr(x, "tests=\"4\" failures=\"0\" errors=\"4\""));
        CHECK(strstr(x, "<error type=\"guest\" message=\"no guest: the guest agent did not greet within 1 s\">"));
        CHECK(strstr(x, "name=\"expect hello: ready\""));
        free(x);
        char *j = written(kcidb);
        CHECK(strstr(j, "\"path\":\"kmod.hello.expect.1\",\"status\":\"MISS\""));
        CHECK(strstr(j, "\"path\":\"kmod.hello.guest\",\"status\":\"ERROR\""));
        CHECK(strstr(j, "\"builds\":[{\"id\":") && strstr(j, "\"status\":\"MISS\""));
        free(j);
        char *k = written(kw_ktap_write);
        CHECK(strstr(k, "    # error: not checked: the guest agent did not greet within 1 s\n    not ok 2 "
                        "kmod.hello.expect.1\n"));
        free(k);
}

/* A build error: the compiler's words are the failure's body; the rest is skipped. */
static void build_error(void)
{
        open_model();
        EV("ready", "arch", "x86_64", "kernel_release", "6.1.0-57-amd64", "transport", "virtio-serial");
        EV("build_end", "ok", "false", "ms", "800", "error",
           "/src/hello/hello.c: In function 'hello_init':\n/src/hello/hello.c:9:9: error: expected ';' before "
           "'return'\n");
        EV("exit", "status", "2", "error", "build failed");

        const struct kw_results *r = kw_results_get();
        CHECK_EQ(r->n, 3); /* build, expect, run */
        CHECK_EQ(r->v[0].status, KW_RES_FAIL);
        CHECK(strcmp(r->v[0].message, "/src/hello/hello.c:9:9: error: expected ';' before 'return'") == 0);
        CHECK_EQ(r->v[1].status, KW_RES_SKIP);
        CHECK(strcmp(r->v[0].path, "kmod.hello.build") == 0);
        char *x = written(kw_junit_write);
        CHECK(strstr(x, "skipped=\"2\""));
        CHECK(strstr(x, ">/src/hello/hello.c: In function 'hello_init':\n/src/hello/hello.c:9:9: error: expected "
                        "';' before 'return'\n</failure>"));
        free(x);
        char *k = written(kw_ktap_write);
        CHECK(strstr(k, "    ok 2 kmod.hello.expect.1 # SKIP not checked: build failed\n"));
        free(k);
        char *j = written(kcidb);
        CHECK(strstr(j, "\"status\":\"FAIL\",\"log_excerpt\":\"/src/hello/hello.c: In function"));
        CHECK(strstr(j, "\"path\":\"kmod.hello.run\",\"status\":\"SKIP\""));
        free(j);
}

/* What `git -C DIR rev-parse HEAD` says. */
static void git_head(const char *dir, char *buf, size_t size)
{
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "git -C '%s' rev-parse HEAD", dir);
        FILE *p = popen(cmd, "r");
        buf[0] = 0;
        if (p && fgets(buf, (int)size, p))
                buf[strcspn(buf, "\n")] = 0;
        if (p)
                pclose(p);
}

static void git_commit(void)
{
        char dir[] = "/tmp/kw-test-gitrev-XXXXXX", cmd[1200], want[64], wt[300];
        struct kw_gitrev g;

        CHECK(mkdtemp(dir) != NULL);
        CHECK_EQ(kw_gitrev(dir, &g), -ENOENT); /* not a git tree (unless /tmp is one) */
        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && git init -q -b trunk && mkdir -p mod && echo x > mod/hello.c && git add . && "
                 "git -c user.name=t -c user.email=t@t commit -qm one", dir);
        if (system(cmd) != 0) {
                printf("# SKIP git is not usable here\n");
                return;
        }
        snprintf(wt, sizeof(wt), "%s/mod", dir);
        git_head(dir, want, sizeof(want));
        CHECK_EQ(kw_gitrev(wt, &g), 0);
        CHECK(strcmp(g.commit, want) == 0 && strcmp(g.branch, "trunk") == 0);
        snprintf(cmd, sizeof(cmd), "git -C '%s' pack-refs --all", dir); /* the ref only in packed-refs */
        CHECK_EQ(system(cmd), 0);
        CHECK_EQ(kw_gitrev(wt, &g), 0);
        CHECK(strcmp(g.commit, want) == 0);
        snprintf(cmd, sizeof(cmd), "git -C '%s' worktree add -q --detach '%s/wt' 2>/dev/null", dir, dir);
        CHECK_EQ(system(cmd), 0);
        snprintf(wt, sizeof(wt), "%s/wt/mod", dir);
        CHECK_EQ(kw_gitrev(wt, &g), 0); /* .git is a "gitdir:" file; HEAD detached */
        CHECK(strcmp(g.commit, want) == 0 && g.branch[0] == 0);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK_EQ(system(cmd), 0);
}

/* A matrix: a suite per target, in the order they first spoke; the parent's exit ends them. */
static void a_matrix(void)
{
        open_model();
        kw_ui_set_target("x86_64/6.1");
        EV("ready", "arch", "x86_64", "kernel_release", "6.1.0-57-amd64", "transport", "virtio-serial");
        kw_ui_set_target("x86_64/6.12");
        EV("build_end", "ok", "false", "ms", "900", "error", "hello.c:3:1: error: too many arguments");
        kw_ui_set_target("x86_64/6.1");
        EV("build_end", "ok", "true", "ms", "2100", "modules", "");
        EV("load", "module", "hello", "ok", "true", "ms", "40");
        EV("exit", "status", "0");
        kw_ui_set_target("x86_64/6.12");
        EV("exit", "status", "2");
        kw_ui_set_target(NULL);
        EV("exit", "status", "2");
        const struct kw_results *r = kw_results_get();
        CHECK(strcmp(r->target, "x86_64/6.1") == 0 && r->next && strcmp(r->next->target, "x86_64/6.12") == 0);
        CHECK(r->next && !r->next->next && r->next->n >= 1 && r->next->v[0].status == KW_RES_FAIL);
        char *x = written(kw_junit_write);
        CHECK(x && strstr(x, "<testsuite name=\"kmod-watch hello x86_64/6.1\""));
        CHECK(x && strstr(x, "<testsuite name=\"kmod-watch hello x86_64/6.12\""));
        CHECK(x && strstr(x, "<property name=\"target\" value=\"x86_64/6.12\"/>"));
        free(x);
        char *k = written(kw_ktap_write);
        CHECK(k && strstr(k, "1..2\n") && strstr(k, "ok 1 kmod.hello.x86_64_6_1\n"));
        CHECK(k && strstr(k, "not ok 2 kmod.hello.x86_64_6_12\n"));
        free(k);
        char *c = written(kcidb);
        CHECK(c && strstr(c, ".x86_64_6_12.build.1\"") && strstr(c, ".x86_64_6_1.test."));
        free(c);
        kw_results_reset();
}

int main(void)
{
        RUN(utf8_chars);
        RUN(utf8_whole_chunks);
        RUN(utf8_clean);
        RUN(a_crashing_run);
        RUN(no_guest);
        RUN(build_error);
        RUN(git_commit);
        RUN(a_matrix);
        TEST_DONE();
}
