#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""examples/ci, run here: the GitLab job's kmod-watch lines (before_script's
`kit fetch` and the script) for each entry of its matrix, in a copy of the
repository's examples as CI_PROJECT_DIR, then the files its
artifacts:reports:junit glob names, validated against junit-10.xsd; and the
LAVA test definition's run steps as lava-test-runner runs them (one shell,
the params exported; GUEST "" so kmod-watch boots its own guest instead of
a board over --ssh), its <LAVA_SIGNAL_TESTCASE> lines checked by pattern.
The apt-get line is not run (tests/packages.txt installs the same here), and
XDG_CACHE_HOME stays the user's (GitLab's cache would hold the kit)."""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

import kw

RUN = None
HERE = os.path.dirname(os.path.abspath(__file__))
XSD = os.path.join(HERE, "..", "fixtures", "junit", "junit-10.xsd")
LAVA_RE = re.compile(r"^<LAVA_SIGNAL_TESTCASE TEST_CASE_ID=([A-Za-z0-9_.-]+) RESULT=(pass|fail|skip)>$")


def project(tag):
    """A CI_PROJECT_DIR holding a copy of examples/ (no build products)."""
    base = os.path.realpath(tempfile.mkdtemp(prefix=f"kw-e2e-{tag}-"))
    shutil.copytree(RUN.examples, os.path.join(base, "examples"),
                    ignore=shutil.ignore_patterns("*.o", "*.ko", "*.mod", "*.mod.c", "*.cmd", "modules.order",
                                                  "Module.symvers", ".*"))
    return base


def sh(t, script, cwd, env, timeout=300):
    r = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout, start_new_session=True)
    t.diag(f"$ {script.splitlines()[-1][:160]} → exit {r.returncode}")
    return r


def case_gitlab(t):
    with open(os.path.join(RUN.examples, "ci", "gitlab-ci.yml")) as f:
        job = yaml.safe_load(f)["kmod-watch"]
    modules = job["parallel"]["matrix"][0]["MODULE"]
    kw.check(len(modules) >= 2, f"the matrix: {modules}")
    for module in modules:
        base = project("gitlab")
        env, _ = kw.isolated_env(base)
        env.update({k: str(v) for k, v in job["variables"].items()})
        env.update({"CI_PROJECT_DIR": base, "MODULE": module, "KMOD_WATCH": RUN.kmod_watch,
                    "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))})
        lines = [x for x in job["before_script"] if x.startswith("$KMOD_WATCH")] + job["script"]
        r = sh(t, "set -e\n" + "\n".join(lines), base, env)
        kw.check(r.returncode == 0, f"the job failed for {module}: {r.stderr[-2000:]}")
        reports = glob.glob(os.path.join(base, job["artifacts"]["reports"]["junit"]))
        kw.check(len(reports) == 1, f"artifacts:reports:junit matched {reports}")
        x = subprocess.run(["xmllint", "--noout", "--schema", XSD, reports[0]], capture_output=True, text=True)
        kw.check(x.returncode == 0, f"xmllint: {x.stderr}")
        for pattern in job["artifacts"]["paths"]:
            kw.check(glob.glob(os.path.join(base, pattern)), f"no artifact {pattern}")
        kw.cleanup(RUN, base)


def case_lava(t):
    with open(os.path.join(RUN.examples, "ci", "lava-test.yaml")) as f:
        definition = yaml.safe_load(f)
    kw.check(definition["metadata"]["format"] == "Lava-Test Test Definition 1.0", "not a LAVA test definition")
    base = project("lava")
    env, _ = kw.isolated_env(base)
    params = dict(definition["params"], GUEST="")
    env.update({k: str(v) for k, v in params.items()})
    env["PATH"] = os.path.dirname(RUN.kmod_watch) + os.pathsep + env["PATH"]
    r = sh(t, "\n".join(definition["run"]["steps"]), base, env)
    kw.check(r.returncode == 0, f"the steps failed: {r.stderr[-2000:]}")
    signals = [x for x in r.stdout.splitlines() if x.startswith("<LAVA_SIGNAL")]
    t.diag("\n".join(signals))
    kw.check(signals and all(LAVA_RE.match(x) for x in signals), f"LAVA signals: {signals}")
    got = {LAVA_RE.match(x).group(1): LAVA_RE.match(x).group(2) for x in signals}
    kw.check(got == {"kmod.hello.build": "pass", "kmod.hello.load": "pass", "kmod.hello.expect.1": "pass",
                     "kmod.hello.unload": "pass"}, f"LAVA test cases: {got}")
    kw.check(os.path.exists(os.path.join(base, "kcidb.json")) and os.path.exists(os.path.join(base, "junit.xml")),
             "the step's --kcidb and --junit files")
    kw.cleanup(RUN, base)


def main():
    global RUN
    RUN = kw.parse_args()
    kw.require_guest(RUN)
    if shutil.which("xmllint") is None:
        kw.skip("xmllint is not installed (libxml2-utils)")
    t = kw.Tap("examples/ci: the GitLab job and the LAVA test definition, run here")
    t.case("the GitLab job, each matrix entry: exit 0, its JUnit report valid", case_gitlab, t)
    t.case("the LAVA test definition's steps: a test-case signal per case", case_lava, t)
    sys.exit(t.done())


if __name__ == "__main__":
    main()
