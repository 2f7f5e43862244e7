# SPDX-License-Identifier: GPL-2.0-only
"""sshguest.py — SSH targets for the --ssh end-to-end tests (stdlib only).

SshGuest boots a QEMU guest from the kit's kernel with an initramfs this
module builds from the kit's own: the kit's busybox and modules, plus
virtio_net and its dependencies (resolved from the kit's modules.dep),
Debian's dropbear (with the shared libraries ldd names and the dynamic
loader) and OpenSSH's sftp-server, a host key and an authorized key for root,
and an /init that brings eth0 up (QEMU user networking, 10.0.2.15/24) and
runs dropbear in a respawn loop. The guest has no 9p share and no
virtio-serial port: SSH is its only way in, and port 22 is forwarded to
127.0.0.1:PORT on the host.

Options make the other kinds of board: no sftp-server (sftp=False), users
with passwords or none (shadow lines: password_hash() makes the hash), and
dropbear's own options (-s: no passwords, the default; -B: empty passwords
allowed).

HostSshd runs a host dropbear on 127.0.0.1 that lets nobody in (no root, no
passwords): enough to test host key checking and refused logins.

Both are context managers that kill what they started.
"""

import os
import re
import shutil
import socket
import subprocess
import time

import kw

DROPBEAR = "/usr/sbin/dropbear"
DROPBEARKEY = "/usr/bin/dropbearkey"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
READY = "kw-ssh-guest: sshd started"


def tools_missing():
    """What this module needs on the host and does not find (names for a skip)."""
    need = {DROPBEAR: "dropbear-bin", DROPBEARKEY: "dropbear-bin",
            SFTP_SERVER: "openssh-sftp-server"}
    missing = sorted({pkg for path, pkg in need.items() if not os.access(path, os.X_OK)})
    for tool, pkg in (("ssh-keygen", "openssh-client"), ("ssh", "openssh-client"),
                      ("cpio", "cpio"), ("ldd", "libc-bin")):
        if shutil.which(tool) is None:
            missing.append(pkg)
    return sorted(set(missing))


def require(run):
    """The guest's arch, after skipping (77) where these guests cannot run."""
    arch = kw.require_guest(run)
    if arch != "x86_64":
        kw.skip("the SSH guest is built for x86_64 only")
    missing = tools_missing()
    if missing:
        kw.skip("needs " + ", ".join(missing) + " (tests/run installs tests/packages.txt)")
    return arch


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kit_env(kmod_watch, arch):
    r = subprocess.run([kmod_watch, "kit", "path", "--arch", arch], capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    path = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    env_file = os.path.join(path, "kit.env") if os.path.isdir(path) else path
    if not os.path.isfile(env_file):
        env_file = os.path.expanduser(
            f"~/.cache/kmod-watch/kits/{arch}/current/kit.env")
    env = {}
    with open(env_file) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k] = v.strip("'\"")
    return env


def user_key(base, name="id_ed25519"):
    """A fresh OpenSSH ed25519 key pair; returns (private path, public line)."""
    key = os.path.join(base, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"kw-e2e-{name}",
                    "-f", key], check=True, stdin=subprocess.DEVNULL)
    with open(key + ".pub") as f:
        return key, f.read().strip()


