# SPDX-License-Identifier: GPL-2.0-only
"""loops.py — bench/run's interleaved save → printk loops (bench/README.md §1).

One module (hello, or the ten-file module in bench/modules/multi-file), four
loops on four copies of it, all started (guests booted) before the first edit:

  kw-replay  kmod-watch as it runs by default (the replay build when safe)
  kw-make    kmod-watch --no-replay (always make); n/a when this kmod-watch
             has no such option
  entr       entr + make + a guest rmmod/insmod shell loop (the best hand-made loop)
  make       plain make on its own copy after the save: the floor, no load

Edit i is made in every loop in turn, in an order that rotates with i, so load
on the machine hits all of them alike. A loop's step ends when the new printk
line is read on the host (make: when make exits) and its cycle is over.
"""

import os
import re
import subprocess
import time
import traceback

import benchlib as B
import kw

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.dirname(HERE)
NO_REPLAY_NA = "n/a (this kmod-watch has no replay)"
TARGET_P50_MS = 500.0
TARGET_ENTR_RATIO = 0.45
TARGET_OVERHEAD_MS = 20.0


# ---- the modules ------------------------------------------------------------------------

class Module:
    """A module directory to copy and the files a save rewrites. Each editable
    file has one marker (pr_info text or MULTI_TAG string) replaced by a
    unique text per save; the module's load prints it."""

    def __init__(self, name, src, edit_files, pattern, repl, watch):
        self.name = name            # module name (NAME.ko)
        self.src = src
        self.edit_files = edit_files
        self.pattern = re.compile(pattern)
        self.repl = repl            # the marker with @TEXT@
        self.watch = watch          # what entr watches

    def templates(self, d):
        out = {}
        for f in self.edit_files:
            with open(os.path.join(d, f)) as fh:
                src = fh.read()
            new, n = self.pattern.subn(self.repl, src, count=1)
            if n != 1:
                raise RuntimeError(f"{f} has no line the bench can rewrite ({self.pattern.pattern})")
            out[f] = new
        return out

    def file_for(self, i):
        return self.edit_files[i % len(self.edit_files)]


HELLO = Module("hello", os.path.join(ROOT, "examples", "00-kernel_module_hello"), ["hello.c"],
               r'pr_info\("(?:[^"\\]|\\.)*"\);', 'pr_info("@TEXT@\\\\n");', ["hello.c", "Makefile"])
_MULTI_FILES = ["main.c"] + [f"part{i}.c" for i in range(1, 10)]
MULTI = Module("multi", os.path.join(HERE, "modules", "multi-file"), _MULTI_FILES,
               r'#define MULTI_TAG "[^"]*"', '#define MULTI_TAG "@TEXT@"',
               _MULTI_FILES + ["multi.h", "Makefile"])


class Copy:
    """A loop's own copy of the module, its first texts already in place."""

    def __init__(self, C, mod, tag, init_text):
        self.mod = mod
        self.base, self.d = C.module_copy(tag, mod.src, mod.name)
        self.tpl = mod.templates(self.d)
        for f in mod.edit_files:
            B.write_in_place(os.path.join(self.d, f), self.render(f, init_text))

    def render(self, f, text):
        assert '"' not in text and "\\" not in text
        return self.tpl[f].replace("@TEXT@", text).encode()

    def save(self, f, text):
        return B.atomic_save(os.path.join(self.d, f), self.render(f, text))


