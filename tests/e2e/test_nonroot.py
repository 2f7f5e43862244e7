#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The e2e checks again as an unprivileged user (kwtest, made by scripts/setup
when it runs as root), the way a developer without root runs kmod-watch: the
installed program (`meson install --destdir`), the user's own HOME,
XDG_CACHE_HOME and XDG_RUNTIME_DIR, and the kit copied into that cache as
hard links (no download; its kit.env still names root's cache, which the user
cannot read: kmod-watch must find the files under the copy). Every process of
the user's (kmod-watch, its QEMU, the user's own QEMU) runs with setpriv
--reuid/--regid/--init-groups, which execs in place, so signals and pids are
the program's own. One guest boot per mode:
  1. --once on hello: exit 0 with the printk; the .ko is the user's; nothing
     left in the runtime directory.
  2. interactive: a save reloads; Ctrl-C unloads, exits 0.
  3. --connect to the user's own QEMU (test_connect's BusyBox initramfs with
     inject-agent, qemu-run.sh run as the user): --once exits 0.
  4. examples/10-oops-null --once: exit 4, one oops event.
Skips (77) when not root (nobody to switch to), without the user or setpriv."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import kw
import test_connect

USER = "kwtest"
TIMEOUT = 240


class User:
    """The unprivileged user's world under one temporary directory."""

    def __init__(self, args, arch):
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.args = args
        self.arch = arch
        self.base = os.path.realpath(tempfile.mkdtemp(prefix="kw-e2e-nonroot-"))
        os.chmod(self.base, 0o755)
        self.home = os.path.join(self.base, "home")
        self.cache = os.path.join(self.home, ".cache")
        self.run_dir = os.path.join(self.base, "run")
        self.work = os.path.join(self.base, "work")
        for d in (self.home, self.run_dir, self.work):
            os.makedirs(d)
            os.chown(d, self.uid, self.gid)
        os.chmod(self.run_dir, 0o700)
        self.kwbin = None
        self.kit_dir = None

    def prefix(self):
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--"]

    def env(self, **more):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": self.home,
               "XDG_CACHE_HOME": self.cache, "XDG_RUNTIME_DIR": self.run_dir,
               "USER": USER, "LOGNAME": USER, "LANG": "C.UTF-8", "NO_COLOR": "1"}
        env.update(more)
        return env

    def own(self, path):
        """Hand path (a tree) to the user."""
        for root, dirs, files in os.walk(path):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), self.uid, self.gid)
        os.lchown(path, self.uid, self.gid)

    def install(self):
        inst = os.path.join(self.base, "inst")
        r = subprocess.run(["meson", "install", "-C", self.args.build_dir, "--destdir", inst,
                            "--no-rebuild", "--quiet"], capture_output=True, text=True)
        kw.check(r.returncode == 0, f"meson install failed: {r.stdout}{r.stderr}")
        for root, _, files in os.walk(inst):
            if "kmod-watch" in files and os.path.basename(root) == "bin":
                self.kwbin = os.path.join(root, "kmod-watch")
        kw.check(self.kwbin, "no installed bin/kmod-watch")

    def copy_kit(self):
        """The kit as hard links in the user's cache (dirs the user's, files
        root's and read-only to the user): no download, no 500 MB copy."""
        r = subprocess.run([self.args.kmod_watch, "kit", "path", "--arch", self.arch],
                           capture_output=True, text=True, check=True)
        src = os.path.realpath(r.stdout.strip())
        arch_dir = os.path.join(self.cache, "kmod-watch", "kits", self.arch)
        os.makedirs(arch_dir)
        self.own(self.cache)
        self.kit_dir = os.path.join(arch_dir, os.path.basename(src))
        r = subprocess.run(["cp", "-al", src, self.kit_dir], capture_output=True, text=True)
        if r.returncode != 0:   # another file system: a copy, slower but the same
            shutil.rmtree(self.kit_dir, ignore_errors=True)
            r = subprocess.run(["cp", "-a", src, self.kit_dir], capture_output=True, text=True)
        kw.check(r.returncode == 0, f"copying the kit failed: {r.stderr}")
        os.symlink(os.path.basename(src), os.path.join(arch_dir, "current"))
        os.lchown(os.path.join(arch_dir, "current"), self.uid, self.gid)
        with open(os.path.join(self.kit_dir, "kit.env")) as f:
            kw.check(src in f.read(), "the copied kit.env does not name root's kit (nothing to prove)")
        return src

    def kmod_watch(self, args, **kwargs):
        return kw.KmodWatch("setpriv", self.prefix()[1:] + [self.kwbin] + args,
                            json_mode="--json" in args, env=self.env(), cwd=self.base,
                            needles=[self.base], **kwargs)

    def example(self, name, as_name):
        d = os.path.join(self.work, as_name)
        shutil.copytree(os.path.join(self.args.examples, name), d,
                        ignore=shutil.ignore_patterns("*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd",
                                                      "modules.order", "Module.symvers", ".*"))
        self.own(d)
        return d

    def write(self, path, text):
        kw.write_file(path, text)
        os.chown(path, self.uid, self.gid)

    def runtime_left(self):
        return sorted(os.listdir(self.run_dir))


def setup(t, u):
    u.install()
    src = u.copy_kit()
    r = subprocess.run(u.prefix() + [u.kwbin, "kit", "path", "--arch", u.arch], env=u.env(),
                       cwd=u.base, capture_output=True, text=True)
    kw.check(r.returncode == 0 and os.path.realpath(r.stdout.strip()) == u.kit_dir,
             f"as {USER}, `kit path` says {r.stdout.strip()!r} (exit {r.returncode}: {r.stderr.strip()}), "
             f"want the copy {u.kit_dir}")
    t.diag(f"{USER} (uid {u.uid}): installed {u.kwbin}; kit {src} hard-linked into {u.kit_dir}")


