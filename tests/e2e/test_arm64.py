#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""arm64 on an x86_64 host: the module is cross-built (ARCH=arm64
CROSS_COMPILE=aarch64-linux-gnu-) against the arm64 kit's headers and loaded
in a real arm64 guest (qemu-system-aarch64 -M virt, TCG); a .ko of the wrong
architecture is refused on the host, naming both."""

import os
import shutil
import subprocess
import sys
import tempfile

import kw

TIMEOUT = 240
EM_AARCH64 = 183
EM_X86_64 = 62


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    kw.check(head[:4] == b"\x7fELF", f"{path} is not an ELF file")
    return int.from_bytes(head[18:20], "little")


def case_once(t, args):
    base, d = kw.copy_example(args, "arm64-once")
    env, run_dir = kw.isolated_env(base)
    cmd = ["--once", "--json", "--arch", "arm64", "--expect", "build A", d]
    k = kw.run(args.kmod_watch, cmd, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(cmd)} → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    ready = k.events_since(0, "ready")
    kw.check(ready and ready[0]["arch"] == "aarch64", f"ready should say aarch64: {ready}", k)
    loads = k.events_since(0, "load", lambda e: e["ok"] is True)
    kw.check(loads, "no successful load event", k)
    m = elf_machine(os.path.join(d, "hello.ko"))
    kw.check(m == EM_AARCH64, f"hello.ko has e_machine {m}, want {EM_AARCH64} (AArch64)", k)
    kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    kw.cleanup(args, base)


def case_wrong_arch(t, args):
    """An x86_64 .ko in a directory whose build does nothing (--make: a Makefile
    with obj-m is built by kbuild itself, for arm64): --arch arm64 must refuse it
    before sending it, naming both architectures."""
    base, d = kw.copy_example(args, "arm64-wrong")
    kdir = subprocess.run([args.kmod_watch, "kit", "path", "--arch", kw.host_arch()[0]],
                          capture_output=True, text=True, check=True).stdout.strip() + "/kdir"
    subprocess.run(["make", "-s", "-C", kdir, f"M={d}", "modules"], check=True,
                   capture_output=True)
    kw.check(elf_machine(os.path.join(d, "hello.ko")) == EM_X86_64, "setup: not an x86_64 .ko")
    with open(os.path.join(d, "Makefile"), "w") as f:
        f.write("obj-m += hello.o\nall:\n\t@echo prebuilt\n")
    env, run_dir = kw.isolated_env(base)
    cmd = ["--once", "--arch", "arm64", "--make", "make", "--expect", "build A", d]
    k = kw.run(args.kmod_watch, cmd, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    out = k.output()
    t.diag(f"exit {k.returncode}; " + " | ".join(ln for ln in out.splitlines() if "built for" in ln))
    kw.check(k.returncode != 0, "a wrong-architecture module was accepted", k)
    kw.check(any("x86_64" in ln and "aarch64" in ln for ln in out.splitlines()),
             "no one-line error naming both x86_64 and aarch64", k)
    kw.check("9p iter" not in out, "the module was loaded anyway", k)
    kw.cleanup(args, base)


def newc_entries(data):
    """(name, mode, bytes) of every entry of concatenated newc archives."""
    out, off = [], 0
    while off + 110 <= len(data):
        if data[off:off + 6] != b"070701":
            off += 1  # padding between archives
            continue
        h = data[off:off + 110]
        mode = int(h[14:22], 16)
        size = int(h[54:62], 16)
        nsize = int(h[94:102], 16)
        name = data[off + 110:off + 110 + nsize - 1].decode()
        doff = (off + 110 + nsize + 3) & ~3
        out.append((name, mode, data[doff:doff + size]))
        off = (doff + size + 3) & ~3
    return out


def case_inject_arm64(t, args):
    import gzip
    base = tempfile.mkdtemp(prefix="kw-e2e-inject-arm64-")
    try:
        root = os.path.join(base, "root")
        os.makedirs(os.path.join(root, "bin"))
        kw.write_file(os.path.join(root, "init"), "#!/bin/sh\necho the user's init\n")
        r = subprocess.run("find . | cpio -o -H newc --quiet | gzip -n > ../in.cpio.gz", shell=True,
                           cwd=root, capture_output=True, text=True)
        kw.check(r.returncode == 0, f"making the user's initramfs: {r.stderr}")
        inp, outp = os.path.join(base, "in.cpio.gz"), os.path.join(base, "out.cpio.gz")
        r = subprocess.run([args.kmod_watch, "inject-agent", "--arch", "arm64", inp, outp],
                           capture_output=True, text=True)
        kw.check(r.returncode == 0, f"inject-agent exited {r.returncode}: {r.stderr}")
        with open(inp, "rb") as f:
            theirs = f.read()
        with open(outp, "rb") as f:
            ours = f.read()
        kw.check(ours.startswith(theirs), "the user's archive was not kept byte for byte")
        entries = newc_entries(gzip.decompress(ours))
        names = [n for n, _, _ in entries]
        kw.check("init" in names, f"the user's /init is gone: {names}")
        agents = [b for n, m, b in entries if n.endswith("kmod-agent") and b]
        kw.check(len(agents) == 1, f"want one kmod-agent in the archive, names: {names}")
        elf = agents[0]
        kw.check(elf[:4] == b"\x7fELF" and int.from_bytes(elf[18:20], "little") == EM_AARCH64,
                 "the injected agent is not an AArch64 ELF")
        phoff = int.from_bytes(elf[0x20:0x28], "little")
        phentsize = int.from_bytes(elf[0x36:0x38], "little")
        phnum = int.from_bytes(elf[0x38:0x3a], "little")
        types = [int.from_bytes(elf[phoff + i * phentsize:phoff + i * phentsize + 4], "little")
                 for i in range(phnum)]
        kw.check(3 not in types, "the injected agent has a PT_INTERP: not static")
        t.diag(f"agent {len(elf)} bytes, AArch64, static; archive {len(theirs)} + {len(ours) - len(theirs)} bytes")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


def kit_env(args, arch):
    d = subprocess.run([args.kmod_watch, "kit", "path", "--arch", arch], capture_output=True, text=True,
                       check=True).stdout.strip()
    env = {}
    with open(os.path.join(d, "kit.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


def case_own_kernel(t, args):
    """Your own tree: --kernel IMAGE --kdir TREE (--initrd) instead of the kit
    (here the arm64 kit's files, passed explicitly, stand in for a user's
    out/build_latest_arm64)."""
    kit = kit_env(args, "arm64")
    base, d = kw.copy_example(args, "arm64-own")
    env, run_dir = kw.isolated_env(base)
    cmd = ["--once", "--json", "--arch", "arm64", "--kernel", kit["KW_KIT_KERNEL"], "--initrd",
           kit["KW_KIT_INITRD"], "--kdir", kit["KW_KIT_KDIR"], "--expect", "build A", d]
    k = kw.run(args.kmod_watch, cmd, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"--kernel/--kdir/--initrd → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check(elf_machine(os.path.join(d, "hello.ko")) == EM_AARCH64, "hello.ko is not AArch64", k)
    kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    kw.cleanup(args, base)


def main():
    args = kw.parse_args()
    args.arch = "arm64"
    kw.require_guest(args)
    t = kw.Tap("kmod-watch --arch arm64")
    t.case("--arch arm64 --once --expect 'build A' → exit 0, hello.ko is AArch64", case_once, t, args)
    t.case("an x86_64 .ko with --arch arm64 → refused on the host, both arches named",
           case_wrong_arch, t, args)
    t.case("--arch arm64 --kernel IMAGE --kdir TREE --initrd CPIO → exit 0", case_own_kernel, t, args)
    t.case("inject-agent --arch arm64: the user's archive kept, the agent a static AArch64 ELF",
           case_inject_arm64, t, args)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
