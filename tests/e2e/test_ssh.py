#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch --ssh against real SSH servers.

One guest, booted by this test from the kit's kernel with networking (QEMU
user networking, port 22 forwarded to 127.0.0.1) and dropbear as its only way
in — no 9p, no virtio-serial (sshguest.py builds it) — serves:
  - --once: host key accepted and recorded, agent copied over SFTP, the
    module's printk matched, exit 0;
  - interactive: a save reloads; every dropbear in the guest is killed (our
    connection with it) and restarted; kmod-watch reconnects and the next
    save loads again;
  - a wrong key and a wrong user: one clear line, exit 5, quickly.
A dropbear on the host's loopback, letting nobody in, serves the host key
cases: unknown key refused with its fingerprint (exit 5), accepted and
recorded with --accept-new-host-key, and a changed key refused even with it.
"""

import os
import re
import sys
import time

import kw
import sshguest

ONCE_TIMEOUT = 180
RUN = None


def env_for(base):
    env, run_dir = kw.isolated_env(base)
    env.pop("SSH_AUTH_SOCK", None)  # only the keys the test gives
    return env, run_dir


def ssh_run(t, base, d, extra, timeout=ONCE_TIMEOUT):
    env, run_dir = env_for(base)
    args = extra + [d]
    k = kw.run(RUN.kmod_watch, args, timeout, run_dir=run_dir, env=env, needles=[d])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def errors(k):
    return [ln for ln in k.stderr_lines if ln.startswith("kmod-watch:")
            and not ln.startswith(("kmod-watch: connecting", "kmod-watch: building",
                                   "kmod-watch: built", "kmod-watch: recorded"))]


# ---- against the host's dropbear: host keys ------------------------------------

def case_unknown_key(t, s):
    kh = os.path.join(s.base, "kh-host")
    k = ssh_run(t, s.base, s.d, ["--once", "--ssh", f"root@127.0.0.1:{s.host.port}",
                                  "--identity", s.key, "--known-hosts", kh])
    kw.check(k.returncode == 5, f"expected exit 5 (unknown host key), got {k.returncode}", k)
    out = k.output()
    kw.check("SHA256:" in out, "the refused key's SHA256 fingerprint is not shown", k)
    kw.check("--accept-new-host-key" in out, "the way to accept it is not shown", k)
    kw.check(not read(kh), f"{kh} was written although the key was refused", k)
    kw.check(k.elapsed < 30, f"took {k.elapsed:.1f} s", k)


def case_accept_new(t, s):
    kh = os.path.join(s.base, "kh-host")
    k = ssh_run(t, s.base, s.d, ["--once", "--ssh", f"root@127.0.0.1:{s.host.port}",
                                  "--identity", s.key, "--known-hosts", kh,
                                  "--accept-new-host-key"])
    # accepted, then the login is refused (that dropbear lets nobody in)
    kw.check(k.returncode == 5, f"expected exit 5 (login refused), got {k.returncode}", k)
    kw.check(f"[127.0.0.1]:{s.host.port} ssh-ed25519 " in read(kh),
             f"the host key was not recorded in {kh}: {read(kh)!r}", k)
    kw.check("recorded the host key" in k.output(), "recording the key is not reported", k)
    errs = errors(k)
    kw.check(len(errs) == 1 and "refused" in errs[0],
             f"want one line saying the login was refused, got: {errs}", k)


def case_changed_key(t, s):
    kh = os.path.join(s.base, "kh-host")
    before = read(kh)
    kw.check(before, "no recorded key to change (the previous case failed)")
    s.host.stop()
    s.host = sshguest.HostSshd(s.base, sshguest.host_key(os.path.join(s.base, "hostkey-2")),
                               port=s.host.port).start()
    k = ssh_run(t, s.base, s.d, ["--once", "--ssh", f"root@127.0.0.1:{s.host.port}",
                                  "--identity", s.key, "--known-hosts", kh,
                                  "--accept-new-host-key"])
    kw.check(k.returncode == 5, f"expected exit 5 (changed host key), got {k.returncode}", k)
    out = k.output()
    kw.check("CHANGED" in out and "SHA256:" in out,
             "the changed key is not reported with its fingerprint", k)
    kw.check("ssh-keygen -R" in out, "the way to remove the old key is not shown", k)
    kw.check(read(kh) == before, f"{kh} changed although the key was refused", k)


def case_never_comes(t, s):
    port = sshguest.free_port()  # nothing listens there
    k = ssh_run(t, s.base, s.d, ["--once", "--ssh", f"root@127.0.0.1:{port}", "--identity", s.key,
                                  "--known-hosts", os.path.join(s.base, "kh-none"),
                                  "--boot-timeout", "3"], timeout=60)
    kw.check(k.returncode == 5, f"expected exit 5, got {k.returncode}", k)
    retries = [ln for ln in k.stderr_lines if "trying again" in ln]
    kw.check(retries, "no retry was reported", k)
    kw.check(any("for 3 s now" in ln for ln in errors(k)),
             "the final error does not say how long it waited", k)
    kw.check(2.5 < k.elapsed < 20, f"took {k.elapsed:.1f} s (--boot-timeout 3)", k)


# ---- against the guest -------------------------------------------------------------

def case_once(t, s):
    kh = s.kh
    k = ssh_run(t, s.base, s.d, ["--once", "--json", "--ssh", f"root@127.0.0.1:{s.guest.port}",
                                  "--identity", s.key, "--known-hosts", kh,
                                  "--accept-new-host-key", "--expect", "build A"])
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    ready = k.events_since(0, "ready")
    kw.check(ready and ready[0].get("transport") == "ssh",
             f"want a ready event with transport ssh, got {ready}", k)
    kw.check(any("build A" in e.get("text", "") for e in k.events_since(0, "kmsg")),
             "the module's printk did not arrive", k)
    kw.check(k.events_since(0, "unload", lambda e: e["ok"]), "the module was not unloaded", k)
    kw.check(f"[127.0.0.1]:{s.guest.port} " in read(kh), f"the host key is not in {kh}", k)
    kw.check(not k.seen_qemus, f"kmod-watch started QEMU: {k.seen_qemus}", k)
    kw.check(not k.left_behind, "left behind:\n  " + "\n  ".join(k.left_behind), k)
    # a second run finds the agent there and the key known
    k = ssh_run(t, s.base, s.d, ["--once", "-v", "--ssh", f"root@127.0.0.1:{s.guest.port}",
                                  "--identity", s.key, "--known-hosts", kh, "--expect", "build A"])
    kw.check(k.returncode == 0, f"second run: expected exit 0, got {k.returncode}", k)
    kw.check("the agent is already in" in k.output(), "the agent was copied again", k)


def case_interactive(t, s):
    env, _ = env_for(s.base)
    src = os.path.join(s.d, "hello.c")
    args = ["--json", "--ssh", f"root@127.0.0.1:{s.guest.port}", "--identity", s.key,
            "--known-hosts", s.kh, s.d]
    with kw.KmodWatch(RUN.kmod_watch, args, env=env, needles=[s.d]) as k:
        k.wait_event("ready", timeout=60)
        k.wait_event("load", lambda e: e["ok"], timeout=60)
        k.wait_event("kmsg", lambda e: "build A" in e["text"], timeout=30, since=0)
        sh_ = kw.shell_piped(RUN.kmod_watch, s.d, env, "grep -c '^hello ' /proc/modules; exit 7\n")
        kw.check(sh_.returncode == 7 and re.search(r"(^|\s)1\n", sh_.stdout),
                 f"kmod-watch shell with --ssh: exit {sh_.returncode}\n{sh_.stdout}\n{sh_.stderr}", k)

        m = k.mark()
        t0 = time.monotonic()
        kw.write_file(src, kw.hello_source(s.d, "ssh build B"))
        k.wait_event("kmsg", lambda e: "ssh build B" in e["text"], timeout=60, since=m)
        t.diag(f"save → printk over SSH: {time.monotonic() - t0:.2f} s")

        # Every dropbear dies (ours too: the connection drops), the guest's
        # init starts a new one; kmod-watch must notice and reconnect.
        m = k.mark()
        r = s.guest.ssh(s.key, s.kh, "killall dropbear")
        t.diag(f"killall dropbear in the guest → ssh exit {r.returncode}")
        k.wait_event("guest_restart", timeout=60, since=m)
        k.wait_event("ready", timeout=90, since=m)
        k.wait_event("load", lambda e: e["ok"], timeout=60)

        m = k.mark()
        kw.write_file(src, kw.hello_source(s.d, "ssh build C"))
        k.wait_event("kmsg", lambda e: "ssh build C" in e["text"], timeout=60, since=m)
        k.wait_event("load", lambda e: e["ok"], timeout=30, since=m)

        # The target reboots under the connection: nothing closes it on our
        # side; the keepalive finds it dead once the new kernel answers.
        m = k.mark()
        r = s.guest.ssh(s.key, s.kh, "(sleep 1; reboot -f) </dev/null >/dev/null 2>&1 &")
        t.diag(f"reboot -f in the guest → ssh exit {r.returncode}")
        k.wait_event("guest_restart", timeout=90, since=m)
        k.wait_event("ready", timeout=120, since=m)
        k.wait_event("load", lambda e: e["ok"], timeout=60, since=m)
        m = k.mark()
        kw.write_file(src, kw.hello_source(s.d, "ssh build D"))
        k.wait_event("kmsg", lambda e: "ssh build D" in e["text"], timeout=60, since=m)
        k.wait_event("load", lambda e: e["ok"], timeout=30, since=m)
        status = k.stop()
        kw.check(status == 0, f"Ctrl-C: expected exit 0, got {status}", k)
        kw.check(k.events_since(m, "unload", lambda e: e["ok"]),
                 "quitting did not unload the module", k)
    kw.write_file(src, kw.hello_source(s.d, "build A"))


def case_wrong_key(t, s):
    k = ssh_run(t, s.base, s.d, ["--once", "--ssh", f"root@127.0.0.1:{s.guest.port}",
                                  "--identity", s.other_key, "--known-hosts", s.kh],
                timeout=60)
    kw.check(k.returncode == 5, f"expected exit 5, got {k.returncode}", k)
    errs = errors(k)
    kw.check(len(errs) == 1 and "refused" in errs[0],
             f"want one line saying the key was refused, got: {errs}", k)
    kw.check(k.elapsed < 30, f"took {k.elapsed:.1f} s", k)


def case_wrong_user(t, s):
    k = ssh_run(t, s.base, s.d, ["--once", "--ssh", f"nosuchuser@127.0.0.1:{s.guest.port}",
                                  "--identity", s.key, "--known-hosts", s.kh], timeout=60)
    kw.check(k.returncode == 5, f"expected exit 5, got {k.returncode}", k)
    errs = errors(k)
    kw.check(len(errs) == 1 and "nosuchuser@" in errs[0],
             f"want one line naming the refused user, got: {errs}", k)
    kw.check(k.elapsed < 30, f"took {k.elapsed:.1f} s", k)


class State:
    pass


def main():
    global RUN
    RUN = kw.parse_args()
    arch = sshguest.require(RUN)

    s = State()
    s.base, s.d = kw.copy_example(RUN, "ssh")
    t = kw.Tap("test_ssh")
    s.host = s.guest = None
    try:
        s.key, line = sshguest.user_key(s.base)
        s.other_key, _ = sshguest.user_key(s.base, "id_other")
        s.kh = os.path.join(s.base, "known_hosts")

        s.host = sshguest.HostSshd(s.base, sshguest.host_key(os.path.join(s.base, "hostkey-1")))
        s.host.start()
        t.case("unknown host key: refused with its fingerprint, exit 5", case_unknown_key, t, s)
        t.case("--accept-new-host-key: recorded; the refused login is one line, exit 5",
               case_accept_new, t, s)
        t.case("changed host key: refused even with --accept-new-host-key", case_changed_key, t, s)
        s.host.stop()
        t.case("a target that never answers: retried, exit 5 after --boot-timeout",
               case_never_comes, t, s)

        kit = sshguest.kit_env(RUN.kmod_watch, arch)
        work = os.path.join(s.base, "guest")
        os.makedirs(work)
        hk = sshguest.host_key(os.path.join(work, "hostkey"))
        with sshguest.SshGuest(kit, work, line, hk) as g:
            s.guest = g
            t0 = time.monotonic()
            g.wait_ready(180)
            t.diag(f"SSH guest up on 127.0.0.1:{g.port} in {time.monotonic() - t0:.1f} s")
            t.case("--once over SSH: host key recorded, agent over SFTP, exit 0", case_once, t, s)
            t.case("interactive over SSH: save reloads; sshd killed, then the target rebooted: "
                   "reconnected, the next save loads",
                   case_interactive, t, s)
            t.case("wrong key: one line, exit 5", case_wrong_key, t, s)
            t.case("wrong user: one line, exit 5", case_wrong_user, t, s)
    finally:
        if s.host:
            s.host.stop()
        if s.guest:
            s.guest.stop()
        kw.cleanup(RUN, s.base)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
