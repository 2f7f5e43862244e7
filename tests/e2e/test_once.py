#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""kmod-watch --once against a real guest: the exit statuses of doc/contract.md and
the --json event stream of one whole cycle; --memory below what the kit's kernel
needs. One boot per invocation."""

import os
import sys

import kw

TIMEOUT = 240   # one whole --once run: TCG boot, build, load, collect, unload
RUN = None      # filled in main()


def once(t, base, d, extra, json_mode=False):
    env, run_dir = kw.isolated_env(base)
    args = ["--once", "--accel", "tcg"] + (["--json"] if json_mode else []) + extra + [d]
    k = kw.run(RUN.kmod_watch, args, TIMEOUT, run_dir=run_dir, env=env,
               needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)}  → exit {k.returncode} in {k.elapsed:.1f} s")
    return k


def no_leftovers(k):
    kw.check(not k.left_behind,
             "kmod-watch left things behind:\n  " + "\n  ".join(k.left_behind), k)


def case_expect_matches(t, base, d):
    k = once(t, base, d, ["--expect", "build A"])
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check("build A" in k.output(), "the module's printk is not in the output", k)
    kw.check("My First Module exit" in k.output(), "the exit function's printk is not in the output", k)
    no_leftovers(k)


def case_expect_times_out(t, base, d):
    k = once(t, base, d, ["--expect", "never-appears-xyz", "--timeout", "10"])
    kw.check(k.returncode == 1, f"expected exit 1 (--expect did not match), "
             f"got {k.returncode}", k)
    no_leftovers(k)


def case_awkward_path(t, base, d):
    """A DIR with a space and a comma: kbuild cannot take it, kmod-watch builds through an
    alias; a DIR with non-ASCII letters (UTF-8) builds where it is, no alias."""
    odd = os.path.join(base, "my module,1")
    os.rename(d, odd)
    try:
        k = once(t, base, odd, ["--expect", "build A"])
        kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
        kw.check("building through" in k.output(), "the alias is not said", k)
        no_leftovers(k)
    finally:
        os.rename(odd, d)
    utf = os.path.join(base, "modülé-ß-модуль")
    os.rename(d, utf)
    try:
        k = once(t, base, utf, ["--expect", "build A"])
        kw.check(k.returncode == 0, f"a non-ASCII DIR: expected exit 0, got {k.returncode}", k)
        kw.check("building through" not in k.output(), "a non-ASCII DIR needs no alias", k)
        no_leftovers(k)
    finally:
        os.rename(utf, d)


KIT_MIN_MEM = {"x86_64": 128, "arm64": 96}   # watcher/arch.c: kit_min_mem_mb


def case_memory(t, base, d, arch):
    """--memory below what the kit's kernel needs: a usage error naming the minimum,
    before any boot; the minimum itself boots (one run)."""
    least = KIT_MIN_MEM[arch]
    k = once(t, base, d, ["--arch", arch, "--memory", "64"])
    kw.check(k.returncode == 64, f"--memory 64: exit {k.returncode}, want 64 (usage)", k)
    kw.check(f"at least {least} MiB" in k.output(), f"the minimum {least} is not named", k)
    kw.check(k.elapsed < 10 and not k.seen_qemus, "a guest was started for --memory 64", k)
    k = once(t, base, d, ["--arch", arch, "--memory", str(least), "--expect", "build A"])
    kw.check(k.returncode == 0, f"--memory {least} (the minimum): exit {k.returncode}, want 0", k)
    no_leftovers(k)


def case_build_error(t, base, d):
    src = os.path.join(d, "hello.c")
    with open(src) as f:
        text = f.read()
    # Drop the semicolon after the pr_info: gcc says "error: expected ';' …".
    broken = text.replace('build A\\n");', 'build A\\n")', 1)
    assert broken != text
    kw.write_file(src, broken)
    k = once(t, base, d, ["--expect", "build A"])
    kw.check(k.returncode == 2, f"expected exit 2 (build failed), got {k.returncode}", k)
    lines = [ln for ln in k.output().splitlines() if "hello.c:" in ln and "error:" in ln]
    kw.check(lines, "the compiler's error line (hello.c:…: error: …) is not shown", k)
    t.diag("compiler line shown: " + lines[0].strip())
    no_leftovers(k)


def case_unknown_symbol(t, base, d):
    src = os.path.join(d, "hello.c")
    with open(src) as f:
        text = f.read()
    text = text.replace("#include <linux/module.h>\n",
                        "#include <linux/module.h>\n\n"
                        "extern void kw_undefined_symbol_xyz(void);\n", 1)
    text = text.replace('build A\\n");', 'build A\\n");\n\tkw_undefined_symbol_xyz();', 1)
    assert "kw_undefined_symbol_xyz();" in text
    kw.write_file(src, text)
    # modpost treats an undefined symbol as an error unless KBUILD_MODPOST_WARN
    # is set; the module's Makefile is read by modpost, so set it there. The
    # build then succeeds and the failure moves to the guest's finit_module().
    with open(os.path.join(d, "Makefile"), "a") as f:
        f.write("\n# e2e: build despite the undefined symbol, fail at load time\n"
                "KBUILD_MODPOST_WARN := 1\n")
    k = once(t, base, d, ["--expect", "build A"])
    kw.check(k.returncode == 3, f"expected exit 3 (load failed), got {k.returncode}", k)
    # modpost's own warning names the symbol too; the kernel's reason must be shown.
    named = [ln for ln in k.output().splitlines()
             if "kw_undefined_symbol_xyz" in ln and "modpost" not in ln]
    kw.check(named, "no line names kw_undefined_symbol_xyz (the kernel's reason "
             "for the failed load, e.g. 'Unknown symbol …')", k)
    t.diag("load failure shown: " + named[0].strip())
    no_leftovers(k)


def case_json(t, base, d, arch):
    k = once(t, base, d, ["--expect", "build A"], json_mode=True)
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check(not k.bad_lines, "stdout lines that are not a JSON object with "
             "\"event\" and a numeric \"t\":\n  " + "\n  ".join(k.bad_lines[:10]), k)
    kw.check(not k.t_backwards, f"\"t\" went backwards: {k.t_backwards[:5]}", k)
    ev = k.events
    names = [e["event"] for e in ev]

    def first(name, pred=None):
        for i, e in enumerate(ev):
            if e["event"] == name and kw._match(pred, e):
                return i, e
        raise kw.KWError(f"no '{name}' event" + (" matching" if pred else "")
                         + f"; events: {names}\n{k.tail()}")

    ir, ready = first("ready")
    for f in ("arch", "kernel_release", "transport"):
        kw.check(isinstance(ready.get(f), str) and ready[f], f"ready.{f} missing: {ready}", k)
    kw.check(ready["arch"] == arch, f"ready.arch is {ready['arch']!r}, host is {arch!r}", k)

    ibs, _ = first("build_start")
    ibe, be = first("build_end")
    kw.check(be.get("ok") is True, f"build_end.ok is not true: {be}", k)
    kw.check(_num(be.get("ms")), f"build_end.ms is not a number: {be}", k)

    il, load = first("load")
    kw.check(load.get("module") == "hello", f"load.module is not \"hello\": {load}", k)
    kw.check(load.get("ok") is True, f"load.ok is not true: {load}", k)
    kw.check(_num(load.get("ms")), f"load.ms is not a number: {load}", k)

    _, km = first("kmsg", lambda e: "build A" in e["text"])
    kw.check(isinstance(km.get("seq"), int) and not isinstance(km["seq"], bool),
             f"kmsg.seq is not an integer: {km}", k)
    kw.check(km.get("level") == 6, f"kmsg.level of a pr_info is not 6: {km}", k)
    for e in ev:
        if e["event"] == "kmsg":
            kw.check(isinstance(e.get("level"), int) and 0 <= e["level"] <= 7
                     and isinstance(e.get("text"), str), f"malformed kmsg event: {e}", k)

    iu, unload = first("unload")
    kw.check(unload.get("module") == "hello" and unload.get("ok") is True,
             f"unload is not {{module: hello, ok: true}}: {unload}", k)

    # the log barrier: the exit function's last words arrive before the run ends
    bye = [i for i, e in enumerate(ev) if e["event"] == "kmsg" and "My First Module exit" in e["text"]]
    kw.check(bye and bye[0] > il, f"the exit printk is missing: {names}", k)
    kw.check(names[-1] == "exit", f"the last event is {names[-1]!r}, not 'exit'", k)
    kw.check(ev[-1].get("status") == 0, f"exit.status is not 0: {ev[-1]}", k)
    oops = [e for e in ev if e["event"] == "oops"]
    kw.check(not oops, f"unexpected oops event(s): {oops}", k)

    order = [("build_start", ibs), ("build_end", ibe), ("load", il), ("unload", iu)]
    kw.check([i for _, i in order] == sorted(i for _, i in order),
             f"events out of order (want build_start < build_end < load < unload): {names}", k)
    kw.check(ir < il, f"'load' came before 'ready': {names}", k)
    no_leftovers(k)
    t.diag(f"events: {' '.join(names[:12])}{' …' if len(names) > 12 else ''}")
    t.diag(f"ready: {ready}")


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def main():
    global RUN
    RUN = kw.parse_args()
    arch = kw.require_guest(RUN)
    t = kw.Tap("kmod-watch --once")
    bases = []

    def fresh(tag):
        base, d = kw.copy_example(RUN, tag)
        bases.append(base)
        return base, d

    try:
        base, d = fresh("once")      # (a), (a --json), (b) share a pristine copy
        t.case("--expect 'build A' → exit 0, printk and exit printk shown", case_expect_matches, t, base, d)
        t.case("--json: ready, build_start, build_end, load, kmsg, unload, exit 0",
               case_json, t, base, d, arch)
        t.case("--expect that never matches, --timeout 10 → exit 1",
               case_expect_times_out, t, base, d)
        t.case("--memory 64 → usage error naming the kit's minimum; the minimum boots",
               case_memory, t, base, d, arch)
        t.case("syntax error → exit 2, compiler error shown",
               case_build_error, t, *fresh("builderr"))
        t.case("undefined symbol → exit 3, symbol named",
               case_unknown_symbol, t, *fresh("unksym"))
        t.case("a DIR with a space and a comma → built through an alias; a non-ASCII DIR → as is; exit 0",
               case_awkward_path, t, *fresh("odd"))
    finally:
        for b in bases:
            kw.cleanup(RUN, b)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
