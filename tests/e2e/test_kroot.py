#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""--kernel-root ROOT and --host-kernel: a guest booted from a kernel installed
in a tree, the way a distribution installs it, and built against that tree's
headers. Nothing is installed on the host.

ROOT is made the way dpkg would install Debian's kernel: linux-image-R (the
signed image), linux-headers-R, its -common headers and linux-kbuild, fetched
with `apt-get download` (kept in ~/.cache/kmod-watch/kernel-root-debs/R) and
unpacked with `dpkg-deb -x` onto a merged /usr (lib -> usr/lib, as Debian 12
has it), then `depmod -b ROOT R` as the image's postinst runs it. Its
lib/modules/R/build is Debian's absolute link to /usr/src/linux-headers-R,
whose Makefile includes the -common one by absolute path: both must be taken
under ROOT, not the host (which has neither). R is the kit's release (the
packages apt has now). Each kmod-watch runs with its own XDG_CACHE_HOME, so
the kit it makes from ROOT is the test's.

1. needs-crc-itu-t --kernel-root ROOT --once: built against ROOT's headers,
   booted from ROOT's image with an initramfs of ROOT's virtio/9p modules, its
   in-kernel dependency crc_itu_t loaded from ROOT's modules (shared read-only):
   exit 0, the printk, load.deps ["crc_itu_t"]; `doctor --kernel-root ROOT` says
   what it uses. The kit made in the cache
   points into ROOT (no copy of the modules or headers: under 100 MB). The kit
   script again: the same kit, not rebuilt; modules.dep touched: rebuilt.
   The same with Debian's 6.12 (linux-image-6.12-amd64's release, from
   bookworm-security): its modules are .ko.xz; the initramfs holds 9p.ko &c.
   decompressed, and the guest kernel loads crc-itu-t.ko.xz itself.
2. What ROOT lacks, one line each, exit 5, no QEMU: several kernels (both
   named, --kernel-release said); no modules.dep (the depmod line); no headers;
   a kernel without 9p (ROOT's 9p modules removed and depmod run again: the
   config line CONFIG_9P_FS=m named).
3. The image unreadable (chmod 000) for the unprivileged user kwtest (made by
   scripts/setup; tests run as root, who reads everything): the `sudo chmod
   0644 …/boot/vmlinuz-R` line, exit 5.
4. --host-kernel on a host whose kernel is not installed (this one, a
   Firecracker kernel: no /boot image, no /lib/modules/$(uname -r)): one line
   naming the release and what is missing, exit 5, no QEMU; doctor's FAIL
   line with the fix.

