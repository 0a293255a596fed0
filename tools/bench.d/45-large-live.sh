#!/usr/bin/env bash
# Pauses with a large live heap (bench/large_live.cpp): 1 GiB, then 4 GiB live while
# allocating, for marrow stop-the-world, marrow with MARROW_INCREMENTAL_MARKING=1 and Boehm
# GC; writes build/bench/large_live.txt (the runs' output) and large_live.md (a table).
# QUICK=1: 128 and 512 MiB, 2 s steady. BENCH_BIN_DIR overrides build/release/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${BENCH_BIN_DIR:-build/release/bin}/bench_large_live
mkdir -p build/bench
case "${QUICK:-}" in
  "" | 0) sizes=1024,4096 seconds=5 ;;
  *) sizes=128,512 seconds=2 ;;
esac
out=build/bench/large_live.txt
: > "$out"
for mode in stw incremental boehm; do
  echo "== large-live: $mode ($sizes MiB)" | tee -a "$out"
  case $mode in
    stw) variant=marrow incremental=0 ;;
    incremental) variant=marrow incremental=1 ;;
    boehm) variant=boehm incremental=0 ;;
  esac
  MARROW_INCREMENTAL_MARKING=$incremental "$bin" --variant "$variant" --live-mib "$sizes" \
    --seconds "$seconds" | tee -a "$out"
done
python3 - "$out" > build/bench/large_live.md <<'PY'
import json, sys
rows = [json.loads(l[7:]) for l in open(sys.argv[1]) if l.startswith("RESULT ")]
print("# Pauses with a large live heap (bench_large_live)")
print()
print("Pauses over each whole phase (building the structure, then the steady workload);")
print('"steady" is the steady part alone. Goal: no pause over 10 ms.')
print()
print("| mode | live MiB | max pause ms | p99 ms | total pause ms | steady max ms | steady p99 ms"
      " | minor | major (remarks) | mark steps | sweep steps | wall s | transactions/s"
      " | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    if r["variant"] == "boehm":
        mode, minor, major = "Boehm GC", "-", "%.0f" % r["full"]
    else:
        mode = "marrow, incremental" if r["incremental"] == "on" else "marrow, stop-the-world"
        minor, major = "%.0f" % r["minor"], "%.0f (%.0f)" % (r["major"], r["remark"])
    cells = [mode, "%.0f" % r["live_mib"], "%.1f" % (r["pause_max_us"] / 1e3),
             "%.1f" % (r["pause_p99_us"] / 1e3), "%.0f" % r["pause_total_ms"],
             "%.1f" % (r["steady_pause_max_us"] / 1e3), "%.1f" % (r["steady_pause_p99_us"] / 1e3),
             minor, major, "%.0f" % r["mark_step"], "%.0f" % r["sweep_step"],
             "%.1f" % (r["wall_ms"] / 1e3), "%.0f" % r["transactions_per_s"],
             "%.0f" % (r["peak_rss_kb"] / 1024)]
    print("| " + " | ".join(cells) + " |")
PY
echo "45-large-live.sh: wrote build/bench/large_live.md"
