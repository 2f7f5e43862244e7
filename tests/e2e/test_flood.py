#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A flood of kernel log lines in a real guest, with the fixtures made for it:

- tests/fixtures/flood prints 100,000 lines (`flood N`) in its init, with
  --json in a watching session: every line arrives, in order, no kmsg_gap
  event; then a save reloads it and the 100,000 lines come again. The time
  from the load to the last line is measured and shown.
- tests/fixtures/warn-many: the same WARNING 1,000 times in its init, --once:
  exit 4, one block with "(the same report N more times)"; with --json one
  oops event with repeated N+1 (and count: its fingerprint this session), N+1
  being every one of them that reached the host before --once ended.

Three boots."""

import os
import re
import signal
import sys
import time

import kw

START_TIMEOUT = 240   # start → the first load under TCG
FLOOD_TIMEOUT = 180   # the load → its last line on the host
ONCE_TIMEOUT = 300
LINES = 100000
RUN = None


def flood_lines(events):
    return [int(e["text"].split()[1]) for e in events
            if e["event"] == "kmsg" and e["text"].startswith("flood ") and e["text"].split()[1].isdigit()]


def wait_flood(t, k, since, done_text):
    """The load after since, then every line up to done_text; checks them; the seconds it took."""
    load = k.wait_event("load", lambda e: e["module"] == "kwflood", timeout=START_TIMEOUT, since=since)
    kw.check(load["ok"] is True, f"the flood module did not load: {load}", k)
    i = k.events.index(load)
    t0 = time.monotonic()
    k.wait_event("kmsg", lambda e: e["text"] == done_text, timeout=FLOOD_TIMEOUT, since=since)
    took = time.monotonic() - t0
    got = flood_lines(k.events[since:])
    gaps = [e for e in k.events[since:] if e["event"] == "kmsg_gap"]
    kw.check(not gaps, f"kmsg_gap events: {gaps[:3]}", k)
    kw.check(len(got) == LINES, f"want {LINES} flood lines, got {len(got)}", k)
    kw.check(got == list(range(LINES)), "the flood lines are out of order or repeated", k)
    ts = [e["ts_usec"] for e in k.events[since:] if e["event"] == "kmsg" and e["text"] in ("flood 0", f"flood {LINES - 1}")]
    t.diag(f"{LINES} lines: printed in {(ts[-1] - ts[0]) / 1e6:.2f} s in the guest; the load took "
           f"{load.get('guest_us', 0) / 1e6:.2f} s in the guest; the last line reached the host "
           f"{took:.2f} s after the load event")
    return i


def case_flood(t):
    base, d = kw.copy_fixture("flood", "flood")
    src = os.path.join(d, "kwflood.c")
    env, _ = kw.isolated_env(base)
    try:
        with kw.KmodWatch(RUN.kmod_watch, ["--json", "--accel", "tcg"] + kw.arch_args(RUN) + [d],
                          env=env, needles=[base]) as k:
            t0 = time.monotonic()
            wait_flood(t, k, 0, "kwflood: done")
            t.diag(f"start → all {LINES} lines: {time.monotonic() - t0:.1f} s")
            mark = len(k.events)
            with open(src) as f:
                text = f.read()
            kw.write_file(src, text.replace('"kwflood: done\\n"', '"kwflood: done again\\n"', 1))
            t1 = time.monotonic()
            wait_flood(t, k, mark, "kwflood: done again")
            t.diag(f"save → reloaded, all {LINES} lines again: {time.monotonic() - t1:.1f} s")
            status = k.stop(signal.SIGINT, timeout=30)
            kw.check(k.events and k.events[-1]["event"] == "exit", f"no exit event last (status {status})", k)
            left = kw.leftovers(k)
            kw.check(not left, "left behind:\n  " + "\n  ".join(left), k)
    finally:
        kw.cleanup(RUN, base)


def once(t, base, d, json_mode):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg"] + kw.arch_args(RUN) + (["--json"] if json_mode else []) + [d]
    k = kw.run(RUN.kmod_watch, args, ONCE_TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


# --once ends 700 ms after the first report, which may be before the module's init has
# printed all 1,000 (a WARNING is slow to print): the count is of those that arrived.

def case_warn_many_human(t):
    base, d = kw.copy_fixture("warn-many", "warnmany")
    try:
        k = once(t, base, d, False)
        out = k.output()
        kw.check(k.returncode == 4, f"expected exit 4 (WARNING), got {k.returncode}", k)
        titles = [ln for ln in out.splitlines() if "WARNING in kwwarnmany_check" in ln]
        kw.check(len(titles) == 1, f"want one WARNING block, got {len(titles)}", k)
        m = re.search(r"\(the same report (\d+) more times\)", out)
        kw.check(m, "the count of the repeats is not said", k)
        cuts = out.count("[ cut here ]")
        kw.check(2 <= int(m.group(1)) + 1 <= cuts, f"{m.group(1)} more times, {cuts} reports in the log", k)
        t.diag(f"one block, the same report {m.group(1)} more times ({cuts} in the log)")
        kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    finally:
        kw.cleanup(RUN, base)


def case_warn_many_json(t):
    base, d = kw.copy_fixture("warn-many", "warnmanyjson")
    try:
        k = once(t, base, d, True)
        kw.check(k.returncode == 4, f"expected exit 4 (WARNING), got {k.returncode}", k)
        oops = [e for e in k.events if e["event"] == "oops"]
        kw.check(len(oops) == 1, f"want one oops event, got {len(oops)}", k)
        o = oops[0]
        kw.check(o["kind"] == "warning" and o["function"] == "kwwarnmany_check", f"oops event: {o}", k)
        cuts = sum(1 for e in k.events if e["event"] == "kmsg" and "[ cut here ]" in e["text"])
        kw.check(2 <= o.get("repeated", 0) <= cuts and o.get("count") == o.get("repeated"),
                 f"oops.repeated / count: {o.get('repeated')} / {o.get('count')}; {cuts} reports in the log", k)
        t.diag(f"one oops event, repeated {o['repeated']} ({cuts} in the log)")
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    t = kw.Tap("a flood of kernel log lines, the same report 1,000 times")
    t.case(f"flood: all {LINES} lines in order, no gap; a save reloads and they all come again", case_flood, t)
    t.case("warn-many --once: exit 4, one block, (the same report N more times)", case_warn_many_human, t)
    t.case("warn-many --once --json: one oops event, repeated N+1", case_warn_many_json, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
