#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Daily use, against a real guest: --param reaches the module, two modules
with an exported symbol load in dependency order and reload together when the
base changes (and alone when only the user changes), a rebuild that gives the
same .ko does not reload, --run output arrives and its failure fails --once,
--junit is well-formed JUnit with the expected cases, and the project's
.kmod-watch settings apply with the command line winning."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import kw

TIMEOUT = 240
RUN = None


def example(name, tag):
    return kw.copy_tree(os.path.join(RUN.examples, name), name, tag)


def once(t, base, d, extra, json_mode=True):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg"] + (["--json"] if json_mode else []) + extra + [d]
    k = kw.run(RUN.kmod_watch, args, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)} → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


def case_param(t):
    base, d = example("01-params", "params")
    k = once(t, base, d, ["--param", "greeting=kw-param-ok", "--param", "repeat=2",
                          "--expect", r"params: kw-param-ok \(2/2\)"])
    kw.check(k.returncode == 0, f"want exit 0, got {k.returncode}", k)
    kw.cleanup(RUN, base)


def case_settings(t):
    """.kmod-watch sets a param and an expectation; the command line overrides the param."""
    base, d = example("01-params", "settings")
    with open(os.path.join(d, ".kmod-watch"), "w") as f:
        f.write("# the project's settings\nparam = greeting=from-file\nparam = repeat=1\n"
                "expect = params: from-(file|cli)\n")
    k = once(t, base, d, [])
    kw.check(k.returncode == 0, f"settings only: want exit 0, got {k.returncode}", k)
    kw.check(any("from-file" in e["text"] for e in k.events_since(0, "kmsg")), "the file's param was not used", k)
    k = once(t, base, d, ["--param", "greeting=from-cli"])
    kw.check(k.returncode == 0, f"with --param: want exit 0, got {k.returncode}", k)
    texts = [e["text"] for e in k.events_since(0, "kmsg")]
    kw.check(any("from-cli" in x for x in texts) and not any("from-file" in x for x in texts),
             f"the command line's --param should win: {texts}", k)
    # expect = … is for --once runs: a run without --once (here doctor, which reads the
    # same file and needs no guest) is not refused for it
    env, _ = kw.isolated_env(base)
    p = subprocess.run([RUN.kmod_watch, "doctor", d], env=env, capture_output=True, text=True, timeout=120)
    kw.check(p.returncode != 64 and "goes with --once" not in p.stderr,
             f"expect = in .kmod-watch broke a run without --once (exit {p.returncode}): {p.stderr[-300:]}")
    with open(os.path.join(d, ".kmod-watch"), "w") as f:
        f.write("--once\n")
    k = once(t, base, d, [])
    kw.check(k.returncode == 64, f"a bad settings line: want exit 64, got {k.returncode}", k)
    kw.check(".kmod-watch:1" in k.output(), "the error does not name the file and line", k)
    kw.cleanup(RUN, base)


def case_run_and_junit(t):
    base, d = example("02-chardev", "run")
    junit = os.path.join(base, "junit.xml")
    k = once(t, base, d, ["--run", "cat /dev/kwchar; echo ping > /dev/kwchar", "--expect", "kwchar: .*ready",
                          "--junit", junit])
    kw.check(k.returncode == 0, f"want exit 0, got {k.returncode}", k)
    out = "".join(e["text"] for e in k.events_since(0, "run_output"))
    kw.check("hello from the device" in out, f"--run output did not arrive: {out!r}", k)
    kw.check(any("got 5 bytes: ping" in e["text"] for e in k.events_since(0, "kmsg")),
             "the write through --run did not reach the module", k)
    runs = k.events_since(0, "run")
    kw.check(runs and runs[0]["status"] == 0, f"run event: {runs}", k)
    r = subprocess.run(["xmllint", "--noout", junit], capture_output=True, text=True)
    kw.check(r.returncode == 0, f"xmllint: {r.stderr}")
    root = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    t.diag(f"junit cases: {sorted(cases)}")
    for name in ("load kwchar", "unload kwchar", "expect kwchar: .*ready",
                 "run cat /dev/kwchar; echo ping > /dev/kwchar"):
        kw.check(name in cases, f"no JUnit test case {name!r}: {sorted(cases)}")
        kw.check(cases[name].find("failure") is None, f"{name!r} failed in JUnit")
    suite = root.find("testsuite")
    kw.check(suite is not None and suite.get("failures") == "0", "testsuite failures should be 0")

    # the guest options on the same boot: --cpus, --append, --qemu-opt (a virtio-rng device,
    # virtio device id 4), read back from inside the guest by the --run command
    cmd = ("cat /dev/kwchar; echo cpus=$(grep -c ^processor /proc/cpuinfo); cat /proc/cmdline; "
           "cat /sys/bus/virtio/devices/*/device; exit 3")
    k = once(t, base, d, ["--run", cmd, "--junit", junit, "--cpus", "1", "--append", "kw_marker=42",
                          "--qemu-opt", "-device virtio-rng-pci"])
    kw.check(k.returncode == 1, f"a failing --run: want exit 1, got {k.returncode}", k)
    out = "".join(e["text"] for e in k.events_since(0, "run_output"))
    kw.check("cpus=1" in out, f"--cpus 1: the guest has another count: {out!r}", k)
    kw.check("kw_marker=42" in out, f"--append did not reach /proc/cmdline: {out!r}", k)
    kw.check("0x0004" in out.split(), f"--qemu-opt '-device virtio-rng-pci': no virtio-rng: {out!r}", k)
    root = ET.parse(junit).getroot()
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    kw.check(failed == ["run " + cmd], f"JUnit failures: {failed}")
    kw.cleanup(RUN, base)


