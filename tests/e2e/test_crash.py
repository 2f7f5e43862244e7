#!/usr/bin/env python3
"""Crashes in a real guest, with the examples made for them:

- 10-oops-null: a NULL dereference in init → --once exits 4; the report names
  the function and the source line (oops-null.c:LINE, from the .ko's DWARF on
  the host); with --json, one `oops` event with function, module, source and
  trace.
- 11-panic: panic() in init → the managed guest goes down and is started again
  (`guest_restart` naming the panic), the crashing build is not loaded again;
  the fix (crash = 0) saved → it loads, with no other action.
- 12-hang: an init that never returns → reported as a hung load after
  --load-timeout, guest restarted; the fix saved → it loads.
- 13-busy: user.ko (no exit function) holds base.ko → both unload failures in
  words, the holder named, in JSON and on stderr, and nothing hangs; with
  --force-unload both go.
- a module (written here) that freezes the guest half a second after a good
  load: the idle guest stops answering kmod-watch's pings → restarted.

One boot per --once run; the interactive cases boot twice (the restart)."""

import os
import re
import signal
import sys
import tempfile
import time

import kw

ONCE_TIMEOUT = 240     # one whole --once run under TCG
START_TIMEOUT = 240    # start → the first load's outcome
RESTART_TIMEOUT = 120  # guest down → ready again
RELOAD_TIMEOUT = 90    # save → the fixed module's printk
LOAD_TIMEOUT = 5       # --load-timeout for the hang case
RUN = None


def copy_example(name, tag):
    """A fresh copy of examples/NAME (no build products) in its own temporary directory."""
    return kw.copy_tree(os.path.join(RUN.examples, name), name, tag)


def line_of(path, needle):
    with open(path) as f:
        for n, text in enumerate(f, 1):
            if needle in text:
                return n
    raise kw.KWError(f"{needle!r} is not in {path}")


def edit(path, old, new):
    with open(path) as f:
        src = f.read()
    assert old in src, f"{old!r} not in {path}"
    kw.write_file(path, src.replace(old, new, 1))