Skips (77) without a kit, apt-get/dpkg-deb/depmod, or not on x86_64."""

import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

import kw

RUN = None
ONCE_TIMEOUT = 300
USER = "kwtest"
STATE = {}


def deb_cache(rel):
    x = os.environ.get("XDG_CACHE_HOME", "")
    base = x if x.startswith("/") else os.path.expanduser("~/.cache")
    return os.path.join(base, "kmod-watch", "kernel-root-debs", rel)


def kit_release():
    path = subprocess.run([RUN.kmod_watch, "kit", "path"], capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()
    with open(os.path.join(path, "kit.env")) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)["KW_KIT_RELEASE"]


def apt_depends(pkg):
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True, text=True)
    kw.check(r.returncode == 0 and r.stdout, f"apt-cache show {pkg}: {r.stderr.strip()}")
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("Depends: ")), "Depends: ")
    return [re.split(r"[ :(]", d.strip())[0] for d in re.split(r"[,|]", line[9:]) if d.strip()]


def debian_root(rel, root):
    """Debian's kernel rel in root as dpkg installs it (see the top)."""
    deps = apt_depends(f"linux-headers-{rel}")
    common = [d for d in deps if re.fullmatch(r"linux-headers-.*-common", d)]
    kbuild = [d for d in deps if d.startswith("linux-kbuild-")]
    kw.check(common and kbuild, f"linux-headers-{rel} depends on no -common or linux-kbuild: {deps}")
    pkgs = [f"linux-image-{rel}", f"linux-headers-{rel}", common[0], kbuild[0]]
    cache = deb_cache(rel)
    os.makedirs(cache, exist_ok=True)
    missing = [p for p in pkgs if not glob.glob(os.path.join(cache, f"{p}_*.deb"))]
    if missing:
        sandbox = ["-o", "APT::Sandbox::User=root"] if os.geteuid() == 0 else []
        r = subprocess.run(["apt-get", "-qq"] + sandbox + ["download"] + missing, cwd=cache,
                           capture_output=True, text=True)
        kw.check(r.returncode == 0, f"apt-get download {' '.join(missing)}: {r.stderr.strip()}")
    for p in pkgs:
        deb = glob.glob(os.path.join(cache, f"{p}_*.deb"))[0]
        r = subprocess.run(["dpkg-deb", "-x", deb, root], capture_output=True, text=True)
        kw.check(r.returncode == 0, f"dpkg-deb -x {deb}: {r.stderr.strip()}")
    # merged /usr, as Debian 12 installs: the package's lib/ lands in usr/lib
    os.makedirs(os.path.join(root, "usr", "lib"), exist_ok=True)
    for n in os.listdir(os.path.join(root, "lib")):
        os.rename(os.path.join(root, "lib", n), os.path.join(root, "usr", "lib", n))
    os.rmdir(os.path.join(root, "lib"))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    r = subprocess.run(["depmod", "-b", root, rel], capture_output=True, text=True)
    kw.check(r.returncode == 0, f"depmod -b {root} {rel}: {r.stderr.strip()}")
    build = os.readlink(os.path.join(root, "lib", "modules", rel, "build"))
    kw.check(build == f"/usr/src/linux-headers-{rel}", f"lib/modules/{rel}/build -> {build}, not Debian's absolute link")
    kw.check(not os.path.exists(build), f"{build} exists on this host: the test would not prove the link is taken under ROOT")
    return pkgs


def env_with_cache(base):
    env, run_dir = kw.isolated_env(base)
    env["XDG_CACHE_HOME"] = os.path.join(base, "cache")
    return env, run_dir


