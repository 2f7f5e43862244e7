# SPDX-License-Identifier: GPL-2.0-only
"""kw.py — drive a real kmod-watch from the end-to-end tests (stdlib only).

KmodWatch runs kmod-watch as a subprocess in its own session, reads stdout and
stderr without ever blocking (selectors + deadlines), parses --json lines into
events, and on leaving the `with` block kills whatever is left of the process
group and of the QEMU it started. Every wait has a deadline; a timeout raises
with the last lines of output so a failure explains itself.

Test scripts exit 0 (pass), 1 (fail) or 77 (skip), which meson understands.
"""

import argparse
import collections
import json
import os
import platform
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

SKIP = 77
EXAMPLE = "00-kernel_module_hello"
TAIL_LINES = 50


class KWError(AssertionError):
    """A failed expectation about kmod-watch; the message carries its output."""


# ---- command line and environment ------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--kmod-watch", required=True, help="the kmod-watch binary")
    p.add_argument("--examples", required=True, help="the repository's examples/")
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--arch", default=None, help="guest arch (default: the host's)")
    p.add_argument("--build-dir", default=None, help="the meson build directory")
    a = p.parse_args(argv)
    a.arch = a.arch or host_arch()[0]
    a.kmod_watch = os.path.abspath(a.kmod_watch)
    a.examples = os.path.abspath(a.examples)
    return a


def host_arch():
    """The kit arch name and the QEMU binary for this host."""
    m = platform.machine()
    if m in ("x86_64", "amd64"):
        return "x86_64", "qemu-system-x86_64"
    if m in ("aarch64", "arm64"):
        return "arm64", "qemu-system-aarch64"
    return m, "qemu-system-" + m


def skip(reason):
    print(f"1..0 # SKIP {reason}", flush=True)
    sys.exit(SKIP)


QEMU_OF = {"x86_64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}


def arch_args(args):
    """kmod-watch options selecting the test's guest arch."""
    return [] if args.arch == host_arch()[0] else ["--arch", args.arch]


def require_guest(args):
    """Exit 77 unless kmod-watch has a guest kit for the arch and QEMU exists."""
    if not os.access(args.kmod_watch, os.X_OK):
        skip(f"{args.kmod_watch} is not an executable (build it first)")
    arch, qemu = args.arch, QEMU_OF.get(args.arch, "qemu-system-" + args.arch)
    try:
        r = subprocess.run([args.kmod_watch, "kit", "path", "--arch", arch],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
    except subprocess.TimeoutExpired:
        skip(f"`kmod-watch kit path --arch {arch}` did not answer in 60 s")
    if r.returncode != 0:
        why = (r.stderr.strip() or r.stdout.strip()).splitlines()
        skip(f"no guest kit for {arch} (`kmod-watch kit path --arch {arch}` exited "
             f"{r.returncode}: {why[-1] if why else 'no message'}); "
             f"run `kmod-watch kit fetch` or tests/run")
    if shutil.which(qemu) is None:
        skip(f"{qemu} is not installed (tests/run installs tests/packages.txt)")
    return arch


# ---- the module under test ---------------------------------------------------

PR_INFO_RE = re.compile(r'pr_info\("(?:[^"\\]|\\.)*"\);')


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
# Never carry build products over from the repository.
_BUILD_PRODUCTS = shutil.ignore_patterns("*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd", "modules.order",
                                         "Module.symvers", ".*")


def copy_tree(src, name, tag):
    """A fresh copy of the module directory src, as BASE/name in its own
    temporary directory BASE; returns (BASE, BASE/name).

    The directory's absolute path appears on QEMU's command line (the 9p share),
    which is how leftovers are found afterwards."""
    base = os.path.realpath(tempfile.mkdtemp(prefix=f"kw-e2e-{tag}-"))
    d = os.path.join(base, name)
    shutil.copytree(src, d, ignore=_BUILD_PRODUCTS)
    return base, d


def copy_example(args, tag):
    """A fresh copy of the hello example (see copy_tree)."""
    return copy_tree(os.path.join(args.examples, EXAMPLE), "hello", tag)


def copy_fixture(name, tag):
    """A fresh copy of tests/fixtures/NAME (see copy_tree), as BASE/<last part of NAME>."""
    return copy_tree(os.path.join(FIXTURES, name), os.path.basename(name), tag)


def hello_source(d, text):
    """hello.c with the first pr_info (the one in hello_init) printing text."""
    with open(os.path.join(d, "hello.c")) as f:
        src = f.read()
    assert '"' not in text and "\\" not in text
    new, n = PR_INFO_RE.subn(lambda m: f'pr_info("{text}\\n");', src, count=1)
    if n != 1:
        raise KWError("hello.c has no pr_info(\"...\"); line to rewrite")
    return new


def write_file(path, data):
    """An in-place save: open with O_TRUNC, write, close (same inode)."""
    if isinstance(data, str):
        data = data.encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# ---- processes -----------------------------------------------------------------

def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return None


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return int(s[s.rindex(")") + 2:].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _is_qemu(argv):
    return bool(argv) and os.path.basename(argv[0]).startswith("qemu-system")


def _pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def find_qemu(needles=(), ancestor=None):
    """PIDs of QEMU processes whose command line contains one of needles, or
    that descend from ancestor."""
    pids = _pids()
    parent = {p: _ppid(p) for p in pids}
    found = set()
    for p in pids:
        argv = _cmdline(p)
        if not _is_qemu(argv):
            continue
        if any(n in " ".join(argv) for n in needles if n):
            found.add(p)
            continue
        q, hops = parent.get(p), 0
        while ancestor is not None and q and q > 1 and hops < 64:
            if q == ancestor:
                found.add(p)
                break
            q, hops = parent.get(q), hops + 1
    return sorted(found)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2] != "Z"
    except (OSError, IndexError):
        return False


def qemu_sockets(pid):
    """Unix socket paths on a QEMU command line (-chardev socket,path=…, unix:…)."""
    paths = set()
    for a in _cmdline(pid) or []:
        if a.startswith("socket,"):
            m = re.search(r",path=([^,]+)", a)
            if m:
                paths.add(m.group(1))
        m = re.match(r"unix:([^,]+)", a)
        if m:
            paths.add(m.group(1))
    return sorted(paths)


def kill_pids(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ---- one kmod-watch process ------------------------------------------------------

class KmodWatch:
    """kmod-watch as a subprocess; use as a context manager.

        with KmodWatch(exe, ["--json", "--accel", "tcg", d], needles=[d]) as kw:
            kw.wait_event("ready", timeout=180)
    """

    def __init__(self, exe, args, json_mode=None, env=None, cwd=None, needles=()):
        self.argv = [exe] + list(args)
        self.json = ("--json" in args) if json_mode is None else json_mode
        self.needles = [n for n in needles if n]
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.proc = None
        self.events = []           # parsed JSON objects, in order
        self.stdout_lines = []
        self.stderr_lines = []
        self.bad_lines = []        # stdout lines that are not a JSON event (--json)
        self.not_utf8 = []         # lines (either stream) that are not valid UTF-8
        self.t_backwards = []      # (previous t, t) pairs where "t" went down
        self.wall = []             # time.monotonic() when each event was read
        self.returncode = None
        self._tail = collections.deque(maxlen=TAIL_LINES)
        self._nread = 0            # bytes read so far, both pipes
        self._partial = {}
        self._sel = None
        self._cursor = 0
        self._last_t = None
        self.started = None
        self.started_wall = None
        self.elapsed = None        # seconds from start to exit
        self.left_behind = []
        self.seen_qemus = set()    # QEMU processes seen while it ran
        self.seen_sockets = set()  # and the unix sockets on their command lines
        self._sampled = 0.0

    # -- life cycle
    def start(self):
        self.started = time.monotonic()
        self.started_wall = time.time()
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self.env, cwd=self.cwd,
            start_new_session=True)
        self._sel = selectors.DefaultSelector()
        for stream, name in ((self.proc.stdout, "out"), (self.proc.stderr, "err")):
            os.set_blocking(stream.fileno(), False)
            self._sel.register(stream.fileno(), selectors.EVENT_READ, name)
            self._partial[name] = b""
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()
        return False

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """Kill the whole process group and any QEMU of ours; never raises."""
        if self.proc is None:
            return
        qemus = find_qemu(self.needles, ancestor=self.proc.pid if self.running() else None)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        kill_pids(qemus)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.returncode = self.proc.returncode
        self._drain(0.2)
        if self._sel is not None:
            self._sel.close()
            self._sel = None
        for s in (self.proc.stdout, self.proc.stderr):
            try:
                s.close()
            except OSError:
                pass

    # -- reading
    def _line(self, name, raw):
        try:
            raw.decode()
        except UnicodeDecodeError:
            self.not_utf8.append((name, raw))
        line = raw.decode(errors="replace").rstrip("\r")
        self._tail.append(f"[{name}] {line}")
        if name == "err":
            self.stderr_lines.append(line)
            return
        self.stdout_lines.append(line)
        if not self.json:
            return
        try:
            ev = json.loads(line)
        except ValueError:
            ev = None
        if not isinstance(ev, dict) or not isinstance(ev.get("event"), str) \
                or not isinstance(ev.get("t"), (int, float)) or isinstance(ev.get("t"), bool):
            self.bad_lines.append(line)
            return
        if self._last_t is not None and ev["t"] < self._last_t:
            self.t_backwards.append((self._last_t, ev["t"]))
        self._last_t = ev["t"]
        self.events.append(ev)
        self.wall.append(time.monotonic())

    def sample_guest(self):
        """Remember the QEMU processes (and their sockets) of this kmod-watch."""
        if not self.running():
            return
        for q in find_qemu(self.needles, ancestor=self.proc.pid):
            if q not in self.seen_qemus:
                self.seen_qemus.add(q)
                self.seen_sockets.update(qemu_sockets(q))
        self._sampled = time.monotonic()

    def _pump(self, timeout):
        """Read whatever arrives within timeout seconds; False once both pipes closed."""
        if time.monotonic() - self._sampled >= 0.5:
            self.sample_guest()
        if self._sel is None or not self._sel.get_map():
            if timeout > 0:
                time.sleep(min(timeout, 0.05))
            return False
        for key, _ in self._sel.select(max(0.0, timeout)):
            name = key.data
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            self._nread += len(chunk)
            if not chunk:
                self._sel.unregister(key.fd)
                if self._partial[name]:
                    self._line(name, self._partial[name])
                    self._partial[name] = b""
                continue
            data = self._partial[name] + chunk
            *lines, self._partial[name] = data.split(b"\n")
            for raw in lines:
                self._line(name, raw)
        return True

    def _drain(self, idle):
        """After the process ended: read until EOF or idle seconds of silence.

        (A QEMU that inherited the pipes could keep them open forever.)"""
        end = time.monotonic() + 5
        while self._sel is not None and self._sel.get_map() and time.monotonic() < end:
            before = self._nread
            self._pump(idle)
            if self._nread == before:
                break

    def collect(self, seconds):
        """Read everything that arrives during the next seconds (0: what is
        already waiting in the pipes)."""
        end = time.monotonic() + seconds
        while True:
            if not self.running():
                self._drain(0.2)
                return
            left = end - time.monotonic()
            self._pump(max(0.0, min(left, 0.2)))
            if left <= 0:
                return

    # -- events
    def mark(self):
        """An index into events; pass it as since= to look only at what follows."""
        self.collect(0)
        return len(self.events)

    def events_since(self, since=0, name=None, pred=None):
        return [e for e in self.events[since:]
                if (name is None or e.get("event") == name) and _match(pred, e)]

    def wait_event(self, name, pred=None, timeout=60, since=None):
        """The next event called name (and satisfying pred) at or after since
        (default: just after the previous wait_event's match)."""
        i = self._cursor if since is None else since
        end = time.monotonic() + timeout
        while True:
            while i < len(self.events):
                e = self.events[i]
                i += 1
                if e.get("event") == name and _match(pred, e):
                    self._cursor = i
                    return e
            if not self.running():
                self._drain(0.2)
                if i < len(self.events):
                    continue
                raise KWError(f"kmod-watch exited (status {self.proc.returncode}) "
                              f"before a '{name}' event\n{self.tail()}")
            left = end - time.monotonic()
            if left <= 0:
                raise KWError(f"no '{name}' event within {timeout} s\n{self.tail()}")
            self._pump(min(left, 0.2))

    def wait_exit(self, timeout):
        end = time.monotonic() + timeout
        while self.running():
            left = end - time.monotonic()
            if left <= 0:
                raise KWError(f"kmod-watch still running after {timeout} s\n{self.tail()}")
            self._pump(min(left, 0.1))
        self.returncode = self.proc.wait()
        self.elapsed = time.monotonic() - self.started
        self._drain(0.2)
        return self.returncode

    def stop(self, sig=signal.SIGINT, timeout=15, group=False):
        """Send sig (to the process, or to its whole group like a terminal's
        Ctrl-C) and wait for it to exit. Returns the exit status."""
        self.collect(0)
        try:
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)
        except ProcessLookupError:
            pass
        return self.wait_exit(timeout)

    # -- diagnosis
    def output(self):
        return "\n".join(self.stdout_lines + self.stderr_lines)

    def tail(self):
        lines = list(self._tail)
        for name, rest in self._partial.items():
            if rest:
                lines.append(f"[{name}] {rest.decode(errors='replace')}")
        lines = lines[-TAIL_LINES:]
        return (f"--- {' '.join(self.argv)}\n--- last {len(lines)} lines of stdout+stderr:\n"
                + "\n".join(lines) + "\n---")


def _match(pred, e):
    if pred is None:
        return True
    try:
        return bool(pred(e))
    except (KeyError, TypeError, AttributeError):
        return False


def run(exe, args, timeout, run_dir=None, **kw):
    """Run kmod-watch to completion (e.g. --once); returns the KmodWatch, whose
    left_behind lists the QEMU processes and runtime files it did not clean up
    (checked before the harness kills anything)."""
    k = KmodWatch(exe, args, **kw)
    with k:
        k.wait_exit(timeout)
        k.left_behind = leftovers(k, run_dir)
    return k


def isolated_env(base):
    """The environment for kmod-watch: a private XDG_RUNTIME_DIR (so its runtime
    files can be checked afterwards), no colour. The kit cache is the user's."""
    env = dict(os.environ)
    run_dir = os.path.join(base, "run")
    os.makedirs(run_dir, mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = run_dir
    env["NO_COLOR"] = "1"
    env.pop("CDPATH", None)
    return env, run_dir


def _files_under(path):
    """Non-directories at or under path (empty directories don't count)."""
    if not os.path.isdir(path) or os.path.islink(path):
        return [path] if os.path.lexists(path) else []
    out = []
    for root, _, files in os.walk(path):
        out += [os.path.join(root, f) for f in files]
    return out


def leftovers(k, run_dir=None, grace=2.0):
    """What a finished kmod-watch left behind: QEMU processes still alive after
    grace seconds, the unix sockets that were on their command lines, files in
    the kmod-watch* directories holding those sockets, and files in run_dir
    (its private XDG_RUNTIME_DIR)."""
    found = []
    qemus = sorted(k.seen_qemus | set(find_qemu(k.needles)))
    end = time.monotonic() + grace
    while any(alive(p) for p in qemus) and time.monotonic() < end:
        time.sleep(0.1)
    for p in qemus:
        if alive(p):
            found.append(f"QEMU pid {p} still running: {' '.join(_cmdline(p) or [])}")
    for sock in sorted(k.seen_sockets):
        if os.path.lexists(sock):
            found.append(f"socket {sock} still exists")
    dirs = {os.path.dirname(x) for x in k.seen_sockets}
    if run_dir:
        dirs.add(run_dir)
    for d in sorted(dirs):
        if d == run_dir or os.path.basename(d).startswith("kmod-watch"):
            found += [f"{f} left behind" for f in _files_under(d)
                      if f not in k.seen_sockets]
    return found


def guest_of(k):
    """The QEMU processes of a running kmod-watch and their unix sockets."""
    k.sample_guest()
    return sorted(k.seen_qemus), sorted(k.seen_sockets)


def shell_piped(exe, d, env, script, timeout=60):
    """`kmod-watch shell D` with script on its stdin (not a terminal: typed into
    the guest's pty as it is, then Ctrl-D): the CompletedProcess."""
    return subprocess.run([exe, "shell", d], input=script, capture_output=True, text=True, env=env,
                          timeout=timeout)


# ---- real terminals ----------------------------------------------------------------

class Tmux:
    """A tmux server of the test's own (-L SOCKET): real terminals, whose screens
    are read with capture-pane as a person would see them."""

    def __init__(self):
        self.sock = "kw-e2e-" + uuid.uuid4().hex[:8]

    def __call__(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True, text=True, check=check)

    def screen(self, target, lines=2000, join=False):
        """The pane's text with lines of scrollback; join: wrapped lines as one."""
        return self("capture-pane", "-p", *(["-J"] if join else []), "-S", f"-{lines}", "-t", target,
                    check=False).stdout

    def wait_screen(self, target, pred, timeout, what, **screen_args):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = self.screen(target, **screen_args)
            if pred(s):
                return s
            time.sleep(0.2)  # polling a screen scraper; the programs under test never poll
        raise KWError(f"timed out waiting for {what}; {target}:\n{self.screen(target, **screen_args)[-4000:]}")

    def kill(self):
        self("kill-server", check=False)


# ---- reporting -------------------------------------------------------------------------

class Tap:
    """Plain TAP lines for people; the exit status is what meson reads."""

    def __init__(self, name):
        self.name = name
        self.n = 0
        self.failed = []
        print(f"# {name}", flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines() or [""]:
            print(f"# {line}", flush=True)

    def ok(self, cond, desc, detail=""):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {desc}", flush=True)
        else:
            print(f"not ok {self.n} - {desc}", flush=True)
            if detail:
                self.diag(detail)
            self.failed.append(desc)
        return cond

    def case(self, desc, fn, *a, **kw):
        """Run fn; an exception (a failed check) makes the case 'not ok'."""
        t0 = time.monotonic()
        try:
            fn(*a, **kw)
        except Exception as e:  # noqa: BLE001 — report any failure as the case's
            detail = str(e) if isinstance(e, (KWError, AssertionError)) and str(e) \
                else traceback.format_exc()
            return self.ok(False, desc, detail)
        return self.ok(True, f"{desc} ({time.monotonic() - t0:.1f} s)")

    def done(self):
        print(f"1..{self.n}", flush=True)
        if self.failed:
            print(f"# {self.name}: {len(self.failed)} of {self.n} failed: "
                  + "; ".join(self.failed), flush=True)
            return 1
        return 0


def check(cond, msg, kw=None):
    """assert with the process output attached."""
    if not cond:
        raise KWError(msg + ("\n" + kw.tail() if kw is not None else ""))


def replay_state_file(d):
    """Where kmod-watch keeps d's replay state between runs (watcher/replay-disk.c)."""
    import hashlib
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME", "/"), ".cache")
    return os.path.join(cache, "kmod-watch", "replay", hashlib.sha256(os.path.realpath(d).encode()).hexdigest())


def cleanup(args, base):
    if not args.keep:
        # the replay states of the module copies under base (kept in the user's cache)
        for sub in (os.listdir(base) if os.path.isdir(base) else []):
            try:
                os.unlink(replay_state_file(os.path.join(base, sub)))
            except OSError:
                pass
        shutil.rmtree(base, ignore_errors=True)
