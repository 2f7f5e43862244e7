#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The replay build (watcher/replay.h) against real kbuild (the kit's 6.1 headers).

Builds are driven by kmod-watch itself with --json and no guest (--connect to a
socket that never appears: kmod-watch builds and waits for the guest), so only
the last case boots one. Every example and tests/fixtures/multi-file (ten .c
files, one module, one exporting a symbol so genksyms runs) is built both ways:
a replay after an edit, then a clean make of the same sources in the same
directory; every .ko, .o, .mod.c and .cmd file must be byte-identical, and a make
right after the replay must have nothing to do. A header edit replays its
dependents; a Makefile edit, a new file and a change in KDIR each run make (the
build_end event's why_make); --no-replay always makes; a syntax error through the
replay fails the build with the compiler's own line, as make shows it."""

import os
import time
import json
import re
import shutil
import subprocess
import sys

import kw

RUN = None
KDIR = None
CHATTER = re.compile(r"^\s+(CC|LD|MODPOST|BTF|AR|AS)\b", re.M)
PRODUCTS = (".ko", ".o", ".mod.c", ".cmd", ".mod", ".d", ".symvers", ".order")
PROBE = "\nint kw_replay_probe_{0}(void);\nint kw_replay_probe_{0}(void)\n{{\n\treturn 7;\n}}\n"


def session(base, d, extra=()):
    """kmod-watch building d with no guest (its socket never appears)."""
    env, _ = kw.isolated_env(base)
    args = ["--connect", "unix:" + os.path.join(base, "no-guest.sock"), "--boot-timeout", "3600", "--json", "-j2"] + list(extra) + [d]
    return kw.KmodWatch(RUN.kmod_watch, args, env=env, needles=[base])


def build_end(k, path, timeout=300):
    e = k.wait_event("build_end", timeout=timeout)
    kw.check(e.get("path") == path, f"expected the {path} path, got {e}", k)
    return e


def edit(d, name, old=None, new=None):
    p = os.path.join(d, name)
    with open(p) as f:
        text = f.read()
    if old is None:  # a new function, named after the file (modules link several)
        text += PROBE.format(re.sub(r"\W", "_", name[:-2]))
    else:
        kw.check(old in text, f"{name} has no {old!r}")
        text = text.replace(old, new, 1)
    kw.write_file(p, text)


def make(d, *targets, kdir=None):
    r = subprocess.run(["make", "-C", kdir or KDIR, "M=" + d, "-j2"] + list(targets), capture_output=True,
                       text=True, timeout=900)
    return r.returncode, r.stdout + r.stderr


def products(d):
    return sorted(f for f in os.listdir(d) if f.endswith(PRODUCTS))


def clangd_check(t, k, d):
    """compile_commands.json (written just after build_end) lets the real clangd read
    every .c of d without an error."""
    db = os.path.join(d, "compile_commands.json")
    end = time.monotonic() + 10
    while not os.path.exists(db) and time.monotonic() < end:
        time.sleep(0.05)  # written in the same loop turn as build_end, after it
    kw.check(os.path.exists(db), "no compile_commands.json after a good build", k)
    with open(db) as f:
        entries = json.load(f)
    srcs = sorted({e["file"] for e in entries})
    kw.check(srcs, f"compile_commands.json has no entry: {entries}", k)
    if not shutil.which("clangd"):
        raise kw.KWError("clangd is missing (tests/packages.txt lists it)")
    for src in srcs:
        r = subprocess.run(["clangd", f"--check={src}"], cwd=d, capture_output=True, text=True, timeout=300)
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("E[")]
        m = re.search(r"All checks completed, (\d+) errors", r.stderr)
        kw.check(r.returncode == 0 and m and m.group(1) == "0" and not errors,
                 f"clangd --check={src}: {errors or r.stderr[-2000:]}", k)
    t.diag(f"clangd --check: {len(srcs)} file(s), 0 errors")


