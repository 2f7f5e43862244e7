# SPDX-License-Identifier: GPL-2.0-only
"""benchlib.py — small helpers for bench/run (Python 3 stdlib only).

Statistics, editor-style saves, /proc sampling, a newc cpio writer (to append
an /init of our own to the kit's initramfs, the way kmod-watch appends its
agent), the guest init scripts of the alternative loops, and a registry of the
processes we start so that nothing (QEMU above all) outlives the run.
"""

import math
import os
import re
import selectors
import signal
import statistics
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---- statistics ----------------------------------------------------------------

def ms(x):
    return None if x is None else round(x, 1)


def stats(values):
    """p50 (median), p95 (nearest rank), max, min, mean, n of a list of numbers."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return {"n": 0, "p50": None, "p95": None, "max": None, "min": None, "mean": None}
    return {
        "n": len(v),
        "p50": statistics.median(v),
        "p95": v[max(0, math.ceil(0.95 * len(v)) - 1)],
        "max": v[-1],
        "min": v[0],
        "mean": statistics.fmean(v),
    }


# ---- the module's source -------------------------------------------------------

PR_INFO_RE = re.compile(r'pr_info\("(?:[^"\\]|\\.)*"\);')


def source_template(src):
    """hello.c with its first pr_info text replaced by '@TEXT@'."""
    new, n = PR_INFO_RE.subn('pr_info("@TEXT@\\\\n");', src, count=1)
    if n != 1:
        raise RuntimeError("hello.c has no pr_info(\"...\"); line to rewrite")
    return new


def render(template, text):
    assert '"' not in text and "\\" not in text
    return template.replace("@TEXT@", text).encode()


def atomic_save(path, data):
    """An editor's save: write a hidden temporary file beside path, then
    rename() it over path. Returns time.monotonic() right after rename()."""
    d, base = os.path.split(path)
    tmp = os.path.join(d, f".{base}.kwbench~")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    return time.monotonic()


def write_in_place(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# ---- kmod-watch's events -------------------------------------------------------

def idx_of(k, e, start=0):
    """The index of event e (that very object) in k.events, from start."""
    for i in range(start, len(k.events)):
        if k.events[i] is e:
            return i
    raise KeyError("event not found")


def clock_offset(k):
    """time.monotonic() at kmod-watch's t = 0: the lower envelope of
    (harness read time - t) over every event (both are CLOCK_MONOTONIC; a
    line is read a little after it is written, never before)."""
    return min(w - e["t"] / 1000.0 for w, e in zip(k.wall, k.events))


# ---- /proc -----------------------------------------------------------------------

def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def cpu_ms(pid):
    """utime + stime of the whole process (all threads), in ms."""
    f = _stat_fields(pid)
    return (int(f[11]) + int(f[12])) * 1000.0 / CLK_TCK


def ctx_switches(pid):
    """(voluntary, involuntary) context switches summed over every thread
    (/proc/PID/status alone counts only the main thread)."""
    vol = invol = 0
    threads = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                txt = f.read()
        except OSError:
            continue
        v = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", txt, re.M).group(1))
        n = int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", txt, re.M).group(1))
        name = re.search(r"^Name:\s+(.*)$", txt, re.M).group(1)
        threads[f"{tid}:{name}"] = v
        vol += v
        invol += n
    return vol, invol, threads


def status_kb(pid, key):
    """A 'kB' field of /proc/PID/status (VmRSS, VmHWM, …), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def sample(pid):
    vol, invol, threads = ctx_switches(pid)
    return {"t": time.monotonic(), "cpu_ms": cpu_ms(pid), "vcs": vol, "ivcs": invol,
            "threads": threads}


def delta(a, b):
    per = {k: b["threads"][k] - a["threads"].get(k, 0) for k in b["threads"]}
    return {"seconds": round(b["t"] - a["t"], 3), "cpu_ms": round(b["cpu_ms"] - a["cpu_ms"], 1),
            "voluntary_ctxt_switches": b["vcs"] - a["vcs"],
            "involuntary_ctxt_switches": b["ivcs"] - a["ivcs"],
            "voluntary_by_thread": per}


