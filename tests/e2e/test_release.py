#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--release R with real apt and a real QEMU guest, and the kit fetch's progress.

--release 6.12 --once boots Debian's 6.12 kernel (its kit, cached in the normal
cache, is what scripts/setup fetched) and loads hello; the run without
--release still uses the default kit. On 6.12 the replay build declines (it
knows kbuild 6.1's rules) and make builds a hello.ko whose vermagic is 6.12. A
release apt does not offer is one line naming what it offers (exit 64 for a
run, 69 for `kit fetch`). The progress of a real download (the default kernel's
kit into a scratch cache, interrupted with ^C once it is unpacking: the cheapest
real download, ~75 MB): in a terminal (tmux) one status line replaced in place,
through a pipe a plain line per step, with --json nothing on stdout but events
(kit_progress). ^C leaves no half-built kit behind and exits 130."""

import glob
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid

import kw

RELEASE = "6.12"
FETCH = 900  # seconds: a kit fetch on a busy machine (apt-cache alone takes seconds a call)
SOCK = "kw-e2e-rel-" + uuid.uuid4().hex[:8]
SESSION = "kw"


def kit_path(args, *extra):
    r = subprocess.run([args.kmod_watch, "kit", "path", "--arch", args.arch] + list(extra),
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip()


def case_once(t, args):
    before = kit_path(args)
    base, d = kw.copy_example(args, "release")
    try:
        env, run_dir = kw.isolated_env(base)
        k = kw.run(args.kmod_watch, ["--release", RELEASE, "--once", "--json", "--accel", "tcg"] + kw.arch_args(args)
                   + [d], FETCH, run_dir=run_dir, env=env, needles=[base])
        kw.check(k.returncode == 0, f"--release {RELEASE} --once exited {k.returncode}", k)
        ready = [e for e in k.events if e["event"] == "ready"]
        kw.check(ready and ready[0]["kernel_release"].startswith(RELEASE + "."),
                 f"the guest is not a {RELEASE} kernel: {ready}", k)
        loads = [e for e in k.events if e["event"] == "load"]
        kw.check(loads and loads[0]["module"] == "hello" and loads[0]["ok"], f"hello did not load: {loads}", k)
        kw.check(not k.bad_lines, f"stdout lines that are not events: {k.bad_lines}", k)
        kw.check(not k.left_behind, f"left behind: {k.left_behind}", k)
        kw.check(kit_path(args) == before, f"the default kit changed: {before} -> {kit_path(args)}")
        rc, rel_dir = kit_path(args, "--release", RELEASE)
        kw.check(rc == 0 and os.path.basename(rel_dir) == ready[0]["kernel_release"],
                 f"kit path --release {RELEASE}: {rc} {rel_dir}")
        t.diag(f"guest {ready[0]['kernel_release']}, hello loaded; the default kit is still {before[1]}")
    finally:
        kw.cleanup(args, base)


def case_replay(t, args):
    """No guest needed: --connect to a socket that never appears builds and waits."""
    base, d = kw.copy_example(args, "release-replay")
    try:
        env, _ = kw.isolated_env(base)
        a = ["--release", RELEASE, "--connect", "unix:" + os.path.join(base, "no-guest.sock"), "--boot-timeout",
             "3600", "--json"] + kw.arch_args(args) + [d]
        with kw.KmodWatch(args.kmod_watch, a, env=env, needles=[base]) as k:
            e = k.wait_event("build_end", timeout=FETCH)
            kw.check(e["ok"] and e["path"] == "make", f"first build: {e}", k)
            with open(os.path.join(d, "hello.c")) as f:
                text = f.read()
            kw.write_file(os.path.join(d, "hello.c"), text.replace("build A", "build B", 1))
            e = k.wait_event("build_end", timeout=300, since=k.mark())
            kw.check(e["ok"] and e["path"] == "make" and "kbuild 6.1" in e.get("why_make", ""),
                     f"on {RELEASE} the replay must decline and make build: {e}", k)
            k.stop()
        mi = subprocess.run(["modinfo", "-F", "vermagic", os.path.join(d, "hello.ko")], capture_output=True,
                            text=True)
        kw.check(mi.stdout.startswith(RELEASE + "."), f"hello.ko's vermagic: {mi.stdout!r} {mi.stderr}")
        t.diag(f"why_make: {e['why_make']!r}; vermagic {mi.stdout.split()[0]}")
    finally:
        kw.cleanup(args, base)


def case_unknown(t, args):
    base, d = kw.copy_example(args, "release-unknown")
    try:
        env, run_dir = kw.isolated_env(base)
        k = kw.run(args.kmod_watch, ["--release", "5.10", "--once"] + kw.arch_args(args) + [d], FETCH,
                   run_dir=run_dir, env=env, needles=[base])
        kw.check(k.returncode == 64, f"exit {k.returncode}, not 64", k)
        lines = [ln for ln in k.stderr_lines if ln.strip()]
        kw.check(len(lines) == 1 and re.fullmatch(
            rf"kmod-watch: no kernel 5\.10 for {args.arch} in apt; offered: (\d+\.\d+, )*{re.escape(RELEASE)}\b.*",
            lines[0]), f"not one line naming what apt offers: {lines}", k)
        kw.check(not k.left_behind, f"left behind: {k.left_behind}", k)
        r = subprocess.run([args.kmod_watch, "kit", "fetch", "--arch", args.arch, "--release", "5.10"],
                           capture_output=True, text=True, timeout=FETCH)
        kw.check(r.returncode == 69 and r.stdout == "" and r.stderr.strip() == lines[0],
                 f"kit fetch --release 5.10: {r.returncode} {r.stdout!r} {r.stderr!r}")
        t.diag(lines[0])
    finally:
        kw.cleanup(args, base)


def scratch(base):
    """An empty cache: the default kit of the arch is really downloaded."""
    cache = os.path.join(base, "cache")
    os.makedirs(cache)
    return cache


def no_half_kit(cache, arch):
    left = [p for p in glob.glob(os.path.join(cache, "kmod-watch", "kits", arch, "*"))]
    kw.check(not left, f"^C during the fetch left {left}")


def tmux(*a, check=True):
    return subprocess.run(["tmux", "-L", SOCK] + list(a), capture_output=True, text=True, check=check)


def case_terminal(t, args):
    if shutil.which("tmux") is None:
        raise kw.KWError("tmux is missing (tests/packages.txt lists it)")
    base, d = kw.copy_example(args, "release-tty")
    try:
        env, _ = kw.isolated_env(base)
        cache = scratch(base)
        cmd = " ".join(shlex.quote(x) for x in [args.kmod_watch, "--once", "--accel", "tcg"] + kw.arch_args(args)
                       + [d])
        envs = f"XDG_RUNTIME_DIR={shlex.quote(env['XDG_RUNTIME_DIR'])} XDG_CACHE_HOME={shlex.quote(cache)} NO_COLOR=1"
        tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", f"env {envs} {cmd}; echo exit=$?; sleep 600")
        seen, most = [], 0
        end = time.monotonic() + FETCH
        while time.monotonic() < end:
            screen = tmux("capture-pane", "-p", "-S", "-2000", "-t", SESSION, check=False).stdout
            status = [ln for ln in screen.splitlines() if ln.startswith("guest kit ")]  # no "kmod-watch: " prefix
            most = max(most, len(status))
            if status and (not seen or seen[-1] != status[0]):
                seen.append(status[0])
            if status and re.search(r": (unpacking|depmod|building the initramfs)$", status[0]):
                break
            if "exit=" in screen:
                break
            time.sleep(0.2)  # polling a screen scraper; the program under test never polls
        kw.check(most == 1, f"{most} status lines at once (not one replaced):\n{screen}")
        dl = [s for s in seen if re.search(r": downloading \d+\.\d of \d+\.\d MB", s)]
        kw.check(dl and len(seen) >= 3, f"the status line did not go through the download to unpacking: {seen}")
        tmux("send-keys", "-t", SESSION, "C-c")
        end = time.monotonic() + 120
        while "exit=" not in screen and time.monotonic() < end:
            time.sleep(0.2)
            screen = tmux("capture-pane", "-p", "-S", "-2000", "-t", SESSION, check=False).stdout
        kw.check("exit=130" in screen, f"^C during the fetch: not exit 130:\n{screen}")
        no_half_kit(cache, args.arch)
        t.diag(f"{len(seen)} states on one line, e.g. {dl[-1]!r}")
    finally:
        tmux("kill-server", check=False)
        kw.kill_pids(kw.find_qemu([base]))
        kw.cleanup(args, base)


def interrupted_fetch(args, tag, extra, until, sig, group):
    """kmod-watch --once on a scratch cache through pipes, stopped by sig (to its group, as a
    terminal's ^C does, or to kmod-watch alone) once until(k) holds."""
    base, d = kw.copy_example(args, tag)
    env, _ = kw.isolated_env(base)
    cache = scratch(base)
    env["XDG_CACHE_HOME"] = cache
    k = kw.KmodWatch(args.kmod_watch, ["--once", "--accel", "tcg"] + extra + kw.arch_args(args) + [d], env=env,
                     needles=[base])
    try:
        with k:
            end = time.monotonic() + FETCH
            while not until(k):
                kw.check(k.running() and time.monotonic() < end, "the fetch did not reach unpacking", k)
                k.collect(0.2)
            t0 = time.monotonic()
            rc = k.stop(sig=sig, group=group, timeout=120)
            k.stopped_in = time.monotonic() - t0
            kw.check(rc == 128 + sig, f"signal {sig} during the fetch: exit {rc}, not {128 + sig}", k)
        no_half_kit(cache, args.arch)
    finally:
        kw.cleanup(args, base)
    return k


def case_pipe(t, args):
    step = re.compile(rf"kmod-watch: guest kit \S+ \({args.arch}\): (.*)$")
    k = interrupted_fetch(args, "release-pipe", [],
                          lambda k: any(step.match(ln) and step.match(ln).group(1) == "unpacking"
                                        for ln in k.stderr_lines), signal.SIGTERM, False)
    steps = [step.match(ln).group(1) for ln in k.stderr_lines if step.match(ln)]
    kw.check(steps and re.fullmatch(r"downloading 0\.\d of \d+\.\d MB", steps[0]) and steps[-1] == "unpacking",
             f"plain steps: {steps}", k)
    kw.check(len(steps) <= 7 and len(set(steps)) == len(steps), f"more than a line a step and quarter: {steps}", k)
    kw.check(not any("\r" in ln or "\033" in ln for ln in k.stderr_lines), "a terminal escape in a pipe", k)
    t.diag(f"plain lines: {steps}; SIGTERM to exit: {k.stopped_in:.1f} s")


def case_json(t, args):
    k = interrupted_fetch(args, "release-json", ["--json"],
                          lambda k: any(e["event"] == "kit_progress" and e["phase"] == "unpack" for e in k.events),
                          signal.SIGINT, True)
    kw.check(not k.bad_lines and len(k.stdout_lines) == len(k.events), f"stdout besides events: {k.bad_lines}", k)
    ev = [e for e in k.events if e["event"] == "kit_progress"]
    kw.check(ev and all(e["event"] in ("kit_progress", "recipe", "build_start", "build_end", "exit")
                        for e in k.events), f"events: {[e['event'] for e in k.events]}", k)
    dl = [e for e in ev if e["phase"] == "download"]
    kw.check(dl and all(0 <= e["bytes"] and e["total"] > 0 and e["rate"] >= 0 for e in dl), f"download: {dl}", k)
    kw.check(dl[-1]["bytes"] >= dl[-1]["total"] and ev[-1]["phase"] == "unpack", f"not complete: {ev[-2:]}", k)
    kw.check(all(e["arch"] == args.arch and e["release"] for e in ev), f"arch/release: {ev}", k)
    t.diag(f"{len(dl)} download events; {dl[-1]['total']} bytes at {dl[-1]['rate']} B/s")


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    t = kw.Tap(f"--release {RELEASE} and the kit fetch's progress")
    t.case(f"--release {RELEASE} --once: a {RELEASE} guest loads hello; the default kit is unchanged", case_once, t, args)
    t.case(f"on {RELEASE} the replay declines and make builds a {RELEASE} hello.ko", case_replay, t, args)
    t.case("an unknown release: one line naming what apt offers (run: 64, kit fetch: 69)", case_unknown, t, args)
    t.case("a terminal: one status line replaced through the download; ^C exits 130, no half kit", case_terminal, t, args)
    t.case("a pipe: a plain line per step and quarter; SIGTERM to kmod-watch alone exits 143", case_pipe, t, args)
    t.case("--json: nothing on stdout but events; kit_progress download to unpack", case_json, t, args)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
