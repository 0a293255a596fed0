#!/usr/bin/env bash
# The Lox VM's benchmark programs (samples/lox/bench) with the stop-the-world collector and
# with incremental marking, alternating in each round; prints per program the medians of
# wall time, peak heap, and the pauses' p99, max and total (from --gc-stats=json).
# Usage: tools/compare-lox-modes.sh ROUNDS [PROGRAM...]
#   e.g. tools/compare-lox-modes.sh 3 binary_trees wide_tree
# Needs the release build (make build). The Lox VM has no Boehm GC variant.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 ROUNDS [PROGRAM...]" >&2; exit 2; }
rounds=$1; shift
lox=build/release/bin/lox
[ -x "$lox" ] || { echo "$0: $lox missing (build the release preset)" >&2; exit 1; }
python3 - "$lox" "$rounds" "$@" <<'PY'
import json, os, statistics, subprocess, sys, time

lox, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
if not names:
    names = sorted(f[:-4] for f in os.listdir("samples/lox/bench") if f.endswith(".lox"))
modes = {"stop-the-world": "0", "incremental": "1"}

def run(path, flag):
    env = dict(os.environ, MARROW_INCREMENTAL_MARKING=flag)
    start = time.perf_counter()
    p = subprocess.run([lox, "--gc-stats=json", path], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{lox} {path} failed ({p.returncode}):\n{p.stderr}")
    s = json.loads(p.stderr.strip().splitlines()[-1])
    return {"wall": wall * 1e3, "peak": s["peak_heap_bytes"] / 1048576,
            "p99": s["pauses"]["p99_ns"] / 1e6, "max": s["pauses"]["max_ns"] / 1e6,
            "total": s["pauses"]["total_ns"] / 1e6, "count": s["pauses"]["count"]}

print(f"medians of {rounds} rounds")
print(f"{'program':16} {'mode':15} {'wall ms':>8} {'heap MiB':>9} {'pauses':>7} {'p99 ms':>7} "
      f"{'max ms':>7} {'total ms':>9}")
for name in names:
    path = f"samples/lox/bench/{name}.lox"
    rows = {m: [] for m in modes}
    for _ in range(rounds):
        for mode, flag in modes.items():
            rows[mode].append(run(path, flag))
    for mode, rs in rows.items():
        med = lambda key: statistics.median(r[key] for r in rs)
        print(f"{name:16} {mode:15} {med('wall'):8.0f} {med('peak'):9.1f} {med('count'):7.0f} "
              f"{med('p99'):7.2f} {med('max'):7.2f} {med('total'):9.1f}", flush=True)
PY