def inotify_watches(pid):
    """Watches held by pid's inotify instances (lines of /proc/PID/fdinfo)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                n += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            continue
    return n


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def other_qemus(mine=()):
    """QEMU processes on this machine that we did not start (other helpers'):
    they compete for the 2 cores, so the run records them."""
    n = 0
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in mine:
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0]
        except OSError:
            continue
        if os.path.basename(argv0).startswith(b"qemu-system"):
            n += 1
    return n


# ---- processes we start ---------------------------------------------------------------

class Procs:
    """Every process group we start, killed (SIGKILL to the group) on the way out."""

    def __init__(self):
        self.procs = []

    def popen(self, argv, **kw):
        kw.setdefault("start_new_session", True)
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def kill(self, p, timeout=10):
        if p is None:
            return
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        for s in (p.stdin, p.stdout, p.stderr):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        if p in self.procs:
            self.procs.remove(p)

    def kill_all(self):
        for p in list(self.procs):
            self.kill(p)

    def pids(self):
        return [p.pid for p in self.procs]


class Lines:
    """Line reader over several non-blocking fds; remembers when each line was
    read (time.monotonic()). Every wait has a deadline."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.partial = {}
        self.lines = []  # (monotonic, name, text)
        self.tail = []

    def add(self, fd, name):
        os.set_blocking(fd, False)
        self.sel.register(fd, selectors.EVENT_READ, name)
        self.partial[name] = b""

    def pump(self, timeout):
        if not self.sel.get_map():
            time.sleep(max(0.0, min(timeout, 0.05)))
            return
        for key, _ in self.sel.select(max(0.0, timeout)):
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            now = time.monotonic()
            if not chunk:
                self.sel.unregister(key.fd)
                continue
            data = self.partial[key.data] + chunk
            *done, self.partial[key.data] = data.split(b"\n")
            for raw in done:
                text = raw.decode(errors="replace").rstrip("\r")
                self.lines.append((now, key.data, text))
                self.tail = (self.tail + [f"[{key.data}] {text}"])[-30:]

    def wait(self, pred, timeout, since=0, what="a line"):
        """The first (index, monotonic, name, text) at or after since with pred(name, text)."""
        end = time.monotonic() + timeout
        i = since
        while True:
            while i < len(self.lines):
                t, name, text = self.lines[i]
                i += 1
                if pred(name, text):
                    return i - 1, t, name, text
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what} within {timeout} s; last lines:\n" + "\n".join(self.tail))
            self.pump(min(left, 0.2))

    def close(self):
        self.sel.close()


# ---- initramfs ------------------------------------------------------------------------

def newc(entries):
    """A newc cpio archive (bytes) of entries: (name, mode, data or None for a
    directory). Ends with the trailer; every field padded to 4 bytes."""
    out = bytearray()

    def pad():
        out.extend(b"\0" * (-len(out) % 4))

    ino = 0x4b570000
    for name, mode, data in list(entries) + [("TRAILER!!!", 0, b"")]:
        ino += 1
        data = data or b""
        is_dir = mode & 0o170000 == 0o040000
        nm = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{x:08x}" for x in (
            ino if name != "TRAILER!!!" else 0, mode, 0, 0, 2 if is_dir else 1, 0,
            len(data), 0, 0, 0, 0, len(nm), 0))
        out.extend(hdr.encode())
        out.extend(nm)
        pad()
        out.extend(data)
        pad()
    return bytes(out)


def initrd_with(kit_initrd, entries, path):
    """The kit's initramfs with our entries appended as a second (uncompressed)
    cpio segment: the kernel unpacks both, later files win."""
    with open(kit_initrd, "rb") as f:
        base = f.read()
    base += b"\0" * (-len(base) % 4)
    with open(path, "wb") as f:
        f.write(base + newc(entries))
    return path


# The tutorial's loop: the .ko is in the rootfs; boot, insmod, print, power off.
OLD_LOOP_INIT = """#!/bin/busybox sh
# bench/run, the old loop: the module is packed into the initramfs.
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox insmod /hello.ko
/bin/busybox dmesg | /bin/busybox tail -n 4
/bin/busybox poweroff -f
"""

