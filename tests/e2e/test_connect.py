#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch --connect against a QEMU the test starts itself, the way a user
would: its own BusyBox initramfs with its own /init (busybox and the virtio/9p
modules taken from the kit's initramfs, nothing of kmod-watch's kit builder),
the agent added with `kmod-watch inject-agent`, booted by examples/qemu-run.sh
with the tutorial's QEMU_9P* variables plus QEMU_KW and QEMU_MONITOR. The
module directory is a subdirectory of the 9p share, so the guest path is
derived from DIR's place under the share root.

The initramfs has no /bin/sh (only /bin/busybox; its /init, `#!/bin/busybox sh`,
makes the applet links with `busybox --install -s`): the injected starter is the
static agent itself and needs nothing. One guest serves every case, in order:
  1. --once started before QEMU (socket not there yet) exits 0 with the printk;
     QEMU keeps running.
  2. interactive: a save reloads; the guest is rebooted from outside
     (`system_reset` on QEMU's monitor socket — this is the reboot: QEMU
     resets the machine, the chardev socket stays open); kmod-watch reports
     guest_restart, loads the module again by itself, and the next save loads
     without restarting kmod-watch.
  3. that kmod-watch is killed with SIGKILL (its module stays loaded in the
     guest); a new one attaches to the same guest, replaces the stale module,
     reloads on a save, and Ctrl-C unloads and leaves QEMU running.
  4. --once loses QEMU (killed after the load): exit 5, said in one line.
  5. a second initramfs, booted with kw_init=/my-init (a #!/bin/sh script, and
     no /bin/sh), whose /init is not executable: the starter says why each
     cannot run, on the console, before the kernel panics.