def case_both_ways(t, src, name, edited):
    """Replay after an edit vs. a clean make of the same sources: byte for byte."""
    base, d = kw.copy_tree(src, name, "replay")
    try:
        with session(base, d) as k:
            e = build_end(k, "make", timeout=900)
            kw.check(e["ok"] and e.get("why_make") == "no replay state yet", f"first build: {e}", k)
            clangd_check(t, k, d)
            edit(d, edited)
            e = build_end(k, "replay")
            kw.check(e["ok"] and e["replayed"] == 1, f"expected one object replayed: {e}", k)
            # kbuild's M= (for dkms.conf, DKMS's tree, a link to DIR that lives while kmod-watch runs)
            with open(os.path.join(d, "modules.order")) as f:
                m = os.path.dirname(f.readline().strip())
            status, out = make(m, "modules")
            kw.check(status == 0 and not CHATTER.search(out), f"make after the replay did something:\n{out}", k)
            replayed = os.path.join(base, "replayed")
            os.mkdir(replayed)
            names = products(d)
            for f in names:
                shutil.copy2(os.path.join(d, f), replayed)
            make(m, "clean")
            status, out = make(m, "modules")
            kw.check(status == 0, f"the clean make failed:\n{out}", k)
            kw.check(products(d) == names, f"different files: {sorted(set(products(d)) ^ set(names))}", k)
            differ = [f for f in names if open(os.path.join(d, f), "rb").read() !=
                      open(os.path.join(replayed, f), "rb").read()]
            kw.check(not differ, f"not byte-identical to a clean make: {differ}", k)
            k.stop()
        kos = [f for f in names if f.endswith(".ko")]
        t.diag(f"{name}: {len(names)} files identical ({', '.join(kos)}); make after the replay: nothing to do")
    finally:
        kw.cleanup(RUN, base)


def case_dkms(t):
    """Real Debian *-dkms sources (test_dkms.py fetches them): vpoll's dkms.conf runs kbuild's
    make with M=, bbswitch's has no MAKE (DKMS's default), so both replay, byte for byte;
    dm-writeboost's MAKE goes through its Makefile, so it is make, said why."""
    import test_dkms
    case_both_ways(t, test_dkms.source_of("vpoll-dkms"), "vpoll", "vpoll.c")
    case_both_ways(t, test_dkms.source_of("bbswitch-dkms"), "bbswitch", "bbswitch.c")
    src = test_dkms.source_of("dm-writeboost-dkms")
    base, d = kw.copy_tree(src, os.path.basename(src), "replay-dkms")
    try:
        with session(base, d) as k:
            build_end(k, "make", timeout=900)
            edit(d, "dm-writeboost-daemon.c")
            e = build_end(k, "make", timeout=900)
            kw.check(e.get("why_make", "").startswith("building with dkms.conf, which may do more"), f"{e}", k)
            t.diag(f"dm-writeboost: make ({e['why_make']})")
            k.stop()
    finally:
        kw.cleanup(RUN, base)


def case_fallbacks(t):
    """A header replays its dependents; Makefile, new file, KDIR → make, said why."""
    base, d = kw.copy_fixture("multi-file", "replay-fall")
    kdir = os.path.join(base, "kdir")  # KDIR as links to the kit's, its Module.symvers a copy we may touch
    os.mkdir(kdir)
    for e in os.listdir(KDIR):
        os.symlink(os.path.realpath(os.path.join(KDIR, e)), os.path.join(kdir, e))
    os.unlink(os.path.join(kdir, "Module.symvers"))
    shutil.copy2(os.path.join(KDIR, "Module.symvers"), os.path.join(kdir, "Module.symvers"))
    try:
        with session(base, d, ["--kdir", kdir]) as k:
            build_end(k, "make")
            edit(d, "parts.h", "KWMULTI_SCALE 3", "KWMULTI_SCALE 4")
            e = build_end(k, "replay")
            kw.check(e["ok"] and e["replayed"] == 10, f"parts.h: expected its 10 dependents replayed: {e}", k)
            edit(d, "Makefile", "obj-m", "# a comment\nobj-m")
            e = build_end(k, "make")
            kw.check(e.get("why_make") == "Makefile changed", f"Makefile: {e}", k)
            kw.write_file(os.path.join(d, "extra.c"), "/* not built */\n")
            e = build_end(k, "make")
            kw.check(e.get("why_make") == "new source file extra.c", f"new file: {e}", k)
            edit(d, "part5.c")
            e = build_end(k, "replay")  # the state was learned again after those makes
            kw.check(e["ok"] and e["replayed"] == 1, f"part5.c after the makes: {e}", k)
            os.utime(os.path.join(kdir, "Module.symvers"))
            edit(d, "part6.c")
            e = build_end(k, "make")
            kw.check(e.get("why_make") == "KDIR's Module.symvers changed", f"KDIR changed: {e}", k)
            t.diag("header → replayed 10; Makefile, new file, KDIR → make with the reason")
            k.stop()
        status, out = make(d, "modules", kdir=kdir)
        kw.check(status == 0 and not CHATTER.search(out), f"make at the end did something:\n{out}")
    finally:
        kw.cleanup(RUN, base)


