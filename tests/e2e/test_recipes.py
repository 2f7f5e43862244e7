#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Build recipes, against a real guest: each fixture of tests/fixtures/recipes
(a Kbuild-only directory; a Makefile hard-coding `uname -r` and M=$(PWD); a
Makefile reading KERNEL_DIR and building in a sub-directory; a dkms.conf with
two modules in sub-directories) builds, loads and prints its line under
`kmod-watch --once`, saying its recipe in one line; `make = …` in .kmod-watch
is --make; a module built for another kernel release is refused on the host
with both releases, never as "bad ELF"."""

import os
import re
import sys

import kw

TIMEOUT = 240
RUN = None


def fixture(name):
    return kw.copy_fixture(f"recipes/{name}", f"recipe-{name}")


def once(t, base, d, extra):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg"] + extra + [d]
    k = kw.run(RUN.kmod_watch, args, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)} → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


RECIPE_LINE = re.compile(r"kmod-watch: building with (--make|dkms\.conf|kbuild|your Makefile)")


def recipe_lines(k):
    return [x for x in k.stderr_lines if RECIPE_LINE.fullmatch(x.strip())]


def case(t, name, recipe, lines, extra=(), settings=None):
    base, d = fixture(name)
    try:
        if settings:
            with open(os.path.join(d, ".kmod-watch"), "w") as f:
                f.write(settings)
        args = list(extra)
        for line in lines:
            args += ["--expect", line]
        k = once(t, base, d, args)
        got = recipe_lines(k)
        t.diag(f"  {got}")
        kw.check(k.returncode == 0, f"want exit 0, got {k.returncode}", k)
        kw.check(len(got) == 1 and got[0].endswith(f"building with {recipe}"),
                 f"want one line 'building with {recipe}', got {got}", k)
    finally:
        kw.cleanup(RUN, base)


def case_vermagic(t):
    """--make builds, then the .ko's vermagic is patched (same length) to another release.
    With --json: the recipe event says --make."""
    base, d = fixture("kbuild-only")
    try:
        cmd = ('make -C "$KDIR" M="$PWD" modules && '
               'sed -i "s/vermagic=$KERNELRELEASE /vermagic=9${KERNELRELEASE#?} /" kw_kbuild_only.ko')
        k = once(t, base, d, ["--json", "--make", cmd, "--expect", "recipe fixture: kbuild-only"])
        out = k.output()
        kw.check(k.returncode == 2, f"want exit 2 (build), got {k.returncode}", k)
        rec = k.events_since(0, "recipe")
        kw.check(len(rec) == 1 and rec[0].get("recipe") == "--make", f"want one recipe event '--make': {rec}", k)
        kw.check(not recipe_lines(k), "the 'building with' line is for people: silent with --json", k)
        kw.check("is built for kernel 9." in out and "but the guest runs 6." in out and "--kdir" in out,
                 "the refusal does not name both releases and --kdir", k)
        kw.check("bad ELF" not in out and "not a kernel module" not in out, "refused as bad ELF", k)
        kw.check(not k.events_since(0, "load"), "it was loaded anyway", k)
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    t = kw.Tap("kmod-watch build recipes (kbuild, your Makefile, dkms.conf, --make, vermagic)")
    t.case("kbuild-only/: a Kbuild file, no Makefile → kbuild", case, t, "kbuild-only", "kbuild",
           ["recipe fixture: kbuild-only"])
    t.case("uname-pwd/: Makefile hard-codes uname -r and M=$(PWD) → kbuild", case, t, "uname-pwd", "kbuild",
           ["recipe fixture: uname-pwd"])
    t.case("kernel-dir/: Makefile reads KERNEL_DIR, builds in src/ → your Makefile", case, t, "kernel-dir",
           "your Makefile", ["recipe fixture: kernel-dir"])
    t.case("dkms-two/: dkms.conf, two modules in sub-directories → dkms.conf", case, t, "dkms-two", "dkms.conf",
           ["recipe fixture: dkms alpha", "recipe fixture: dkms beta"])
    t.case("make = … in .kmod-watch → --make, with KDIR in its environment", case, t, "kernel-dir", "--make",
           ["recipe fixture: kernel-dir"], settings='make = make KERNEL_DIR="$KDIR"\n')
    t.case("a .ko built for another release is refused on the host, both releases named", case_vermagic, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