def has_no_replay(exe):
    """Whether this kmod-watch knows --no-replay (its --help says so)."""
    try:
        r = subprocess.run([exe, "--help"], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--no-replay" in r.stdout + r.stderr


# ---- the loops ----------------------------------------------------------------------------

class KWLoop:
    """kmod-watch --json on its own copy (replay=False adds --no-replay)."""

    def __init__(self, C, mod, key, init_text, replay, git_files=0):
        self.C, self.mod, self.key = C, mod, key
        self.cp = Copy(C, mod, key, init_text)
        self.git_env = C.make_git_tree(self.cp.d, git_files) if git_files else None
        args = ["--json", "--accel", "tcg"] + ([] if replay else ["--no-replay"]) + [self.cp.d]
        self.k = C.kmod_watch(self.cp.base, args)
        self.marks = []  # per edit: (mark, t_save, i_kmsg, text, file)
        self.res = {}

    def start(self):
        self.k.start()
        self.C.kw_pids.append(self.k.pid)

    def is_mod(self, e):
        return e.get("module") == self.mod.name

    def wait_ready(self):
        k = self.k
        ready = k.wait_event("ready", timeout=300, since=0)
        bs0 = k.wait_event("build_start", timeout=60, since=0)
        load = k.wait_event("load", pred=self.is_mod, timeout=300, since=0)
        if not load.get("ok"):
            raise kw.KWError(f"{self.key}: the first load failed: {load.get('error')}\n{k.tail()}")
        k.collect(0.5)
        self.res.update({
            "ready_t_ms": ready["t"],
            "ready_harness_ms": B.ms((k.wall[B.idx_of(k, ready)] - k.started) * 1000.0),
            "first_build_start_t_ms": bs0["t"],
            "first_build_start_harness_ms": B.ms((k.wall[B.idx_of(k, bs0)] - k.started) * 1000.0),
            "rss_kb_after_first_load": B.status_kb(k.pid, "VmRSS")})

    def poll(self, seconds):
        self.k.collect(seconds)

    def edit(self, i, f, text):
        k = self.k
        m = k.mark()
        t_save = self.cp.save(f, text)
        e = k.wait_event("kmsg", pred=lambda e: text in e.get("text", ""), timeout=180, since=m)
        i_kmsg = B.idx_of(k, e, m)
        # the cycle ends with the module's load event (before or after its line)
        k.wait_event("load", pred=self.is_mod, timeout=60, since=m)
        self.marks.append((m, t_save, i_kmsg, text, f))

    def finish(self):
        """Everything after the edits is done (storms included): stop, then split."""
        k = self.k
        self.res["rss_kb_end"] = B.status_kb(k.pid, "VmRSS")
        self.res["hwm_kb_end"] = B.status_kb(k.pid, "VmHWM")
        self.res["exit_status"] = k.stop(timeout=30)
        self.res["left_behind"] = kw.leftovers(k)
        self.res["edits"] = split_kw(k, self.marks, self.edits_end, self.mod.name)
        self.res.update(summarise_kw(self.res["edits"]))
        return self.res

    def end_edits(self):
        self.k.collect(0)
        self.edits_end = len(self.k.events)

    def close(self):
        self.k.kill()


def split_kw(k, marks, end, modname):
    """Per edit, the phases from kmod-watch's own events (times on its clock `t`,
    the save mapped onto it by the clock offset). Tolerant of the events' order:
    a combined unload+load may emit unload after load, or none at all."""
    off = B.clock_offset(k)
    evs = k.events
    out = []
    for n, (m, t_save, i_kmsg, text, f) in enumerate(marks):
        stop = marks[n + 1][0] if n + 1 < len(marks) else end
        window = range(m, stop)
        save_t = (t_save - off) * 1000.0
        kmsg = evs[i_kmsg]

        def first(name, lo=m, hi=stop, pred=None):
            return next((evs[i] for i in range(lo, hi) if evs[i]["event"] == name
                         and (pred is None or pred(evs[i]))), None)

        def last_idx(name, hi):
            return next((i for i in reversed(range(m, hi)) if evs[i]["event"] == name), None)
        i_be = last_idx("build_end", i_kmsg)
        be = evs[i_be]
        bs_last = evs[last_idx("build_start", i_be)]
        bs = first("build_start")
        change = first("change")
        load = first("load", i_be, stop, lambda e: e.get("module") == modname)
        unload = first("unload", i_be, stop, lambda e: e.get("module") == modname)
        total = (k.wall[i_kmsg] - t_save) * 1000.0
        build = be.get("ms")
        finit = (load or {}).get("guest_us", 0) / 1000.0
        rec = {
            "file": f, "text": text,
            "path": be.get("path"), "replayed": be.get("replayed"),
            "total_ms": B.ms(total),
            "change_ms": B.ms(change["t"] - save_t) if change else None,
            "detect_ms": B.ms(bs["t"] - save_t),
            "build_phase_ms": be["t"] - bs_last["t"],
            "build_ms": build,
            "spawn_ms": (be["t"] - bs_last["t"]) - build,
            "deliver_load_ms": (load["t"] - be["t"]) if load else None,
            "unload_ms": (unload["t"] - be["t"]) if unload else None,
            "load_rpc_ms": (load or {}).get("ms"),
            "finit_ms": B.ms(finit),
            "log_ms": (kmsg["t"] - load["t"]) if load else None,
            "post_build_ms": B.ms(kmsg["t"] - be["t"] - finit),
            "relay_ms": B.ms(total - (kmsg["t"] - save_t)),
            "overhead_ms": B.ms(total - build - finit),
            "minus_build_ms": B.ms(total - build),
            "builds": sum(1 for i in window if evs[i]["event"] == "build_start"),
            "load_ok": (load or {}).get("ok"),
        }
        out.append(rec)
    return out


KW_KEYS = ["total_ms", "change_ms", "detect_ms", "build_phase_ms", "build_ms", "spawn_ms",
           "deliver_load_ms", "unload_ms", "load_rpc_ms", "finit_ms", "log_ms", "post_build_ms",
           "relay_ms", "overhead_ms", "minus_build_ms"]


def summarise_kw(edits):
    paths = {}
    for r in edits:
        p = r["path"] or "no path field"
        paths[p] = paths.get(p, 0) + 1
    return {"stats": {key: B.stats([r[key] for r in edits]) for key in KW_KEYS},
            "builds_per_edit": [r["builds"] for r in edits],
            "paths": paths, "drift": drift([r["total_ms"] for r in edits])}


def drift(totals):
    """p50 of the first third of the edits against the last third: does the
    loop slow down as a session goes on?"""
    n = len(totals) // 3
    if n < 1:
        return None
    return {"first_p50": B.stats(totals[:n])["p50"], "last_p50": B.stats(totals[-n:])["p50"], "n": n}


class EntrLoop:
    """entr + make + a QEMU (same machine as kmod-watch's) whose /init runs
    `rmmod; insmod` from a 9p share on every line of a virtio-serial port and
    streams /dev/kmsg back on another."""

    def __init__(self, C, mod, key, init_text):
        self.C, self.mod, self.key = C, mod, key
        self.init_text = init_text
        self.cp = Copy(C, mod, key, init_text)
        base, d = self.cp.base, self.cp.d
        C.make(d)
        init = B.ENTR_LOOP_INIT.replace("@MOD@", mod.name)
        initrd = B.initrd_with(C.kit["KW_KIT_INITRD"], [("init", 0o100755, init.encode())],
                               os.path.join(base, "entr-initrd.img"))
        for name in ("trig.in", "trig.out", "klog.in", "klog.out"):
            os.mkfifo(os.path.join(base, name))
        self.trig = os.path.join(base, "trig")
        klog = os.path.join(base, "klog")
        self.argv = C.qemu_argv(initrd, [
            "-virtfs", f"local,path={d},mount_tag=src,security_model=none,id=fs9p",
            "-device", "virtio-serial-pci",
            "-chardev", f"pipe,id=trig,path={self.trig}",
            "-device", "virtserialport,chardev=trig,name=org.bench.trigger",
            "-chardev", f"pipe,id=klog,path={klog}",
            "-device", "virtserialport,chardev=klog,name=org.bench.kmsg"])
        self.L = B.Lines()
        self.kfd = os.open(klog + ".out", os.O_RDONLY | os.O_NONBLOCK)
        self.q = self.entr = None
        self.times = os.path.join(base, "entr-times")
        self.edits = []
        self.res = {}

    def start(self):
        self.t_start = time.monotonic()
        self.q = self.C.procs.popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        self.L.add(self.q.stdout.fileno(), "console")
        self.L.add(self.kfd, "kmsg")

    def line_has(self, text):
        return lambda n, t: n == "kmsg" and text in t.split(";", 1)[-1]

    def wait_ready(self):
        L, C, d = self.L, self.C, self.cp.d
        _, t_ready, _, _ = L.wait(lambda n, t: n == "console" and "bench-entr: ready" in t, 300,
                                  what="'bench-entr: ready' on the console")
        self.res["boot_to_loop_ms"] = B.ms((t_ready - self.t_start) * 1000.0)
        with open(self.trig + ".in", "w") as f:
            f.write("go\n")
        L.wait(self.line_has(self.init_text), 120, what=f"kmsg '{self.init_text}'")
        # bash only for $EPOCHREALTIME: make's start and end, written after the trigger
        cmd = (f"s=$EPOCHREALTIME; if make -C {d} KDIR={os.path.realpath(C.kit['KW_KIT_KDIR'])} "
               f">/dev/null 2>&1; then e=$EPOCHREALTIME; echo go > {self.trig}.in; "
               f"echo \"$s $e\" >> {self.times}; fi")
        err = open(os.path.join(self.cp.base, "entr.err"), "w")
        self.entr = C.procs.popen(["entr", "-n", "-p", "bash", "-c", cmd], cwd=d,
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        self.entr.stdin.write("".join(f + "\n" for f in self.mod.watch).encode())
        self.entr.stdin.close()
        self.entr.stdin = None
        self.res["entr_command"] = ["entr", "-n", "-p", "bash", "-c", cmd]
        time.sleep(1.0)

    def poll(self, seconds):
        self.L.pump(seconds)

    def edit(self, i, f, text):
        L = self.L
        L.pump(0)
        mark = len(L.lines)
        t_save = self.cp.save(f, text)
        _, t_line, _, _ = L.wait(self.line_has(text), 180, since=mark,
                                 what=f"kmsg '{text}' (entr alive: {self.entr.poll() is None})")
        rec = {"file": f, "text": text, "total_ms": B.ms((t_line - t_save) * 1000.0)}
        # make's start/end (realtime, mapped to monotonic) from the entr command
        wall = time.time() - time.monotonic()
        runs = []
        for _ in range(20):
            if os.path.exists(self.times):
                with open(self.times) as fh:
                    runs = [tuple(float(x) - wall for x in line.split()) for line in fh if line.strip()]
            runs = [r for r in runs if r[0] >= t_save - 0.002 and r[1] <= t_line]
            if runs:
                break
            time.sleep(0.05)
        if runs:
            s, e = runs[-1]
            rec.update({"detect_ms": B.ms((runs[0][0] - t_save) * 1000.0),
                        "build_ms": B.ms((e - s) * 1000.0),
                        "reload_log_ms": B.ms((t_line - e) * 1000.0),
                        "minus_build_ms": B.ms((t_line - t_save - (e - s)) * 1000.0),
                        "makes": len(runs)})
        self.edits.append(rec)

    def end_edits(self):
        pass

    def finish(self):
        self.close()
        E = self.edits
        self.res["edits"] = E
        self.res["stats"] = {key: B.stats([r.get(key) for r in E])
                             for key in ("total_ms", "detect_ms", "build_ms", "reload_log_ms",
                                         "minus_build_ms")}
        self.res["drift"] = drift([r["total_ms"] for r in E])
        self.res["guest"] = ("kit initramfs + own /init: virtio/9p modules, 9p mount, `while read x; "
                             f"do rmmod {self.mod.name}; insmod /mnt/src/{self.mod.name}.ko; done "
                             "< trigger port`, `cat /dev/kmsg > kmsg port`")
        return self.res

    def close(self):
        self.C.procs.kill(self.entr)
        self.C.procs.kill(self.q)
        self.entr = self.q = None
        if self.kfd is not None:
            self.L.close()
            os.close(self.kfd)
            self.kfd = None


class MakeLoop:
    """The floor: exactly kmod-watch's make (make -C DIR KDIR=…) after each save,
    on its own copy; no guest, no load."""

    def __init__(self, C, mod, key, init_text):
        self.C, self.key = C, key
        self.cp = Copy(C, mod, key, init_text)
        self.edits = []

    def start(self):
        pass

    def wait_ready(self):
        self.C.make(self.cp.d)  # the first build also writes the .cmd files

    def poll(self, seconds):
        time.sleep(seconds)

    def edit(self, i, f, text):
        self.cp.save(f, text)
        self.edits.append({"file": f, "text": text, "total_ms": B.ms(self.C.make(self.cp.d))})

    def end_edits(self):
        pass

    def finish(self):
        return {"edits": self.edits, "stats": {"total_ms": B.stats([r["total_ms"] for r in self.edits])},
                "argv": self.C.make_argv("DIR"), "drift": drift([r["total_ms"] for r in self.edits])}

    def close(self):
        pass


# ---- the part ------------------------------------------------------------------------------

ORDER = ["kw-replay", "kw-make", "entr", "make"]


def run_loops(C, mod, edits, storms=None, git_files=0, only=ORDER):
    """The interleaved part for one module. storms(loop), if given, runs on the
    kw-replay loop's kmod-watch after the edits (bench/run's event storms).
    Loops not in `only` say "skipped by --quick"."""
    nonce = C.nonce
    init = f"init-{nonce}"
    res = {"module": mod.name, "files": len(mod.edit_files), "edits": edits, "loops": {}}
    replay = has_no_replay(C.exe)
    res["no_replay_option"] = replay
    loops = {}
    try:
        loops["kw-replay"] = KWLoop(C, mod, "kw-replay", init, True, git_files)
        for key in ORDER:
            if key not in only:
                res["loops"][key] = {"skip": "skipped by --quick"}
        if "kw-make" in only:
            if replay:
                loops["kw-make"] = KWLoop(C, mod, "kw-make", init, False, git_files)
            else:
                res["loops"]["kw-make"] = {"skip": NO_REPLAY_NA}
        if "entr" in only:
            why = C.entr_skip()
            if why is None:
                loops["entr"] = EntrLoop(C, mod, "entr", init)
            else:
                res["loops"]["entr"] = {"skip": why}
        loops["make"] = MakeLoop(C, mod, "make", init)
        # kmod-watch (default) boots alone first, so its guest start is clean;
        # then the others, together; every guest is up before the first edit
        t0 = time.monotonic()
        loops["kw-replay"].start()
        loops["kw-replay"].wait_ready()
        for key, lp in loops.items():
            if key != "kw-replay":
                lp.start()
        for key, lp in loops.items():
            if key != "kw-replay":
                lp.wait_ready()
        res["setup_s"] = round(time.monotonic() - t0, 1)
        keys = [k for k in ORDER if k in loops]
        orders = []
        for i in range(edits):
            r = i % len(keys)
            order = keys[r:] + keys[:r]
            orders.append(order)
            f = mod.file_for(i)
            for key in order:
                loops[key].edit(i, f, f"{key}-{i + 1:03d}-{nonce}")
                # a short pause in which every loop's output is read
                for lp in loops.values():
                    lp.poll(0.05)
        res["orders"] = orders
        for lp in loops.values():
            lp.end_edits()
        if storms is not None:
            try:
                res["storms"] = storms(loops["kw-replay"])
            except Exception as e:  # noqa: BLE001 — the edits' numbers are kept
                res["storms"] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
        for key, lp in loops.items():
            res["loops"][key] = lp.finish()
    finally:
        for lp in loops.values():
            lp.close()
    res["ratios"] = ratios(res)
    if "error" in res.get("storms", {}):
        raise Broke(res, res["storms"]["error"])
    return res


class Broke(Exception):
    """A part that broke after it measured something: res is kept."""

    def __init__(self, res, msg):
        super().__init__(msg)
        self.res = res


def p50(res, key, stat="total_ms"):
    lp = res["loops"].get(key, {})
    return lp.get("stats", {}).get(stat, {}).get("p50")


def ratios(res):
    kw50, entr50 = p50(res, "kw-replay"), p50(res, "entr")
    over = p50(res, "kw-replay", "overhead_ms")
    out = {"kw_over_entr": kw50 / entr50 if kw50 and entr50 else None,
           "kw_make_over_entr": (p50(res, "kw-make") / entr50) if p50(res, "kw-make") and entr50 else None}
    out["targets"] = {
        "p50_le_500ms": None if kw50 is None else kw50 <= TARGET_P50_MS,
        "p50_le_045_entr": None if out["kw_over_entr"] is None else out["kw_over_entr"] <= TARGET_ENTR_RATIO,
        "overhead_le_20ms": None if over is None else over <= TARGET_OVERHEAD_MS,
    }
    return out


# ---- the table -------------------------------------------------------------------------------

LABELS = {
    "kw-replay": "kmod-watch (default: replay when safe)",
    "kw-make": "kmod-watch --no-replay (make every time)",
    "entr": "entr + make + guest rmmod/insmod loop",
    "make": "make alone after the save (the floor; no load)",
}


def fmt(x, unit=" ms", nd=0):
    return "n/a" if x is None else f"{x:,.{nd}f}{unit}"


def table(w, P, name, title):
    """Print section `title` of the table for part `name` through w(line)."""
    part = P.get(name)
    w(title)
    if part is None:
        w("   not run")
        return
    if "skip" in part or "loops" not in part:
        w(f"   {'n/a (' + part['skip'] + ')' if 'skip' in part else 'ERROR (' + part['error'].splitlines()[0][:150] + ')'}")
        return
    if "error" in part:
        w(f"   ERROR after the edits ({part['error'].splitlines()[0][:150]})")
    L = part["loops"]
    entr50 = p50(part, "entr")
    w(f"   {'loop (interleaved edit by edit)':50s}{'N':>4s}{'p50':>8s}{'p95':>8s}{'max':>8s}"
      f"{'/entr':>7s}{'p50-build':>11s}  build path")
    for key in ORDER:
        lp = L.get(key)
        if lp is None:
            continue
        if "skip" in lp or "error" in lp:
            w(f"   {LABELS[key]:50s}{lp.get('skip') or 'ERROR ' + lp['error'].splitlines()[0][:100]}")
            continue
        s = lp["stats"]["total_ms"]
        r = f"{s['p50'] / entr50:.2f}x" if entr50 and s.get("p50") else "n/a"
        mb = lp["stats"].get("minus_build_ms", {}).get("p50")
        paths = ", ".join(f"{p} {n}/{s['n']}" for p, n in sorted(lp.get("paths", {}).items()))
        w(f"   {LABELS[key]:50s}{s['n']:>4d}{fmt(s['p50'], ''):>8s}{fmt(s['p95'], ''):>8s}"
          f"{fmt(s['max'], ''):>8s}{r:>7s}{fmt(mb, ' ms') if key != 'make' else '':>11s}  {paths}")
    kwr, kwm = L.get("kw-replay", {}), L.get("kw-make", {})
    if "stats" in kwr:
        cols = [("kw-replay", kwr)] + ([("kw-make", kwm)] if "stats" in kwm else [])
        hdr = "".join(f"{c + ' p50':>16s}{'p95':>7s}{'max':>7s}" for c, _ in cols)
        w(f"   {'kmod-watch phases (ms)':50s}{hdr}")

        def row(label, key, nd=0):
            cells = ""
            for _, lp in cols:
                s = lp["stats"].get(key, {})
                cells += f"{fmt(s.get('p50'), '', nd):>16s}{fmt(s.get('p95'), '', nd):>7s}{fmt(s.get('max'), '', nd):>7s}"
            w(f"   {label:50s}{cells}")
        row("total: save -> new kmsg line read on the host", "total_ms")
        row("  detect        save -> build_start", "detect_ms")
        row("  build         build_start -> build_end", "build_phase_ms")
        row("  deliver+load  build_end -> load event", "deliver_load_ms")
        row("  log           load event -> kmsg (<0: kmsg 1st)", "log_ms")
        row("  relay         kmsg event -> read by the harness", "relay_ms", 1)
        row("build, as kmod-watch ran it (build_end.ms)", "build_ms")
        row("finit_module in the guest (load.guest_us)", "finit_ms", 1)
        row("tool overhead = total - build - finit_module", "overhead_ms")
        row("  detect: inotify + debounce", "detect_ms")
        row("  spawn/reap: build phase - build_end.ms", "spawn_ms")
        row("  unload/deliver/load: build_end -> kmsg - finit", "post_build_ms")
        row("    of which build_end -> unload event", "unload_ms")
        row("  relay to the harness", "relay_ms", 1)
        bpe = sorted(set(kwr.get("builds_per_edit", [])))
        w(f"   builds per edit: {bpe} (expected [1])")
    if "stats" in L.get("entr", {}):
        st = L["entr"]["stats"]
        w(f"   entr loop p50 phases: detect {fmt(st['detect_ms']['p50'])}, make {fmt(st['build_ms']['p50'])}, "
          f"make end -> line on the host {fmt(st['reload_log_ms']['p50'])}")
    dr = [f"{key} {fmt(L[key]['drift']['first_p50'])} -> {fmt(L[key]['drift']['last_p50'])}"
          for key in ORDER if L.get(key, {}).get("drift")]
    if dr:
        n = next(L[key]["drift"]["n"] for key in ORDER if L.get(key, {}).get("drift"))
        w(f"   drift, p50 of the first {n} edits -> the last {n}: " + "; ".join(dr))
    ra = part["ratios"]
    kw50 = p50(part, "kw-replay")
    over = p50(part, "kw-replay", "overhead_ms")

    def met(b):
        return "n/a" if b is None else ("met" if b else "NOT met")
    t = ra["targets"]
    w(f"   kmod-watch / entr p50: {fmt(ra['kw_over_entr'], 'x', 2)} (--no-replay: "
      f"{fmt(ra['kw_make_over_entr'], 'x', 2) if ra['kw_make_over_entr'] else L.get('kw-make', {}).get('skip', 'n/a')})")
    if name == "hello":
        w(f"   targets (reported, not enforced): p50 <= {TARGET_P50_MS:.0f} ms: {fmt(kw50)} {met(t['p50_le_500ms'])}; "
          f"<= {TARGET_ENTR_RATIO} x entr p50: {fmt(ra['kw_over_entr'], 'x', 2)} {met(t['p50_le_045_entr'])}; "
          f"overhead <= {TARGET_OVERHEAD_MS:.0f} ms: {fmt(over)} {met(t['overhead_le_20ms'])}")
