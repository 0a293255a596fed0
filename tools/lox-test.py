#!/usr/bin/env python3
"""Runs Lox conformance tests against a `lox` binary, in parallel.

Each test file states what it expects in comments (see ../shared/lox/README.md):
  // expect: TEXT                  next stdout line is TEXT
  // Error at 'x': message         compile error on this line (exit 65)
  // [line N] Error...             compile error reported on line N
  // [c line N] Error...           the same, for the C implementation (used)
  // [java line N] Error...        for the Java implementation (ignored)
  // expect runtime error: MSG     first stderr line is MSG, a later one has [line N] (exit 70)
  // nontest                       not a test: skipped
Extension for marrow's own tests (tests/lox/):
  // lox-args: ARGS                 extra command-line arguments for this test

Usage: tools/lox-test.py --lox build/release/bin/lox [--arg=--gc-stress=1] DIR_OR_FILE...
Prints each failure, then a closing line `N passed, M failed`. Exit status 1 on failure.
"""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

EXPECT_OUTPUT = re.compile(r"// expect: ?(.*)")
EXPECT_ERROR = re.compile(r"// (Error.*)")
EXPECT_ERROR_AT_LINE = re.compile(r"// \[(?:(java|c) )?line (\d+)\] (Error.*)")
EXPECT_RUNTIME_ERROR = re.compile(r"// expect runtime error: (.+)")
NONTEST = re.compile(r"// nontest")
LOX_ARGS = re.compile(r"// lox-args: (.*)")
STACK_LINE = re.compile(r"\[line (\d+)\]")

EXIT_COMPILE_ERROR = 65
EXIT_RUNTIME_ERROR = 70


class Expectations:
    def __init__(self):
        self.output = []  # (line number, text)
        self.compile_errors = set()  # "[line N] Error..."
        self.runtime_error = None  # (line number, message)
        self.exit_code = 0
        self.args = []


def parse_expectations(path):
    """Returns Expectations, or None for a non-test."""
    with open(path, "rb") as f:
        # Undecodable bytes (binary garbage tests) survive as surrogates; lines stay aligned.
        text = f.read().decode("utf-8", "surrogateescape")
    exp = Expectations()
    for number, line in enumerate(text.split("\n"), start=1):
        if NONTEST.search(line):
            return None
        m = LOX_ARGS.search(line)
        if m:
            exp.args += m.group(1).split()
            continue
        m = EXPECT_OUTPUT.search(line)
        if m:
            exp.output.append((number, m.group(1)))
            continue
        m = EXPECT_ERROR.search(line)
        if m:
            exp.compile_errors.add(f"[line {number}] {m.group(1)}")
            exp.exit_code = EXIT_COMPILE_ERROR
            continue
        m = EXPECT_ERROR_AT_LINE.search(line)
        if m:
            if m.group(1) != "java":
                exp.compile_errors.add(f"[line {m.group(2)}] {m.group(3)}")
                exp.exit_code = EXIT_COMPILE_ERROR
            continue
        m = EXPECT_RUNTIME_ERROR.search(line)
        if m:
            exp.runtime_error = (number, m.group(1))
            exp.exit_code = EXIT_RUNTIME_ERROR
    return exp


def check(exp, stdout, stderr, code):
    """Returns a list of failure messages (empty when the run met the expectations)."""
    failures = []
    err_lines = stderr.split("\n")
    if exp.runtime_error is not None:
        line, message = exp.runtime_error
        if not err_lines or err_lines[0] != message:
            got = err_lines[0] if err_lines else "(nothing)"
            failures.append(f"expected runtime error '{message}', got: {got}")
        else:
            traced = any(
                m and int(m.group(1)) == line
                for m in (STACK_LINE.search(l) for l in err_lines[1:])
            )
            if not traced:
                failures.append(f"expected '[line {line}]' in the stack trace:\n" + stderr)
    elif exp.compile_errors:
        found = set()
        for l in err_lines:
            if not l.strip():
                continue
            if l in exp.compile_errors:
                found.add(l)
            else:
                failures.append(f"unexpected error output: {l}")
        for missing in sorted(exp.compile_errors - found):
            failures.append(f"missing expected error: {missing}")
    elif stderr.strip():
        failures.append("unexpected error output:\n" + stderr.rstrip())

    if code != exp.exit_code:
        failures.append(f"expected exit code {exp.exit_code}, got {code}")

    out_lines = stdout.split("\n")
    if out_lines and out_lines[-1] == "":
        out_lines.pop()
    for i, got in enumerate(out_lines):
        if i >= len(exp.output):
            failures.append(f"unexpected output on stdout: {got!r}")
            break
        line, want = exp.output[i]
        if got != want:
            failures.append(f"line {line}: expected output {want!r}, got {got!r}")
    for line, want in exp.output[len(out_lines):]:
        failures.append(f"line {line}: missing expected output {want!r}")
    return failures


def run_one(lox, extra_args, path, timeout):
    exp = parse_expectations(path)
    if exp is None:
        return path, None
    try:
        proc = subprocess.run(
            [lox, *extra_args, *exp.args, path],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return path, [f"timed out after {timeout} s"]
    stdout = proc.stdout.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    stderr = proc.stderr.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    if proc.returncode < 0:
        return path, [f"killed by signal {-proc.returncode}", stderr.rstrip()[-2000:]]
    return path, check(exp, stdout, stderr, proc.returncode)


def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                files += [os.path.join(root, n) for n in names if n.endswith(".lox")]
        else:
            files.append(p)
    return sorted(files)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lox", required=True, help="the interpreter to test")
    ap.add_argument("--arg", action="append", default=[], help="extra argument for lox (repeatable)")
    ap.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per test")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    sys.stdout.reconfigure(errors="backslashreplace")

    files = collect(args.paths)
    passed = failed = skipped = 0
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, args.lox, args.arg, f, args.timeout) for f in files]
        for fut in futures:
            path, result = fut.result()
            if result is None:
                skipped += 1
            elif result:
                failed += 1
                failures.append((path, result))
            else:
                passed += 1
    for path, messages in failures:
        print(f"FAIL {path}")
        for m in messages:
            for l in m.split("\n"):
                print(f"     {l}")
    if failures:
        print("failed tests:")
        for path, _ in failures:
            print(f"  {path}")
    if skipped:
        print(f"({skipped} non-test files skipped)")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
