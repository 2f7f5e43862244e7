#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--once --repeat N against a real guest: N loads and unloads of one module,
the guest's slab caches, vmalloc and listings counted after each unload.

- tests/fixtures/leak-4k (kmalloc(4096) in init, never freed) with --repeat 50:
  exit 1, kmalloc-4k named with +1 object/cycle (+4 KiB/cycle), in words and
  in the `leak` and `repeat` events.
- the clean hello example with --repeat 50: exit 0, no leak (the agent and the
  kernel allocate too: the rule must not call that a leak).
- tests/fixtures/leave-misc (a directory under /sys/kernel its exit does not
  remove) with --repeat 50: exit 1, the entries left behind named.
- usage: --repeat without --once, --repeat 0 → exit 64 with one line.

One guest per run (three boots)."""

import sys

import kw

TIMEOUT = 300  # one --once --repeat 50 run under TCG: boot, build, 50 cycles
CYCLES = 50
RUN = None


def once(t, base, d, extra, json_mode=False):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg"] + kw.arch_args(RUN) + (["--json"] if json_mode else []) + extra + [d]
    k = kw.run(RUN.kmod_watch, args, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


def repeat_event(k):
    ev = [e for e in k.events if e["event"] == "repeat"]
    kw.check(len(ev) == 1, f"want one repeat event, got {ev}", k)
    return ev[0]


def cycles_done(k, module):
    loads = [e for e in k.events if e["event"] == "load" and e.get("module") == module and e.get("ok")]
    unloads = [e for e in k.events if e["event"] == "unload" and e.get("module") == module and e.get("ok")]
    kw.check(len(loads) == CYCLES and len(unloads) == CYCLES,
             f"want {CYCLES} loads and unloads, got {len(loads)} and {len(unloads)}", k)


def case_leak(t):
    base, d = kw.copy_fixture("leak-4k", "leak")
    try:
        k = once(t, base, d, ["--repeat", str(CYCLES)], json_mode=True)
        kw.check(k.returncode == 1, f"expected exit 1 (a leak), got {k.returncode}", k)
        cycles_done(k, "kwleak4k")
        r = repeat_event(k)
        kw.check(r["ok"] is False and "kmalloc-4k" in r["leaks"], f"repeat event: {r}", k)
        kw.check(r["cycles"] == CYCLES, f"repeat.cycles: {r}", k)
        leaks = {e["cache"]: e for e in k.events if e["event"] == "leak"}
        k4 = leaks.get("kmalloc-4k")
        kw.check(k4 is not None, f"no leak event for kmalloc-4k: {list(leaks.values())}", k)
        kw.check(0.9 <= k4["per_cycle"] <= 1.1 and 3600 <= k4["bytes_per_cycle"] <= 4600,
                 f"kmalloc-4k growth: {k4}", k)
        t.diag(f"leak events: {[(e['cache'], e['per_cycle'], e['bytes_per_cycle']) for e in leaks.values()]}; "
               f"{CYCLES} cycles in {r['ms'] / 1000:.1f} s")
        kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    finally:
        kw.cleanup(RUN, base)


def case_clean(t):
    base, d = kw.copy_example(RUN, "repeatclean")
    try:
        k = once(t, base, d, ["--repeat", str(CYCLES), "-v"])
        out = k.output()
        kw.check(k.returncode == 0, f"expected exit 0 (hello leaks nothing), got {k.returncode}", k)
        kw.check(f"--repeat {CYCLES}: no slab cache or vmalloc grew, nothing left behind" in out,
                 "the clean verdict is not said", k)
        kw.check("has no kmemleak" in out, "the missing kmemleak is not said", k)
        moved = [ln.split("kmod-watch: ", 1)[-1] for ln in out.splitlines() if "--repeat: " in ln and " over " in ln]
        t.diag("noise the rule rejected: " + ("; ".join(moved) if moved else "none"))
    finally:
        kw.cleanup(RUN, base)


def case_left_behind(t):
    base, d = kw.copy_fixture("leave-misc", "leave")
    try:
        k = once(t, base, d, ["--repeat", str(CYCLES)])
        out = k.output()
        kw.check(k.returncode == 1, f"expected exit 1 (entries left behind), got {k.returncode}", k)
        kw.check("left behind after the last unload" in out, "the left-behind entries are not said", k)
        kw.check("/sys/kernel/kwleave_" in out, "the entry under /sys/kernel is not named", k)
        kw.check(f"… and {CYCLES - 8} more" in out, f"want {CYCLES} entries (8 named, … and {CYCLES - 8} more)", k)
    finally:
        kw.cleanup(RUN, base)


def case_usage(t):
    base, d = kw.copy_example(RUN, "repeatusage")
    try:
        for extra in (["--repeat", "5"], ["--once", "--repeat", "0"], ["--once", "--repeat", "x"]):
            env, run_dir = kw.isolated_env(base)
            k = kw.run(RUN.kmod_watch, extra + [d], 30, run_dir=run_dir, env=env, needles=[base])
            kw.check(k.returncode == 64, f"{extra}: expected exit 64, got {k.returncode}", k)
            kw.check("--repeat" in k.output(), f"{extra}: the usage line does not name --repeat", k)
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    t = kw.Tap("--once --repeat: leaks and entries left behind")
    t.case("--repeat without --once, or below 1: a usage error (64)", case_usage, t)
    t.case(f"leak-4k --repeat {CYCLES} --json: exit 1, kmalloc-4k +1 object/cycle", case_leak, t)
    t.case(f"hello --repeat {CYCLES}: exit 0, no leak", case_clean, t)
    t.case(f"leave-misc --repeat {CYCLES}: exit 1, the /sys/kernel entries left behind named",
           case_left_behind, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