Plus, without a guest: DIR outside the share is a usage error (64), a missing
socket ends --once with 5 after --boot-timeout, and qemu-args prints what
qemu-run.sh would add.
"""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import kw

BOOT_TIMEOUT = 240     # QEMU start → ready (TCG)
RELOAD_TIMEOUT = 90    # save → the new printk line
REBOOT_TIMEOUT = 180   # system_reset → loaded again
TAG = "kwtest"         # not the default, so the tag really travels through QEMU_9P_TAG
SUB = "modules/hello"  # DIR under the share root


def kit_env(kit_dir):
    env = {}
    with open(os.path.join(kit_dir, "kit.env")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


def sh(cmd, **kwargs):
    subprocess.run(cmd, shell=True, check=True, **kwargs)


class Guest:
    """The user's side: their initramfs, their QEMU (via examples/qemu-run.sh)."""

    def __init__(self, args, arch, base):
        self.args = args
        self.arch = arch
        self.base = base
        r = subprocess.run([args.kmod_watch, "kit", "path", "--arch", arch],
                           capture_output=True, text=True, check=True)
        self.kit = kit_env(r.stdout.strip())
        self.share = os.path.join(base, "share")
        self.dir = os.path.join(self.share, SUB)
        self.sock = os.path.join(base, "kw.sock")
        self.monitor = os.path.join(base, "mon.sock")
        self.console = os.path.join(base, "console.log")
        self.initrd = None   # build_initramfs()
        self.qemu = None
        self.prefix = []     # run QEMU through this (test_nonroot: as another user)

    def kit_initramfs(self):
        """The kit's initramfs unpacked once (busybox and the modules come from it)."""
        kitx = os.path.join(self.base, "kit-initramfs")
        if not os.path.isdir(kitx):
            os.makedirs(kitx)
            sh(f"gzip -dc {shlex.quote(self.kit['KW_KIT_INITRD'])} | cpio -i -d --quiet",
               cwd=kitx)
        return kitx

    def pack(self, root, init, init_mode, name):
        """root (with bin/busybox and no applet links) and init as /init, packed
        as the user would, then inject-agent on it; returns OUT's path."""
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "lib/modules", "proc", "sys", "dev",
                  "tmp", "mnt"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2(os.path.join(self.kit_initramfs(), "bin/busybox"),
                     os.path.join(root, "bin/busybox"))
        with open(os.path.join(root, "init"), "w") as f:
            f.write(init)
        os.chmod(os.path.join(root, "init"), init_mode)
        user = os.path.join(self.base, name + ".cpio.gz")
        out = os.path.join(self.base, name + "-kw.cpio.gz")
        sh(f"find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n > {shlex.quote(user)}",
           cwd=root)
        r = subprocess.run([self.args.kmod_watch, "inject-agent", "--arch", self.arch,
                            user, out], capture_output=True, text=True)
        kw.check(r.returncode == 0, f"inject-agent exited {r.returncode}: {r.stderr}")
        kw.check("rdinit=/kmod-watch-init" in r.stdout,
                 f"inject-agent does not say how to boot: {r.stdout}")
        with open(user, "rb") as a, open(out, "rb") as b:
            theirs, ours = a.read(), b.read()
        kw.check(ours.startswith(theirs) and len(ours) > len(theirs),
                 "inject-agent changed the user's archive bytes")
        return out, len(theirs), len(ours) - len(theirs)

    def build_initramfs(self, t):
        """A minimal BusyBox initramfs of our own, then inject-agent on it. It has
        no /bin/sh until its /init runs `busybox --install -s`: the starter must
        need nothing from it."""
        kitx = self.kit_initramfs()
        root = os.path.join(self.base, "rootfs")
        os.makedirs(os.path.join(root, "lib/modules"))
        order = [m for m in self.kit.get("KW_KIT_MODULES_LOADED", "").split(",") if m]
        kw.check(order, "kit.env has no KW_KIT_MODULES_LOADED")
        for m in order:
            shutil.copy2(os.path.join(kitx, "lib/modules", m + ".ko"),
                         os.path.join(root, "lib/modules", m + ".ko"))
        init = "\n".join([
            "#!/bin/busybox sh",
            "# the user's own init: the applet links are made now (busybox --install",
            "# reads /proc/self/exe), then API file systems, virtio/9p modules, idle",
            "/bin/busybox mount -t proc proc /proc || echo 'user-init: mount proc failed'",
            "/bin/busybox --install -s || echo 'user-init: busybox --install failed'",
            "export PATH=/bin:/sbin:/usr/bin:/usr/sbin",
            'mount -t sysfs sysfs /sys || echo "user-init: mount sysfs failed"',
            'mount -t devtmpfs devtmpfs /dev || echo "user-init: mount devtmpfs failed"',
            f"for m in {' '.join(m for m in order if m != 'virtio_console')}; do",
            '        insmod /lib/modules/$m.ko || echo "user-init: insmod $m failed"',
            "done",
            "# as the tutorial does: the share mounted by the user's own init (a virtio",
            "# 9p tag mounts only once; the agent must bind this, not fail with EBUSY).",
            "# virtio_console after it, so the agent's port (and MOUNT) comes later.",
            "mkdir -p /mnt/share",
            f'mount -t 9p -o trans=virtio,version=9p2000.L {TAG} /mnt/share || echo "user-init: mount 9p failed"',
            'insmod /lib/modules/virtio_console.ko || echo "user-init: insmod virtio_console failed"',
            'echo "user-init: ready"',
            "while :; do sleep 3600; done",
            ""])
        self.initrd, theirs, seg = self.pack(root, init, 0o755, "rootfs")
        kw.check(not os.path.lexists(os.path.join(root, "bin/sh")), "the test's rootfs has a /bin/sh")
        t.diag(f"initramfs (no /bin/sh link): theirs {theirs} bytes + agent segment {seg} bytes")

    def qemu_env(self):
        env = dict(os.environ)
        env.update({
            "KERNEL": self.kit["KW_KIT_KERNEL"],
            "INITRD": self.initrd,
            "APPEND": "rdinit=/kmod-watch-init",
            "QEMU_ARCH": "aarch64" if self.arch == "arm64" else "x86_64",
            "QEMU_ACCEL": "tcg",
            "QEMU_MEM": "512" if self.arch == "arm64" else "256",
            "QEMU_9P": "on",
            "QEMU_9P_PATH": "share",   # relative on purpose: qemu-run.sh makes it absolute
            "QEMU_9P_TAG": TAG,
            "QEMU_9P_SEC": "none",
            "QEMU_KW": "on",
            "QEMU_KW_SOCK": self.sock,
            "QEMU_MONITOR": "unix:" + self.monitor,
        })
        return env

    def start(self):
        self.log = open(self.console, "ab")
        self.qemu = subprocess.Popen(
            self.prefix + [os.path.join(self.args.examples, "qemu-run.sh"), "run"],
            env=self.qemu_env(), cwd=self.base, stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.t_start = time.monotonic()

    def alive(self):
        return self.qemu is not None and self.qemu.poll() is None

    def stop(self):
        """Kill our QEMU (its whole process group); never raises."""
        if self.qemu is None:
            return
        try:
            os.killpg(self.qemu.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.qemu.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()

    def monitor_cmd(self, cmd):
        """One command on QEMU's human monitor; returns what it printed."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.monitor)
        out = b""
        try:
            while b"(qemu)" not in out:
                out += s.recv(4096)
            s.sendall(cmd.encode() + b"\n")
            mark = len(out)
            while out.count(b"(qemu)", mark) < 1:
                chunk = s.recv(4096)
                if not chunk:
                    break
                out += chunk
        finally:
            s.close()
        return out.decode(errors="replace")

    def console_text(self):
        with open(self.console, "rb") as f:
            return f.read().decode(errors="replace")


def kmod_watch_env(base):
    env, _ = kw.isolated_env(base)
    env["QEMU_9P_PATH"] = os.path.join(base, "share")
    env["QEMU_9P_TAG"] = TAG
    env.pop("QEMU_9P", None)
    return env


def set_text(g, text):
    src = os.path.join(g.dir, "hello.c")
    kw.write_file(src, kw.hello_source(g.dir, text))


def new_text(case):
    return f"kw-connect {case} {uuid.uuid4().hex[:8]}"


# ---- cases without a guest --------------------------------------------------------

def case_outside_share(t, g, env):
    outside = os.path.join(g.base, "elsewhere")
    os.makedirs(outside, exist_ok=True)
    k = kw.run(g.args.kmod_watch, ["--arch", g.arch, "--connect", "unix:" + g.sock, "--once", outside],
               timeout=30, env=env)
    kw.check(k.returncode == 64, f"DIR outside the share: exit {k.returncode}, want 64", k)
    errs = [line for line in k.stderr_lines if line.strip()]
    kw.check(len(errs) == 1 and "not inside the 9p share" in errs[0] and g.share in errs[0],
             f"want one line naming the share, got {errs}", k)


def case_no_qemu(t, g, env):
    missing = os.path.join(g.base, "no-such.sock")
    t0 = time.monotonic()
    k = kw.run(g.args.kmod_watch, ["--arch", g.arch, "--connect", "unix:" + missing, "--once",
                                   "--boot-timeout", "2", g.dir], timeout=60, env=env)
    took = time.monotonic() - t0
    kw.check(k.returncode == 5, f"no QEMU: exit {k.returncode}, want 5", k)
    kw.check(any("no QEMU socket at " + missing in line for line in k.stderr_lines),
             "no line saying the socket is missing", k)
    kw.check(took < 30, f"took {took:.1f} s with --boot-timeout 2", k)
    t.diag(f"gave up after {took:.1f} s (--boot-timeout 2)")


def case_qemu_args(t, g, env):
    r = subprocess.run([g.args.kmod_watch, "qemu-args", "--arch", g.arch, "--socket", g.sock, g.dir],
                       capture_output=True, text=True, env=env)
    kw.check(r.returncode == 0, f"qemu-args exited {r.returncode}: {r.stderr}")
    lines = r.stdout.splitlines()
    kw.check(len(lines) == 1, f"qemu-args printed {len(lines)} lines, want 1: {r.stdout}")
    words = shlex.split(lines[0])
    virtfs = words[words.index("-virtfs") + 1]
    kw.check(f"path={g.share}," in virtfs and f"mount_tag={TAG}," in virtfs
             and "security_model=none" in virtfs and ",id=fs9p" in virtfs,
             f"-virtfs {virtfs}")
    chardev = words[words.index("-chardev") + 1]
    kw.check(chardev.startswith("socket,") and f"path={g.sock}," in chardev
             and "server=on" in chardev and "wait=off" in chardev, f"-chardev {chardev}")
    kw.check(any("name=org.kmodwatch.0" in w for w in words), f"no port name in {words}")
    # qemu-run.sh with the same variables adds the same channel
    r = subprocess.run([os.path.join(g.args.examples, "qemu-run.sh"), "print"],
                       capture_output=True, text=True, env=g.qemu_env(), cwd=g.base)
    kw.check(r.returncode == 0, f"qemu-run.sh print: {r.stderr}")
    run_words = shlex.split(r.stdout)
    kw.check(chardev in run_words, f"qemu-run.sh has no {chardev}: {run_words}")
    kw.check(virtfs in run_words, f"qemu-run.sh has no {virtfs}: {run_words}")


# ---- cases on the one guest ---------------------------------------------------------

def case_once(t, g, env, state):
    path = f"/mnt/kmod-watch/{SUB}/hello.ko"
    # the agent says a good load by its RESULT only, not on the console: that the module
    # was read from DIR's place in the user's share is seen from the guest with --run
    args = ["--json", "--arch", g.arch, "--connect", "unix:" + g.sock, "--once", "--expect", "build A",
            "--run", f"test -f {path} && echo kw-path-ok", "--boot-timeout", str(BOOT_TIMEOUT), g.dir]
    k = kw.KmodWatch(g.args.kmod_watch, args, env=env)
    with k:
        k.collect(0.5)           # kmod-watch first: the socket is not there yet
        g.start()
        rc = k.wait_exit(BOOT_TIMEOUT + 60)
    ready = k.events_since(0, "ready")
    kw.check(rc == 0, f"--once exited {rc}, want 0", k)
    kw.check(ready and ready[0].get("transport") == "virtio-serial",
             f"ready event: {ready}", k)
    kw.check(k.events_since(0, "load", lambda e: e["ok"] is True and e["module"] == "hello"),
             "no successful load of hello", k)
    kw.check(k.events_since(0, "kmsg", lambda e: "build A" in e["text"]), "no 'build A' line", k)
    kw.check(k.events_since(0, "unload", lambda e: e["ok"] is True), "no unload", k)
    kw.check(any("waiting for QEMU's agent socket" in line for line in k.stderr_lines),
             "kmod-watch never said it waits for the socket", k)
    out = "".join(e["text"] for e in k.events_since(0, "run_output"))
    kw.check("kw-path-ok" in out, f"{path} is not where the agent loads DIR's module from: {out!r}", k)
    kw.check(g.alive(), "QEMU is gone after --once: it must keep running", k)
    failed = [line for line in g.console_text().splitlines()
              if "user-init:" in line and "failed" in line]
    kw.check(not failed, f"the user's init failed (no /bin/sh before busybox --install): {failed}", k)
    t_ready = k.wall[k.events.index(ready[0])]
    t.diag(f"QEMU start → ready {t_ready - g.t_start:.1f} s (boot under TCG, agent retrying); "
           f"whole --once run {k.elapsed:.1f} s")


def wait_text(k, text, since, timeout=RELOAD_TIMEOUT):
    return k.wait_event("kmsg", lambda e: text in e["text"], timeout=timeout, since=since)


def case_interactive(t, g, env, state):
    k = kw.KmodWatch(g.args.kmod_watch, ["--json", "--arch", g.arch, "--connect", "unix:" + g.sock, g.dir], env=env)
    state["k"] = k
    k.start()
    ready = k.wait_event("ready", timeout=60, since=0)
    t.diag(f"attach to the running guest → ready in {ready['t']} ms")
    k.wait_event("load", lambda e: e["ok"] is True, timeout=RELOAD_TIMEOUT, since=0)
    wait_text(k, "build A", 0)
    sh_ = kw.shell_piped(g.args.kmod_watch, g.dir, env, "grep -c '^hello ' /proc/modules; pwd; exit 7\n")
    kw.check(sh_.returncode == 7 and re.search(r"(^|\s)1\n", sh_.stdout)
             and f"/mnt/kmod-watch/{SUB}\n" in sh_.stdout,
             f"kmod-watch shell with --connect: exit {sh_.returncode}\n{sh_.stdout}\n{sh_.stderr}", k)
    text = new_text("edit")
    m = k.mark()
    t0 = time.monotonic()
    set_text(g, text)
    wait_text(k, text, m)
    k.wait_event("load", lambda e: e["ok"] is True, timeout=RELOAD_TIMEOUT, since=m)
    t.diag(f"save → new printk in {1000 * (time.monotonic() - t0):.0f} ms")
    state["text"] = text


def case_reboot(t, g, env, state):
    """The reboot: QEMU's system_reset, what `reboot` does in a guest run without
    -no-reboot: the machine resets, the chardev socket stays open."""
    k = state["k"]
    m = k.mark()
    state["t_reset"] = time.monotonic()
    out = g.monitor_cmd("system_reset")
    kw.check("Error" not in out, f"monitor: {out}")
    restart = k.wait_event("guest_restart", timeout=REBOOT_TIMEOUT, since=m)
    kw.check("reboot" in restart.get("reason", ""), f"guest_restart reason: {restart}", k)
    k.wait_event("ready", timeout=REBOOT_TIMEOUT, since=m)
    state["after_reset"] = m
    t.diag(f"system_reset → ready in {time.monotonic() - state['t_reset']:.1f} s")


def case_reboot_reloads(t, g, env, state):
    k = state["k"]
    m = state["after_reset"]
    k.wait_event("load", lambda e: e["ok"] is True, timeout=30, since=m)
    wait_text(k, state["text"], m, timeout=30)
    t.diag(f"system_reset → module loaded again in {time.monotonic() - state['t_reset']:.1f} s")


def case_save_after_reboot(t, g, env, state):
    k = state["k"]
    text = new_text("after-reboot")
    m = k.mark()
    set_text(g, text)
    wait_text(k, text, m)
    k.wait_event("load", lambda e: e["ok"] is True, timeout=RELOAD_TIMEOUT, since=m)
    kw.check(k.running(), "kmod-watch exited", k)
    state["text"] = text


def case_sigkill_and_reattach(t, g, env, state):
    old = state["k"]
    old.kill()                  # SIGKILL: no unload, the module stays in the guest
    kw.check(g.alive(), "QEMU died with kmod-watch")
    k = kw.KmodWatch(g.args.kmod_watch, ["--json", "--arch", g.arch, "--connect", "unix:" + g.sock, g.dir], env=env)
    with k:
        t0 = time.monotonic()
        k.wait_event("ready", timeout=60, since=0)
        un = k.wait_event("unload", timeout=RELOAD_TIMEOUT, since=0)
        kw.check(un["ok"] is True and un["module"] == "hello",
                 f"the stale module was not unloaded: {un}", k)
        k.wait_event("load", lambda e: e["ok"] is True, timeout=RELOAD_TIMEOUT, since=0)
        wait_text(k, state["text"], 0)
        t.diag(f"restarted kmod-watch: attached and reloaded in {time.monotonic() - t0:.1f} s")
        text = new_text("reattached")
        m = k.mark()
        set_text(g, text)
        wait_text(k, text, m)
        # the printk comes before the load's answer; quit once the load is done
        k.wait_event("load", lambda e: e["ok"] is True, timeout=RELOAD_TIMEOUT, since=m)
        m = k.mark()
        rc = k.stop(signal.SIGINT, timeout=30)
        kw.check(rc == 0, f"Ctrl-C: exit {rc}", k)
        kw.check(k.events_since(m, "unload", lambda e: e["ok"] is True),
                 "quitting did not unload the module", k)
    kw.check(g.alive(), "quitting kmod-watch stopped the user's QEMU")


def case_qemu_exits(t, g, env, state):
    args = ["--json", "--arch", g.arch, "--connect", "unix:" + g.sock, "--once", "--expect",
            "never-printed-xyzzy", "--timeout", "300", g.dir]
    k = kw.KmodWatch(g.args.kmod_watch, args, env=env)
    with k:
        k.wait_event("load", lambda e: e["ok"] is True, timeout=RELOAD_TIMEOUT, since=0)
        t0 = time.monotonic()
        g.stop()
        rc = k.wait_exit(60)
    kw.check(rc == 5, f"QEMU gone under --once: exit {rc}, want 5", k)
    kw.check(any("QEMU closed" in line for line in k.stderr_lines),
             "no line saying QEMU closed the channel", k)
    t.diag(f"exit 5 {time.monotonic() - t0:.1f} s after QEMU was killed")


# ---- a broken user init ---------------------------------------------------------------

def case_broken_init(t, g):
    """kw_init=/my-init, a #!/bin/sh script with no /bin/sh (the original failure);
    /init not executable; no /sbin/init: the starter says each on the console, in
    words, before the kernel panics (panic=-1 + -no-reboot: QEMU then exits)."""
    root = os.path.join(g.base, "rootfs-broken")
    os.makedirs(root)
    with open(os.path.join(root, "my-init"), "w") as f:
        f.write("#!/bin/sh\necho never runs\n")
    os.chmod(os.path.join(root, "my-init"), 0o755)
    initrd, _, _ = g.pack(root, "#!/bin/busybox sh\necho never runs\n", 0o644, "broken")
    console = os.path.join(g.base, "console-broken.log")
    env = g.qemu_env()
    env.update({"INITRD": initrd, "APPEND": "rdinit=/kmod-watch-init kw_init=/my-init panic=-1",
                "QEMU_9P": "off", "QEMU_KW": "off", "QEMU_MONITOR": "", "QEMU_EXTRA": "-no-reboot"})
    t0 = time.monotonic()
    with open(console, "wb") as log:
        q = subprocess.Popen([os.path.join(g.args.examples, "qemu-run.sh"), "run"], env=env,
                             cwd=g.base, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            q.wait(timeout=BOOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(q.pid, signal.SIGKILL)
            q.wait()
    with open(console, "rb") as f:
        text = f.read().decode(errors="replace")
    want = ("kmod-watch: the initramfs has no init that can run (/my-init: its interpreter "
            "/bin/sh is missing; /init: not executable (mode 0644); /sbin/init: missing); "
            "the kernel will panic next")
    kw.check(want in text, "no readable line about the broken init on the console:\n" + text[-3000:])
    kw.check("Kernel panic" in text and text.index(want) < text.index("Kernel panic"),
             "the line does not come before the panic:\n" + text[-3000:])
    t.diag(f"said before the panic; QEMU exited {time.monotonic() - t0:.1f} s after start")


def main():
    args = kw.parse_args()
    arch = kw.require_guest(args)  # args.arch, default the host's
    for tool in ("cpio", "gzip"):
        if shutil.which(tool) is None:
            kw.skip(f"{tool} is not installed")
    t = kw.Tap("kmod-watch --connect to the user's own QEMU")
    base = os.path.realpath(tempfile.mkdtemp(prefix="kw-e2e-connect-"))
    g = Guest(args, arch, base)
    shutil.copytree(os.path.join(args.examples, kw.EXAMPLE), g.dir)
    env = kmod_watch_env(base)
    state = {}
    try:
        if not t.case("the user's initramfs + inject-agent", g.build_initramfs, t):
            return t.done()
        t.case("DIR outside the share: one line, exit 64", case_outside_share, t, g, env)
        t.case("no QEMU: exit 5 after --boot-timeout", case_no_qemu, t, g, env)
        t.case("qemu-args matches qemu-run.sh", case_qemu_args, t, g, env)
        if not t.case("--once, started before QEMU: exit 0, QEMU keeps running",
                      case_once, t, g, env, state):
            t.diag("--- guest console (tail) ---\n" + g.console_text()[-3000:])
            return t.done()
        if t.case("interactive: attaches to the running guest, a save reloads",
                  case_interactive, t, g, env, state) and \
                t.case("reboot (system_reset): guest_restart, ready again", case_reboot,
                       t, g, env, state):
            t.case("reboot: the module is loaded again by itself", case_reboot_reloads,
                   t, g, env, state)
            if t.case("reboot: the next save loads, same kmod-watch", case_save_after_reboot,
                      t, g, env, state):
                t.case("SIGKILL, start again: stale module replaced, save loads, Ctrl-C unloads",
                       case_sigkill_and_reattach, t, g, env, state)
        if "k" in state:
            state["k"].kill()   # QEMU serves one client: free it whatever happened above
        t.case("--once when QEMU dies: exit 5", case_qemu_exits, t, g, env, state)
        t.case("a broken user init: said on the console before the panic", case_broken_init, t, g)
    finally:
        if "k" in state:
            state["k"].kill()
        g.stop()
        if t.failed and g.qemu is not None:
            t.diag("--- guest console (tail) ---\n" + g.console_text()[-3000:])
        kw.cleanup(args, base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
