#!/usr/bin/env bash
# The time-memory trade-off curves (tools/bench_gc.py --sweep): MARROW_HEAP_TUNING and the
# old growth rule for marrow, GC_FREE_SPACE_DIVISOR for Boehm, per workload; writes
# build/bench/sweep.md, sweep_*.svg and a section of report.md. Then the spike benchmark
# (bench/spike.cpp). QUICK=1: smaller problems, 2 rounds. BENCH_BIN_DIR overrides build/release/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
bindir=${BENCH_BIN_DIR:-build/release/bin}
quick=()
spike=()
case "${QUICK:-}" in ""|0) ;; *) quick=(--quick); spike=(--spike-mib 256) ;; esac
python3 tools/bench_gc.py --sweep --bin "$bindir" --out build/bench "${quick[@]}"
echo "== spike"
"$bindir/bench_spike" "${spike[@]}" | tee build/bench/spike.txt
