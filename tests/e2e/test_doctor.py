#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch doctor: passes on the kit as it is; names CONFIG_9P_FS and exits
non-zero for a kernel config without it (a fake KDIR holding the kit's .config
minus that line); says which modules the guest must load when 9p is =m; and
catches the tutorial's pitfalls for a user's own QEMU: DIR outside the share,
--tag against QEMU_9P_TAG, a relative QEMU_9P_PATH, a missing socket."""

import os
import shutil
import subprocess
import sys
import tempfile

import kw


def doctor(args, extra, env=None):
    r = subprocess.run([args.kmod_watch, "doctor"] + extra, capture_output=True, text=True,
                       env=env, timeout=120)
    lines = r.stdout.splitlines()
    fails = [line for line in lines if line.startswith("FAIL ")]
    return r, lines, fails


def show(r):
    return f"exit {r.returncode}\n--- stdout:\n{r.stdout}--- stderr:\n{r.stderr}"


def clean_env():
    env = dict(os.environ)
    for v in ("QEMU_9P", "QEMU_9P_PATH", "QEMU_9P_TAG", "QEMU_9P_SEC", "CROSS_COMPILE"):
        env.pop(v, None)
    return env


def case_kit(args, arch, d):
    r, lines, fails = doctor(args, ["--arch", arch, d], clean_env())
    kw.check(r.returncode == 0 and not fails, "doctor fails on the kit:\n" + show(r))
    checks = [line for line in lines if line.startswith(("ok   ", "FAIL "))]
    kw.check(len(checks) >= 12, "fewer checks than expected:\n" + show(r))
    for word in ("CONFIG_9P_FS", "CONFIG_NET_9P_VIRTIO", "CONFIG_VIRTIO_CONSOLE", "KVM",
                 "inotify", "make", "QEMU", "guest kit"):
        kw.check(any(word in line for line in checks), f"no check mentions {word}:\n" + show(r))


def fake_kdir(base, kit_config, drop):
    kdir = os.path.join(base, "kdir-" + drop.lower())
    os.makedirs(kdir)
    with open(kit_config) as f, open(os.path.join(kdir, ".config"), "w") as out:
        for line in f:
            if not line.startswith(drop + "="):
                out.write(line)
    open(os.path.join(kdir, "Makefile"), "w").close()
    return kdir


def case_missing_9p(args, arch, d, kit, base):
    kdir = fake_kdir(base, kit["KW_KIT_CONFIG"], "CONFIG_9P_FS")
    r, lines, fails = doctor(args, ["--arch", arch, "--kdir", kdir, d], clean_env())
    kw.check(r.returncode != 0, "doctor passed a config without CONFIG_9P_FS:\n" + show(r))
    kw.check(len(fails) == 1 and "CONFIG_9P_FS" in fails[0] and "fix:" in fails[0],
             "want one FAIL line naming CONFIG_9P_FS with a fix:\n" + show(r))
    # the kit's config has 9p as modules: with --kdir the user's init must load them
    kdir = fake_kdir(base, kit["KW_KIT_CONFIG"], "CONFIG_NOT_A_REAL_SYMBOL")
    r, lines, fails = doctor(args, ["--arch", arch, "--kdir", kdir, d], clean_env())
    kw.check(r.returncode == 0, "doctor fails on the kit's own config under --kdir:\n" + show(r))
    kw.check(any("must load" in line and "9pnet_virtio" in line for line in lines),
             "no line saying which modules the guest must load:\n" + show(r))


def case_connect_pitfalls(args, arch, d, base):
    share = os.path.join(base, "share")
    os.makedirs(share, exist_ok=True)
    sock = os.path.join(base, "no.sock")
    env = clean_env()
    env["QEMU_9P_TAG"] = "hostshare"
    r, lines, fails = doctor(args, ["--arch", arch, "--connect", "unix:" + sock,
                                    "--share", share, "--tag", "other", d], env)
    kw.check(r.returncode == 1, show(r))
    text = "\n".join(fails)
    kw.check("not inside the 9p share" in text, "DIR outside the share not caught:\n" + show(r))
    kw.check("QEMU_9P_TAG=hostshare" in text, "tag mismatch not caught:\n" + show(r))
    kw.check("no socket at " + sock in text, "missing socket not caught:\n" + show(r))
    env = clean_env()
    env["QEMU_9P_PATH"] = os.path.relpath(os.path.dirname(d))
    r, lines, fails = doctor(args, ["--arch", arch, "--connect", "unix:" + sock, d], env)
    kw.check(any("is relative" in f for f in fails), "relative QEMU_9P_PATH not caught:\n" + show(r))


def case_ssh_unreachable(args, d):
    """doctor --ssh to a loopback port nothing listens on: one FAIL line with the fix, exit 1."""
    r, _, fails = doctor(args, ["--ssh", "root@127.0.0.1:1", d], env=clean_env())
    kw.check(r.returncode == 1, f"want exit 1: {show(r)}")
    kw.check(len(fails) == 1 and "cannot reach" in fails[0] and "fix:" in fails[0],
             f"want one FAIL line saying it cannot reach the target: {show(r)}")


def main():
    args = kw.parse_args()
    arch = kw.require_guest(args)
    t = kw.Tap("kmod-watch doctor")
    base = os.path.realpath(tempfile.mkdtemp(prefix="kw-e2e-doctor-"))
    d = os.path.join(base, "mods", "hello")
    shutil.copytree(os.path.join(args.examples, kw.EXAMPLE), d)
    r = subprocess.run([args.kmod_watch, "kit", "path", "--arch", arch],
                       capture_output=True, text=True, check=True)
    kit = {}
    with open(os.path.join(r.stdout.strip(), "kit.env")) as f:
        for line in f:
            if "=" in line:
                k, v = line.strip().split("=", 1)
                kit[k] = v
    try:
        t.case("doctor on the kit: all ok, exit 0", case_kit, args, arch, d)
        t.case("a config without CONFIG_9P_FS: named, exit non-zero; =m modules listed",
               case_missing_9p, args, arch, d, kit, base)
        t.case("--connect pitfalls: outside the share, tag mismatch, no socket, relative path",
               case_connect_pitfalls, args, arch, d, base)
        t.case("--ssh to an unreachable target: one FAIL line with the fix, exit 1",
               case_ssh_unreachable, args, d)
    finally:
        kw.cleanup(args, base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