def once(t, base, d, extra, json_mode=False):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg"] + kw.arch_args(RUN) + (["--json"] if json_mode else []) + extra + [d]
    k = kw.run(RUN.kmod_watch, args, ONCE_TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


def no_leftovers(k):
    kw.check(not k.left_behind, "kmod-watch left things behind:\n  " + "\n  ".join(k.left_behind), k)


# ---- 10-oops-null --------------------------------------------------------------

def case_oops_human(t):
    base, d = copy_example("10-oops-null", "oops")
    try:
        line = line_of(os.path.join(d, "oops-null.c"), "counter->hits++;")
        k = once(t, base, d, [])
        kw.check(k.returncode == 4, f"expected exit 4 (oops), got {k.returncode}", k)
        out = k.output()
        want = f"oops in oops_null_init [oops_null] at oops-null.c:{line}"
        kw.check(want in out, f"no line saying {want!r}", k)
        kw.check(re.search(rf"oops-null\.c:{line}: +counter->hits\+\+;", out),
                 "the faulting source line's text is not shown", k)
        kw.check(re.search(rf"oops_null_init\+0x[0-9a-f]+/0x[0-9a-f]+ \[oops_null\]  oops-null\.c:{line}", out),
                 "the trace's first frame is not resolved to the source line", k)
        kw.check("oops-null: counting a hit" in out, "the module's last printk before the oops is not shown", k)
        no_leftovers(k)
        t.diag("stderr (the report) exactly as shown:")
        for ln in k.stderr_lines:
            t.diag("  " + ln)
    finally:
        kw.cleanup(RUN, base)


def case_oops_json(t):
    base, d = copy_example("10-oops-null", "oopsjson")
    try:
        line = line_of(os.path.join(d, "oops-null.c"), "counter->hits++;")
        k = once(t, base, d, [], json_mode=True)
        kw.check(k.returncode == 4, f"expected exit 4 (oops), got {k.returncode}", k)
        kw.check(not k.bad_lines, f"non-JSON stdout lines: {k.bad_lines[:5]}", k)
        oops = [e for e in k.events if e["event"] == "oops"]
        kw.check(len(oops) == 1, f"want exactly one oops event, got {len(oops)}: {oops}", k)
        o = oops[0]
        kw.check(o.get("kind") == "oops", f"oops.kind is not 'oops': {o.get('kind')}", k)
        kw.check("NULL pointer dereference" in o.get("text", ""), f"oops.text: {o.get('text')}", k)
        kw.check(o.get("function") == "oops_null_init", f"oops.function: {o.get('function')}", k)
        kw.check(o.get("module") == "oops_null", f"oops.module: {o.get('module')}", k)
        kw.check(o.get("source") == f"oops-null.c:{line}", f"oops.source: {o.get('source')}", k)
        trace = o.get("trace") or []
        kw.check(trace and trace[0].startswith("oops_null_init+") and f"(oops-null.c:{line})" in trace[0],
                 f"oops.trace[0]: {trace[:1]}", k)
        kw.check(any(f.startswith("do_one_initcall+") for f in trace), f"oops.trace: {trace}", k)
        kw.check(o.get("fatal") is True, f"oops.fatal: {o.get('fatal')}", k)
        loads = [e for e in k.events if e["event"] == "load"]
        kw.check(loads and loads[0].get("ok") is False, f"the load is not reported failed: {loads}", k)
        kw.check(k.events[-1]["event"] == "exit" and k.events[-1].get("status") == 4,
                 f"last event: {k.events[-1]}", k)
        no_leftovers(k)
        t.diag(f"oops event: kind={o['kind']} function={o['function']} module={o['module']} "
               f"source={o['source']} trace[0]={trace[0]}")
    finally:
        kw.cleanup(RUN, base)


# ---- 11-panic and 12-hang: interactive, the guest is restarted -------------------

def interactive(base, d, extra):
    env, _ = kw.isolated_env(base)
    return kw.KmodWatch(RUN.kmod_watch, ["--json", "--accel", "tcg"] + kw.arch_args(RUN) + extra + [d],
                        env=env, needles=[base])


def finish(t, k):
    status = k.stop(signal.SIGINT, timeout=20)
    kw.check(k.events and k.events[-1]["event"] == "exit", f"no exit event last (status {status})", k)
    left = kw.leftovers(k)
    kw.check(not left, "left behind:\n  " + "\n  ".join(left), k)


def case_panic(t):
    base, d = copy_example("11-panic", "panic")
    src = os.path.join(d, "panic.c")
    try:
        line = line_of(src, "panic(\"11-panic")
        with interactive(base, d, []) as k:
            o = k.wait_event("oops", lambda e: e["kind"] == "panic", timeout=START_TIMEOUT, since=0)
            kw.check(o.get("function") == "panic_init" and o.get("source") == f"panic.c:{line}",
                     f"panic report: function {o.get('function')!r}, source {o.get('source')!r}", k)
            r = k.wait_event("guest_restart", timeout=RESTART_TIMEOUT, since=0)
            kw.check("panic" in r.get("reason", "") and "crash requested" in r["reason"],
                     f"guest_restart.reason does not name the panic: {r}", k)
            t0 = time.monotonic()
            i_restart = k.events.index(r)
            k.wait_event("ready", timeout=RESTART_TIMEOUT, since=i_restart)
            t.diag(f"guest_restart: {r['reason']!r}; ready again {time.monotonic() - t0:.1f} s later")
            k.collect(2)
            again = k.events_since(i_restart, "load")
            kw.check(not again, f"the build that panicked was loaded again by itself: {again}", k)
            m = k.mark()
            edit(src, "static int crash = 1;", "static int crash = 0;")
            t_saved = time.monotonic()
            k.wait_event("load", lambda e: e["ok"] is True and e["module"] == "panic",
                         timeout=RELOAD_TIMEOUT, since=m)
            k.wait_event("kmsg", lambda e: "loaded without crashing" in e["text"], timeout=RELOAD_TIMEOUT, since=m)
            t.diag(f"fixed save → loaded in {time.monotonic() - t_saved:.1f} s")
            restarts = k.events_since(0, "guest_restart")
            kw.check(len(restarts) == 1, f"want one guest_restart, got {restarts}", k)
            finish(t, k)
    finally:
        kw.cleanup(RUN, base)


def case_hang(t):
    base, d = copy_example("12-hang", "hang")
    src = os.path.join(d, "hang.c")
    try:
        with interactive(base, d, ["--load-timeout", str(LOAD_TIMEOUT)]) as k:
            k.wait_event("kmsg", lambda e: "never answers" in e["text"], timeout=START_TIMEOUT, since=0)
            ld = k.wait_event("load", timeout=LOAD_TIMEOUT + 30, since=0)
            kw.check(ld.get("ok") is False and f"did not return within {LOAD_TIMEOUT} s" in ld.get("error", ""),
                     f"the hung load is not reported as such: {ld}", k)
            kw.check(LOAD_TIMEOUT * 1000 <= ld.get("ms", 0) < (LOAD_TIMEOUT + 5) * 1000,
                     f"reported after {ld.get('ms')} ms, --load-timeout is {LOAD_TIMEOUT} s", k)
            r = k.wait_event("guest_restart", timeout=30, since=0)
            kw.check("loading hang did not return" in r.get("reason", ""), f"guest_restart.reason: {r}", k)
            i_restart = k.events.index(r)
            k.wait_event("ready", timeout=RESTART_TIMEOUT, since=i_restart)
            t.diag(f"load error: {ld['error']!r} after {ld['ms']} ms; guest_restart: {r['reason']!r}")
            m = k.mark()
            edit(src, "static int hang = 1;", "static int hang = 0;")
            t_saved = time.monotonic()
            k.wait_event("load", lambda e: e["ok"] is True and e["module"] == "hang", timeout=RELOAD_TIMEOUT,
                         since=m)
            k.wait_event("kmsg", lambda e: "12-hang: loaded" in e["text"], timeout=RELOAD_TIMEOUT, since=m)
            t.diag(f"fixed save → loaded in {time.monotonic() - t_saved:.1f} s")
            kw.check(len(k.events_since(0, "guest_restart")) == 1,
                     f"guest_restart events: {k.events_since(0, 'guest_restart')}", k)
            kw.check(not k.events_since(0, "oops"), f"unexpected oops: {k.events_since(0, 'oops')}", k)
            finish(t, k)
    finally:
        kw.cleanup(RUN, base)


FREEZE_C = r'''// SPDX-License-Identifier: GPL-2.0
/* Loads fine, then freezes its one-CPU guest: interrupts off, spinning. */
#include <linux/module.h>
#include <linux/workqueue.h>

static void freeze(struct work_struct *w)
{
	local_irq_disable();
	for (;;)
		cpu_relax();
}
static DECLARE_DELAYED_WORK(work, freeze);

static int __init freeze_init(void)
{
	pr_info("freeze: loaded, freezing in a moment\n");
	schedule_delayed_work(&work, HZ / 2);
	return 0;
}
module_init(freeze_init);
MODULE_LICENSE("GPL");
'''


def case_frozen_guest(t):
    base = os.path.realpath(tempfile.mkdtemp(prefix="kw-e2e-freeze-"))
    d = os.path.join(base, "freeze")
    os.makedirs(d)
    kw.write_file(os.path.join(d, "freeze.c"), FREEZE_C)
    kw.write_file(os.path.join(d, "Makefile"), "obj-m += freeze.o\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n")
    try:
        # one CPU: the module freezes the CPU it runs on (with a second one, the guest
        # still answers, rightly: nothing to restart)
        with interactive(base, d, ["--load-timeout", str(LOAD_TIMEOUT), "--cpus", "1"]) as k:
            k.wait_event("load", lambda e: e["ok"] is True, timeout=START_TIMEOUT, since=0)
            t0 = time.monotonic()
            r = k.wait_event("guest_restart", timeout=60, since=0)
            kw.check("stopped answering" in r.get("reason", ""), f"guest_restart.reason: {r}", k)
            t.diag(f"frozen → guest_restart after {time.monotonic() - t0:.1f} s: {r['reason']!r}")
            i = k.events.index(r)
            k.wait_event("ready", timeout=RESTART_TIMEOUT, since=i)
            k.collect(2)
            kw.check(not k.events_since(i, "load"), "the freezing build was loaded again by itself", k)
            finish(t, k)
    finally:
        kw.cleanup(RUN, base)


# ---- 13-busy --------------------------------------------------------------------

def case_busy(t):
    base, d = copy_example("13-busy", "busy")
    try:
        k = once(t, base, d, [], json_mode=True)
        kw.check(k.returncode == 3, f"expected exit 3 (unload failed), got {k.returncode}", k)
        un = {e["module"]: e for e in k.events if e["event"] == "unload"}
        kw.check(set(un) == {"base", "user"}, f"unload events: {list(un.values())}", k)
        kw.check(un["base"].get("ok") is False and "holders: user" in un["base"].get("error", ""),
                 f"base's unload error does not name its holder: {un['base']}", k)
        kw.check(un["user"].get("ok") is False and "no exit function" in un["user"].get("error", ""),
                 f"user's unload error: {un['user']}", k)
        said = [ln for ln in k.stderr_lines if "unloading base failed" in ln and "holders: user" in ln]
        kw.check(said, "stderr does not say why base stays (holders: user)", k)
        ready = next(w for e, w in zip(k.events, k.wall) if e["event"] == "ready")
        kw.check(k.wall[-1] - ready < 30, f"{k.wall[-1] - ready:.1f} s from ready to exit: something hung", k)
        no_leftovers(k)
        t.diag(said[0])
    finally:
        kw.cleanup(RUN, base)


def case_force_unload(t):
    base, d = copy_example("13-busy", "force")
    try:
        k = once(t, base, d, ["--force-unload"], json_mode=True)
        kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
        un = [e for e in k.events if e["event"] == "unload"]
        kw.check([(e["module"], e["ok"]) for e in un] == [("user", True), ("base", True)],
                 f"unload events: {un}", k)
        no_leftovers(k)
    finally:
        kw.cleanup(RUN, base)


# ---- crashes in an exit function (tests/fixtures) ----------------------------------

def case_warn_in_exit(t):
    base, d = kw.copy_fixture("warn-exit", "warnexit")
    try:
        k = once(t, base, d, ["--json"])
        kw.check(k.returncode == 4, f"a WARNING in exit: expected exit 4, got {k.returncode}", k)
        oops = k.events_since(0, "oops")
        kw.check(oops and oops[0].get("kind") == "warning", f"no warning oops event: {oops}", k)
        kw.check(any("kwwarnexit: last words" in e["text"] for e in k.events_since(0, "kmsg")),
                 "the exit function's last line is missing", k)
        no_leftovers(k)
    finally:
        kw.cleanup(RUN, base)


def case_oops_in_exit(t):
    base, d = kw.copy_fixture("oops-exit", "oopsexit")
    try:
        line = line_of(os.path.join(d, "kwoopsexit.c"), "*READ_ONCE(kwoopsexit_nothing) = 1;")
        k = once(t, base, d, [])
        kw.check(k.returncode == 4, f"an oops in exit: expected exit 4, got {k.returncode}", k)
        out = k.output()
        want = f"at kwoopsexit.c:{line}"
        kw.check(want in out, f"the oops does not name {want!r}", k)
        kw.check("did not return within" not in out, "reported as a hang, not as the oops it is", k)
        kw.check(k.elapsed < 60, f"took {k.elapsed:.0f} s", k)
        no_leftovers(k)
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    t = kw.Tap("crashes: oops, panic, hang, busy")
    t.case("10-oops-null --once: exit 4, function and oops-null.c:LINE shown", case_oops_human, t)
    t.case("10-oops-null --once --json: one oops event with function, module, source, trace",
           case_oops_json, t)
    t.case("11-panic: guest restarted (guest_restart names the panic), fixed save loads", case_panic, t)
    t.case(f"12-hang: hung load reported within --load-timeout {LOAD_TIMEOUT}, guest restarted, "
           "fixed save loads", case_hang, t)
    t.case("13-busy --once: unload errors in words, holder named, exit 3, nothing hangs", case_busy, t)
    t.case("13-busy --once --force-unload: both unloaded, exit 0", case_force_unload, t)
    t.case("a guest frozen after a good load: no answer to pings → restarted, build held", case_frozen_guest, t)
    t.case("a WARNING in an exit function --once: exit 4, its last line shown", case_warn_in_exit, t)
    t.case("an oops in an exit function --once: exit 4, file:line, not a hang", case_oops_in_exit, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