def case_two_modules(t):
    base, d = example("03-two-modules", "two")
    env, _ = kw.isolated_env(base)
    k = kw.KmodWatch(RUN.kmod_watch, ["--json", "--accel", "tcg", d], env=env, needles=[base])
    try:
        with k:
            k.wait_event("kmsg", lambda e: "user: base answered 42" in e["text"], timeout=TIMEOUT, since=0)
            k.collect(1.5)
            loads = [e["module"] for e in k.events_since(0, "load", lambda e: e["ok"])]
            kw.check(loads == ["base", "user"], f"first load order: {loads}", k)

            # base changes → user (which depends on it) is unloaded first and reloaded after base
            m = k.mark()
            src = os.path.join(d, "base.c")
            with open(src) as f:
                text = f.read()
            kw.write_file(src, text.replace("return 42;", "return 43;"))
            k.wait_event("kmsg", lambda e: "user: base answered 43" in e["text"], timeout=90, since=m)
            k.collect(1.5)
            unloads = [e["module"] for e in k.events_since(m, "unload", lambda e: e["ok"])]
            loads = [e["module"] for e in k.events_since(m, "load", lambda e: e["ok"])]
            t.diag(f"base changed: unload {unloads}, load {loads}")
            kw.check(unloads == ["user", "base"] and loads == ["base", "user"],
                     f"base changed: want unload [user, base], load [base, user]; got {unloads}, {loads}", k)

            # only user changes → base stays loaded
            m = k.mark()
            src = os.path.join(d, "user.c")
            with open(src) as f:
                text = f.read()
            kw.write_file(src, text.replace("user: base answered %d", "user: base said %d"))
            k.wait_event("kmsg", lambda e: "user: base said 43" in e["text"], timeout=90, since=m)
            k.collect(1.5)
            unloads = [e["module"] for e in k.events_since(m, "unload", lambda e: e["ok"])]
            loads = [e["module"] for e in k.events_since(m, "load", lambda e: e["ok"])]
            t.diag(f"user changed: unload {unloads}, load {loads}")
            kw.check(unloads == ["user"] and loads == ["user"],
                     f"user changed: want only user reloaded, got unload {unloads}, load {loads}", k)

            # touch: make rebuilds, the .ko is byte-identical → not reloaded
            m = k.mark()
            subprocess.run(["touch", os.path.join(d, "user.c")], check=True)  # coreutils: open for write + futimens
            k.wait_event("build_end", timeout=90, since=m)
            k.wait_event("unchanged", timeout=30, since=m)
            k.collect(1.5)
            kw.check(not k.events_since(m, "load") and not k.events_since(m, "unload"),
                     f"touch reloaded: {[e['event'] for e in k.events[m:]]}", k)
            status = k.stop(signal.SIGINT, timeout=20)
            unloads = [e["module"] for e in k.events_since(m, "unload", lambda e: e["ok"])]
            kw.check(unloads == ["user", "base"], f"quit: want unload [user, base], got {unloads}", k)
            kw.check(not kw.leftovers(k), "left behind", k)
    finally:
        kw.cleanup(RUN, base)


def case_dir_made_again(t):
    """rm -rf DIR, then a fresh copy with a new printk: the watch comes back, the guest's share
    sees the new directory, and the new module loads."""
    base, d = example("00-kernel_module_hello", "again")
    env, _ = kw.isolated_env(base)
    k = kw.KmodWatch(RUN.kmod_watch, ["--json", "--accel", "tcg", d], env=env, needles=[base])
    try:
        with k:
            k.wait_event("load", lambda e: e["ok"], timeout=TIMEOUT, since=0)
            fresh = os.path.join(base, "fresh")
            shutil.copytree(d, fresh, ignore=shutil.ignore_patterns("*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd",
                                                                     "modules.order", "Module.symvers", ".*"))
            kw.write_file(os.path.join(fresh, "hello.c"), kw.hello_source(fresh, "made again"))
            m = k.mark()
            shutil.rmtree(d)
            k.collect(1.0)
            os.rename(fresh, d)  # as a re-clone would leave it
            k.wait_event("kmsg", lambda e: "made again" in e["text"], timeout=TIMEOUT, since=m)
            kw.check("waiting for it to come back" in k.output() and "is back" in k.output(),
                     "the directory's going and coming back is not said", k)
            k.stop(signal.SIGINT, timeout=20)
            kw.check(not kw.leftovers(k), "left behind", k)
    finally:
        kw.cleanup(RUN, base)


