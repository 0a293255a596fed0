#!/usr/bin/env bash
# Stop-the-world marrow, marrow with incremental marking and Boehm GC on one benchmark,
# alternating in each round; prints the medians of the rounds' RESULT figures.
# Usage: tools/compare-modes.sh ROUNDS BENCH [ARGS...]
#   e.g. tools/compare-modes.sh 3 bench_binary_trees 21
# Needs the release build (make build). Figures: wall, peak RSS, p99, max and total pause.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 ROUNDS BENCH [ARGS...]" >&2; exit 2; }
rounds=$1; bench=$2; shift 2
bin=build/release/bin/$bench
[ -x "$bin" ] || { echo "$0: $bin missing (build the release preset)" >&2; exit 1; }
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for ((i = 0; i < rounds; ++i)); do
  for mode in stop-the-world incremental boehm; do
    case $mode in
      stop-the-world) line=$(MARROW_INCREMENTAL_MARKING=0 "$bin" --variant marrow "$@" | grep '^RESULT ') ;;
      incremental) line=$(MARROW_INCREMENTAL_MARKING=1 "$bin" --variant marrow "$@" | grep '^RESULT ') ;;
      boehm) line=$("$bin" --variant boehm "$@" | grep '^RESULT ') ;;
    esac
    echo "$mode ${line#RESULT }" >>"$raw"
  done
done
python3 - "$raw" "$bench" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, result = line.split(" ", 1)
    rows.setdefault(mode, []).append(json.loads(result))
print(f"{sys.argv[2]}: medians of {len(next(iter(rows.values())))} rounds")
print(f"{'mode':16} {'wall ms':>9} {'RSS MiB':>8} {'p99 ms':>8} {'max ms':>8} {'total ms':>9}")
for mode, rs in rows.items():
    med = lambda key: statistics.median(r.get(key, 0) for r in rs)
    print(f"{mode:16} {med('wall_ms'):9.0f} {med('peak_rss_kb') / 1024:8.0f} "
          f"{med('pause_p99_us') / 1000:8.2f} {med('pause_max_us') / 1000:8.2f} "
          f"{med('pause_total_ms'):9.0f}")
PY
