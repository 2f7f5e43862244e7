# SPDX-License-Identifier: GPL-2.0-only
"""soak.py — bench/run's soak (bench/README.md §8; `bench/run --only soak`).

One kmod-watch, N reloads of hello (real saves, each a new pr_info text; a
reload is over when the new line and the load event are in), and at the start,
every 50 reloads and at the end a sample of
  - kmod-watch: VmRSS, VmHWM, open fds (/proc/PID/status, /proc/PID/fd), threads;
  - kmod-agent in the guest: VmRSS, VmHWM, open fds, from a sampler the kit's
    /init starts beside the agent (the run's own copy of the kit, as in the idle
    part). It looks once a second and prints a console line only when a number
    changed, so the guest and kmod-watch (which reads the console) are barely
    disturbed; a sample is the last line printed.
Growth between the first and the last sample is flagged.
"""

import os
import re
import time

import benchlib as B

EVERY = 50  # a sample every 50 reloads (every quarter of a shorter soak)
# flagged: any fd more at the end, or RSS up by more than this (KiB) and 10 %
RSS_SLACK_KB = 512

AGENT_SAMPLER = """#!/bin/sh
# bench/run soak: kmod-agent's RSS and fds on the console when they change,
# and every 5th look (so the harness can wait for a fresh sample).
last= i=0
while :; do
        i=$((i + 1))
        pid=
        for p in $(pidof kmod-agent); do
                if [ -z "$pid" ] || [ "$p" -lt "$pid" ]; then pid=$p; fi
        done
        if [ -n "$pid" ]; then
                rss=$(grep '^VmRSS' /proc/$pid/status | tr -s ' \\t' '  ' | cut -d' ' -f2)
                hwm=$(grep '^VmHWM' /proc/$pid/status | tr -s ' \\t' '  ' | cut -d' ' -f2)
                fds=$(ls /proc/$pid/fd | wc -l)
                now="pid=$pid rss_kb=$rss hwm_kb=$hwm fds=$fds"
                if [ "$now" != "$last" ] || [ $((i % 5)) = 0 ]; then
                        echo "KWBENCH-AGENT $now"
                        last=$now
                fi
        fi
        sleep 1
done
"""

AGENT_RE = re.compile(r"KWBENCH-AGENT pid=(\d+) rss_kb=(\d+) hwm_kb=(\d+) fds=(\d+)")