def case_once(t, u):
    d = u.example(kw.EXAMPLE, "hello-once")
    k = u.kmod_watch(["--json", "--once", "--accel", "tcg", "--expect", "build A", d])
    with k:
        rc = k.wait_exit(TIMEOUT)
    kw.check(rc == 0, f"--once as {USER}: exit {rc}, want 0", k)
    ko = os.path.join(d, "hello.ko")
    kw.check(os.path.exists(ko) and os.stat(ko).st_uid == u.uid, f"{ko} is not {USER}'s", k)
    kw.check(not u.runtime_left(), f"left in {u.run_dir}: {u.runtime_left()}", k)
    t.diag(f"--once as {USER}: {k.elapsed:.1f} s")


def case_interactive(t, u):
    d = u.example(kw.EXAMPLE, "hello-live")
    with u.kmod_watch(["--json", "--accel", "tcg", d]) as k:
        k.wait_event("kmsg", lambda e: "build A" in e["text"], timeout=TIMEOUT, since=0)
        k.wait_event("load", lambda e: e["ok"] is True, timeout=60, since=0)
        text = f"kw-nonroot {os.getpid()} {time.monotonic():.0f}"
        m = k.mark()
        u.write(os.path.join(d, "hello.c"), kw.hello_source(d, text))
        k.wait_event("kmsg", lambda e: text in e["text"], timeout=120, since=m)
        k.wait_event("load", lambda e: e["ok"] is True, timeout=60, since=m)
        m = k.mark()
        rc = k.stop(signal.SIGINT, timeout=30, group=True)
        kw.check(rc == 0, f"Ctrl-C: exit {rc}", k)
        kw.check(k.events_since(m, "unload", lambda e: e["ok"] is True), "Ctrl-C did not unload", k)
    kw.check(not u.runtime_left(), f"left in {u.run_dir}: {u.runtime_left()}")


def case_connect(t, u):
    base = os.path.join(u.base, "connect")
    os.makedirs(base)
    g = test_connect.Guest(u.args, u.arch, base)
    # the user's QEMU reads the user's copy of the kit, not root's
    root_kit = os.path.dirname(os.path.realpath(g.kit["KW_KIT_KERNEL"]))
    g.kit["KW_KIT_KERNEL"] = os.path.join(u.kit_dir, os.path.relpath(
        os.path.realpath(g.kit["KW_KIT_KERNEL"]), root_kit))
    shutil.copytree(os.path.join(u.args.examples, kw.EXAMPLE), g.dir)
    g.build_initramfs(t)
    u.own(base)
    g.prefix = u.prefix()
    text = f"kw-nonroot-connect {os.getpid()}"
    kw.write_file(os.path.join(g.dir, "hello.c"), kw.hello_source(g.dir, text))
    u.own(g.dir)
    try:
        g.start()
        k = kw.KmodWatch("setpriv", u.prefix()[1:] + [
            u.kwbin, "--json", "--arch", u.arch, "--connect", "unix:" + g.sock, "--once",
            "--expect", text, "--boot-timeout", str(TIMEOUT), g.dir],
            env=u.env(QEMU_9P_PATH=g.share, QEMU_9P_TAG=test_connect.TAG), cwd=u.base,
            needles=["kw-no-qemu-of-its-own"])
        with k:
            rc = k.wait_exit(TIMEOUT + 60)
        kw.check(rc == 0, f"--connect --once as {USER}: exit {rc}, want 0\n"
                 + g.console_text()[-2000:], k)
        kw.check(g.alive(), "the user's QEMU is gone after --once", k)
        owner = os.stat(f"/proc/{g.qemu.pid}").st_uid
        kw.check(owner == u.uid, f"the user's QEMU runs as uid {owner}, not {USER}'s")
        t.diag(f"--connect --once as {USER}: {k.elapsed:.1f} s")
    finally:
        g.stop()


def case_crash(t, u):
    d = u.example("10-oops-null", "oops")
    k = u.kmod_watch(["--json", "--once", "--accel", "tcg", d])
    with k:
        rc = k.wait_exit(TIMEOUT)
    kw.check(rc == 4, f"10-oops-null --once as {USER}: exit {rc}, want 4", k)
    kw.check(len(k.events_since(0, "oops")) >= 1, "no oops event", k)
    kw.check(not u.runtime_left(), f"left in {u.run_dir}: {u.runtime_left()}", k)


def main():
    args = kw.parse_args()
    if os.geteuid() != 0:
        kw.skip("not root: nobody to switch to (the other e2e tests already run as this user)")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        kw.skip(f"no user {USER} (scripts/setup makes it when run as root)")
    if shutil.which("setpriv") is None:
        kw.skip("setpriv is not installed (util-linux)")
    kw.check(args.build_dir, "--build-dir is required")
    arch = kw.require_guest(args)
    t = kw.Tap(f"kmod-watch as the unprivileged user {USER}")
    u = User(args, arch)
    try:
        if not t.case(f"set-up: installed kmod-watch; the kit hard-linked into {USER}'s cache, found there",
                      setup, t, u):
            return t.done()
        t.case("--once hello: exit 0, the .ko is the user's, nothing left", case_once, t, u)
        t.case("interactive: a save reloads, Ctrl-C unloads", case_interactive, t, u)
        t.case("--connect to the user's own QEMU (inject-agent, qemu-run.sh): --once exit 0",
               case_connect, t, u)
        t.case("10-oops-null --once: exit 4 with an oops event", case_crash, t, u)
    finally:
        kw.cleanup(args, u.base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
