#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""`meson install --destdir` into a temporary root, then the INSTALLED
kmod-watch runs a whole --once cycle on the example (it must find its agent
and kit script next to itself, not in the build tree); the installed man page
renders with man -l; the installed bash completion completes options."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import kw

TIMEOUT = 240


def install(t, args, root):
    r = subprocess.run(["meson", "install", "-C", args.build_dir, "--destdir", root,
                        "--no-rebuild", "--quiet"], capture_output=True, text=True)
    kw.check(r.returncode == 0, f"meson install failed: {r.stdout}{r.stderr}")
    bins = glob.glob(os.path.join(root, "**/bin/kmod-watch"), recursive=True)
    kw.check(len(bins) == 1, f"want one installed bin/kmod-watch, found {bins}")
    files = sorted(os.path.relpath(f, root) for f in glob.glob(os.path.join(root, "**/*"), recursive=True)
                   if os.path.isfile(f))
    t.diag("installed: " + ", ".join(files))
    return bins[0], files


def case_installed_once(t, args, kwbin):
    base, d = kw.copy_example(args, "install")
    env, run_dir = kw.isolated_env(base)
    env.pop("KMOD_WATCH_AGENT", None)
    env.pop("KMOD_WATCH_KIT_SCRIPT", None)
    k = kw.run(kwbin, ["--once", "--accel", "tcg", "--expect", "build A", d], TIMEOUT,
               run_dir=run_dir, env=env, needles=[base])
    t.diag(f"installed kmod-watch --once → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(k.returncode == 0, f"expected exit 0, got {k.returncode}", k)
    kw.check(not k.left_behind, "left behind: " + ", ".join(k.left_behind), k)
    kw.cleanup(args, base)


def case_no_build_paths(t, args, kwbin):
    """The installed program's code and data name neither the source tree nor the
    build tree (debug info aside, which packaging strips): it finds its agents and kit
    script by its own location."""
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.path.abspath(args.build_dir)
    for section in (".rodata", ".data"):
        r = subprocess.run(["readelf", "-p", section, kwbin], capture_output=True)
        for path in (src, build):
            kw.check(path.encode() not in r.stdout, f"{section} of the installed kmod-watch holds {path}")


def case_man(t, files, root):
    pages = [f for f in files if f.endswith("man1/kmod-watch.1")]
    kw.check(pages, "no man1/kmod-watch.1 installed")
    r = subprocess.run(["man", "-l", os.path.join(root, pages[0])], capture_output=True, text=True,
                       env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80"))
    kw.check(r.returncode == 0, f"man -l failed: {r.stderr}")
    for word in ("SYNOPSIS", "--once", "EXIT STATUS", "--expect"):
        kw.check(word in r.stdout.replace("\u2010", "-"), f"the rendered page lacks {word!r}")


# --kernel-release completes the releases in --kernel-root's lib/modules (a tree made in main)
KROOT = None
KREL = "6.1.0-9-amd64"


def case_completion(t, files, root, kwbin):
    comp = [f for f in files if f.endswith("bash-completion/completions/kmod-watch")]
    kw.check(comp, "no bash completion installed")
    lib = "/usr/share/bash-completion/bash_completion"
    kw.check(os.path.exists(lib), f"{lib} is missing (apt-get install bash-completion)")
    script = f"""
source {lib}
source {os.path.join(root, comp[0])}
PATH={os.path.dirname(kwbin)}:$PATH
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); COMP_LINE="$*"
      COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); _kmod_watch; echo "${{COMPREPLY[*]}}"; }}
t kmod-watch --exp
t kmod-watch --accel ''
t kmod-watch kit ''
t kmod-watch --kernel-root {KROOT} --kernel-release ''
"""
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    out = r.stdout.splitlines()
    t.diag(f"completions: {out}")
    kw.check(r.returncode == 0 and len(out) == 4, f"completion script failed: {r.stderr}")
    kw.check(out[3].split() == [KREL], f"--kernel-release from --kernel-root's lib/modules: {out[3]!r}")
    kw.check("--expect" in out[0].split(), f"--exp did not complete to --expect: {out[0]!r}")
    kw.check(set(out[1].split()) == {"auto", "kvm", "tcg"}, f"--accel values: {out[1]!r}")
    kw.check(set(out[2].split()) == {"fetch", "path", "list"}, f"kit verbs: {out[2]!r}")


def case_zsh_fish(t, files, root, kwbin):
    """The zsh and fish completions, installed where Debian's zsh and fish look, offer
    the options from --help, the values of --arch/--color/--release (the cached kits'),
    the kit verbs, the shell subcommand, and files (not only directories) for inject-agent."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PATH=os.path.dirname(kwbin) + ":" + os.environ["PATH"])
    tmp = tempfile.mkdtemp(prefix="kw-comp-")
    open(os.path.join(tmp, "initrd.cpio.gz"), "w").close()
    kit = subprocess.run([kwbin, "kit", "path"], capture_output=True, text=True, timeout=60).stdout.strip()
    lines = ["kmod-watch --exp", "kmod-watch --color ", "kmod-watch kit ", "kmod-watch sh",
             f"kmod-watch inject-agent {tmp}/ini", "kmod-watch --release ",
             f"kmod-watch --kernel-root {KROOT} --kernel-release "]
    want = [{"--expect"}, {"auto", "always", "never"}, {"fetch", "path", "list"}, {"shell"}, None,
            {os.path.basename(kit)}, {KREL}]  # --release: the cached kits' releases
    zsh = [f for f in files if f.endswith("zsh/vendor-completions/_kmod-watch")]
    fish = [f for f in files if f.endswith("fish/vendor_completions.d/kmod-watch.fish")]
    kw.check(zsh and fish, f"zsh or fish completion not installed: {zsh} {fish}")
    for shell in ("zsh", "fish"):
        kw.check(shutil.which(shell), f"{shell} is missing (tests/packages.txt has it)")
    for line, w in zip(lines, want):
        z = subprocess.run(["zsh", "-f", os.path.join(here, "zsh-complete.zsh"), line], capture_output=True,
                           text=True, timeout=30,
                           env=dict(env, KW_COMP_DIR=os.path.dirname(os.path.join(root, zsh[0]))))
        f = subprocess.run(["fish", "-N", "-c", f"source {os.path.join(root, fish[0])}; complete -C'{line}'"],
                           capture_output=True, text=True, timeout=30, env=env)
        zs = set(z.stdout.split())
        fs = {x.split("\t")[0] for x in f.stdout.splitlines()}
        t.diag(f"{line!r}: zsh {sorted(zs)} fish {sorted(fs)}")
        if w is None:  # a file, not only directories
            kw.check("initrd.cpio.gz" in zs, f"zsh: inject-agent did not offer the file: {zs}")
            kw.check(f"{tmp}/initrd.cpio.gz" in fs, f"fish: inject-agent did not offer the file: {fs}")
        else:
            kw.check(w <= zs, f"zsh: {line!r} offered {sorted(zs)}, want {sorted(w)}")
            kw.check(w <= fs, f"fish: {line!r} offered {sorted(fs)}, want {sorted(w)}")
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    args = kw.parse_args()
    kw.check(args.build_dir, "--build-dir is required")
    kw.require_guest(args)
    t = kw.Tap("meson install, then the installed kmod-watch")
    root = tempfile.mkdtemp(prefix="kw-e2e-destdir-")
    global KROOT
    KROOT = os.path.join(root, "kernel-root")
    os.makedirs(os.path.join(KROOT, "lib", "modules", KREL))
    try:
        kwbin, files = install(t, args, root)
        t.case("installed kmod-watch --once --expect 'build A' → exit 0", case_installed_once, t, args, kwbin)
        t.case("no source or build path in the installed program", case_no_build_paths, t, args, kwbin)
        t.case("man -l renders kmod-watch(1)", case_man, t, files, root)
        t.case("bash completion completes options, --accel values, kit verbs, --kernel-release from ROOT",
               case_completion, t, files, root, kwbin)
        t.case("zsh and fish completions: options, values, kit verbs, files for inject-agent, --kernel-release",
               case_zsh_fish, t, files, root, kwbin)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return t.done()


if __name__ == "__main__":
    sys.exit(main())
