#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Quitting kmod-watch by signal: SIGTERM once the module is loaded (as a
service manager or `kill` would), and Ctrl-C while the guest is still booting.
Either way: prompt exit, an 'exit' event, no QEMU and no socket left. And
SIGKILL, which nothing can catch: its runtime directory stays until the next
kmod-watch starts and removes it (its lock is free), while a run that is alive
keeps its own."""

import os
import signal
import sys
import time

import kw

BOOT_TIMEOUT = 240
QUIT_TIMEOUT = 15


def _names(k, since=0):
    return " ".join(e["event"] for e in k.events[since:])


def quit_and_check(t, k, base, run_dir, sig, group, what):
    qemus, sockets = kw.guest_of(k)
    kw.check(qemus, "no QEMU process found (neither a descendant of kmod-watch nor "
             f"one whose command line contains {base})", k)
    t.diag(f"QEMU pid(s) {qemus}; sockets {sockets}")
    m = k.mark()
    t0 = time.monotonic()
    try:
        rc = k.stop(sig, timeout=QUIT_TIMEOUT, group=group)
    except kw.KWError as e:
        raise kw.KWError(f"{what}: {e}") from None
    t.diag(f"exited {rc} {time.monotonic() - t0:.1f} s after {what}")
    exits = k.events_since(m, "exit")
    kw.check(exits and isinstance(exits[-1].get("status"), int),
             f"no 'exit' event with an integer status after {what}: {_names(k, m)}", k)
    kw.check(k.events[-1]["event"] == "exit", f"events after 'exit': {_names(k, m)}", k)
    left = kw.leftovers(k, run_dir)
    kw.check(not left, f"after {what}:\n  " + "\n  ".join(left), k)
    return m


def case_sigterm_loaded(t, args):
    base, d = kw.copy_example(args, "sigterm")
    try:
        env, run_dir = kw.isolated_env(base)
        with kw.KmodWatch(args.kmod_watch, ["--json", "--accel", "tcg", d],
                          env=env, needles=[base]) as k:
            k.wait_event("ready", timeout=BOOT_TIMEOUT, since=0)
            k.wait_event("load", lambda e: e["ok"] is True, timeout=BOOT_TIMEOUT, since=0)
            k.wait_event("kmsg", lambda e: "build A" in e["text"], timeout=BOOT_TIMEOUT,
                         since=0)
            # a second instance on the same directory is refused, naming the first
            # (needles: nothing of its own to find; the first one's QEMU must not be taken for its)
            second = kw.run(args.kmod_watch, ["--once", "--accel", "tcg", d], 30, env=env,
                            needles=["kw-e2e-no-qemu-of-the-second-instance"])
            kw.check(second.returncode == 64, f"a second instance: want exit 64, got {second.returncode}", second)
            kw.check(f"pid {k.pid}" in second.output(), "the refusal does not name the first one's pid", second)
            m = quit_and_check(t, k, base, run_dir, signal.SIGTERM, False, "SIGTERM")
            kw.check(k.events_since(m, "unload", lambda e: e["ok"] is True
                                    and e["module"] == "hello"),
                     f"SIGTERM did not unload the module: {_names(k, m)}", k)
            kw.check(not k.bad_lines, "stdout lines that are not JSON events:\n"
                     + "\n".join(k.bad_lines[:10]), k)
    finally:
        kw.cleanup(args, base)


def case_sigint_booting(t, args):
    base, d = kw.copy_example(args, "sigint-boot")
    try:
        env, run_dir = kw.isolated_env(base)
        with kw.KmodWatch(args.kmod_watch, ["--json", "--accel", "tcg", d],
                          env=env, needles=[base]) as k:
            # Wait for QEMU to exist, then interrupt at once: mid-boot.
            end = time.monotonic() + BOOT_TIMEOUT
            while not kw.find_qemu([base], ancestor=k.pid):
                kw.check(k.running(), f"kmod-watch exited ({k.proc.returncode}) "
                         "before starting QEMU", k)
                kw.check(time.monotonic() < end,
                         f"no QEMU process within {BOOT_TIMEOUT} s", k)
                k.collect(0.05)
            if k.events_since(0, "ready"):
                t.diag("note: the guest was already ready when Ctrl-C came")
            quit_and_check(t, k, base, run_dir, signal.SIGINT, True, "Ctrl-C during boot")
    finally:
        kw.cleanup(args, base)


def case_sigint_slow_exit(t, args):
    """Ctrl-C while the module's exit function takes 30 s: out within a few seconds."""
    base, d = kw.copy_fixture("slow-exit", "slowexit")
    try:
        env, run_dir = kw.isolated_env(base)
        with kw.KmodWatch(args.kmod_watch, ["--json", "--accel", "tcg", d],
                          env=env, needles=[base]) as k:
            k.wait_event("load", lambda e: e["ok"] is True, timeout=BOOT_TIMEOUT, since=0)
            t0 = time.monotonic()
            quit_and_check(t, k, base, run_dir, signal.SIGINT, True, "Ctrl-C with a 30 s exit function")
            took = time.monotonic() - t0
            kw.check(took < 10, f"Ctrl-C took {took:.1f} s with a 30 s exit function", k)
    finally:
        kw.cleanup(args, base)


