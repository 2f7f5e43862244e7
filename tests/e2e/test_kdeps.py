#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""In-kernel dependencies in a real guest (tests/fixtures/):

- needs-crc-itu-t calls crc_itu_t() of the kernel's own module crc-itu-t: the
  agent loads that module first from the guest's /lib/modules/$(uname -r)
  (the kit's tree, shared read-only over 9p) → --once exits 0, the `load`
  event's deps is ["crc_itu_t"], stderr says "loaded in-kernel dependencies".
- the same, interactive: a save reloads the module, the dependency stays
  loaded (not unloaded, not loaded again).
- needs-ecb asks the crypto API for "ecb(aes)": the ecb template (x86_64) or
  aes_ce_blk (arm64) is a module the kernel loads itself through
  request_module() → /sbin/modprobe → the shared tree; the tree is read-only
  in the guest.
- unknown-symbol (depends= blanked after the build) fails to load, and the
  error names crc_itu_t's provider and says nothing provides the other symbol.
- needs-crc-itu-t in a guest without a module tree (the kit's kernel given
  as --kernel: nothing is shared) fails, saying the tree is missing.

--arch arm64 runs the same against the arm64 kit (cross-built fixtures)."""

import os
import re
import shutil
import signal
import subprocess
import sys

import kw

ONCE_TIMEOUT = 300
RUN = None


def copy_fixture(name):
    return kw.copy_fixture(name, f"kdeps-{name}")


def once(t, base, d, extra):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg", "--json"] + kw.arch_args(RUN) + extra + [d]
    k = kw.run(RUN.kmod_watch, args, ONCE_TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(not k.left_behind, "kmod-watch left things behind:\n  " + "\n  ".join(k.left_behind), k)
    kw.check(not k.bad_lines, f"non-JSON stdout lines: {k.bad_lines[:5]}", k)
    return k


def loads(k):
    return [e for e in k.events if e["event"] == "load"]


def case_crc_itu_t(t):
    base, d = copy_fixture("needs-crc-itu-t")
    try:
        k = once(t, base, d, ["--expect", "needs-crc-itu-t: crc 0x31c3",
                              "--run", "grep -q '^crc_itu_t ' /proc/modules"])
        kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
        ld = loads(k)
        kw.check(len(ld) == 1 and ld[0].get("ok") is True, f"load events: {ld}", k)
        kw.check(ld[0].get("deps") == ["crc_itu_t"], f"load.deps is not [\"crc_itu_t\"]: {ld[0]}", k)
        line = "loaded in-kernel dependencies of needs_crc_itu_t: crc_itu_t"
        kw.check(any(line in s for s in k.stderr_lines), f"stderr lacks {line!r}", k)
        t.diag(f"load event: {ld[0]}")
    finally:
        kw.cleanup(RUN, base)


def case_stays_loaded(t):
    """Interactive: a save reloads the module, not its dependency, which stays
    loaded (the second load has nothing to load first)."""
    base, d = copy_fixture("needs-crc-itu-t")
    src = os.path.join(d, "needs-crc-itu-t.c")
    try:
        env, _ = kw.isolated_env(base)
        with kw.KmodWatch(RUN.kmod_watch, ["--json", "--accel", "tcg"] + kw.arch_args(RUN) + [d],
                          env=env, needles=[base]) as k:
            first = k.wait_event("load", timeout=ONCE_TIMEOUT, since=0)
            kw.check(first["ok"] is True and first.get("deps") == ["crc_itu_t"], f"first load: {first}", k)
            m = k.mark()
            with open(src) as f:
                text = f.read()
            kw.check("crc 0x%04x" in text, f"{src} has no 'crc 0x%04x' to change")
            kw.write_file(src, text.replace('"needs-crc-itu-t: crc 0x%04x\\n"', '"needs-crc-itu-t: again 0x%04x\\n"'))
            k.wait_event("kmsg", lambda e: "needs-crc-itu-t: again 0x31c3" in e["text"], timeout=120, since=m)
            again = k.wait_event("load", lambda e: e["ok"] is True, timeout=30, since=m)
            kw.check(again.get("deps") == [], f"the reload loaded dependencies again: {again}", k)
            unloaded = [e["module"] for e in k.events_since(0, "unload")]
            kw.check(unloaded == ["needs_crc_itu_t"], f"unload events: {unloaded}", k)
            status = k.stop(signal.SIGINT, timeout=20)
            kw.check(k.events and k.events[-1]["event"] == "exit", f"no exit event last (status {status})", k)
            unloaded = [e["module"] for e in k.events_since(0, "unload")]
            kw.check("crc_itu_t" not in unloaded, f"crc_itu_t was unloaded: {unloaded}", k)
            left = kw.leftovers(k)
            kw.check(not left, "left behind:\n  " + "\n  ".join(left), k)
    finally:
        kw.cleanup(RUN, base)


def case_request_module(t):
    base, d = copy_fixture("needs-ecb")
    try:
        # x86_64: ecb(aes-generic), the ecb template module; arm64: ecb-aes-ce, from
        # aes_ce_blk (modules.alias: crypto-ecb(aes)): a module request_module loaded either way
        k = once(t, base, d, ["--expect", "needs-ecb: got ecb",
                              "--run", "grep -qE '^(ecb|aes_ce_blk|aes_neon_bs) ' /proc/modules && "
                                       "d=/lib/modules/$(uname -r) && test -f $d/modules.dep && "
                                       "! touch $d/kw-probe 2>/dev/null"])
        kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
        ld = loads(k)
        kw.check(len(ld) == 1 and ld[0].get("ok") is True and ld[0].get("deps") == [],
                 f"load events: {ld}", k)
        got = [e["text"] for e in k.events if e["event"] == "kmsg" and "needs-ecb: got" in e.get("text", "")]
        t.diag(f"kernel: {got}")
    finally:
        kw.cleanup(RUN, base)


def case_unknown_symbol(t):
    base, d = copy_fixture("unknown-symbol")
    try:
        # its Makefile's all: rule edits the .ko after kbuild: that rule is the recipe (--make)
        k = once(t, base, d, ["--make", "make"])
        kw.check(k.returncode == 3, f"expected exit 3 (load failed), got {k.returncode}", k)
        ld = loads(k)
        kw.check(len(ld) == 1 and ld[0].get("ok") is False, f"load events: {ld}", k)
        err = ld[0].get("error", "")
        kw.check("needs crc_itu_t from module crc_itu_t (not loaded: " in err,
                 f"the error does not name crc_itu_t's provider: {err!r}", k)
        kw.check(re.search(r"nothing in /lib/modules/\S+ provides kw_fixture_nowhere", err) is not None,
                 f"the error does not say nothing provides kw_fixture_nowhere: {err!r}", k)
        t.diag(f"error: {err}")
    finally:
        kw.cleanup(RUN, base)


def kit_env():
    path = subprocess.run([RUN.kmod_watch, "kit", "path", "--arch", RUN.arch], capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()
    with open(os.path.join(path, "kit.env")) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line and not line.startswith("#"))


def case_no_tree(t):
    """The kit's kernel given as --kernel/--kdir/--initrd: kmod-watch shares no
    module tree (it fits the kit's kernel only), as with a guest of one's own."""
    env = kit_env()
    base, d = copy_fixture("needs-crc-itu-t")
    try:
        k = once(t, base, d, ["--kernel", env["KW_KIT_KERNEL"], "--kdir", env["KW_KIT_KDIR"],
                              "--initrd", env["KW_KIT_INITRD"]])
        kw.check(k.returncode == 3, f"expected exit 3 (load failed), got {k.returncode}", k)
        err = (loads(k) or [{}])[0].get("error", "")
        kw.check(re.search(r"it needs in-kernel modules \(crc-itu-t\), but this guest has no "
                           r"/lib/modules/\S+/modules.dep to load them from", err) is not None,
                 f"the error does not say the module tree is missing: {err!r}", k)
        t.diag(f"error: {err}")
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    if shutil.which("perl") is None:
        kw.skip("perl is not installed (the unknown-symbol fixture's Makefile uses it)")
    t = kw.Tap(f"in-kernel dependencies ({RUN.arch})")
    t.case("needs-crc-itu-t --once: crc-itu-t loaded first, load.deps == [crc_itu_t], exit 0",
           case_crc_itu_t, t)
    t.case("needs-crc-itu-t interactive: a save reloads the module only, crc_itu_t stays loaded",
           case_stays_loaded, t)
    t.case("needs-ecb --once: request_module loads a crypto module via /sbin/modprobe, tree read-only",
           case_request_module, t)
    t.case("unknown-symbol --once: exit 3, the error names crc_itu_t's provider and says nothing "
           "provides kw_fixture_nowhere", case_unknown_symbol, t)
    t.case("needs-crc-itu-t with --kernel (no module tree in the guest): exit 3, the error says the "
           "tree is missing", case_no_tree, t)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