def host_key(path):
    subprocess.run([DROPBEARKEY, "-t", "ed25519", "-f", path], check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    return path


# ---- the guest's initramfs ------------------------------------------------------

def _module_closure(modules_dir, names):
    """The .ko files for names and everything they depend on, dependencies first."""
    deps = {}
    with open(os.path.join(modules_dir, "modules.dep")) as f:
        for line in f:
            target, _, rest = line.partition(":")
            deps[target.strip()] = rest.split()
    by_name = {re.sub(r"\.ko(\.[gx]z|\.zst)?$", "", os.path.basename(p)).replace("-", "_"): p
               for p in deps}
    order, seen = [], set()

    def visit(path):
        if path in seen:
            return
        seen.add(path)
        for d in deps.get(path, []):
            visit(d)
        order.append(path)

    for n in names:
        if n not in by_name:
            raise kw.KWError(f"{n} is not in {modules_dir}/modules.dep")
        visit(by_name[n])
    return order


def _copy_with_libs(binary, root, dest):
    """binary into root at dest, with the shared libraries ldd names (real files
    under their linked names) and the dynamic loader."""
    out = os.path.join(root, dest.lstrip("/"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    shutil.copy(binary, out)
    os.chmod(out, 0o755)
    r = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        m = re.search(r"(/\S+)", line.split("=>")[-1])
        if not m:
            continue
        lib = m.group(1)
        target = os.path.join(root, lib.lstrip("/"))
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(os.path.realpath(lib), target)


def password_hash(password):
    """A SHA-512 crypt hash for /etc/shadow (dropbear checks it with crypt())."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    except ImportError:  # Python 3.13 has no crypt: OpenSSL's
        return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password + "\n",
                              capture_output=True, text=True, check=True).stdout.strip()


INIT = """#!/bin/busybox sh
# /init of the kmod-watch --ssh test guest: network + dropbear, nothing else.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
export HOME=/root
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
[ -x /bin/sh ] || /bin/busybox --install -s
mkdir -p /dev/pts /tmp /run /var/run /var/log
mount -t devpts devpts /dev/pts 2>/dev/null
chmod 1777 /tmp
while read -r m; do
        [ -n "$m" ] || continue
        insmod "/lib/modules/ssh/$m.ko" || echo "kw-ssh-guest: insmod $m failed"
done </lib/modules/ssh/order
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "kw-ssh-guest: network up"
(
        while :; do
                dropbear -F -E %s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key
                echo "kw-ssh-guest: dropbear exited ($?), restarting"
                sleep 1
        done
) &
echo "%s"
while :; do sleep 3600; done
"""


def build_initramfs(kit, work, authorized, hostkey, sftp=True, users=None, dropbear_opts="-s"):
    """kit: kit.env as a dict; users: {name: (uid, /etc/shadow hash)} ("": an
    empty password, "*": none; root is (0, "*") unless given); sftp: with
    OpenSSH's sftp-server; dropbear_opts: its options. Returns the path of
    the new initramfs."""
    root = os.path.join(work, "root")
    os.makedirs(root)
    with open(kit["KW_KIT_INITRD"], "rb") as f:
        gz = subprocess.Popen(["gzip", "-dc"], stdin=f, stdout=subprocess.PIPE)
        subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
                       stdin=gz.stdout, cwd=root, check=True)
        gz.stdout.close()
        if gz.wait() != 0:
            raise kw.KWError(f"cannot unpack {kit['KW_KIT_INITRD']}")
    # No 9p, no virtio-serial: only the virtio PCI transport and the NIC.
    mods = kit["KW_KIT_MODULES"]
    mdir = os.path.join(root, "lib/modules/ssh")
    os.makedirs(mdir)
    names = []
    for rel in _module_closure(mods, ["virtio_pci", "virtio_net"]):
        name = os.path.basename(rel)[:-3]
        shutil.copy(os.path.join(mods, rel), os.path.join(mdir, name + ".ko"))
        names.append(name)
    with open(os.path.join(mdir, "order"), "w") as f:
        f.write("\n".join(names) + "\n")
    _copy_with_libs(DROPBEAR, root, "/usr/sbin/dropbear")
    if sftp:
        _copy_with_libs(SFTP_SERVER, root, "/usr/lib/sftp-server")  # where dropbear looks
    etc = os.path.join(root, "etc")
    os.makedirs(os.path.join(etc, "dropbear"), exist_ok=True)
    shutil.copy(hostkey, os.path.join(etc, "dropbear/dropbear_ed25519_host_key"))
    os.chmod(os.path.join(etc, "dropbear/dropbear_ed25519_host_key"), 0o600)
    accounts = dict(users or {})
    accounts.setdefault("root", (0, "*"))
    passwd = "".join(f"{n}:x:{uid}:0:{n}:/root:/bin/sh\n" for n, (uid, _) in accounts.items())
    shadow = "".join(f"{n}:{h}:19000:0:99999:7:::\n" for n, (_, h) in accounts.items())
    for name, text in (("passwd", passwd), ("group", "root:x:0:\n"), ("shadow", shadow)):
        with open(os.path.join(etc, name), "w") as f:
            f.write(text)
    ssh_dir = os.path.join(root, "root/.ssh")
    os.makedirs(ssh_dir, exist_ok=True)
    os.chmod(os.path.join(root, "root"), 0o700)
    os.chmod(ssh_dir, 0o700)
    with open(os.path.join(ssh_dir, "authorized_keys"), "w") as f:
        f.write(authorized + "\n")
    os.chmod(os.path.join(ssh_dir, "authorized_keys"), 0o600)
    with open(os.path.join(root, "init"), "w") as f:
        f.write(INIT % (dropbear_opts, READY))
    os.chmod(os.path.join(root, "init"), 0o755)
    out = os.path.join(work, "initramfs-ssh.cpio.gz")
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    with open(out, "wb") as f:
        cp = subprocess.Popen(["cpio", "-o", "-H", "newc", "-R", "0:0", "--quiet"], cwd=root,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=cp.stdout, stdout=f)
        cp.stdout.close()
        cp.stdin.write(files)
        cp.stdin.close()
        if cp.wait() != 0 or gz.wait() != 0:
            raise kw.KWError("cannot pack the SSH guest's initramfs")
    shutil.rmtree(root, ignore_errors=True)
    return out


class SshGuest:
    """A booted guest reachable as root@127.0.0.1:port over SSH.

        with SshGuest(kit, work, key_line, hostkey) as g:
            g.wait_ready(180)
    """

    def __init__(self, kit, work, authorized, hostkey, **opts):
        """opts: build_initramfs()'s sftp, users, dropbear_opts."""
        self.kit = kit
        self.work = work
        self.port = free_port()
        self.console = os.path.join(work, "console.log")
        self.initrd = build_initramfs(kit, work, authorized, hostkey, **opts)
        self.proc = None

    def __enter__(self):
        qemu = self.kit.get("KW_KIT_QEMU", "qemu-system-x86_64")
        argv = [qemu, "-nodefaults", "-no-user-config", "-display", "none",
                "-serial", "file:" + self.console, "-monitor", "none"]
        if self.kit.get("KW_KIT_MACHINE"):
            argv += ["-M", self.kit["KW_KIT_MACHINE"]]
        argv += ["-accel", "tcg", "-cpu", self.kit.get("KW_KIT_CPU", "max"), "-m", "256",
                 "-kernel", self.kit["KW_KIT_KERNEL"], "-initrd", self.initrd,
                 "-append", f"console={self.kit.get('KW_KIT_CONSOLE', 'ttyS0')} panic=-1",
                 "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{self.port}-:22",
                 "-device", "virtio-net-pci,netdev=n0"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None

    def console_text(self):
        try:
            with open(self.console, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_ready(self, timeout):
        """Until the guest says dropbear runs (its console, polled)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if READY in self.console_text():
                return
            if self.proc.poll() is not None:
                raise kw.KWError(f"QEMU exited ({self.proc.returncode}): "
                                 f"{self.proc.stderr.read().decode(errors='replace')}\n"
                                 f"{self.console_text()[-3000:]}")
            time.sleep(0.2)
        raise kw.KWError(f"the SSH guest did not come up in {timeout} s:\n"
                         f"{self.console_text()[-3000:]}")

    def ssh(self, key, known_hosts, command, timeout=60):
        """Run command in the guest with OpenSSH's client; returns the CompletedProcess."""
        return subprocess.run(
            ["ssh", "-F", "/dev/null", "-i", key, "-p", str(self.port),
             "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
             "-o", f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=no",
             "-o", "ConnectTimeout=20", "root@127.0.0.1", command],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


class HostSshd:
    """dropbear on 127.0.0.1:port of the host itself, refusing every login:
    no root (-w), no passwords (-s), no forwarding (-j -k)."""

    def __init__(self, work, hostkey, port=None):
        self.work = work
        self.hostkey = hostkey
        self.port = port or free_port()
        self.proc = None
        self.log = os.path.join(work, f"dropbear-{self.port}.log")

    def start(self):
        pidfile = os.path.join(self.work, f"dropbear-{self.port}.pid")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [DROPBEAR, "-F", "-E", "-w", "-s", "-j", "-k", "-P", pidfile,
                 "-p", f"127.0.0.1:{self.port}", "-r", self.hostkey],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise kw.KWError(f"the host dropbear did not listen on {self.port}:\n"
                         + open(self.log, errors="replace").read())

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        self.proc = None