def _runtime_dirs(run_dir):
    return sorted(n for n in os.listdir(run_dir) if n.startswith("kmod-watch."))


def _wait_runtime(k, run_dir, known):
    """The runtime directory k made (one not in known), once it is locked."""
    end = time.monotonic() + 60
    while True:
        new = [n for n in _runtime_dirs(run_dir)
               if n not in known and os.path.exists(os.path.join(run_dir, n, "lock"))]
        if new:
            return new[0]
        kw.check(k.running(), f"kmod-watch exited ({k.proc.returncode}) before making "
                 "its runtime directory", k)
        kw.check(time.monotonic() < end, f"no runtime directory with its lock file in {run_dir} "
                 f"within 60 s: {_runtime_dirs(run_dir)}", k)
        k.collect(0.05)


def case_stale_runtime(t, args):
    """A SIGKILLed run's runtime directory is removed by the next start; a live
    run's directory is kept by another's start."""
    bases = []
    try:
        dirs = []
        for tag in ("stale-a", "stale-b", "stale-c"):
            base, d = kw.copy_example(args, tag)
            bases.append(base)
            dirs.append(d)
        env, run_dir = kw.isolated_env(bases[0])   # one XDG_RUNTIME_DIR for the three
        with kw.KmodWatch(args.kmod_watch, ["--accel", "tcg", dirs[0]], env=env,
                          needles=[bases[0]]) as a:
            dir_a = _wait_runtime(a, run_dir, [])
            a.kill()                               # SIGKILL: no cleanup of its own
        kw.check(os.path.isdir(os.path.join(run_dir, dir_a)),
                 f"SIGKILL left nothing behind? {_runtime_dirs(run_dir)}")
        size = sum(os.path.getsize(os.path.join(run_dir, dir_a, f))
                   for f in os.listdir(os.path.join(run_dir, dir_a)))
        t.diag(f"SIGKILL left {dir_a} ({size / 1e6:.1f} MB)")
        with kw.KmodWatch(args.kmod_watch, ["--accel", "tcg", dirs[1]], env=env,
                          needles=[bases[1]]) as b:
            dir_b = _wait_runtime(b, run_dir, [dir_a])
            kw.check(not os.path.lexists(os.path.join(run_dir, dir_a)),
                     f"the killed run's {dir_a} is still there: {_runtime_dirs(run_dir)}", b)
            b.collect(0.5)
            kw.check(any("removed 1 runtime directory" in line for line in b.stderr_lines),
                     "no line saying the stale directory was removed", b)
            with kw.KmodWatch(args.kmod_watch, ["--json", "--accel", "tcg", dirs[2]], env=env,
                              needles=[bases[2]]) as c:
                dir_c = _wait_runtime(c, run_dir, [dir_a, dir_b])
                kw.check(os.path.isdir(os.path.join(run_dir, dir_b)),
                         f"starting a second run removed the live run's {dir_b}", c)
                c.stop(signal.SIGINT, timeout=QUIT_TIMEOUT, group=True)
            kw.check(not os.path.lexists(os.path.join(run_dir, dir_c)),
                     f"{dir_c} left after Ctrl-C", c)
            kw.check(os.path.isdir(os.path.join(run_dir, dir_b)),
                     f"the live run's {dir_b} went away", b)
            b.stop(signal.SIGINT, timeout=QUIT_TIMEOUT, group=True)
        kw.check(not _runtime_dirs(run_dir), f"left after Ctrl-C: {_runtime_dirs(run_dir)}")
    finally:
        for base in bases:
            kw.cleanup(args, base)


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    t = kw.Tap("kmod-watch signals")
    t.case("SIGTERM with the module loaded → exit event, unloaded, nothing left; a second instance refused",
           case_sigterm_loaded, t, args)
    t.case("Ctrl-C while the guest boots → prompt exit, nothing left",
           case_sigint_booting, t, args)
    t.case("SIGKILL leaves a runtime directory; the next start removes it, never a live run's",
           case_stale_runtime, t, args)
    t.case("Ctrl-C while an exit function sleeps 30 s → out within seconds, nothing left",
           case_sigint_slow_exit, t, args)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