def case_no_replay(t):
    base, d = kw.copy_example(RUN, "replay-off")
    try:
        with session(base, d, ["--no-replay", "--no-compile-commands"]) as k:
            build_end(k, "make")
            edit(d, "hello.c")
            e = build_end(k, "make")
            kw.check(e.get("why_make") == "--no-replay", f"--no-replay: {e}", k)
            k.stop()
        kw.check(not os.path.exists(os.path.join(d, "compile_commands.json")),
                 "--no-compile-commands wrote compile_commands.json anyway")
    finally:
        kw.cleanup(RUN, base)


def case_syntax_error(t):
    """The compiler's line through the replay, the same as make prints it; the fix replays."""
    base, d = kw.copy_example(RUN, "replay-err")
    try:
        with session(base, d) as k:
            build_end(k, "make")
            mark = len(k.stderr_lines)
            edit(d, "hello.c", 'build A\\n");', 'build A\\n")')
            e = build_end(k, "replay")
            kw.check(not e["ok"], f"a syntax error built: {e}", k)
            k.collect(1)
            said = "\n".join(k.stderr_lines[mark:])
            errs = re.findall(r"^\S*hello\.c:\d+:\d+: error: .*$", said, re.M)
            kw.check(errs, "no hello.c:LINE:COL: error: line shown", k)
            kw.check("build failed" in said, "no 'build failed' line", k)
            _, out = make(d, "modules")
            made = re.findall(r"^\S*hello\.c:\d+:\d+: error: .*$", out, re.M)
            kw.check(made == errs, f"make says {made}, the replay said {errs}", k)
            edit(d, "hello.c", 'build A\\n")', 'build B\\n");')
            e = build_end(k, "replay")  # the failed object is still due: replayed with the fix
            kw.check(e["ok"] and e["replayed"] == 1, f"the fix after a failed replay: {e}", k)
            t.diag("replay: " + errs[0])
            k.stop()
        status, out = make(d, "modules")
        kw.check(status == 0 and not CHATTER.search(out), f"make at the end did something:\n{out}")
    finally:
        kw.cleanup(RUN, base)


def case_superseded(t):
    """A save during a replay stops it (build_end superseded) and builds again with the newest
    text; nothing half-written is left: make afterwards has nothing to do."""
    base, d = kw.copy_example(RUN, "replay-stop")
    try:
        with session(base, d, ["--no-compile-commands"]) as k:
            build_end(k, "make")
            m = k.mark()
            edit(d, "hello.c", "build A", "build S1")
            k.wait_event("build_start", timeout=60, since=m)
            edit(d, "hello.c", "build S1", "build S2")  # the replay takes hundreds of ms
            e = k.wait_event("build_end", timeout=300, since=m)
            kw.check(e.get("superseded") is True and not e["ok"], f"not superseded: {e}", k)
            e = build_end(k, "replay")
            kw.check(e["ok"] and e["replayed"] == 1, f"after the stop: {e}", k)
            starts = k.events_since(m, "build_start")
            kw.check(len(starts) == 2, f"{len(starts)} build_start events for two saves", k)
            k.stop()
        status, out = make(d, "modules")
        kw.check(status == 0 and not CHATTER.search(out), f"make after a stopped replay did something:\n{out}")
        with open(os.path.join(d, "hello.ko"), "rb") as f:
            kw.check(b"build S2" in f.read(), "hello.ko does not have the last text")
        t.diag("a save during the replay: stopped, replayed again, make has nothing to do")
    finally:
        kw.cleanup(RUN, base)