def once(t, base, d, extra, env=None):
    env2, run_dir = env_with_cache(base)
    args = ["--once", "--accel", "tcg", "--json"] + extra + [d]
    k = kw.run(RUN.kmod_watch, args, ONCE_TIMEOUT, run_dir=run_dir, env=env or env2, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(not k.left_behind, "kmod-watch left things behind:\n  " + "\n  ".join(k.left_behind), k)
    return k


def kit_script():
    return os.path.join(os.path.dirname(os.path.dirname(RUN.kmod_watch)), "kit", "kmod-watch-kit")


def read_env(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)


def boot_tree(t, root, rel, tag):
    """needs-crc-itu-t --once against ROOT: exit 0, the printk, crc_itu_t loaded
    first from ROOT's modules; the kit made points into ROOT. (base, kit dir, kit.env)"""
    base, d = kw.copy_fixture("needs-crc-itu-t", tag)
    try:
        return base, *check_tree(t, base, d, root, rel)
    except BaseException:
        kw.cleanup(RUN, base)
        raise


def check_tree(t, base, d, root, rel):
    k = once(t, base, d, ["--kernel-root", root, "--expect", "needs-crc-itu-t: crc 0x31c3",
                          "--run", "grep -q '^crc_itu_t ' /proc/modules && test -f /lib/modules/$(uname -r)/modules.dep"])
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    ready = [e for e in k.events if e["event"] == "ready"]
    kw.check(ready and ready[0].get("kernel_release") == rel, f"ready events: {ready}", k)
    ld = [e for e in k.events if e["event"] == "load"]
    kw.check(len(ld) == 1 and ld[0].get("ok") is True and ld[0].get("deps") == ["crc_itu_t"],
             f"load events: {ld}", k)
    kits = glob.glob(os.path.join(base, "cache", "kmod-watch", "kits", "*", f"root-*-{rel}"))
    kw.check(len(kits) == 1, f"kits made: {kits}", k)
    env = read_env(os.path.join(kits[0], "kit.env"))
    real = os.path.realpath(root)
    kw.check(env["KW_KIT_MODULES"] == os.path.join(real, "usr", "lib", "modules", rel),
             f"KW_KIT_MODULES is {env['KW_KIT_MODULES']}, not ROOT's (resolved) lib/modules/{rel}", k)
    kw.check(env["KW_KIT_CONFIG"].startswith(real + "/"), f"KW_KIT_CONFIG {env['KW_KIT_CONFIG']}", k)
    with open(os.path.join(env["KW_KIT_KDIR"], "Makefile")) as f:
        mk = f.read()
    kw.check(f"include {real}/usr/src/" in mk, f"the kit's KDIR Makefile does not include ROOT's: {mk!r}", k)
    size = sum(os.path.getsize(os.path.join(p, n)) for p, _, ns in os.walk(kits[0]) for n in ns
               if not os.path.islink(os.path.join(p, n)))
    kw.check(size < 100 << 20, f"the kit holds {size >> 20} MB: a copy of the tree?", k)
    t.diag(f"kit {kits[0]}: {size >> 20} MB, KDIR {env['KW_KIT_KDIR']}, kernel {env['KW_KIT_KERNEL']}")
    return kits[0], env


def doctor(args, d):
    r = subprocess.run([RUN.kmod_watch, "doctor"] + args + [d], capture_output=True, text=True, timeout=120)
    return r.returncode, [ln for ln in r.stdout.splitlines() if "guest kernel from" in ln]


def case_tree(t):
    root, rel = STATE["root"], STATE["rel"]
    base, kit, _ = boot_tree(t, root, rel, "kroot")
    try:
        rc, lines = doctor(["--kernel-root", root], os.path.join(base, "needs-crc-itu-t"))
        kw.check(len(lines) == 1 and lines[0].startswith(f"ok   guest kernel from {root}: {rel}: image "),
                 f"doctor --kernel-root: exit {rc}, {lines}")
        t.diag(f"doctor: {lines[0]}")
        # the script again: up to date; then ROOT's modules change: made again
        senv, _ = env_with_cache(base)
        r = subprocess.run([kit_script(), "from-root", root], capture_output=True, text=True, env=senv)
        kw.check(r.returncode == 0 and r.stdout.strip() == kit and "building" not in r.stderr,
                 f"from-root again: exit {r.returncode}, {r.stdout!r} {r.stderr!r}")
        os.utime(os.path.join(root, "lib", "modules", rel, "modules.dep"))
        r = subprocess.run([kit_script(), "from-root", root], capture_output=True, text=True, env=senv)
        kw.check(r.returncode == 0 and r.stdout.strip() == kit and "building the initramfs" in r.stderr,
                 f"from-root after modules.dep changed: exit {r.returncode}, {r.stdout!r} {r.stderr!r}")
    finally:
        kw.cleanup(RUN, base)


def case_compressed(t):
    """Debian's 6.12 (bookworm-backports/security) ships its modules as .ko.xz:
    the initramfs holds them decompressed (busybox's insmod), the guest kernel
    (CONFIG_MODULE_DECOMPRESS) loads crc-itu-t.ko.xz itself."""
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", "linux-image-6.12-amd64"],
                       capture_output=True, text=True)
    dep = re.search(r"^Depends: linux-image-(\S+)", r.stdout, re.M)
    if r.returncode != 0 or not dep:
        t.diag("apt knows no linux-image-6.12-amd64 (bookworm-security or -backports): skipped")
        return
    rel = dep.group(1)
    root = os.path.join(os.path.dirname(STATE["root"]), "root-6.12")
    debian_root(rel, root)
    with open(os.path.join(root, "lib", "modules", rel, "modules.dep")) as f:
        dep_lines = f.read()
    kw.check(re.search(r"/crc-itu-t\.ko\.xz:", dep_lines) and re.search(r"/9p\.ko\.xz:", dep_lines),
             f"{rel}'s crc-itu-t and 9p are not .ko.xz: nothing compressed to prove")
    base, kit, _ = boot_tree(t, root, rel, "kroot-xz")
    try:
        listing = subprocess.run(f"zcat '{kit}/initramfs.cpio.gz' | cpio -it --quiet", shell=True,
                                 capture_output=True, text=True).stdout.split()
        kw.check("lib/modules/9p.ko" in listing and not [n for n in listing if n.endswith(".xz")],
                 f"the initramfs does not hold 9p.ko decompressed: {[n for n in listing if 'lib/modules' in n]}")
    finally:
        kw.cleanup(RUN, base)


