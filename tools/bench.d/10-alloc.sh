#!/usr/bin/env bash
# Off-heap allocator micro-benchmarks (bench/alloc_bench.cpp): runs bench_alloc with
# repetitions, writes build/bench/alloc.json and prints the medians' ratios against the
# targets. QUICK=1 shortens every benchmark; BENCH_BIN overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BENCH_BIN:-build/release/bin/bench_alloc}
out=build/bench/alloc.json
if [ ! -x "$bin" ]; then
  echo "10-alloc: $bin is missing (cmake --build --preset release --target bench_alloc)" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
min_time=0.5
reps=5
if [ "${QUICK:-}" = 1 ]; then
  min_time=0.05
  reps=3
fi
"$bin" --benchmark_min_time="$min_time" --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json
echo "10-alloc: results in $out"

# The ratios the allocators are held to, from the medians of CPU time (less disturbed than
# wall time by other load on the machine). python3 is optional here.
if command -v python3 >/dev/null; then
  python3 - "$out" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
med = {b["run_name"]: b["cpu_time"] for b in runs if b.get("aggregate_name") == "median"}
def ratio(slow, fast):
    return med[slow] / med[fast] if slow in med and fast in med else float("nan")
checks = [
    ("arena alloc vs malloc+free (16-64 mix)", ratio("BM_MallocAllocFreeBatch/0", "BM_ArenaAlloc/0"), ">=", 5.0),
    ("pool alloc+free vs malloc/free pairs (32 B)", ratio("BM_MallocFreePairs/32", "BM_PoolAllocFreePairs/32"), ">=", 2.0),
    ("pool alloc+free vs malloc/free batch (32 B)", ratio("BM_MallocFreeBatchFixed/32", "BM_PoolAllocFreeBatch/32"), ">=", 2.0),
    ("arena time / pmr monotonic time (16-64 mix)", ratio("BM_ArenaAlloc/0", "BM_PmrMonotonicAlloc/0"), "<=", 1.2),
    ("arena / pmr monotonic via memory_resource*", ratio("BM_ArenaResourceVirtual/0", "BM_PmrMonotonicVirtual/0"), "<=", 1.2),
]
for name, value, op, target in checks:
    ok = value >= target if op == ">=" else value <= target
    print(f"  {name:48s} {value:6.2f}x  (target {op} {target}x) {'ok' if ok else 'MISSED'}")
PY
fi
