#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch --ssh against the kind of board most are: dropbear with no SFTP
server, a root password, or none.

One guest (sshguest.py) with dropbear -B and no sftp-server; root has a known
password (its SHA-512 hash in the guest's /etc/shadow) and an authorized key,
and a second uid-0 user, "dev", has an empty password. It serves:
  - a key login, no SFTP: --once loads and matches the printk; files go over
    an exec channel, checked with the guest's sha256sum, said once; nothing
    half-copied is left there; a second run with a changed module copies the
    module again (not the agent) and loads it; doctor --ssh says the same;
  - --password-file: logs in with the password (said at -v); the password is
    never printed;
  - a wrong password: one line, exit 5, fast;
  - a password file others may read: refused before connecting, with the
    chmod line, exit 64;
  - SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force) gives the password;
  - dev, with an empty password: logged in by "none", no password given.
"""

import os
import subprocess
import sys
import time

import kw
import sshguest

ONCE_TIMEOUT = 180
RUN = None
# Spaces and shell characters: a password that would break any command line.
PASSWORD = "kw pass; 'quoted' $HOME `x`"


def env_for(base):
    env, run_dir = kw.isolated_env(base)
    for var in ("SSH_AUTH_SOCK", "SSH_ASKPASS", "SSH_ASKPASS_REQUIRE"):
        env.pop(var, None)  # only the keys and passwords the test gives
    return env, run_dir


def ssh_run(t, s, extra, env_extra=None, timeout=ONCE_TIMEOUT):
    env, run_dir = env_for(s.base)
    env.update(env_extra or {})
    args = extra + ["--known-hosts", s.kh, s.d]
    k = kw.run(RUN.kmod_watch, args, timeout, run_dir=run_dir, env=env, needles=[s.d])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


def errors(k):
    return [ln for ln in k.stderr_lines if ln.startswith("kmod-watch:")
            and not ln.startswith(("kmod-watch: connecting", "kmod-watch: building",
                                   "kmod-watch: built", "kmod-watch: recorded"))]


def secret_file(s, name, text, mode=0o600):
    path = os.path.join(s.base, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def no_password_shown(k):
    kw.check(PASSWORD not in k.output() and "kw pass" not in k.output(),
             "the password appears in kmod-watch's output", k)


def dest(s, user="root"):
    return f"{user}@127.0.0.1:{s.guest.port}"


def case_no_sftp(t, s):
    k = ssh_run(t, s, ["--once", "--json", "--ssh", dest(s), "--identity", s.key,
                       "--accept-new-host-key", "--expect", "build A"])
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check(any("build A" in e.get("text", "") for e in k.events_since(0, "kmsg")),
             "the module's printk did not arrive", k)
    kw.check(k.events_since(0, "unload", lambda e: e["ok"]), "the module was not unloaded", k)
    way = [ln for ln in k.stderr_lines if "files go over" in ln]
    kw.check(len(way) == 1 and "has no SFTP server" in way[0] and "exec channel" in way[0]
             and "checked with sha256sum" in way[0],
             f"want one line saying files go over the exec channel, checked with sha256sum: {way}", k)
    kw.check(not k.seen_qemus, f"kmod-watch started QEMU: {k.seen_qemus}", k)
    kw.check(not k.left_behind, "left behind:\n  " + "\n  ".join(k.left_behind), k)
    r = s.guest.ssh(s.key, s.kh, "ls -ln /tmp/kmod-watch-0-*/")
    t.diag("on the guest:\n" + r.stdout)
    kw.check("kmod-agent" in r.stdout and ".ko" in r.stdout,
             f"the agent or the module is not in the private directory: {r.stdout!r}")
    kw.check(".part" not in r.stdout, f"a half copy is left: {r.stdout!r}")

    # A changed module: copied again (over exec, checked), the agent is not.
    kw.write_file(os.path.join(s.d, "hello.c"), kw.hello_source(s.d, "exec build B"))
    k = ssh_run(t, s, ["--once", "-v", "--ssh", dest(s), "--identity", s.key,
                       "--expect", "exec build B"])
    kw.check(k.returncode == 0, f"second run: expected exit 0, got {k.returncode}", k)
    out = k.output()
    kw.check("the agent is already in" in out, "the agent was copied again", k)
    kw.check("logged in with publickey" in out, "-v does not say the key logged in", k)
    kw.write_file(os.path.join(s.d, "hello.c"), kw.hello_source(s.d, "build A"))


def case_doctor(t, s):
    env, _ = env_for(s.base)
    argv = [RUN.kmod_watch, "doctor", "--ssh", dest(s), "--identity", s.key, "--known-hosts", s.kh, s.d]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env,
                       stdin=subprocess.DEVNULL)
    t.diag(f"$ kmod-watch {' '.join(argv[1:])}  → exit {r.returncode}")
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("ok   ssh ")]
    kw.check(len(lines) == 1 and "logged in with publickey" in lines[0]
             and "files over an exec channel (cat), checked with sha256sum" in lines[0],
             f"doctor does not say how it logged in and how files go:\n{r.stdout}{r.stderr}")


def case_password_file(t, s):
    pw = secret_file(s, "pw", PASSWORD + "\n")
    k = ssh_run(t, s, ["--once", "-v", "--ssh", dest(s), "--password-file", pw,
                       "--expect", "build A"])
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check("logged in with password (--password-file)" in k.output(),
             "-v does not say the password logged in", k)
    no_password_shown(k)


def case_wrong_password(t, s):
    pw = secret_file(s, "pw-wrong", "not the password\n")
    k = ssh_run(t, s, ["--once", "--ssh", dest(s), "--password-file", pw], timeout=60)
    kw.check(k.returncode == 5, f"expected exit 5, got {k.returncode}", k)
    errs = errors(k)
    kw.check(len(errs) == 1 and "refused the password" in errs[0] and pw in errs[0],
             f"want one line saying the password from {pw} was refused, got: {errs}", k)
    kw.check("not the password" not in k.output(), "the password appears in the output", k)
    kw.check(k.elapsed < 30, f"took {k.elapsed:.1f} s", k)


def case_open_password_file(t, s):
    pw = secret_file(s, "pw-open", PASSWORD + "\n", 0o644)
    k = ssh_run(t, s, ["--once", "--ssh", dest(s), "--password-file", pw], timeout=60)
    kw.check(k.returncode == 64, f"expected exit 64, got {k.returncode}", k)
    errs = errors(k)
    kw.check(len(errs) == 1 and f"chmod 600 {pw}" in errs[0],
             f"want one line saying chmod 600 {pw}, got: {errs}", k)
    kw.check(not any("connecting" in ln for ln in k.stderr_lines), "it connected anyway", k)
    no_password_shown(k)
    kw.check(k.elapsed < 10, f"took {k.elapsed:.1f} s", k)


def case_askpass(t, s):
    pw = secret_file(s, "pw-askpass", PASSWORD + "\n")
    script = secret_file(s, "askpass.sh", f"#!/bin/sh\necho \"$1\" >>'{s.base}/askpass-prompts'\n"
                         f"exec cat '{pw}'\n", 0o700)
    k = ssh_run(t, s, ["--once", "-v", "--ssh", dest(s), "--expect", "build A"],
                env_extra={"SSH_ASKPASS": script, "SSH_ASKPASS_REQUIRE": "force"})
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check("logged in with password (SSH_ASKPASS)" in k.output(),
             "-v does not say SSH_ASKPASS's password logged in", k)
    with open(os.path.join(s.base, "askpass-prompts")) as f:
        prompts = f.read()
    kw.check(prompts.count("password") == 1 and f"root@127.0.0.1:{s.guest.port}" in prompts,
             f"askpass was not asked once for root's password: {prompts!r}", k)
    no_password_shown(k)


def case_empty_password(t, s):
    k = ssh_run(t, s, ["--once", "-v", "--ssh", dest(s, "dev"), "--expect", "build A"])
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check("logged in with none" in k.output(), "-v does not say 'none' logged in", k)


class State:
    pass


def main():
    global RUN
    RUN = kw.parse_args()
    arch = sshguest.require(RUN)

    s = State()
    s.base, s.d = kw.copy_example(RUN, "ssh-any")
    t = kw.Tap("test_ssh_any")
    s.guest = None
    try:
        s.key, line = sshguest.user_key(s.base)
        s.kh = os.path.join(s.base, "known_hosts")
        kit = sshguest.kit_env(RUN.kmod_watch, arch)
        work = os.path.join(s.base, "guest")
        os.makedirs(work)
        hk = sshguest.host_key(os.path.join(work, "hostkey"))
        users = {"root": (0, sshguest.password_hash(PASSWORD)), "dev": (0, "")}
        with sshguest.SshGuest(kit, work, line, hk, sftp=False, users=users,
                               dropbear_opts="-B") as g:
            s.guest = g
            t0 = time.monotonic()
            g.wait_ready(180)
            t.diag(f"SSH guest (no SFTP, passwords) up on 127.0.0.1:{g.port} in "
                   f"{time.monotonic() - t0:.1f} s")
            t.case("no SFTP: --once over exec channels, checked with sha256sum, said once; "
                   "a changed module copied again", case_no_sftp, t, s)
            t.case("doctor --ssh: says the login method and that files go over exec", case_doctor, t, s)
            t.case("--password-file: logged in with the password", case_password_file, t, s)
            t.case("a wrong password: one line, exit 5, fast", case_wrong_password, t, s)
            t.case("a password file others may read: the chmod line, exit 64",
                   case_open_password_file, t, s)
            t.case("SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force) gives the password", case_askpass, t, s)
            t.case("an empty password (dropbear -B): logged in by 'none'", case_empty_password, t, s)
    finally:
        if s.guest:
            s.guest.stop()
        kw.cleanup(RUN, s.base)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