def fails(t, base, d, extra, want, env=None):
    """kmod-watch --once fails before any QEMU: exit 5 and the one line."""
    k = once(t, base, d, extra, env)
    kw.check(k.returncode == 5, f"expected exit 5 (no guest), got {k.returncode}", k)
    kw.check(not k.seen_qemus, "a QEMU was started", k)
    lines = [s for s in k.stderr_lines if s.strip()]
    kw.check(len(lines) == 1 and all(w in lines[0] for w in want),
             f"want one line with {want}, stderr: {lines}", k)
    t.diag(lines[0])


def case_lacks(t):
    root, rel = STATE["root"], STATE["rel"]
    base, d = kw.copy_fixture("needs-crc-itu-t", "kroot-lacks")
    try:
        two = os.path.join(base, "two")
        for r in ("6.1.0-1-amd64", "6.1.0-2-amd64"):
            os.makedirs(os.path.join(two, "lib", "modules", r, "kernel"))
        fails(t, base, d, ["--kernel-root", two], ["6.1.0-1-amd64, 6.1.0-2-amd64", "--kernel-release"])
        fails(t, base, d, ["--kernel-root", two, "--kernel-release", "6.1.0-3-amd64"],
              ["no kernel 6.1.0-3-amd64", "6.1.0-1-amd64, 6.1.0-2-amd64"])
        # a copy of ROOT (hard links), made to lack one thing at a time
        lean = os.path.join(base, "lean")
        subprocess.run(["cp", "-al", root, lean], check=True)
        mods = os.path.join(lean, "usr", "lib", "modules", rel)
        os.rename(os.path.join(mods, "modules.dep"), os.path.join(mods, "modules.dep.off"))
        fails(t, base, d, ["--kernel-root", lean], ["has no modules.dep", f"depmod -b {lean} {rel}"])
        os.rename(os.path.join(mods, "modules.dep.off"), os.path.join(mods, "modules.dep"))
        hdr = os.path.join(lean, "usr", "src", f"linux-headers-{rel}")
        os.rename(hdr, hdr + ".off")
        fails(t, base, d, ["--kernel-root", lean], [f"no headers for {rel}", f"linux-headers-{rel}"])
        os.rename(hdr + ".off", hdr)
        shutil.rmtree(os.path.join(mods, "kernel", "fs", "9p"))
        subprocess.run(["depmod", "-b", lean, rel], check=True)
        fails(t, base, d, ["--kernel-root", lean], ["has no 9p", "CONFIG_9P_FS=m"])
    finally:
        kw.cleanup(RUN, base)


