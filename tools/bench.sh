#!/usr/bin/env bash
# Runs every benchmark script in tools/bench.d/ (QUICK=1 for a short run).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/bench
for b in tools/bench.d/*.sh; do
  [ -e "$b" ] || continue
  echo "== $b"
  bash "$b"
done
