#!/usr/bin/env python3
"""Bounded-time fuzzing of the Lox VM: random bytes, random token soup and mutations of
the test programs, with a fixed seed. Every run must end with exit code 0, 65 or 70
(or be cut off by the per-run timeout: mutations make infinite loops) and never with a
signal or a sanitizer report. Failing inputs are saved for reproduction.

Usage: tools/lox-fuzz.py --lox build/release/bin/lox [--seconds 25] [--seed 1] CORPUS_DIR...
"""

import argparse
import concurrent.futures
import os
import random
import subprocess
import sys
import time

TOKENS = (
    "( ) { } , . - + ; / * ! != = == > >= < <= and class else false for fun if nil or "
    "print return super this true var while x y z f g A B init 0 1 2.5 \"s\" \"\" "
    "this.x super.init x() f(1,2) A() clock() 1e9"
).split()
ACCEPTED = {0, 65, 70}
# Under a limit, runaway allocation is the Lox error "Out of memory.", not the machine's.
BASE_ARGS = ["--heap-limit=64M"]
EXTRA_ARGS = [[], [], ["--gc-stress=7"], ["--gc-stress=1"], ["--heap-limit=1M"]]


def mutate(rnd, data):
    data = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        n = len(data)
        op = rnd.randrange(7)
        if n == 0:
            op = 2
        i = rnd.randrange(n + 1)
        j = min(n, i + rnd.randint(1, 40))
        if op == 0:  # delete a span
            del data[i:j]
        elif op == 1:  # duplicate a span
            data[i:i] = data[i:j]
        elif op == 2:  # insert a token
            data[i:i] = (" " + rnd.choice(TOKENS) + " ").encode()
        elif op == 3:  # replace a byte
            if i < n:
                data[i] = rnd.randrange(256)
        elif op == 4:  # swap two spans
            k = rnd.randrange(n + 1)
            a, b = sorted((i, k))
            data = data[:a] + data[b:b + 10] + data[a + 10:b] + data[a:a + 10] + data[b + 10:]
        elif op == 5:  # repeat a span many times (deep nesting, long lines)
            data[i:i] = data[i:j] * rnd.randint(2, 300)
        else:  # truncate
            del data[i:]
    return bytes(data)


def token_soup(rnd):
    return " ".join(rnd.choice(TOKENS) for _ in range(rnd.randint(1, 300))).encode()


def make_case(rnd, corpus):
    kind = rnd.random()
    if kind < 0.1:
        return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 2000)))
    if kind < 0.3:
        return token_soup(rnd)
    return mutate(rnd, rnd.choice(corpus))


def run_case(lox, path, args, timeout):
    try:
        proc = subprocess.run([lox, *BASE_ARGS, *args, path], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode in ACCEPTED and b"Sanitizer" not in proc.stderr:
        return None
    return proc.returncode, proc.stderr.decode("utf-8", "replace")[-3000:]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lox", required=True)
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("LOX_FUZZ_SECONDS", 25)))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--out", default="build/lox-fuzz")
    ap.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("corpus", nargs="+")
    args = ap.parse_args()

    corpus = []
    for d in args.corpus:
        for root, _, names in os.walk(d):
            for n in sorted(names):
                if n.endswith(".lox"):
                    with open(os.path.join(root, n), "rb") as f:
                        data = f.read()
                    if len(data) < 200_000:
                        corpus.append(data)
    corpus.sort()
    rnd = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    deadline = time.monotonic() + args.seconds
    runs = 0
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        while time.monotonic() < deadline and len(failures) < 10:
            batch = []
            for _ in range(args.jobs * 4):
                case = make_case(rnd, corpus)
                extra = rnd.choice(EXTRA_ARGS)
                path = os.path.join(args.out, f"case-{runs}.lox")
                runs += 1
                with open(path, "wb") as f:
                    f.write(case)
                batch.append((path, extra, pool.submit(run_case, args.lox, path, extra, args.timeout)))
            for path, extra, fut in batch:
                result = fut.result()
                if result is None:
                    os.remove(path)
                else:
                    failures.append((path, extra, result))
    for path, extra, (code, err) in failures:
        print(f"FAIL {path} (args {' '.join(BASE_ARGS + extra)}): exit {code}")
        for line in err.splitlines()[-15:]:
            print(f"     {line}")
    print(f"fuzz: {runs} runs, {len(failures)} failures (seed {args.seed})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
