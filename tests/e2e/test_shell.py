#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch shell in real terminals (tmux): `kmod-watch DIR` in one window,
`kmod-watch shell DIR` in others, one guest. The shell is a root shell in that
guest with the module loaded and the share as its directory; its size follows
the window; Ctrl-C interrupts the guest's foreground job; a shell flooding its
terminal does not hold back the kernel log; two shells at once; `exit` leaves
the loop running (a save still shows its printk); a guest reboot ends an open
shell with one line. Without a running kmod-watch: one line, exit 69."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import kw

START = 300
STEP = 60
PROMPT = "kmod-watch:/mnt/kmod-watch# "

TM = kw.Tmux()
SESSION = "kw"


def screen(win):
    return TM.screen(f"{SESSION}:{win}", lines=5000, join=True)


def wait_screen(win, pred, timeout, what):
    return TM.wait_screen(f"{SESSION}:{win}", pred, timeout, what, lines=5000, join=True)


def type_line(win, text):
    TM("send-keys", "-t", f"{SESSION}:{win}", "-l", text)
    TM("send-keys", "-t", f"{SESSION}:{win}", "Enter")


def run_in(win, cmd, marker, timeout=STEP):
    """Types cmd; echo MARKER-$((1+1)) after it prints MARKER-2 only when cmd is done.
    Returns the screen text between the command line and the marker."""
    type_line(win, f"{cmd}; echo {marker}-$((1+1))")
    s = wait_screen(win, lambda s: f"\n{marker}-2" in s, timeout, f"'{cmd}' in the guest")
    return s[s.rfind(f"echo {marker}-$((1+1))"):s.rfind(f"\n{marker}-2")]