def first_build(base, d, path, extra=()):
    """A new kmod-watch on d: its first build (the state the last run left), then stopped."""
    with session(base, d, extra) as k:
        e = build_end(k, path)
        k.stop()
    return e


def case_across_runs(t):
    """The replay state outlives the run: --once replays a syntax error (exit 2, make's line);
    what changed while no kmod-watch ran replays; anything the safe rule names makes."""
    base, d = kw.copy_example(RUN, "replay-runs")
    kdir = os.path.join(base, "kdir")  # another KDIR: links to the kit's
    os.mkdir(kdir)
    for e in os.listdir(KDIR):
        os.symlink(os.path.realpath(os.path.join(KDIR, e)), os.path.join(kdir, e))
    state = kw.replay_state_file(d)
    try:
        e = first_build(base, d, "make")
        kw.check(e["ok"] and e.get("why_make") == "no replay state yet", f"first run: {e}")
        kw.check(os.path.isfile(state), f"no replay state kept in {state}")
        edit(d, "hello.c", 'build A\\n");', 'build A\\n")')
        env, _ = kw.isolated_env(base)
        k = kw.run(RUN.kmod_watch, ["--once", "--json", "--connect", "unix:" + os.path.join(base, "no.sock"),
                                    "--boot-timeout", "3600", d], timeout=300, env=env, needles=[base])
        e = k.wait_event("build_end", timeout=1)
        kw.check(k.returncode == 2, f"--once with a syntax error: exit {k.returncode}, not 2", k)
        kw.check(e.get("path") == "replay" and e["replayed"] == 1 and not e["ok"], f"--once: {e}", k)
        errs = re.findall(r"^\S*hello\.c:\d+:\d+: error: .*$", "\n".join(k.stderr_lines), re.M)
        _, out = make(d, "modules")
        made = re.findall(r"^\S*hello\.c:\d+:\d+: error: .*$", out, re.M)
        kw.check(errs and made == errs, f"make says {made}, the --once replay said {errs}", k)
        t.diag(f"--once: exit 2 through the replay in {e['ms']} ms: {errs[0]}")
        edit(d, "hello.c", 'build A\\n")', 'build B\\n");')  # fixed while nothing runs
        e = first_build(base, d, "replay")
        kw.check(e["ok"] and e["replayed"] == 1, f"the fix, next run: {e}")
        e = first_build(base, d, "make")
        kw.check(e.get("why_make") == "nothing changed since the last build", f"no change: {e}")
        edit(d, "hello.c", "build B", "build C")
        status, out = make(d, "modules")  # by hand: the products are not the ones kept
        kw.check(status == 0, f"make by hand:\n{out}")
        e = first_build(base, d, "make")
        kw.check(e.get("why_make", "").startswith("the build's products changed since the last build"), f"{e}")
        edit(d, "hello.c", "build C", "build D")
        e = first_build(base, d, "make", ["--kdir", kdir])
        kw.check(e.get("why_make") == "KDIR changed", f"another KDIR: {e}")
        edit(d, "hello.c", "build D", "build E")
        e = first_build(base, d, "replay", ["--kdir", kdir])
        kw.check(e["ok"], f"the same other KDIR: {e}")
        os.unlink(os.path.join(kdir, "Makefile"))
        shutil.copy2(os.path.join(KDIR, "Makefile"), os.path.join(kdir, "Makefile"))
        edit(d, "hello.c", "build E", "build F")
        e = first_build(base, d, "make", ["--kdir", kdir])
        kw.check(e.get("why_make") == "KDIR's Makefile changed", f"KDIR's Makefile: {e}")
        edit(d, "hello.c", "build F", "build G")
        e = first_build(base, d, "make")
        kw.check(e.get("why_make") == "KDIR changed", f"back to the kit's KDIR: {e}")
        edit(d, "Makefile", "obj-m", "# a comment\nobj-m")
        e = first_build(base, d, "make")
        kw.check(e.get("why_make") == "Makefile changed", f"Makefile: {e}")
        kw.write_file(os.path.join(d, "extra.c"), "/* not built */\n")
        e = first_build(base, d, "make")
        kw.check(e.get("why_make") == "new source file extra.c", f"new file: {e}")
        make(d, "clean")
        e = first_build(base, d, "make")
        kw.check(e.get("why_make", "").startswith("the last build's records are gone"), f"make clean: {e}")
        edit(d, "hello.c", "build G", "build H")
        e = first_build(base, d, "replay")
        kw.check(e["ok"] and e["replayed"] == 1, f"after all those makes: {e}")
        status, out = make(d, "modules")
        kw.check(status == 0 and not CHATTER.search(out), f"make at the end did something:\n{out}")
        t.diag("across runs: the fix and an edit replay; no change, make by hand, KDIR, Makefile, new file, "
               "make clean → make")
    finally:
        if os.path.exists(state):
            os.unlink(state)
        kw.cleanup(RUN, base)


