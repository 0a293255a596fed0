#!/usr/bin/env python3
"""Runs the mal test suite (runtest.py from ../shared/mal) against the mal interpreter of
samples/mal: every step's tests on the matching --step, the self-hosted interpreter
(mal/stepA_mal.mal on ours, and each mal/stepN on step N's tests as upstream's mal/run
does), and our own tests (samples/mal/tests), in parallel, and prints one line per test
file with runtest.py's pass/fail counts. Exits 1 if any file fails.

Usage: tools/mal-test.py --mal build/release/bin/mal --suite ../shared/mal
           --work build/release/mal-suite [--jobs 2] [--set NAME]... [--args "..."]
           [--self-hosted-args "..."] [--own DIR]

Sets: steps (tests/stepN on --step=N), self-hosted (tests/step2..A except 5 on
mal/stepA_mal.mal: upstream excludes step 5 for mal, host dependent), upstream (tests/stepN
on mal/stepN, N in what mal/ provides), own (DIR/*.mal). --args go to every run;
--self-hosted-args replace them for the two self-hosted sets. A test file may add
arguments with a line `;;; mal-args: ...`, and replace --args in a stress run
(--stress) with `;;; mal-stress-args: ...` (without --verify-heap if --no-verify).
Pass arguments that start with dashes as --args=... ."""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import time

p = argparse.ArgumentParser(usage=__doc__)
p.add_argument("--mal", required=True)
p.add_argument("--suite", required=True)
p.add_argument("--work", required=True)
p.add_argument("--jobs", type=int, default=2)
p.add_argument("--set", action="append", dest="sets")
p.add_argument("--args", default="")
p.add_argument("--self-hosted-args", default=None)
p.add_argument("--own", default=None)
p.add_argument("--stress", action="store_true")
p.add_argument("--no-verify", action="store_true",
               help="drop --verify-heap from the files' mal-stress-args (ASan runs)")
p.add_argument("--timeout", type=int, default=120, help="runtest.py's per-test timeout")
opts = p.parse_args()

mal = os.path.abspath(opts.mal)
suite = os.path.abspath(opts.suite)
work = os.path.abspath(opts.work)
# runtest.py runs from a folder that is a sibling of tests/, lib/ and mal/: tests load
# files as ../tests/inc.mal.
rundir = os.path.join(work, "run")
os.makedirs(rundir, exist_ok=True)
for name in ("tests", "lib", "mal"):
    link = os.path.join(work, name)
    if os.path.islink(link) and os.readlink(link) != os.path.join(suite, name):
        os.remove(link)
    if not os.path.lexists(link):
        os.symlink(os.path.join(suite, name), link)

STEP = re.compile(r"step([0-9A])_")


def step_of(name):
    return STEP.match(name).group(1)


jobs = []  # (label, test file, command)
base_args = opts.args.split()
hosted_args = (opts.self_hosted_args if opts.self_hosted_args is not None else opts.args).split()
step_tests = sorted(f for f in os.listdir(os.path.join(suite, "tests")) if STEP.match(f))
for s in opts.sets or ["steps", "self-hosted", "upstream", "own"]:
    if s == "steps":
        for f in step_tests:
            jobs.append((f"{f[:-4]}", f"../tests/{f}", [mal, f"--step={step_of(f)}"] + base_args))
    elif s == "self-hosted":
        for f in step_tests:
            if step_of(f) in "015":
                continue
            jobs.append((f"{f[:-4]} on mal/stepA_mal.mal", f"../tests/{f}",
                         [mal] + hosted_args + ["../mal/stepA_mal.mal"]))
    elif s == "upstream":
        impls = {step_of(f): f for f in os.listdir(os.path.join(suite, "mal")) if STEP.match(f)}
        for f in step_tests:
            impl = impls.get(step_of(f))
            if impl is not None:
                jobs.append((f"{f[:-4]} on mal/{impl[:-4]}", f"../tests/{f}",
                             [mal] + hosted_args + [f"../mal/{impl}"]))
    elif s == "own":
        own = os.path.abspath(opts.own)
        for f in sorted(os.listdir(own)):
            if not f.endswith(".mal"):
                continue
            path = os.path.join(own, f)
            text = open(path).read()
            extra = sum((m.split() for m in re.findall(r"^;;; mal-args:(.*)$", text, re.M)), [])
            stress = re.findall(r"^;;; mal-stress-args:(.*)$", text, re.M)
            args = stress[0].split() if opts.stress and stress else base_args
            if opts.no_verify:
                args = [a for a in args if a != "--verify-heap"]
            jobs.append((f"samples/mal/tests/{f[:-4]}", path, [mal] + args + extra))
    else:
        sys.exit(f"mal-test.py: unknown set {s}")

COUNT = re.compile(r"^\s*(\d+): (soft failing|failing|passing) tests", re.M)


def run(job):
    label, test, cmd = job
    start = time.time()
    proc = subprocess.run(
        [sys.executable, os.path.join(suite, "runtest.py"), "--rundir", rundir,
         "--start-timeout", str(opts.timeout), "--test-timeout", str(opts.timeout),
         "--deferrable", "--optional", test, "--"] + cmd,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    counts = {k: int(n) for n, k in COUNT.findall(proc.stdout)}
    return label, cmd, proc.returncode, counts, proc.stdout, time.time() - start


failed = 0
totals = {"passing": 0, "failing": 0, "soft failing": 0}
with concurrent.futures.ThreadPoolExecutor(max_workers=opts.jobs) as pool:
    for label, cmd, code, counts, out, secs in pool.map(run, jobs):
        ok = code == 0 and "passing" in counts
        for k in totals:
            totals[k] += counts.get(k, 0)
        args = " ".join(a for a in cmd[1:] if a.startswith("--"))
        print(f"{'PASS' if ok else 'FAIL'} {label} [{args}]: {counts.get('passing', 0)} passed, "
              f"{counts.get('failing', 0)} failed, {counts.get('soft failing', 0)} soft-failed "
              f"({secs:.1f}s)", flush=True)
        if not ok:
            failed += 1
            tail = out[out.find("FAILURES:"):] if "FAILURES:" in out else out[-3000:]
            print("    " + tail.replace("\n", "\n    ")[:6000], flush=True)
print(f"mal-test.py: {len(jobs) - failed}/{len(jobs)} files passed; tests: {totals['passing']} "
      f"passed, {totals['failing']} failed, {totals['soft failing']} soft-failed")
sys.exit(1 if failed else 0)
