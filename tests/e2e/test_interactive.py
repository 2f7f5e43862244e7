#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The interactive loop against a real guest: one kmod-watch, one boot, every
way an editor saves a file, the files that must not trigger a build, a burst of
saves, and Ctrl-C that leaves nothing behind."""

import os
import signal
import subprocess
import sys
import time
import uuid

import kw

BOOT_TIMEOUT = 240    # start → ready and the first load under TCG
RELOAD_TIMEOUT = 90   # save → the new printk line
QUIET = 1.5           # after the new line: no further build may start
NOISE_QUIET = 2.0
QUIT_TIMEOUT = 15


def new_text(case):
    return f"kw-e2e {case} {uuid.uuid4().hex[:10]}"


class Session:
    def __init__(self, args):
        self.args = args
        self.base, self.d = kw.copy_example(args, "interactive")
        self.src = os.path.join(self.d, "hello.c")
        self.env, self.run_dir = kw.isolated_env(self.base)
        self.k = kw.KmodWatch(args.kmod_watch, ["--json", "--accel", "tcg"] + kw.arch_args(args) + [self.d],
                              env=self.env, needles=[self.base])


def expect_one_reload(t, s, text, action):
    """Do action (a save that makes the module print text); then exactly one
    build, one successful load of hello, the new line, and quiet afterwards."""
    k = s.k
    m = k.mark()
    t0 = time.monotonic()
    action()
    t_saved = time.monotonic()
    km = k.wait_event("kmsg", lambda e: text in e["text"], timeout=RELOAD_TIMEOUT, since=m)
    t_seen = next(w for e, w in zip(k.events, k.wall) if e is km)
    k.collect(QUIET)
    builds = k.events_since(m, "build_start")
    kw.check(len(builds) == 1, f"{len(builds)} build_start events for one save "
             f"(want exactly 1): {_names(k, m)}", k)
    ends = k.events_since(m, "build_end")
    kw.check(any(e.get("ok") is True for e in ends),
             f"no successful build_end: {ends}", k)
    loads = k.events_since(m, "load", lambda e: e["ok"] is True)
    kw.check(len(loads) == 1 and loads[0].get("module") == "hello",
             f"want exactly one successful load of 'hello', got {loads}", k)
    unloads = k.events_since(m, "unload", lambda e: e["ok"] is True)
    kw.check(len(unloads) == 1, f"want exactly one successful unload of the old "
             f"module before the new load, got {unloads}", k)
    changes = k.events_since(m, "change")
    kw.check(any("hello.c" in (e.get("paths") or []) for e in changes),
             f"no 'change' event with paths containing \"hello.c\": {changes}", k)
    kw.check(not k.events_since(m, "oops"), f"oops: {k.events_since(m, 'oops')}", k)
    t.diag(f"save → new printk line in {1000 * (t_seen - t_saved):.0f} ms "
           f"(the save itself took {1000 * (t_saved - t0):.0f} ms)")


def _names(k, since):
    return " ".join(e["event"] for e in k.events[since:])


# ---- the cases ---------------------------------------------------------------

def case_start(t, s):
    k = s.k
    ready = k.wait_event("ready", timeout=BOOT_TIMEOUT, since=0)
    t.diag(f"ready: {ready}")
    k.wait_event("load", lambda e: e["ok"] is True and e["module"] == "hello",
                 timeout=BOOT_TIMEOUT, since=0)
    k.wait_event("kmsg", lambda e: "build A" in e["text"], timeout=BOOT_TIMEOUT, since=0)
    k.collect(QUIET)
    builds = k.events_since(0, "build_start")
    kw.check(len(builds) == 1, f"{len(builds)} build_start events at start (want 1): "
             f"{_names(k, 0)}", k)


def case_in_place(t, s):
    text = new_text("in-place")
    expect_one_reload(t, s, text, lambda: kw.write_file(s.src, kw.hello_source(s.d, text)))


def case_vim(t, s):
    text = new_text("vim")
    data = kw.hello_source(s.d, text)
    swp = os.path.join(s.d, ".hello.c.swp")
    tilde = s.src + "~"

    def save():
        # vim: swap file while editing; on :w test-create "4913", rename the
        # original to hello.c~ (backup), write a new hello.c (new inode),
        # delete the backup; the swap file goes when vim quits.
        kw.write_file(swp, b"b0VIM 9.0\0" + b"\0" * 4086)
        probe = os.path.join(s.d, "4913")
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        os.unlink(probe)
        os.rename(s.src, tilde)
        kw.write_file(s.src, data)
        os.unlink(tilde)
        os.unlink(swp)

    expect_one_reload(t, s, text, save)


def case_sed(t, s):
    text = new_text("sed")
    with open(s.src) as f:
        old = kw.PR_INFO_RE.search(f.read()).group(0)
    new = f'pr_info("{text}\\n");'

    def sed():
        # sed -i writes a temporary file in the same directory and renames it over.
        subprocess.run(["sed", "-i", f"s|{_sed_quote(old)}|{_sed_quote(new)}|", s.src],
                       check=True)

    expect_one_reload(t, s, text, sed)


def _sed_quote(x):
    return "".join("\\" + c if c in "\\|.*[]^$&" else c for c in x)


def case_noise(t, s):
    k = s.k
    m = k.mark()
    obj = os.path.join(s.d, "hello.o")
    made_obj = not os.path.exists(obj)
    if made_obj:               # kmod-watch builds elsewhere: a stray object file
        kw.write_file(obj, b"\x7fELF not really\n")
    else:                      # rewrite the build product as it is: make stays happy
        with open(obj, "rb") as f:
            same = f.read()
        kw.write_file(obj, same)
    notes = os.path.join(s.d, "notes.txt")
    hidden = os.path.join(s.d, ".hidden.c")
    kw.write_file(notes, "not a source file\n")
    kw.write_file(hidden, "this is not C and must not be built\n")
    k.collect(NOISE_QUIET)
    builds = k.events_since(m, "build_start")
    kw.check(not builds, f"writing hello.o, notes.txt and .hidden.c started a build: "
             f"{_names(k, m)}", k)
    m = k.mark()
    os.unlink(notes)
    os.unlink(hidden)
    if made_obj:
        os.unlink(obj)
    k.collect(NOISE_QUIET)
    kw.check(not k.events_since(m, "build_start"),
             f"deleting notes.txt and .hidden.c started a build: {_names(k, m)}", k)


def case_burst(t, s):
    k = s.k
    m = k.mark()
    tag = uuid.uuid4().hex[:8]
    texts = [f"kw-e2e burst {tag} {i:02d}" for i in range(50)]
    t0 = time.monotonic()
    for text in texts:
        kw.write_file(s.src, kw.hello_source(s.d, text))
    t.diag(f"50 saves in {1000 * (time.monotonic() - t0):.0f} ms")
    final = texts[-1]
    k.wait_event("kmsg", lambda e: final in e["text"], timeout=RELOAD_TIMEOUT, since=m)
    k.collect(QUIET)
    builds = k.events_since(m, "build_start")
    # the first save may start a replay at once, which the next one stops (superseded)
    stopped = k.events_since(m, "build_end", lambda e: e.get("superseded") is True)
    kw.check(1 <= len(builds) - len(stopped) <= 2 and len(stopped) <= 1,
             f"{len(builds)} build_start events, {len(stopped)} stopped, for a burst "
             f"of 50 saves (want 1 or 2 that run, at most 1 stopped): {_names(k, m)}", k)
    loads = k.events_since(m, "load")
    kw.check(loads and loads[-1].get("ok") is True,
             f"the last load did not succeed: {loads[-1:] or 'no load event'}", k)
    t.diag(f"{len(builds) - len(stopped)} build(s) for 50 saves ({len(stopped)} replay stopped by the next save)")


def case_sigint(t, s):
    k = s.k
    qemus, sockets = kw.guest_of(k)
    kw.check(qemus, "no QEMU process found (neither a descendant of kmod-watch nor "
             f"one whose command line contains {s.base})", k)
    t.diag(f"QEMU pid(s) {qemus}; sockets {sockets}")
    m = k.mark()
    t0 = time.monotonic()
    # A terminal's Ctrl-C signals the whole foreground process group.
    try:
        rc = k.stop(signal.SIGINT, timeout=QUIT_TIMEOUT, group=True)
    except kw.KWError as e:
        raise kw.KWError(f"Ctrl-C: {e}") from None
    t.diag(f"exited {rc} {time.monotonic() - t0:.1f} s after SIGINT")
    exits = k.events_since(m, "exit")
    kw.check(exits and isinstance(exits[-1].get("status"), int),
             f"no 'exit' event with an integer status after SIGINT: {_names(k, m)}", k)
    kw.check(k.events and k.events[-1]["event"] == "exit",
             f"events after 'exit': {_names(k, m)}", k)
    kw.check(k.events_since(m, "unload", lambda e: e["ok"] is True
                            and e["module"] == "hello"),
             f"quitting did not unload the module: {_names(k, m)}", k)
    left = kw.leftovers(k, s.run_dir)
    kw.check(not left, "after Ctrl-C:\n  " + "\n  ".join(left), k)


def main():
    args = kw.parse_args()
    kw.require_guest(args)
    t = kw.Tap(f"kmod-watch interactive (one {args.arch} guest)")
    s = Session(args)
    try:
        with s.k:
            if not t.case("start: ready, one build, hello loaded, 'build A' shown",
                          case_start, t, s):
                t.diag("no working session: the other cases are not run")
                return t.done()
            t.case("in-place save (O_TRUNC) → one build, one load, new line",
                   case_in_place, t, s)
            t.case("vim-style save (4913, rename to hello.c~, new file, .swp) → one reload",
                   case_vim, t, s)
            t.case("sed -i (temp file renamed over) → one reload", case_sed, t, s)
            t.case("hello.o, notes.txt, .hidden.c → no build", case_noise, t, s)
            t.case("50 saves in a tight loop → at most 2 builds, final text shown",
                   case_burst, t, s)
            t.case("Ctrl-C → exits, 'exit' event, module unloaded, no QEMU or socket left",
                   case_sigint, t, s)
            t.ok(not s.k.bad_lines, "every stdout line is a JSON event",
                 "\n".join(s.k.bad_lines[:10]))
            t.ok(not s.k.t_backwards, "\"t\" never goes backwards", str(s.k.t_backwards[:5]))
    finally:
        kw.cleanup(args, s.base)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
