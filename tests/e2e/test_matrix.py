#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--target: a target matrix against real guests. tests/fixtures/class-create-old
(class_create(THIS_MODULE, ...), as before 6.4) with --target x86_64/6.1 --target
x86_64/6.12 --once --json --junit: the 6.1 target builds and loads it in its 6.1
guest, the 6.12 target shows the compiler's error naming the real source file,
exit 2, each target's events carry `target`, and the JUnit file (valid against
junit-10.xsd), the KTAP file (the kernel's kunit_parser), the KCIDB file (its v5.3
schema) and the LAVA signals have a suite (or id prefix) per target. Then the three-target matrix x86_64/6.1,
x86_64/6.12, arm64/6.1 in a real terminal (tmux): one save gives three builds,
three reloads and the table line; the save-to-table time is measured next to a
single target's save-to-loaded time (printed as TAP diagnostics)."""

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout

import kw
import test_results  # the kernel's kunit_parser (cached) and the KCIDB schema

ONCE_TIMEOUT = 420
START = 420   # three guests booting on a small TCG host
STEP = 240
JUNIT_XSD = os.path.join(kw.FIXTURES, "junit", "junit-10.xsd")
TM = kw.Tmux()  # a tmux server of this script's own
SESSION = "kw"
SCREEN = {"lines": 5000, "join": True}