def host_sample(pid):
    return {"rss_kb": B.status_kb(pid, "VmRSS"), "hwm_kb": B.status_kb(pid, "VmHWM"),
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": len(os.listdir(f"/proc/{pid}/task"))}


def agent_sample(k, timeout=60.0):
    """The first sampler line printed after now (the guest looks once a second
    and prints at least every 5th look); the last one before if none comes."""
    mark = len(k.stderr_lines)
    end = time.monotonic() + timeout
    while time.monotonic() < end and not any(AGENT_RE.search(x) for x in k.stderr_lines[mark:]):
        k.collect(0.2)
    for line in reversed(k.stderr_lines):
        m = AGENT_RE.search(line)
        if m:
            pid, rss, hwm, fds = (int(x) for x in m.groups())
            return {"pid": pid, "rss_kb": rss, "hwm_kb": hwm, "fds": fds}
    return None


def growth(samples, key):
    vals = [s[key] for s in samples if s and s.get(key) is not None]
    if not vals:
        return None
    g = {"start": vals[0], "end": vals[-1], "max": max(vals), "growth": vals[-1] - vals[0]}
    if key == "fds":
        g["flag"] = g["growth"] > 0
    else:
        g["flag"] = g["growth"] > RSS_SLACK_KB and g["growth"] > 0.1 * vals[0]
    return g


def part_soak(C, reloads):
    base, d = C.module_copy("soak")
    env = C.patched_kit_env(base, "/bench-agent.sh &", [("bench-agent.sh", AGENT_SAMPLER)])
    hello = os.path.join(d, "hello.c")
    with open(hello) as f:
        tpl = B.source_template(f.read())
    every = EVERY if reloads >= 2 * EVERY else max(1, reloads // 4)
    res = {"reloads": reloads, "every": every, "samples": []}
    k = C.kmod_watch(base, ["--json", "--accel", "tcg", "-v", d], env=env)
    with k:
        k.wait_event("ready", timeout=300, since=0)
        k.wait_event("load", timeout=300, since=0)
        k.collect(1.0)

        def take(n):
            k.collect(0)
            t = round(time.monotonic() - k.started, 1)
            host = host_sample(k.pid)
            res["samples"].append({"reload": n, "t_s": t, "kmod_watch": host, "agent": agent_sample(k)})
        take(0)
        restarts0 = len(k.events_since(0, "guest_restart"))
        lat = []
        t0 = time.monotonic()
        for i in range(1, reloads + 1):
            text = f"soak {i} {C.nonce}"
            m = k.mark()
            t_save = B.atomic_save(hello, B.render(tpl, text))
            e = k.wait_event("kmsg", pred=lambda e: e.get("text") == text, timeout=180, since=m)
            lat.append((k.wall[B.idx_of(k, e, m)] - t_save) * 1000.0)
            k.wait_event("load", timeout=60, since=m)
            if i % every == 0 and i != reloads:
                take(i)
        res["reload_seconds"] = round(time.monotonic() - t0, 1)
        take(reloads)
        res["guest_restarts"] = len(k.events_since(0, "guest_restart")) - restarts0
        res["exit_status"] = k.stop(timeout=30)
    res["latency"] = B.stats(lat)
    res["latency_drift"] = {"first_p50": B.stats(lat[:every])["p50"],
                            "last_p50": B.stats(lat[-every:])["p50"], "n": every}
    hs = [s["kmod_watch"] for s in res["samples"]]
    ags = [s["agent"] for s in res["samples"]]
    res["kmod_watch"] = {key: growth(hs, key) for key in ("rss_kb", "hwm_kb", "fds", "threads")}
    if any(ags):
        res["agent"] = {key: growth(ags, key) for key in ("rss_kb", "hwm_kb", "fds")}
        res["agent"]["restarted"] = len({a["pid"] for a in ags if a}) > 1
    else:
        res["agent"] = {"error": "the in-guest sampler printed nothing (see the console with -v)"}
    res["flags"] = [f"{who} {key}" for who in ("kmod_watch", "agent")
                    for key, g in res[who].items() if isinstance(g, dict) and g.get("flag")]
    return res


def table(w, P, fmt):
    part = P.get("soak")
    w("8. Soak: reloads of hello through one kmod-watch (bench/run --only soak)")
    if part is None:
        w("   not run (not part of the default run: bench/run --only soak)")
        return
    if "skip" in part or "error" in part:
        w(f"   {'n/a (' + part['skip'] + ')' if 'skip' in part else 'ERROR (' + part['error'].splitlines()[0][:150] + ')'}")
        return
    lt = part["latency"]
    w(f"   {part['reloads']} reloads in {part['reload_seconds']:.0f} s; save -> line p50 {fmt(lt['p50'])}, "
      f"max {fmt(lt['max'])}; p50 of the first {part['latency_drift']['n']} "
      f"{fmt(part['latency_drift']['first_p50'])}, the last {part['latency_drift']['n']} "
      f"{fmt(part['latency_drift']['last_p50'])}; guest restarts: {part['guest_restarts']}")
    w(f"   {'sampled at start, every ' + str(part['every']) + ' reloads, end':44s}{'start':>9s}{'end':>9s}"
      f"{'max':>9s}{'growth':>9s}")
    rows = [("kmod-watch RSS (KiB)", "kmod_watch", "rss_kb"), ("kmod-watch fds", "kmod_watch", "fds"),
            ("kmod-watch threads", "kmod_watch", "threads"),
            ("kmod-agent RSS (KiB, in the guest)", "agent", "rss_kb"), ("kmod-agent fds", "agent", "fds")]
    for label, who, key in rows:
        g = part[who].get(key) if isinstance(part[who], dict) else None
        if not g:
            w(f"   {label:44s}n/a ({part[who].get('error', 'no sample')})")
            continue
        w(f"   {label:44s}{g['start']:>9,d}{g['end']:>9,d}{g['max']:>9,d}{g['growth']:>+9,d}"
          f"{'  GROWTH' if g['flag'] else ''}")
    w(f"   growth flagged: {', '.join(part['flags']) if part['flags'] else 'none'}"
      f" (any fd more, or RSS up > {RSS_SLACK_KB} KiB and > 10 %)")