def free_port():
    import socket
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def case_gdb(t):
    """--gdb PORT: QEMU's gdbstub answers a real gdb; each load prints the add-symbol-file
    line (its addresses from the guest's /sys/module/hello/sections); gdb can load the
    module's symbols at them; the loop goes on after gdb detaches."""
    if not shutil.which("gdb"):
        raise kw.KWError("gdb is missing (tests/packages.txt lists it)")
    base, d = example("00-kernel_module_hello", "gdb")
    env, _ = kw.isolated_env(base)
    port = free_port()
    # --cpus 2 (the default under TCG is 1): gdb sees one thread per vCPU
    k = kw.KmodWatch(RUN.kmod_watch, ["--json", "--accel", "tcg", "--gdb", str(port), "--cpus", "2", d], env=env,
                     needles=[base])
    try:
        with k:
            e = k.wait_event("load", lambda e: e["ok"], timeout=TIMEOUT, since=0)
            kw.check("-s .init.text 0x" in e.get("sections", ""), f"the load event has no sections: {e}", k)
            k.collect(0.5)
            lines = [ln for ln in k.stderr_lines if "gdb: add-symbol-file" in ln]
            kw.check(lines, "no add-symbol-file line after the load", k)
            cmd = lines[-1].split("gdb: ", 1)[1]
            r = subprocess.run(["gdb", "-batch", "-nx", "-ex", f"target remote 127.0.0.1:{port}",
                                "-ex", "info registers rip", "-ex", "info threads", "-ex", f"{cmd}",
                                "-ex", "info address hello_init",
                                "-ex", "detach"], capture_output=True, text=True, timeout=120,
                               input="y\n")
            t.diag(f"gdb: {r.stdout.strip().splitlines()[-3:]}")
            kw.check("rip" in r.stdout, f"gdb did not read the guest's registers:\n{r.stdout}\n{r.stderr}", k)
            kw.check(re.search(r"^\s*2\s+Thread 1\.2", r.stdout, re.M),
                     f"--cpus 2: gdb does not see a second vCPU:\n{r.stdout}", k)
            kw.check("hello_init" in r.stdout and "is a function at address" in r.stdout,
                     f"gdb did not find hello_init after add-symbol-file ({cmd}):\n{r.stdout}\n{r.stderr}", k)
            m = k.mark()
            kw.write_file(os.path.join(d, "hello.c"), kw.hello_source(d, "after gdb"))
            k.wait_event("kmsg", lambda e: "after gdb" in e["text"], timeout=TIMEOUT, since=m)
            k.stop(signal.SIGINT, timeout=20)
    finally:
        kw.cleanup(RUN, base)


def case_every_module(t):
    """Three modules, the second's init fails: the first and third load, the run exits 3."""
    base, d = kw.copy_fixture("second-fails", "every")
    k = once(t, base, d, [])
    kw.check(k.returncode == 3, f"want exit 3, got {k.returncode}", k)
    loads = [(e["module"], e["ok"]) for e in k.events_since(0, "load")]
    kw.check(loads == [("kwfirst", True), ("kwsecond", False), ("kwthird", True)], f"loads: {loads}", k)
    unloads = [e["module"] for e in k.events_since(0, "unload", lambda e: e["ok"])]
    kw.check(unloads == ["kwthird", "kwfirst"], f"unloads on the way out: {unloads}", k)
    kw.check(any("kwthird: loaded" in e["text"] for e in k.events_since(0, "kmsg")), "kwthird's line is missing", k)
    kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    t = kw.Tap("kmod-watch daily use (params, two modules, unchanged, --run, --junit, settings)")
    t.case("--param greeting=… repeat=2 → the module prints it twice", case_param, t)
    t.case(".kmod-watch settings apply; the command line wins; a bad line is one error, exit 64",
           case_settings, t)
    t.case("--run output arrives, --junit is valid; a failing --run fails --once (exit 1)",
           case_run_and_junit, t)
    t.case("03-two-modules: dependency order, base change reloads user, user change alone, touch → unchanged",
           case_two_modules, t)
    t.case("three modules, the second fails: the first and third load, exit 3", case_every_module, t)
    t.case("--gdb PORT: a real gdb attaches, add-symbol-file finds hello_init, the loop goes on", case_gdb, t)
    t.case("DIR deleted and made again: watched again, the guest sees the new one, the new module loads",
           case_dir_made_again, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
