#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch in a real terminal (tmux): the key help is shown once at start,
`r` rebuilds and reloads (even an unchanged build), `u` unloads, `q` quits and
leaves no QEMU behind. What a person sees is read with capture-pane."""

import os
import re
import shlex
import shutil
import sys
import time

import kw

START = 240
STEP = 90


TM = kw.Tmux()
SESSION = "kw"


def tmux(*args, check=True):
    return TM(*args, check=check)


def screen():
    return TM.screen(SESSION)


def wait_screen(pred, timeout, what):
    return TM.wait_screen(SESSION, pred, timeout, what)


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    if shutil.which("tmux") is None:
        kw.skip("tmux is not installed (tests/packages.txt lists it)")
    t = kw.Tap("kmod-watch keys in a terminal (tmux)")
    base, d = kw.copy_example(args, "keys")
    env, run_dir = kw.isolated_env(base)
    cmd = " ".join(shlex.quote(x) for x in [args.kmod_watch, "--accel", "tcg", "--no-color", d])
    envs = " ".join(f"{k}={shlex.quote(env[k])}" for k in ("XDG_RUNTIME_DIR", "NO_COLOR"))
    tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", f"env {envs} {cmd}; sleep 600")
    try:
        def boot_status():
            # while the guest boots: one status line, replaced in place (its seconds change,
            # no scroll of copies); after the greeting it is gone
            def status(s):  # the status line has no "kmod-watch: " prefix, the note before it has
                return [ln for ln in s.splitlines() if ln.startswith("booting the guest (")]
            first = wait_screen(lambda s: status(s), START, "the boot status line")
            kw.check(re.search(r"TCG\): \d+\.\d s", status(first)[0]), f"no seconds in the status line:\n{first}")
            # the first build (a full make, longer than a second) shares the line while the guest boots
            both = wait_screen(lambda s: any("building (make): " in ln for ln in status(s)) or "guest ready" in s,
                               START, "the build on the status line")
            kw.check(any(re.search(r" · building \(make\): \d+\.\d s", ln) for ln in status(both)),
                     f"the build's seconds are not on the status line beside the boot's:\n{both}")
            later = wait_screen(lambda s: status(s) != status(first) or "guest ready" in s, START,
                                "the status line to change")
            kw.check(len(status(later)) <= 1, f"the status line scrolled instead of being replaced:\n{later}")
            ready = wait_screen(lambda s: "guest ready" in s, START, "the greeting")
            kw.check(not status(ready), f"the status line outlived the boot:\n{ready}")
        t.case("boot: one status line with the seconds, replaced, gone once the guest greets", boot_status)

        def start():
            s = wait_screen(lambda s: "hello loaded" in s, START, "the first load")
            kw.check(s.count("keys: r rebuild and reload") == 1, "the key help is not shown once at start")
            kw.check("9p iter: build A" in s, "the module's printk is not on the screen")
        t.case("start: key help shown once, hello loaded, its printk on screen", start)

        def key_r():
            before = screen().count("hello loaded")
            tmux("send-keys", "-t", SESSION, "r")
            wait_screen(lambda s: s.count("hello loaded") > before, STEP, "a reload after r")
            s = screen()
            kw.check(s.count("My First Module exit") >= 1, "r did not unload the old module first")
        t.case("r: rebuild and reload (the unchanged build is reloaded anyway)", key_r)

        def key_u():
            tmux("send-keys", "-t", SESSION, "u")
            wait_screen(lambda s: "unloaded; press r" in s, STEP, "the unload after u")
        t.case("u: unload", key_u)

        def kmod_watch_pids():
            mine = []
            for p in (p for p in os.listdir("/proc") if p.isdigit()):
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        c = f.read().split(b"\0")
                except OSError:
                    continue
                if c and c[0].endswith(b"kmod-watch") and d.encode() in c:
                    mine.append(p)
            return mine

        def key_q():
            tmux("send-keys", "-t", SESSION, "q")
            end = time.monotonic() + 30
            while time.monotonic() < end and (kw.find_qemu([base]) or kmod_watch_pids()):
                time.sleep(0.2)
            kw.check(not kw.find_qemu([base]), "QEMU is still running 30 s after q")
            kw.check(not kmod_watch_pids(), f"kmod-watch is still running 30 s after q: {kmod_watch_pids()}")
            left = [os.path.join(r, f) for r, _, fs in os.walk(run_dir) for f in fs]
            kw.check(not left, f"runtime files left: {left}")
        t.case("q: quits, no QEMU, no kmod-watch, no runtime files left", key_q)
    finally:
        TM.kill()
        kw.kill_pids(kw.find_qemu([base]))
        kw.cleanup(args, base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