def case_unreadable(t):
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        t.diag(f"no user {USER} (scripts/setup makes it): the image's mode checked as root is meaningless; skipped")
        return
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        t.diag("not root or no setpriv: skipped")
        return
    root, rel = STATE["root"], STATE["rel"]
    base, d = kw.copy_fixture("needs-crc-itu-t", "kroot-mode")
    image = os.path.join(root, "boot", f"vmlinuz-{rel}")
    try:
        os.chmod(base, 0o755)
        for p, ds, fs in os.walk(base):
            for n in ds + fs + [""]:
                os.lchown(os.path.join(p, n), pw.pw_uid, pw.pw_gid)
        os.chmod(image, 0)
        env, run_dir = env_with_cache(base)
        env.update(HOME=base, USER=USER, LOGNAME=USER)
        k = kw.KmodWatch("setpriv", [f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--",
                                     RUN.kmod_watch, "--once", "--accel", "tcg", "--json",
                                     "--kernel-root", root, d], env=env, cwd=base, needles=[base])
        with k:
            rc = k.wait_exit(120)
        lines = [s for s in k.stderr_lines if s.strip()]
        kw.check(rc == 5 and not k.seen_qemus, f"as {USER}: exit {rc}, want 5 and no QEMU", k)
        kw.check(len(lines) == 1 and f"not readable by {USER}" in lines[0]
                 and lines[0].endswith(f"sudo chmod 0644 {image}"), f"stderr: {lines}", k)
        t.diag(lines[0])
    finally:
        os.chmod(image, 0o644)
        kw.cleanup(RUN, base)


def case_host_kernel(t):
    rel = os.uname().release
    if os.path.exists(f"/lib/modules/{rel}") or os.path.exists(f"/boot/vmlinuz-{rel}"):
        t.diag(f"this host has its kernel {rel} installed: the missing-kernel line is not what it gets; skipped")
        return
    base, d = kw.copy_fixture("needs-crc-itu-t", "kroot-host")
    try:
        fails(t, base, d, ["--host-kernel"], [f"kernel {rel} is not installed in /",
                                              f"/boot/vmlinuz-{rel}", f"/lib/modules/{rel}"])
        rc, lines = doctor(["--host-kernel"], d)
        kw.check(rc == 1 and len(lines) == 1 and lines[0].startswith(f"FAIL guest kernel from /: kernel {rel} is not")
                 and lines[0].endswith("— fix: use the default kit (no --host-kernel or --kernel-root)"),
                 f"doctor --host-kernel: exit {rc}, {lines}")
        t.diag(f"doctor: {lines[0]}")
    finally:
        kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    if RUN.arch != "x86_64" or kw.host_arch()[0] != "x86_64":
        kw.skip("the Debian tree used here is amd64's")
    kw.require_guest(RUN)
    for tool in ("apt-get", "apt-cache", "dpkg-deb", "depmod"):
        if shutil.which(tool) is None:
            kw.skip(f"{tool} is not installed")
    t = kw.Tap("--kernel-root / --host-kernel")
    work = os.path.realpath(tempfile.mkdtemp(prefix="kw-e2e-kroot-tree-"))
    os.chmod(work, 0o755)
    try:
        STATE["rel"] = kit_release()
        STATE["root"] = os.path.join(work, "root")

        def setup():
            pkgs = debian_root(STATE["rel"], STATE["root"])
            t.diag(f"ROOT {STATE['root']}: {', '.join(pkgs)}")
        if not t.case("ROOT: Debian's kernel unpacked as dpkg installs it (absolute build link, merged /usr)", setup):
            return t.done()
        t.case("needs-crc-itu-t --kernel-root ROOT --once: exit 0, crc_itu_t from ROOT's modules, "
               "the kit points into ROOT, made again when ROOT changes", case_tree, t)
        t.case("Debian's 6.12 tree, modules .ko.xz: decompressed into the initramfs, crc-itu-t.ko.xz loaded "
               "by the guest kernel, exit 0", case_compressed, t)
        t.case("what ROOT lacks (several kernels, modules.dep, headers, 9p): one line, exit 5",
               case_lacks, t)
        t.case(f"an image {USER} cannot read: the chmod line, exit 5", case_unreadable, t)
        t.case("--host-kernel on a host without its kernel installed: one line, exit 5", case_host_kernel, t)
    finally:
        if not RUN.keep:
            shutil.rmtree(work, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
