#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The Debian package: `dpkg-buildpackage -us -uc -b` on a copy of the sources (the
files git tracks, no .git: as a source package has them) builds an installable
.deb; unpacked into a scratch root (dpkg -x), the packaged kmod-watch runs a whole
--once cycle on the example it ships in /usr/share/doc/kmod-watch/examples, finding
its agent and kit script beside itself; after an edit, a second --once replays the
build with the packaged kw-hugepages.so preloaded; its man page renders; --version
is the package's version."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import kw

TIMEOUT = 240


def sources(dst):
    """The tracked files of the checkout this test belongs to, copied to dst."""
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run(["git", "-C", top, "ls-files", "-z"], capture_output=True)
    kw.check(r.returncode == 0, f"git ls-files failed: {r.stderr!r}")
    for rel in r.stdout.decode().split("\0"):
        if not rel or not os.path.lexists(os.path.join(top, rel)):
            continue  # deleted in the work tree
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(os.path.join(top, rel), os.path.join(dst, rel), follow_symlinks=False)


def case_build(t, work, out):
    src = os.path.join(work, "kmod-watch")
    sources(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck")  # the unit suite runs in tests/run already
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, capture_output=True,
                       text=True, timeout=1200)
    kw.check(r.returncode == 0, f"dpkg-buildpackage failed ({r.returncode}):\n{(r.stdout + r.stderr)[-3000:]}")
    debs = [d for d in glob.glob(os.path.join(work, "kmod-watch_*.deb"))]
    kw.check(len(debs) == 1, f"want one kmod-watch_*.deb, got {debs}")
    info = subprocess.run(["dpkg-deb", "-I", debs[0]], capture_output=True, text=True).stdout
    t.diag(" ".join(line.strip() for line in info.splitlines() if line.strip().startswith(("Version", "Depends"))))
    kw.check("libinotifytools0" in info and "libssh" in info, f"Depends lacks the libraries:\n{info}")
    out.append(debs[0])


def case_installed(t, deb, root, args):
    r = subprocess.run(["dpkg-deb", "-x", deb, root], capture_output=True, text=True)
    kw.check(r.returncode == 0, f"dpkg-deb -x: {r.stderr}")
    kwbin = os.path.join(root, "usr/bin/kmod-watch")
    for f in ("usr/libexec/kmod-watch/kmod-agent", "usr/libexec/kmod-watch/kmod-watch-kit",
              "usr/share/man/man1/kmod-watch.1.gz", "usr/share/doc/kmod-watch/copyright",
              "usr/share/doc/kmod-watch/examples/00-kernel_module_hello/hello.c",
              "usr/share/zsh/vendor-completions/_kmod-watch", "usr/share/fish/vendor_completions.d/kmod-watch.fish"):
        kw.check(os.path.exists(os.path.join(root, f)), f"the package lacks /{f}")
    v = subprocess.run([kwbin, "--version"], capture_output=True, text=True)
    t.diag(v.stdout.strip())
    kw.check(v.returncode == 0 and v.stdout.startswith("kmod-watch "), f"--version: {v.stdout!r} {v.stderr!r}")
    man = subprocess.run(["man", "-l", os.path.join(root, "usr/share/man/man1/kmod-watch.1.gz")],
                         capture_output=True, text=True, env=dict(os.environ, MANPAGER="cat", PAGER="cat"))
    kw.check(man.returncode == 0 and "SYNOPSIS" in man.stdout, f"man -l: {man.stderr}")

    ex = os.path.join(root, "usr/share/doc/kmod-watch/examples/00-kernel_module_hello")
    base = tempfile.mkdtemp(prefix="kw-e2e-deb-run-")
    d = os.path.join(base, "hello")
    shutil.copytree(ex, d)
    env, run_dir = kw.isolated_env(base)
    env.pop("KMOD_WATCH_AGENT", None)
    env.pop("KMOD_WATCH_KIT_SCRIPT", None)
    k = kw.run(kwbin, ["--once", "--accel", "tcg", "--expect", "build A", d], TIMEOUT, run_dir=run_dir,
               env=env, needles=[base])
    t.diag(f"packaged kmod-watch --once → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(k.returncode == 0, f"want exit 0, got {k.returncode}", k)
    kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    # an edit, then --once again: the first build replays (the state kept by the run before),
    # with the packaged kw-hugepages.so preloaded (installed 0644 by dh_fixperms: read, not run)
    so = os.path.join(root, "usr/libexec/kmod-watch/kw-hugepages.so")
    kw.check(os.path.exists(so), "the package lacks /usr/libexec/kmod-watch/kw-hugepages.so")
    hello = os.path.join(d, "hello.c")
    with open(hello) as f:
        text = f.read()
    kw.check("build A" in text, "the packaged hello.c has no 'build A'")
    with open(hello, "w") as f:
        f.write(text.replace("build A", "build B"))
    k = kw.run(kwbin, ["--once", "-vv", "--accel", "tcg", "--expect", "build B", d], TIMEOUT, run_dir=run_dir,
               env=env, needles=[base])
    out = k.output()
    t.diag(f"packaged kmod-watch --once after an edit → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(k.returncode == 0 and "replayed 1 object" in out, f"want a replay and exit 0, got {k.returncode}", k)
    pre = re.search(r"replay: (\S+) preloaded", out)
    kw.check(pre and os.path.realpath(pre.group(1)) == os.path.realpath(so),
             f"the packaged kw-hugepages.so was not preloaded ({pre.group(1) if pre else 'none'})", k)
    kw.cleanup(args, base)


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    for tool in ("dpkg-buildpackage", "dh", "fakeroot"):
        if not shutil.which(tool):
            print(f"1..0 # SKIP {tool} is missing (tests/packages.txt: dpkg-dev, debhelper, fakeroot)")
            return 77
    t = kw.Tap("the Debian package: dpkg-buildpackage, then the packaged kmod-watch")
    work = tempfile.mkdtemp(prefix="kw-e2e-deb-")
    try:
        debs = []
        t.case("dpkg-buildpackage -us -uc -b builds kmod-watch_*.deb", case_build, t, work, debs)
        if debs:
            root = os.path.join(work, "root")
            t.case("the packaged kmod-watch (dpkg -x) loads the packaged example, man page, --version",
                   case_installed, t, debs[0], root, args)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
