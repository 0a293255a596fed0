#!/usr/bin/env bash
# The GC benchmarks compute the right thing: binary-trees prints the Benchmarks Game's
# reference output for N=10 in every variant, GCBench finds its long-lived data intact,
# and churn computes the same checksum in every variant. Release builds only ($1 = preset).
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-release}
if [ "$preset" != release ]; then
  echo "bench-output: skipped for preset $preset (release only)"
  exit 0
fi
bin=build/$preset/bin
for b in bench_binary_trees bench_gcbench bench_churn; do
  if [ ! -x "$bin/$b" ]; then
    echo "bench-output: $bin/$b is missing" >&2
    exit 1
  fi
done

expected=$(printf '%s\n' \
  $'stretch tree of depth 11\t check: 4095' \
  $'1024\t trees of depth 4\t check: 31744' \
  $'256\t trees of depth 6\t check: 32512' \
  $'64\t trees of depth 8\t check: 32704' \
  $'16\t trees of depth 10\t check: 32752' \
  $'long lived tree of depth 10\t check: 2047')
fail=0
for v in marrow boehm malloc pool arena; do
  got=$("$bin/bench_binary_trees" --variant "$v" 10 | grep -v '^RESULT ')
  if [ "$got" != "$expected" ]; then
    echo "bench-output: binary-trees --variant $v 10 differs from the reference:" >&2
    diff <(echo "$expected") <(echo "$got") >&2 || true
    fail=1
  fi
done

# Small GCBench (the checks are the same as at full size), with and without holes.
for v in marrow boehm malloc pool arena; do
  for holes in "" --holes; do
    if ! out=$("$bin/bench_gcbench" --variant "$v" $holes --stretch-depth 12 \
                 --long-lived-depth 10 --max-depth 10 --array-size 20000 2>&1); then
      echo "bench-output: gcbench --variant $v $holes failed:" >&2
      echo "$out" | tail -5 >&2
      fail=1
    elif ! grep -q '^RESULT ' <<<"$out"; then
      echo "bench-output: gcbench --variant $v $holes printed no RESULT line" >&2
      fail=1
    fi
  done
done

sums=()
for v in marrow boehm malloc arena; do
  sum=$("$bin/bench_churn" --variant "$v" --live 5000 --ops 200000 |
        sed -n 's/.*checksum \([0-9a-f]*\)$/\1/p')
  sums+=("$v=$sum")
  [ -n "$sum" ] || { echo "bench-output: churn --variant $v printed no checksum" >&2; fail=1; }
done
if [ "$(printf '%s\n' "${sums[@]}" | cut -d= -f2 | sort -u | wc -l)" -ne 1 ]; then
  echo "bench-output: churn checksums differ: ${sums[*]}" >&2
  fail=1
fi

[ "$fail" -eq 0 ] && echo "bench-output: binary-trees, gcbench and churn outputs are correct"
exit "$fail"