def case_guest(t):
    """In a real guest: a save replays, the new printk appears."""
    base, d = kw.copy_example(RUN, "replay-guest")
    env, _ = kw.isolated_env(base)
    try:
        with kw.KmodWatch(RUN.kmod_watch, ["--accel", "tcg", "--json"] + kw.arch_args(RUN) + [d],
                          env=env, needles=[base]) as k:
            k.wait_event("load", lambda e: e.get("ok"), timeout=240)
            kw.write_file(os.path.join(d, "hello.c"), kw.hello_source(d, "replayed build R"))
            e = build_end(k, "replay")
            kw.check(e["ok"], f"{e}", k)
            k.wait_event("kmsg", lambda e: "replayed build R" in e.get("text", ""), timeout=60)
            t.diag(f"replayed in {e['ms']} ms and loaded")
            k.stop()
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN, KDIR
    RUN = kw.parse_args()
    arch = kw.require_guest(RUN)
    kit = subprocess.run([RUN.kmod_watch, "kit", "path", "--arch", arch], capture_output=True,
                         text=True).stdout.strip()
    KDIR = os.path.join(kit, "kdir")
    if not os.path.isdir(KDIR):
        kw.skip(f"the kit has no kdir ({KDIR})")
    t = kw.Tap("the replay build")
    for name in sorted(os.listdir(RUN.examples)):
        src = os.path.join(RUN.examples, name)
        if not os.path.isfile(os.path.join(src, "Makefile")):
            continue
        first = sorted(f for f in os.listdir(src) if f.endswith(".c"))[0]
        t.case(f"{name}: replay after editing {first} = clean make, byte for byte; make has nothing to do",
               case_both_ways, t, src, name, first)
    t.case("multi-file (10 objects, genksyms): replay after editing part0.c = clean make, byte for byte",
           case_both_ways, t, os.path.join(kw.FIXTURES, "multi-file"), "multi-file", "part0.c")
    t.case("needs-crc-itu-t (imports from a kernel module: modpost's depends=): replay = clean make, byte for byte",
           case_both_ways, t, os.path.join(kw.FIXTURES, "needs-crc-itu-t"), "needs-crc-itu-t", "needs-crc-itu-t.c")
    if shutil.which("apt-get") and shutil.which("dpkg-deb"):
        t.case("Debian's vpoll-dkms and bbswitch-dkms replay byte for byte; dm-writeboost-dkms → make",
               case_dkms, t)
    t.case("a header replays its 10 dependents; Makefile, new file, KDIR → make, with the reason",
           case_fallbacks, t)
    t.case("--no-replay → make", case_no_replay, t)
    t.case("syntax error through the replay: the compiler's line as make prints it; the fix replays",
           case_syntax_error, t)
    t.case("a save during a replay stops it and replays the newest; make has nothing to do", case_superseded, t)
    t.case("across runs: --once replays a syntax error (exit 2); edits made while nothing ran replay; "
           "the safe rule's changes make", case_across_runs, t)
    t.case("a replayed build loads in the guest", case_guest, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