def window_size(win):
    out = TM("display", "-p", "-t", f"{SESSION}:{win}", "#{pane_height} #{pane_width}").stdout.strip()
    return out


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    if shutil.which("tmux") is None:
        kw.skip("tmux is not installed (tests/packages.txt lists it)")
    t = kw.Tap("kmod-watch shell: a root shell in the guest from another terminal (tmux)")
    base, d = kw.copy_example(args, "shell")
    env, run_dir = kw.isolated_env(base)
    exe = args.kmod_watch

    def shell_here(where):
        """kmod-watch shell WHERE, its stdin not a terminal."""
        return subprocess.run([exe, "shell", where], capture_output=True, text=True, env=env, timeout=20,
                              stdin=subprocess.DEVNULL)

    def not_running():
        p = shell_here(d)
        want = f"kmod-watch shell: no kmod-watch is running for {d}; start one with kmod-watch {d}"
        kw.check(p.returncode == 69, f"exit {p.returncode}, not 69: {p.stderr}")
        kw.check(p.stderr.strip() == want, f"not the one line:\n{p.stderr}")
        p = shell_here(os.path.join(d, "hello.c"))
        kw.check(p.returncode == 64 and len(p.stderr.strip().splitlines()) == 1,
                 f"a file as DIR: exit {p.returncode}, {p.stderr}")
    t.case("no kmod-watch for DIR: one line naming it, exit 69; a file as DIR: one line, exit 64", not_running)

    envs = " ".join(f"{k}={shlex.quote(env[k])}" for k in ("XDG_RUNTIME_DIR", "NO_COLOR"))
    loop_cmd = " ".join(shlex.quote(x) for x in [exe, "--accel", "tcg", "--no-color", d])
    shell_cmd = " ".join(shlex.quote(x) for x in [exe, "shell", d])
    TM("new-session", "-d", "-s", SESSION, "-x", "160", "-y", "50", f"env {envs} {loop_cmd}; sleep 900")

    def start_shell(win):
        TM("new-window", "-t", f"{SESSION}:{win}", f"env {envs} TERM=screen {shell_cmd}; "
           f"echo SHELL-EXIT=$?; sleep 900")

    def open_shell(win):
        start_shell(win)
        return wait_screen(win, lambda s: PROMPT in s, STEP, f"the shell's prompt in window {win}")

    # window 1's shell starts while the guest is still booting (a TCG boot takes seconds)
    start_shell(1)

    try:
        def loaded():
            wait_screen(0, lambda s: "hello loaded" in s, START, "the first load")
        t.case("kmod-watch DIR in window 0: hello loaded", loaded)

        def shell_opens():
            s = wait_screen(1, lambda s: PROMPT in s, STEP, "the prompt of the shell started during the boot")
            kw.check("kmod-watch shell: the guest is not up yet: the shell opens when it is" in s,
                     f"the shell started during the boot did not say it waits:\n{s}")
            kw.check("kmod-watch shell: a root shell in the guest" in s, f"no opening line:\n{s}")
            out = run_in(1, "id -u; pwd", "M1")
            kw.check(re.search(r"^0\s*$", out, re.M), f"not root:\n{out}")
            kw.check(re.search(r"^/mnt/kmod-watch\s*$", out, re.M), f"not in the share:\n{out}")
        t.case("kmod-watch shell DIR started during the boot: it waits, then a root shell in the share",
               shell_opens)

        def looks_around():
            out = run_in(1, "lsmod", "M2")
            kw.check(re.search(r"^hello\s+\d+", out, re.M), f"lsmod does not list hello:\n{out}")
            out = run_in(1, "cat /proc/cmdline", "M3")
            kw.check("console=ttyS0" in out, f"no kernel command line:\n{out}")
            out = run_in(1, "ls", "M4")
            kw.check("hello.c" in out and "Makefile" in out and "hello.ko" in out, f"ls of the share:\n{out}")
        t.case("lsmod lists hello, /proc/cmdline, ls shows the module's directory", looks_around)

        def resize():
            before = run_in(1, "stty size", "M5")
            kw.check(window_size(1) in before, f"stty size is not the window's {window_size(1)}:\n{before}")
            TM("resize-window", "-t", f"{SESSION}:1", "-x", "97", "-y", "31")
            end = time.monotonic() + 20
            while time.monotonic() < end and window_size(1) != "31 97":
                time.sleep(0.1)
            time.sleep(0.5)  # SIGWINCH → PTY_RESIZE on its way (a second `stty size` below waits anyway)
            after = run_in(1, "stty size", "M6")
            kw.check("31 97" in after, f"stty size after the resize is not 31 97:\n{after}")
        t.case("stty size is the window's, and follows tmux resize-window", resize)

        def ctrl_c():
            type_line(1, "sleep 100")
            time.sleep(2)
            t0 = time.monotonic()
            TM("send-keys", "-t", f"{SESSION}:1", "C-c")
            out = run_in(1, "echo status=$?", "M7", timeout=20)
            kw.check(time.monotonic() - t0 < 20, "Ctrl-C did not end sleep 100")
            kw.check("status=130" in out, f"sleep was not killed by SIGINT:\n{out}")
            kw.check(kw.find_qemu([base]) and "unloaded" not in screen(0), "Ctrl-C in the shell reached kmod-watch")
        t.case("Ctrl-C interrupts sleep 100 in the guest (status 130), not kmod-watch", ctrl_c)

        def two_shells():
            open_shell(2)
            out = run_in(2, "echo two-$((6*7))", "M8")
            kw.check("two-42" in out, f"second shell:\n{out}")
            out = run_in(1, "echo one-$((6*7))", "M9")
            kw.check("one-42" in out, f"first shell beside the second:\n{out}")
            type_line(2, "exit")
            wait_screen(2, lambda s: "SHELL-EXIT=0" in s, STEP, "the second shell's end")
        t.case("two shells at once, each its own; the second exits with 0", two_shells)

        def flood():
            type_line(1, "yes kw-flood-line-of-text")
            wait_screen(1, lambda s: s.count("kw-flood-line-of-text") > 100, STEP, "the flood")
            before = screen(0).count("hello loaded")
            t0 = time.monotonic()
            kw.write_file(os.path.join(d, "hello.c"), kw.hello_source(d, "build FLOOD"))
            wait_screen(0, lambda s: "build FLOOD" in s and s.count("hello loaded") > before, STEP,
                        "the printk of a save during the flood")
            t.diag(f"save → printk during the flood: {time.monotonic() - t0:.1f} s")
            TM("send-keys", "-t", f"{SESSION}:1", "C-c")
            run_in(1, "true", "M10", timeout=STEP)
        t.case("a shell flooding its terminal (yes): a save still loads and its printk shows", flood)

        def exits():
            type_line(1, "exit")
            wait_screen(1, lambda s: "SHELL-EXIT=0" in s, STEP, "the shell's end")
            before = screen(0).count("hello loaded")
            kw.write_file(os.path.join(d, "hello.c"), kw.hello_source(d, "build AFTER-SHELL"))
            s = wait_screen(0, lambda s: "build AFTER-SHELL" in s and s.count("hello loaded") > before, STEP,
                            "the printk after the shell ended")
            kw.check("SHELL-EXIT" not in s, "kmod-watch ended with the shell")
        t.case("exit: the shell ends with 0, the loop goes on (a save shows the new printk)", exits)

        def reboot():
            open_shell(3)
            TM("send-keys", "-t", f"{SESSION}:0", "b")
            s = wait_screen(3, lambda s: "SHELL-EXIT=" in s, START, "the shell's end after the reboot")
            notes = [ln for ln in s.splitlines() if ln.startswith("kmod-watch shell: the guest went away")]
            kw.check(len(notes) == 1, f"not one line saying the guest went away:\n{s}")
            kw.check("SHELL-EXIT=255" in s, f"status:\n{s}")
            wait_screen(0, lambda s: s.count("guest ready") >= 2, START, "the guest back")
            s = open_shell(4)
            out = run_in(4, "lsmod", "M11")
            kw.check(re.search(r"^hello\s+\d+", out, re.M), f"lsmod after the reboot:\n{out}")
            type_line(4, "exit")
            wait_screen(4, lambda s: "SHELL-EXIT=0" in s, STEP, "the last shell's end")
        t.case("the guest rebooted (b) under a shell: one line, it ends; a new shell works", reboot)

        def four_and_a_fifth():
            for win in (5, 6, 7, 8):
                open_shell(win)
            p = shell_here(d)
            kw.check(p.returncode == 255, f"a fifth shell: exit {p.returncode}: {p.stderr}")
            kw.check("kmod-watch shell: 4 shells are open in this guest already: close one first" in p.stderr,
                     f"a fifth shell is not refused in one line:\n{p.stderr}")
            for win in (5, 6, 7, 8):
                type_line(win, "exit")
            for win in (5, 6, 7, 8):
                wait_screen(win, lambda s: "SHELL-EXIT=0" in s, STEP, f"the end of the shell in window {win}")
        t.case("four shells at once; a fifth is refused in one line (exit 255)", four_and_a_fifth)

        def dir_made_again():
            fresh = os.path.join(base, "fresh")
            shutil.copytree(d, fresh, ignore=shutil.ignore_patterns("*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd",
                                                                     "modules.order", "Module.symvers", ".*"))
            kw.write_file(os.path.join(fresh, "hello.c"), kw.hello_source(fresh, "made again"))
            shutil.rmtree(d)
            time.sleep(1)
            os.rename(fresh, d)  # as a re-clone would leave it
            wait_screen(0, lambda s: "made again" in s.split("is back")[-1], START, "the new directory's module")
            open_shell(9)
            out = run_in(9, "grep -c 'made again' hello.c; lsmod", "M12")
            kw.check(re.search(r"^1\s*$", out, re.M) and re.search(r"^hello\s+\d+", out, re.M),
                     f"the shell does not see the new directory:\n{out}")
            type_line(9, "exit")
            wait_screen(9, lambda s: "SHELL-EXIT=0" in s, STEP, "the shell's end")
        t.case("DIR deleted and made again: kmod-watch shell DIR reaches the run, in the new directory",
               dir_made_again)

        def crash():
            open_shell(10)
            readies = screen(0).count("guest ready")
            type_line(10, "echo c > /proc/sysrq-trigger")  # the guest kernel panics
            s = wait_screen(10, lambda s: "SHELL-EXIT=" in s, START, "the shell's end after the crash")
            notes = [ln for ln in s.splitlines() if ln.startswith("kmod-watch shell: the guest went away")]
            kw.check(len(notes) == 1 and "SHELL-EXIT=255" in s, f"not one line and 255 after the crash:\n{s}")
            t.diag(notes[0])
            wait_screen(0, lambda s: s.count("guest ready") > readies, START, "the guest back after the crash")
            open_shell(11)
            out = run_in(11, "echo alive-$((2*21))", "M13")
            kw.check("alive-42" in out, f"a shell in the restarted guest:\n{out}")
            type_line(11, "exit")
            wait_screen(11, lambda s: "SHELL-EXIT=0" in s, STEP, "the shell's end")
        t.case("the guest crashes (sysrq c from the shell): one line, the shell ends; one opens in the new guest",
               crash)

        def quit_():
            TM("send-keys", "-t", f"{SESSION}:0", "q")
            end = time.monotonic() + 30
            while time.monotonic() < end and kw.find_qemu([base]):
                time.sleep(0.2)
            kw.check(not kw.find_qemu([base]), "QEMU is still running 30 s after q")
            p = shell_here(d)
            kw.check(p.returncode == 69, f"after q: exit {p.returncode}: {p.stderr}")
        t.case("q: kmod-watch ends; kmod-watch shell then says none is running", quit_)
    finally:
        TM.kill()
        kw.kill_pids(kw.find_qemu([base]))
        kw.cleanup(args, base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
