#!/usr/bin/env bash
# GC comparison benchmarks (bench/{binary_trees,gcbench,churn,gc_micro}.cpp): marrow
# against Boehm GC, malloc/free, a pool and an arena. Runs every workload and variant in
# alternation, then writes build/bench/report.md, results.json and SVG plots.
# QUICK=1: 3 rounds on smaller problems (under two minutes). BENCH_BIN_DIR overrides
# build/release/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
bindir=${BENCH_BIN_DIR:-build/release/bin}
quick=()
case "${QUICK:-}" in ""|0) ;; *) quick=(--quick) ;; esac
exec python3 tools/bench_gc.py --bin "$bindir" --out build/bench "${quick[@]}"
