#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Real third-party modules, as Debian ships them: `*-dkms` source packages,
fetched with `apt-get download` and unpacked with `dpkg-deb -x` (never
installed; cached under ~/.cache/kmod-watch/dkms), each built as it is under
`kmod-watch --once` against the guest and loaded, one guest per package (about
15 s each once the sources are cached): part of the e2e suite, and alone as
`meson test -C build --suite dkms`.

  vpoll-dkms      dkms.conf (MAKE[0] with $dkms_tree)          loads, prints "vpoll: loaded"
  acpi-call-dkms  dkms.conf (MAKE[0] with $dkms_tree)          loads
  bbswitch-dkms   dkms.conf without MAKE (DKMS's default)      builds; its init refuses
                                                               without an Optimus GPU (ENODEV)
  ddcci-dkms      its MAKE[0] hard-codes /lib/modules/$(KVER)/build in sub-makes:
                  --make 'make KDIR="$KDIR"'                   both modules load, in order
  v4l2loopback-dkms  dkms.conf; needs videodev (and mc) from the kernel's tree: loaded first
  dm-writeboost-dkms dkms.conf; needs dm-mod and libcrc32c (softdep crc32c): loaded first"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import kw

TIMEOUT = 300
RUN = None
RECIPE_LINE = re.compile(r"kmod-watch: building with (--make|dkms\.conf|kbuild|your Makefile)")


def cache_dir():
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = xdg if xdg and os.path.isabs(xdg) else os.path.join(os.path.expanduser("~"), ".cache")
    d = os.path.join(root, "kmod-watch", "dkms")
    os.makedirs(d, exist_ok=True)
    return d


def source_of(pkg):
    """The package's /usr/src/NAME-VERSION, unpacked once into the cache."""
    cache = cache_dir()
    tree = os.path.join(cache, pkg)
    srcs = glob.glob(os.path.join(tree, "usr", "src", "*", "dkms.conf"))
    if not srcs:
        debs = glob.glob(os.path.join(cache, f"{pkg}_*.deb"))
        if not debs:
            r = subprocess.run(["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                raise kw.KWError(f"apt-get download {pkg} failed: {r.stderr.strip()[-300:]}")
            debs = glob.glob(os.path.join(cache, f"{pkg}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", debs[0], tree], check=True, timeout=120)
        srcs = glob.glob(os.path.join(tree, "usr", "src", "*", "dkms.conf"))
    if not srcs:
        raise kw.KWError(f"{pkg} has no /usr/src/*/dkms.conf")
    return os.path.dirname(srcs[0])


def fresh_copy(pkg):
    src = source_of(pkg)
    base = os.path.realpath(tempfile.mkdtemp(prefix=f"kw-e2e-dkms-{pkg}-"))
    d = os.path.join(base, os.path.basename(src))
    shutil.copytree(src, d)
    return base, d


def once(t, pkg, extra, recipe, status):
    base, d = fresh_copy(pkg)
    try:
        env, run_dir = kw.isolated_env(base)
        args = ["--once", "--accel", "tcg"] + list(extra) + [d]
        k = kw.run(RUN.kmod_watch, args, TIMEOUT, run_dir=run_dir, env=env, needles=[base], json_mode=False)
        lines = [x for x in k.stderr_lines if RECIPE_LINE.fullmatch(x.strip())]
        t.diag(f"$ kmod-watch {' '.join(args)} → exit {k.returncode} in {k.elapsed:.1f} s; {lines}")
        kw.check(len(lines) == 1 and lines[0].endswith(f"building with {recipe}"),
                 f"want one line 'building with {recipe}', got {lines}", k)
        kw.check(k.returncode == status, f"want exit {status}, got {k.returncode}", k)
        return k
    finally:
        kw.cleanup(RUN, base)


def case_vpoll(t):
    once(t, "vpoll-dkms", ["--expect", "vpoll: loaded"], "dkms.conf", 0)


def case_acpi_call(t):
    k = once(t, "acpi-call-dkms", [], "dkms.conf", 0)
    kw.check("acpi_call loaded" in k.output(), "acpi_call was not loaded", k)


def case_bbswitch(t):
    k = once(t, "bbswitch-dkms", ["--expect", "bbswitch: version"], "dkms.conf", 3)
    out = k.output()
    kw.check("build failed" not in out and "loading bbswitch failed" in out and "ENODEV" in out,
             "want a build that works and an init that refuses with ENODEV (no Optimus GPU)", k)


def case_ddcci(t):
    k = once(t, "ddcci-dkms", ["--make", 'make KDIR="$KDIR"'], "--make", 0)
    kw.check("ddcci, ddcci_backlight loaded" in k.output(), "want ddcci then ddcci_backlight loaded", k)


def case_v4l2loopback(t):
    k = once(t, "v4l2loopback-dkms", [], "dkms.conf", 0)
    kw.check("loaded in-kernel dependencies of v4l2loopback: mc, videodev" in k.output(),
             "videodev was not loaded first", k)


def case_dm_writeboost(t):
    k = once(t, "dm-writeboost-dkms", [], "dkms.conf", 0)
    out = k.output()
    kw.check("loaded in-kernel dependencies of dm_writeboost:" in out and "dm_mod" in out and "libcrc32c" in out,
             "dm_mod and libcrc32c were not loaded first", k)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    if RUN.arch != "x86_64":
        kw.skip("the packages are tried on x86_64 guests")
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        kw.skip("no apt-get/dpkg-deb (a Debian host fetches the *-dkms sources)")
    t = kw.Tap("kmod-watch on Debian's *-dkms sources, as they are")
    t.case("vpoll-dkms: dkms.conf → loads, prints its line", case_vpoll, t)
    t.case("acpi-call-dkms: dkms.conf → loads", case_acpi_call, t)
    t.case("bbswitch-dkms: dkms.conf without MAKE (DKMS's default) → builds; init says ENODEV", case_bbswitch, t)
    t.case("ddcci-dkms: --make 'make KDIR=\"$KDIR\"' → two modules from sub-makes load", case_ddcci, t)
    t.case("v4l2loopback-dkms: dkms.conf → videodev loaded first, then it", case_v4l2loopback, t)
    t.case("dm-writeboost-dkms: dkms.conf → dm_mod, libcrc32c loaded first, then it", case_dm_writeboost, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