# The best hand-made loop's guest: 9p share, one port to be told "reload",
# one port to stream /dev/kmsg back. @MOD@: the module's name.
ENTR_LOOP_INIT = """#!/bin/busybox sh
# bench/run, the hand-made loop: rmmod/insmod from 9p on every line of a
# virtio-serial port; /dev/kmsg streamed back on another.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -x /bin/sh ] || /bin/busybox --install -s
while read -r m; do
        [ -n "$m" ] && insmod "/lib/modules/$m.ko"
done </lib/modules/load-order
mkdir -p /mnt/src
mount -t 9p -o trans=virtio,version=9p2000.L src /mnt/src
port() {
        while :; do
                for d in /sys/class/virtio-ports/*; do
                        [ "$(cat "$d/name" 2>/dev/null)" = "$1" ] && { echo "/dev/${d##*/}"; return; }
                done
                sleep 0.1
        done
}
trig=$(port org.bench.trigger)
klog=$(port org.bench.kmsg)
cat /dev/kmsg >"$klog" &
echo "bench-entr: ready $trig $klog"
while :; do
        while read -r x; do
                rmmod @MOD@ 2>/dev/null
                insmod /mnt/src/@MOD@.ko
        done <"$trig"
        sleep 0.1
done
"""

# Started by the kit's own /init (patched) next to the agent: it samples the
# agent's CPU time and context switches over the idle window, in the guest.
IDLE_SAMPLER = """#!/bin/sh
# bench/run: sample kmod-agent over an idle window; print it on the console.
settle=$1 idle=$2
while [ ! -d /sys/module/hello ]; do sleep 1; done
sleep "$settle"
pid=$(pidof kmod-agent)
snap() {
        echo "KWBENCH-IDLE $1 pid=$pid up=$(cut -d' ' -f1 /proc/uptime) stat=$(cat /proc/$pid/stat) ctxt=$(cat /proc/$pid/task/*/status | grep -E '^(non)?voluntary_ctxt_switches' | tr -s '\\t\\n' '  ')"
}
# Nothing goes to the console during the window (kmod-watch would wake up to
# read it): both samples are printed after it, a little after the host's ends.
s0=$(snap 0)
sleep "$idle"
s1=$(snap 1)
sleep 2
echo "$s0"
echo "$s1"
echo "KWBENCH-IDLE done"
"""


def parse_idle_line(line):
    """(uptime s, utime+stime ticks, voluntary, involuntary) from a KWBENCH-IDLE line."""
    up = float(re.search(r"up=([\d.]+)", line).group(1))
    st = re.search(r"stat=(.*?) ctxt=", line).group(1)
    f = st[st.rindex(")") + 2:].split()
    ticks = int(f[11]) + int(f[12])
    vol = sum(int(x) for x in re.findall(r"(?<!non)voluntary_ctxt_switches:\s*(\d+)", line))
    invol = sum(int(x) for x in re.findall(r"nonvoluntary_ctxt_switches:\s*(\d+)", line))
    return up, ticks, vol, invol


def newc_read(data):
    """(name, mode, bytes) of every entry of an uncompressed newc archive
    (several concatenated archives and zero padding are fine)."""
    off = 0
    while off + 110 <= len(data):
        if data[off:off + 6] != b"070701":
            off += 4 if data[off:off + 4] == b"\0\0\0\0" else 1
            continue
        f = [int(data[off + 6 + 8 * i: off + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = f[1], f[6], f[11]
        name = data[off + 110: off + 110 + namesize - 1].decode(errors="replace")
        off += 110 + namesize
        off += -off % 4
        body = data[off: off + size]
        off += size
        off += -off % 4
        if name == "TRAILER!!!":
            continue
        yield name, mode, body


def gunzip_all(data):
    """Every gzip member of data, decompressed and concatenated; trailing
    zero padding (the kit pads its initramfs to 4 bytes) is ignored."""
    import zlib
    out = bytearray()
    while data and data[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(31)
        out += d.decompress(data)
        data = d.unused_data
    return bytes(out)