def need_kit(args, arch, release):
    """The kit for arch/release, fetched when it is missing (once; cached)."""
    path = [args.kmod_watch, "kit", "path", "--arch", arch, "--release", release]
    if subprocess.run(path, capture_output=True, timeout=60).returncode == 0:
        return
    r = subprocess.run([args.kmod_watch, "kit", "fetch", "--arch", arch, "--release", release],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        kw.skip(f"no {arch} {release} kit and `kmod-watch kit fetch --release {release}` failed: "
                f"{(r.stderr.strip().splitlines() or ['?'])[-1]}")


def matrix_env(base):
    """isolated_env, and a cache of its own whose kits are the user's: the shadow
    trees (cache/kmod-watch/matrix) go with the test's directory."""
    env, run_dir = kw.isolated_env(base)
    real = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    cache = os.path.join(base, "cache")
    os.makedirs(os.path.join(cache, "kmod-watch"))
    os.symlink(os.path.join(real, "kmod-watch", "kits"), os.path.join(cache, "kmod-watch", "kits"))
    env["XDG_CACHE_HOME"] = cache
    return env, run_dir


def case_once(t, args):
    base, d = kw.copy_fixture("class-create-old", "matrix-once")
    env, run_dir = matrix_env(base)
    junit, ktap, kcidb = (os.path.join(base, f) for f in ("junit.xml", "run.ktap", "kcidb.json"))
    cmd = ["--target", "x86_64/6.1", "--target", "x86_64/6.12", "--once", "--json", "--junit", junit,
           "--ktap", ktap, "--kcidb", kcidb, "--lava", d]
    k = kw.run(args.kmod_watch, cmd, ONCE_TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(cmd[:-1])} DIR → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(k.returncode == 2, f"expected exit 2 (the 6.12 build fails), got {k.returncode}", k)
    ev = k.events_since(0)
    mine = [e for e in ev if e["event"] not in ("exit", "matrix")]
    kw.check(mine and all(e.get("target") in ("x86_64/6.1", "x86_64/6.12") for e in mine),
             "an event of a target without its target field", k)
    loads = [e for e in ev if e["event"] == "load"]
    kw.check([(e["target"], e["module"], e["ok"]) for e in loads] == [("x86_64/6.1", "oldclass", True)],
             f"want one good load of oldclass, in the 6.1 guest: {loads}", k)
    ready = {e["target"]: e["kernel_release"] for e in ev if e["event"] == "ready"}
    kw.check(ready.get("x86_64/6.1", "").startswith("6.1.") and ready.get("x86_64/6.12", "").startswith("6.12."),
             f"each target's guest runs its own kernel: {ready}", k)
    bad = [e for e in ev if e["event"] == "build_end" and e.get("target") == "x86_64/6.12"]
    kw.check(bad and bad[0]["ok"] is False, f"the 6.12 build should fail: {bad}", k)
    err = bad[0].get("error", "") if bad else ""
    kw.check("class_create" in err and os.path.join(d, "oldclass.c") + ":15:" in err,
             f"the 6.12 error should name class_create in {d}/oldclass.c:\n{err}", k)
    kw.check("kmod-watch/matrix/" not in err, "the compiler's messages name the shadow tree, not DIR", k)
    kw.check(any(ln.startswith("[x86_64/6.12] ") and "too many arguments to function" in ln
                 for ln in k.stderr_lines), "the 6.12 compiler error is not on stderr with its prefix", k)
    kmsg = [e for e in ev if e["event"] == "kmsg" and "oldclass: class made" in e["text"]]
    kw.check([e["target"] for e in kmsg] == ["x86_64/6.1"], f"the module's printk, from 6.1 only: {kmsg}", k)
    exits = {e.get("target"): e["status"] for e in ev if e["event"] == "exit"}
    kw.check(exits == {"x86_64/6.1": 0, "x86_64/6.12": 2, None: 2}, f"exits: {exits}", k)
    kw.check(ev[-1]["event"] == "exit" and "target" not in ev[-1], "the supervisor's exit is not the last line", k)
    kw.check(ev[-1].get("error") == "x86_64/6.12: build failed", f"the exit's error names the worst target: {ev[-1]}", k)
    table = [e for e in ev if e["event"] == "matrix"]
    kw.check(len(table) == 1 and re.fullmatch(r"x86_64/6\.1 ok \d+\.\d s", table[0]["results"][0])
             and table[0]["results"][1] == "x86_64/6.12 build failed", f"the table: {table}", k)
    # the objects of each target in its own tree, none in DIR
    kw.check(not [f for f in os.listdir(d) if f.endswith((".o", ".ko"))], f"objects in DIR: {os.listdir(d)}", k)
    trees = os.path.join(base, "cache", "kmod-watch", "matrix")
    kos = [os.path.join(r, f) for r, _, fs in os.walk(trees) for f in fs if f.endswith(".ko")]
    kw.check(len(kos) == 1 and "x86_64-6.1" in kos[0], f"one .ko, in the 6.1 tree: {kos}", k)
    with open(os.path.join(d, "compile_commands.json")) as f:  # the first target's, for clangd
        db = json.load(f)
    kw.check([e["file"] for e in db] == [os.path.join(d, "oldclass.c")] and "kmod-watch/matrix" not in json.dumps(db),
             f"compile_commands.json should name DIR's files: {[e['file'] for e in db]}", k)
    kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    # the JUnit file: a suite per target, valid against the Jenkins xunit schema
    r = subprocess.run(["xmllint", "--noout", "--schema", JUNIT_XSD, junit], capture_output=True, text=True)
    kw.check(r.returncode == 0, f"xmllint --schema junit-10.xsd: {r.stderr}")
    suites = ET.parse(junit).getroot().findall("testsuite")
    props = [{p.get("name"): p.get("value") for p in s.find("properties")} for s in suites]
    kw.check(sorted(p.get("target") for p in props) == ["x86_64/6.1", "x86_64/6.12"], f"suites: {props}")
    for s, p in zip(suites, props):
        cases = {c.get("name"): c for c in s.findall("testcase")}
        if p["target"] == "x86_64/6.1":
            kw.check("load oldclass" in cases and cases["load oldclass"].find("failure") is None,
                     f"6.1: load oldclass should pass: {list(cases)}")
        else:
            f = cases.get("build")
            kw.check(f is not None and f.find("failure") is not None and "class_create" in f.find("failure").text,
                     "6.12: the build case should fail with the compiler's messages")
    t.diag(f"JUnit: {len(suites)} suites, " + ", ".join(f"{s.get('name')}: {s.get('tests')} tests, "
                                                       f"{s.get('failures')} failures" for s in suites))
    # KTAP through the kernel's kunit_parser, KCIDB against its v5.3 schema, the LAVA signals
    sys.path.insert(0, test_results.kunit_tool())
    with redirect_stdout(io.StringIO()):
        import kunit_parser  # noqa: E402 — the kernel's own parser
        with open(ktap, encoding="utf-8") as f:
            run = kunit_parser.parse_run_tests(f.read().splitlines())
    subs = {x.name: (x.status.name, {c.name: c.status.name for c in x.subtests}) for x in run.subtests}
    t.diag(f"KTAP (kunit_parser): {subs}")
    kw.check(subs.get("kmod.oldclass.x86_64_6_1", ("", {}))[1].get("kmod.oldclass.load") == "SUCCESS"
             and any(n.endswith(".x86_64_6_12") and v[0] == "FAILURE" for n, v in subs.items()),
             f"KTAP: a subtest per target, 6.1's load ok, 6.12 failed: {subs}")
    import jsonschema
    with open(test_results.KCIDB_SCHEMA) as f:
        schema = json.load(f)
    with open(kcidb, encoding="utf-8") as f:
        data = json.load(f)
    jsonschema.validate(data, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    builds = sorted((b["id"].rsplit(".", 2)[0].rsplit(".", 1)[1], b["status"]) for b in data["builds"])
    kw.check(builds == [("x86_64_6_1", "PASS"), ("x86_64_6_12", "FAIL")], f"KCIDB builds: {builds}")
    lava = sorted(x for x in k.stderr_lines if x.startswith("<LAVA_SIGNAL_TESTCASE"))
    kw.check("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x86_64_6_1.kmod.oldclass.load RESULT=pass>" in lava and
             any(x.startswith("<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=x86_64_6_12.kmod.") and "build RESULT=fail" in x
                 for x in lava), f"LAVA signals: {lava}")
    kw.cleanup(args, base)


def in_tmux(args, base, env, argv):
    cmd = " ".join(shlex.quote(x) for x in [args.kmod_watch] + argv)
    envs = " ".join(f"{k}={shlex.quote(env[k])}" for k in ("XDG_RUNTIME_DIR", "NO_COLOR", "XDG_CACHE_HOME"))
    r = TM("new-session", "-d", "-s", SESSION, "-x", "250", "-y", "50", f"env {envs} {cmd}; sleep 900", check=False)
    kw.check(r.returncode == 0, f"tmux new-session: {r.stderr.strip()}")


def quit_tmux(base):
    TM("send-keys", "-t", SESSION, "C-c")
    end = time.monotonic() + 60
    while time.monotonic() < end and kw.find_qemu([base]):
        time.sleep(0.2)
    left = kw.find_qemu([base])
    TM("kill-session", "-t", SESSION, check=False)
    kw.kill_pids(left)
    return left


def save_and_time(d, text, done, timeout):
    """Saves hello.c printing text; seconds until done(screen) holds."""
    src = kw.hello_source(d, text)
    t0 = time.monotonic()
    kw.write_file(os.path.join(d, "hello.c"), src)
    s = TM.wait_screen(SESSION, done, timeout, f"the save of {text!r} to show", **SCREEN)
    return time.monotonic() - t0, s


TABLE = re.compile(r"^kmod-watch: x86_64/6\.1 (.*) · x86_64/6\.12 (.*) · arm64/6\.1 (.*)$", re.M)


def case_three(t, args):
    base, d = kw.copy_example(args, "matrix-tmux")
    env, run_dir = matrix_env(base)
    in_tmux(args, base, env, ["--target", "x86_64/6.1", "--target", "x86_64/6.12", "--target", "arm64/6.1",
                              "--no-color", d])
    try:
        t0 = time.monotonic()
        s = TM.wait_screen(SESSION, lambda s: TABLE.search(s), START, "the first table line", **SCREEN)
        t.diag(f"three targets: start → first table line {time.monotonic() - t0:.1f} s "
               f"(three makes, three TCG boots on {os.cpu_count()} cores)")
        first = TABLE.findall(s)[-1]
        kw.check(all(x.startswith("ok ") for x in first), f"every target should load hello: {first}")
        n = len(TABLE.findall(s))
        secs, s = save_and_time(d, "matrix save B", lambda s: len(TABLE.findall(s)) > n, STEP)
        last = TABLE.findall(s)[-1]
        kw.check(all(x.startswith("ok ") for x in last), f"every target should reload hello: {last}")
        for target in ("x86_64/6.1", "x86_64/6.12", "arm64/6.1"):
            kw.check(re.search(rf"^\[{re.escape(target)}\] \[ *\d+\.\d+\] .*matrix save B$", s, re.M),
                     f"no printk of the new hello.c from {target}:\n{s}")
            builds = re.findall(rf"^\[{re.escape(target)}\] built in", s, re.M)
            kw.check(len(builds) == 2, f"{target}: want two builds (start, save), saw {len(builds)}")
        t.diag(f"three targets: save → table line {secs:.2f} s ({' · '.join(last)})")
        # kmod-watch shell DIR: DIR runs as a matrix; one line names each running target's tree
        r = subprocess.run([args.kmod_watch, "shell", d], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30, env=env)
        t.diag(f"kmod-watch shell DIR → exit {r.returncode}: {r.stderr.strip()}")
        kw.check(r.returncode == 64 and r.stderr.count("\n") == 1 and "a target matrix runs for" in r.stderr
                 and all(f"({n})" in r.stderr for n in ("x86_64-6.1", "x86_64-6.12", "arm64-6.1")),
                 f"shell DIR in a matrix: want one line naming the three trees, exit 64: {r.returncode} {r.stderr!r}")
        # keys go to every target: r reloads in each guest (a new table line), q ends every one
        n = len(TABLE.findall(s))
        TM("send-keys", "-t", SESSION, "r")
        s = TM.wait_screen(SESSION, lambda s: len(TABLE.findall(s)) > n, STEP, "the table line after r", **SCREEN)
        kw.check(all(x.startswith("ok ") for x in TABLE.findall(s)[-1]), f"r: every target reloads: {s}")
        TM("send-keys", "-t", SESSION, "q")
        end = time.monotonic() + 60
        while time.monotonic() < end and kw.find_qemu([base]):
            time.sleep(0.2)
        left = quit_tmux(base)
        kw.check(not left, f"QEMU still running after q: {left}")
        kw.check(not [os.path.join(r, f) for r, _, fs in os.walk(run_dir) for f in fs], "runtime files left")
    finally:
        TM("kill-server", check=False)
        kw.kill_pids(kw.find_qemu([base]))
        kw.cleanup(args, base)


def case_one(t, args):
    """The same save with one target (x86_64/6.1), for the comparison."""
    base, d = kw.copy_example(args, "matrix-one")
    env, _ = matrix_env(base)
    in_tmux(args, base, env, ["--no-color", d])
    try:
        TM.wait_screen(SESSION, lambda s: "hello loaded" in s, START, "the single target first load", **SCREEN)
        n = TM.screen(SESSION, **SCREEN).count("hello loaded")
        single, _ = save_and_time(d, "single save C", lambda s: s.count("hello loaded") > n, STEP)
        t.diag(f"one target (x86_64/6.1): save → loaded {single:.2f} s")
        kw.check(not quit_tmux(base), "QEMU still running after Ctrl-C (single target)")
    finally:
        TM("kill-server", check=False)
        kw.kill_pids(kw.find_qemu([base]))
        kw.cleanup(args, base)


def case_one_target_shell(t, args):
    """A matrix of one target: kmod-watch shell DIR opens that target's guest."""
    base, d = kw.copy_example(args, "matrix-shell")
    env, _ = matrix_env(base)
    in_tmux(args, base, env, ["--target", "x86_64/6.1", "--no-color", d])
    try:
        TM.wait_screen(SESSION, lambda s: re.search(r"^kmod-watch: x86_64/6\.1 ok ", s, re.M), START,
                       "the one target's table line", **SCREEN)
        r = kw.shell_piped(args.kmod_watch, d, env, "grep -c '^hello ' /proc/modules; exit 3\n")
        t.diag(f"kmod-watch shell DIR → exit {r.returncode}: {r.stderr.strip()}")
        kw.check(r.returncode == 3 and "runs as a target matrix with one target running" in r.stderr
                 and re.search(r"^1\r?$", r.stdout, re.M),
                 f"shell DIR should open the one target's guest (hello loaded, exit 3): {r.returncode} "
                 f"{r.stdout!r} {r.stderr!r}")
        kw.check(not quit_tmux(base), "QEMU still running after Ctrl-C (one-target matrix)")
    finally:
        TM("kill-server", check=False)
        kw.kill_pids(kw.find_qemu([base]))
        kw.cleanup(args, base)


def case_doctor(t, args):
    """doctor --target: each target's kit, agent, compiler and QEMU, under its name."""
    base, d = kw.copy_fixture("class-create-old", "matrix-doctor")
    r = subprocess.run([args.kmod_watch, "doctor", "--target", "x86_64/6.12", "--target", "arm64/6.1", d],
                       capture_output=True, text=True, timeout=120)
    t.diag(f"doctor --target x86_64/6.12 --target arm64/6.1 → exit {r.returncode}")
    out = r.stdout
    kw.check(r.returncode == 0, f"doctor exited {r.returncode}:\n{out}{r.stderr}")
    parts = re.split(r"^target (\S+):$", out, flags=re.M)
    names = parts[1::2]
    kw.check(names == ["x86_64/6.12", "arm64/6.1"], f"a section per target: {names}\n{out}")
    sections = dict(zip(names, parts[2::2]))
    kw.check(re.search(r"^ok   guest kit: x86_64 6\.12\.", sections.get("x86_64/6.12", ""), re.M)
             and re.search(r"^ok   guest kit: arm64 6\.1\.", sections.get("arm64/6.1", ""), re.M)
             and "compiler for arm64" in sections.get("arm64/6.1", ""), f"each target's kit and compiler:\n{out}")
    kw.cleanup(args, base)


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    if kw.host_arch()[0] != "x86_64":
        kw.skip("the matrix test's targets are x86_64 ones (on an x86_64 host)")
    if shutil.which("xmllint") is None:
        kw.skip("xmllint is not installed (libxml2-utils)")
    need_kit(args, "x86_64", "6.1")
    need_kit(args, "x86_64", "6.12")
    arm64 = shutil.which("qemu-system-aarch64") is not None
    if arm64:
        need_kit(args, "arm64", "6.1")
    t = kw.Tap("kmod-watch --target: a matrix of guests")
    if arm64:
        t.case("doctor --target x86_64/6.12 --target arm64/6.1: a section per target, its kit and compiler",
               case_doctor, t, args)
    t.case("class-create-old on x86_64/6.1 + x86_64/6.12 --once: 6.1 loads, 6.12's compiler error, exit 2, "
           "target in every event, a JUnit suite each", case_once, t, args)
    if shutil.which("tmux") and arm64 and os.environ.get("KW_MATRIX_QUICK") != "1":
        t.case("x86_64/6.1 + x86_64/6.12 + arm64/6.1 in tmux: one save → three builds, three reloads, "
               "the table line (timed); the keys r and q reach every target", case_three, t, args)
        t.case("one target in tmux: the same save, timed for comparison", case_one, t, args)
        t.case("a matrix of one target: kmod-watch shell DIR opens its guest", case_one_target_shell, t, args)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
