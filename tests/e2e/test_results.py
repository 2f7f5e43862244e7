#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Results for CI from real runs, checked by things nobody here wrote: one
--once run each of a good module (which also prints bytes that are not UTF-8
and control characters, in the kernel log and through --run), the
10-oops-null crash twice (two boots, one fingerprint), a build error, and a
guest that never greets (--boot-timeout 1). Each writes --junit, --ktap and
--kcidb (and --lava signals): the JUnit file is validated by xmllint against
the Jenkins xunit plugin's junit-10.xsd and parsed by Python; the KTAP file is
parsed by the kernel's own kunit_tool parser (tools/testing/kunit from
Debian's linux-source-6.1, fetched once into ~/.cache/kmod-watch/kunit-tool);
the KCIDB file is validated against the kcidb-io project's v5.3 schema with
python3-jsonschema."""

import glob
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout

import kw

TIMEOUT = 240
RUN = None
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
KCIDB_SCHEMA = os.path.join(FIXTURES, "kcidb", "kcidb-io.schema.v5.3.json")
JUNIT_XSD = os.path.join(FIXTURES, "junit", "junit-10.xsd")
LAVA_RE = re.compile(r"^<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=([A-Za-z0-9_.-]+) RESULT=(pass|fail|skip)>$")


# ---- the real parsers and schemas ---------------------------------------------------

def kunit_tool():
    """The directory holding the kernel's kunit_parser.py: Debian's linux-source-6.1
    (apt-get download, only tools/testing/kunit/*.py extracted), cached."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
                         "kmod-watch", "kunit-tool")
    if os.path.exists(os.path.join(cache, "kunit_parser.py")):
        return cache
    tmp = tempfile.mkdtemp(prefix="kw-kunit-")
    try:
        r = subprocess.run(["apt-get", "download", "linux-source-6.1"], cwd=tmp,
                           capture_output=True, text=True, timeout=900)
        debs = glob.glob(os.path.join(tmp, "linux-source-6.1_*.deb"))
        kw.check(r.returncode == 0 and debs, f"apt-get download linux-source-6.1 failed: {r.stderr[-500:]}")
        r = subprocess.run(f"dpkg-deb --fsys-tarfile {debs[0]} | tar -xO ./usr/src/linux-source-6.1.tar.xz"
                           " | tar -xJ --wildcards 'linux-source-6.1/tools/testing/kunit/*.py'",
                           shell=True, cwd=tmp, capture_output=True, text=True, timeout=900)
        kw.check(r.returncode == 0, f"extracting tools/testing/kunit failed: {r.stderr[-500:]}")
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        shutil.copytree(os.path.join(tmp, "linux-source-6.1", "tools", "testing", "kunit"), cache + ".new")
        os.rename(cache + ".new", cache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def ktap_parse(t, path):
    """kunit_parser.parse_run_tests() on the file: the run's subtest and its cases."""
    sys.path.insert(0, kunit_tool())
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    with redirect_stdout(io.StringIO()):  # its printer keeps the stdout it saw at import: this one
        import kunit_parser  # noqa: E402 — the kernel's own parser
        test = kunit_parser.parse_run_tests(lines)
    kw.check(len(test.subtests) == 1, f"KTAP: want one subtest, got {len(test.subtests)}")
    kw.check(not test.errors if hasattr(test, "errors") else True, "KTAP parse errors")
    run = test.subtests[0]
    cases = {c.name: c.status.name for c in run.subtests}
    t.diag(f"KTAP (kunit_parser): {run.name} {run.status.name}: {cases}")
    return run, cases


def junit_check(t, path):
    r = subprocess.run(["xmllint", "--noout", "--schema", JUNIT_XSD, path], capture_output=True, text=True)
    kw.check(r.returncode == 0, f"xmllint --schema junit-10.xsd: {r.stderr}")
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    cases = {}
    for c in suite.iter("testcase"):
        kind = next((x.tag for x in c if x.tag in ("failure", "error", "skipped")), "pass")
        node = c.find(kind) if kind != "pass" else None
        cases[c.get("name")] = (kind, node.get("message") if node is not None else "",
                                node.text or "" if node is not None else "", c.findtext("system-out") or "")
    t.diag(f"JUnit: {suite.get('tests')} tests, {suite.get('failures')} failures, {suite.get('errors')} errors, "
           f"{suite.get('skipped')} skipped: " + ", ".join(f"{n}={v[0]}" for n, v in cases.items()))
    counts = {k: sum(1 for v in cases.values() if v[0] == k) for k in ("failure", "error", "skipped")}
    kw.check(int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == counts["failure"]
             and int(suite.get("errors")) == counts["error"] and int(suite.get("skipped")) == counts["skipped"],
             f"JUnit counts do not match its cases: {suite.attrib}")
    return props, cases


def kcidb_check(t, path):
    import jsonschema
    with open(KCIDB_SCHEMA) as f:
        schema = json.load(f)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    jsonschema.validate(data, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    tests = {x["path"]: x for x in data["tests"]}
    t.diag("KCIDB (valid v5.3): builds " + ", ".join(b.get("status", "-") for b in data["builds"])
           + "; tests " + ", ".join(f"{p}={x['status']}" for p, x in tests.items())
           + f"; issues {[i['id'] for i in data['issues']]}")
    return data, tests


def lava_lines(k):
    """The LAVA signals (on stderr with --json), checked against LAVA's pattern."""
    lines = [x for x in k.stderr_lines if x.startswith("<LAVA_SIGNAL_")]
    for x in lines:
        kw.check(LAVA_RE.match(x), f"not a LAVA test case signal: {x!r}")
    return {LAVA_RE.match(x).group(1): LAVA_RE.match(x).group(2) for x in lines}


# ---- runs ------------------------------------------------------------------------------

def once(t, base, d, extra, out):
    env, run_dir = kw.isolated_env(base)
    files = {"junit": os.path.join(out, "junit.xml"), "ktap": os.path.join(out, "run.ktap"),
             "kcidb": os.path.join(out, "kcidb.json")}
    args = (["--once", "--accel", "tcg", "--json", "--lava", "--junit", files["junit"], "--ktap", files["ktap"],
             "--kcidb", files["kcidb"]] + extra + [d])
    k = kw.run(RUN.kmod_watch, args, TIMEOUT, run_dir=run_dir, env=env, needles=[base])
    t.diag(f"$ kmod-watch {' '.join(args)} → exit {k.returncode} in {k.elapsed:.1f} s")
    kw.check(not k.bad_lines and not k.not_utf8, f"stdout not JSON Lines or not UTF-8: {k.bad_lines} {k.not_utf8}", k)
    kw.check(k.events and k.events[-1]["event"] == "exit", "the last event is not exit", k)
    kw.check(all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", e.get("time", "")) for e in k.events),
             "an event without a wall-clock time", k)
    return k, files


def case_good_module(t):
    base, d = kw.copy_tree(os.path.join(RUN.examples, "00-kernel_module_hello"), "hello", "res-good")
    src = os.path.join(d, "hello.c")
    with open(src) as f:
        text = f.read()
    with open(src, "w") as f:  # bytes that are not UTF-8, control characters
        f.write(text.replace('pr_info("9p iter: build A\\n");', 'pr_info("kw-bytes \\xff\\x01\\x1b[31m end\\n");'))
    git = subprocess.run(f"cd {d} && git init -q -b main && git add . && git -c user.name=t -c user.email=t@t "
                         "commit -qm hello && git rev-parse HEAD", shell=True, capture_output=True, text=True)
    kw.check(git.returncode == 0, f"git: {git.stderr}")
    k, files = once(t, base, d, ["--expect", "kw-bytes", "--run", r"printf 'run \377\001\033[0m \303(<&>\n'"], base)
    kw.check(k.returncode == 0, f"want exit 0, got {k.returncode}", k)
    ready = k.events_since(0, "ready")
    kw.check(ready and ready[0].get("schema") == 2, f"ready has no schema 2: {ready}", k)
    out = "".join(e["text"] for e in k.events_since(0, "run_output"))
    kw.check("run \\xff\x01\x1b[0m \\xc3(<&>" in out, f"run_output: {out!r}", k)  # JSON escapes controls
    built = k.events_since(0, "build_end")
    kw.check(built and built[0]["ok"] and built[0]["modules"] == ["hello"], f"build_end: {built}", k)

    props, cases = junit_check(t, files["junit"])
    kw.check(props.get("kernel_release") and props.get("arch") == "x86_64" and props.get("guest") == "managed",
             f"JUnit properties: {props}")
    want = ["build", "load hello", "expect kw-bytes", "run " + r"printf 'run \377\001\033[0m \303(<&>\n'",
            "unload hello"]
    kw.check(sorted(cases) == sorted(want), f"JUnit cases {sorted(cases)}, want {sorted(want)}")
    kw.check(all(v[0] == "pass" for v in cases.values()), f"a JUnit case did not pass: {cases}")
    runout = cases[want[3]][3]
    kw.check("run \\xff\\x01\\x1b[0m \\xc3(<&>" in runout, f"the run's system-out: {runout!r}")

    run, kcases = ktap_parse(t, files["ktap"])
    kw.check(run.status.name == "SUCCESS" and run.counts.passed == 5 and run.counts.failed == 0,
             f"KTAP: {run.status.name} {run.counts}")
    kw.check(sorted(kcases) == ["kmod.hello.build", "kmod.hello.expect.1", "kmod.hello.load", "kmod.hello.run",
                                "kmod.hello.unload"], f"KTAP cases: {kcases}")

    data, tests = kcidb_check(t, files["kcidb"])
    kw.check(all(x["status"] == "PASS" for x in tests.values()) and len(tests) == 4, f"KCIDB tests: {tests}")
    kw.check(data["builds"][0]["status"] == "PASS" and not data["issues"], "KCIDB build or issues")
    checkout = data["checkouts"][0]
    kw.check(checkout.get("git_commit_hash") == git.stdout.strip() and checkout.get("git_repository_branch") == "main",
             f"KCIDB checkout: {checkout}, git says {git.stdout.strip()}")
    lava = lava_lines(k)
    kw.check(lava == {p: "pass" for p in list(kcases)}, f"LAVA signals: {lava}", k)
    kw.cleanup(RUN, base)


def oops_run(t, tag):
    base, d = kw.copy_tree(os.path.join(RUN.examples, "10-oops-null"), "10-oops-null", tag)
    k, files = once(t, base, d, [], base)
    kw.check(k.returncode == 4, f"want exit 4, got {k.returncode}", k)
    oops = k.events_since(0, "oops")
    kw.check(len(oops) == 1 and re.match(r"^[0-9a-f]{16}$", oops[0].get("fingerprint", "")), f"oops: {oops}", k)
    fp = oops[0]["fingerprint"]
    t.diag(f"fingerprint {fp}: {oops[0]['title']}")
    props, cases = junit_check(t, files["junit"])
    kernel = [v for n, v in cases.items() if n.startswith("kernel ")]
    kw.check(len(kernel) == 1 and kernel[0][0] == "failure" and "oops_null_init" in kernel[0][2]
             and "Call Trace:" in kernel[0][2] and kernel[0][1] == oops[0]["title"],
             f"the kernel case should fail with the whole report: {kernel}")
    kw.check(cases.get("load oops_null", ("",))[0] == "failure", f"load case: {cases.get('load oops_null')}")
    run, kcases = ktap_parse(t, files["ktap"])
    kw.check(kcases.get(f"kmod.oops_null.kernel.{fp}") == "FAILURE" and kcases.get("kmod.oops_null.load") == "FAILURE"
             and run.status.name == "FAILURE", f"KTAP: {kcases}")
    data, tests = kcidb_check(t, files["kcidb"])
    kw.check([i["id"] for i in data["issues"]] == [f"kmod_watch:{fp}"] and len(data["incidents"]) == 1
             and data["incidents"][0]["issue_id"] == f"kmod_watch:{fp}", "KCIDB issue and incident")
    kw.check(lava_lines(k).get(f"kmod.oops_null.kernel.{fp}") == "fail", "LAVA: the kernel case", k)
    report = oops[0]["report"]
    kw.cleanup(RUN, base)
    return fp, report


def case_oops_twice(t):
    fp1, r1 = oops_run(t, "res-oops1")
    fp2, r2 = oops_run(t, "res-oops2")
    kw.check(r1 != r2, "the two reports are the same text: the test shows nothing")
    kw.check(fp1 == fp2, f"two boots, two fingerprints: {fp1} {fp2}")


def case_build_error(t):
    base, d = kw.copy_tree(os.path.join(RUN.examples, "00-kernel_module_hello"), "hello", "res-build")
    src = os.path.join(d, "hello.c")
    with open(src) as f:
        text = f.read()
    with open(src, "w") as f:
        f.write(text.replace("return 0;", "return 0"))
    k, files = once(t, base, d, ["--expect", "never"], base)
    kw.check(k.returncode == 2, f"want exit 2, got {k.returncode}", k)
    end = k.events_since(0, "build_end")
    kw.check(end and not end[0]["ok"] and "error:" in end[0].get("error", ""), f"build_end: {end}", k)
    props, cases = junit_check(t, files["junit"])
    kw.check(cases["build"][0] == "failure" and "hello.c" in cases["build"][2] and "error:" in cases["build"][1],
             f"the build case: {cases['build']}")
    kw.check(cases.get("expect never", ("",))[0] == "skipped", f"the expect case: {cases}")
    run, kcases = ktap_parse(t, files["ktap"])
    kw.check(kcases.get("kmod.hello.build") == "FAILURE" and kcases.get("kmod.hello.expect.1") == "SKIPPED",
             f"KTAP: {kcases}")
    data, tests = kcidb_check(t, files["kcidb"])
    b = data["builds"][0]
    kw.check(b["status"] == "FAIL" and "error:" in b.get("log_excerpt", ""), f"KCIDB build: {b}")
    kw.cleanup(RUN, base)


def case_no_guest(t):
    base, d = kw.copy_tree(os.path.join(RUN.examples, "00-kernel_module_hello"), "hello", "res-noguest")
    k, files = once(t, base, d, ["--boot-timeout", "1", "--expect", "build A", "--run", "true"], base)
    kw.check(k.returncode == 5, f"want exit 5, got {k.returncode}", k)
    kw.check(k.events[-1].get("error"), f"exit has no error: {k.events[-1]}", k)
    props, cases = junit_check(t, files["junit"])
    for name in ("guest", "expect build A", "run true"):
        kw.check(cases.get(name, ("",))[0] == "error", f"{name!r} should be an error: {cases}")
    kw.check("greet" in cases["guest"][1] or "guest" in cases["guest"][1], f"guest error: {cases['guest']}")
    run, kcases = ktap_parse(t, files["ktap"])
    kw.check(kcases.get("kmod.hello.guest") == "FAILURE" and run.status.name == "FAILURE", f"KTAP: {kcases}")
    data, tests = kcidb_check(t, files["kcidb"])
    kw.check(tests["kmod.hello.expect.1"]["status"] == "MISS" and tests["kmod.hello.run"]["status"] == "MISS"
             and tests["kmod.hello.guest"]["status"] == "ERROR", f"KCIDB: {tests}")
    kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        kw.skip("python3-jsonschema is not installed (tests/run installs tests/packages.txt)")
    if shutil.which("xmllint") is None:
        kw.skip("xmllint is not installed (libxml2-utils)")
    t = kw.Tap("results for CI: JUnit (junit-10.xsd), KTAP (kunit_tool), KCIDB (v5.3 schema), LAVA")
    t.case("a good module printing bytes that are not UTF-8: every format passes and is valid", case_good_module, t)
    t.case("10-oops-null twice: one fingerprint across boots; the report in every format", case_oops_twice, t)
    t.case("a build error: the compiler's words in JUnit and KCIDB, the rest skipped", case_build_error, t)
    t.case("no guest (--boot-timeout 1): its cases are errors, KCIDB MISS", case_no_guest, t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
