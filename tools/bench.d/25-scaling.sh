#!/usr/bin/env bash
# Full-collection pause against live heap size (64 MiB to 4 GiB) for 1 and 2 GC threads
# (bench/full_gc_scaling.cpp): writes build/bench/scaling.md and scaling.svg (gnuplot).
# QUICK=1: 64 and 256 MiB only, 3 repeats.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BENCH_BIN_DIR:-build/release/bin}/bench_full_gc_scaling
mkdir -p build/bench
case "${QUICK:-}" in
  "" | 0) sizes=(64 256 1024 4096) repeats=5 ;;
  *) sizes=(64 256) repeats=3 ;;
esac
"$bin" --threads 1,2 --repeats "$repeats" "${sizes[@]}" | tee build/bench/scaling.txt
{
  echo "# Full-collection pause against live size"
  echo
  echo '```'
  grep -v '^RESULT' build/bench/scaling.txt
  echo '```'
} > build/bench/scaling.md
grep '^RESULT' build/bench/scaling.txt | python3 -c '
import json, sys
rows = [json.loads(l[7:]) for l in sys.stdin]
for t in sorted({r["gc_threads"] for r in rows}):
    with open(f"build/bench/scaling-{t}.dat", "w") as f:
        for r in rows:
            if r["gc_threads"] == t: f.write("%s %s\n" % (r["live_mib"], r["pause_median_ms"]))
'
if command -v gnuplot >/dev/null; then
  gnuplot <<'GP'
set terminal svg size 640,400
set output "build/bench/scaling.svg"
set logscale xy
set xlabel "live heap (MiB)"
set ylabel "full collection pause, median (ms)"
set key left top
plot "build/bench/scaling-1.dat" with linespoints title "1 GC thread", \
     "build/bench/scaling-2.dat" with linespoints title "2 GC threads"
GP
  echo "25-scaling.sh: wrote build/bench/scaling.md and scaling.svg"
fi
