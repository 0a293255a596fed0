#!/usr/bin/env python3
"""Checks the `lox` command line: every numeric switch refuses what is not a plain
number (sign, spaces, empty, trailing garbage, overflow) with exit code 64 and a message
naming the switch, and still takes the values it should.

Usage: tools/lox-cli-test.py --lox build/release/bin/lox
Prints each failure, then `N passed, M failed`. Exit status 1 on failure.
"""

import argparse
import os
import subprocess
import sys
import tempfile

EXIT_USAGE = 64

# (switch, value): must be refused with exit 64 and a message that names the switch.
REJECTED = [
    ("--gc-stress", "-1"),
    ("--gc-stress", "-0"),
    ("--gc-stress", "+5"),
    ("--gc-stress", " 5"),
    ("--gc-stress", "5 "),
    ("--gc-stress", ""),
    ("--gc-stress", "abc"),
    ("--gc-stress", "1x"),
    ("--gc-stress", "1.5"),
    ("--gc-stress", "0x10"),
    ("--gc-stress", "18446744073709551616"),  # 2^64
    ("--gc-stress", "99999999999999999999999"),
    ("--heap-limit", "-1"),
    ("--heap-limit", " -1"),  # marrow::parse_size alone reads this as 2^64-1
    ("--heap-limit", "+4M"),
    ("--heap-limit", " 4M"),
    ("--heap-limit", ""),
    ("--heap-limit", "abc"),
    ("--heap-limit", "4X"),
    ("--heap-limit", "4M "),
    ("--heap-limit", "1.5M"),
    ("--heap-limit", "18446744073709551616"),
    ("--heap-limit", "99999999999G"),
    ("--heap-limit", "65536"),  # below the smallest heap marrow runs in (1 MiB)
]

# (arguments, expected stdout): accepted.
ACCEPTED = [
    (["--gc-stress=0"], "3\n"),
    (["--gc-stress=1"], "3\n"),
    (["--gc-stress=18446744073709551615"], "3\n"),  # 2^64-1: never collects for stress
    (["--heap-limit=0"], "3\n"),  # 0 = unlimited
    (["--heap-limit=64M"], "3\n"),
    (["--heap-limit=1G"], "3\n"),
    (["--heap-limit=1M"], "3\n"),
    (["--heap-limit=64MiB"], "3\n"),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lox", required=True)
    args = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "p.lox")
        with open(script, "w") as f:
            f.write("print 1 + 2;\n")

        def fail(what, p):
            nonlocal failed
            failed += 1
            print(f"FAIL {what}: exit {p.returncode}\n     stdout: {p.stdout!r}\n     stderr: {p.stderr!r}")

        for switch, value in REJECTED:
            arg = f"{switch}={value}"
            p = subprocess.run([args.lox, arg, script], capture_output=True, text=True, timeout=60)
            if p.returncode == EXIT_USAGE and switch in p.stderr and p.stdout == "":
                passed += 1
            else:
                fail(repr(arg), p)
        for extra, expected in ACCEPTED:
            p = subprocess.run([args.lox, *extra, script], capture_output=True, text=True, timeout=60)
            if p.returncode == 0 and p.stdout == expected:
                passed += 1
            else:
                fail(repr(extra), p)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
