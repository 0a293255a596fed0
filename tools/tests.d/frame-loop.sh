#!/usr/bin/env bash
# samples/frame_loop.cpp (rt.idle in a frame loop) runs to the end in both modes, in the
# incremental and the stop-the-world collector, and in its stress mode (a collection at
# every allocation, verified), and reports what it measured: every frame, collection time
# inside idle time only in the idle runs. A short run with a loose budget: the figures
# themselves are docs/performance.md's, from a long run in release.
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-release}
bin=build/$preset/bin/frame_loop
[ -x "$bin" ] || { echo "frame-loop: $bin is missing" >&2; exit 1; }
check() {
  python3 -c '
import json, sys
runs = {}
for line in sys.stdin:
    if line.startswith("RESULT "):
        r = json.loads(line[7:])
        runs[r["mode"]] = r
frames = int(sys.argv[1])
assert set(runs) == {"sleep", "idle"}, runs
for mode, r in runs.items():
    assert r["frames"] == frames, (mode, r)
    assert 0 <= r["over_budget"] <= frames, (mode, r)
    assert r["tick_p50_ms"] <= r["tick_p99_ms"] <= r["tick_max_ms"], (mode, r)
assert runs["sleep"]["gc_in_idle_ms"] == 0 and runs["sleep"]["idle_pieces"] == 0, runs["sleep"]
print("frame-loop: ok:", {m: (r["gc_in_ticks_ms"], r["gc_in_idle_ms"]) for m, r in runs.items()})
' "$1"
}
for mode in 1 0; do
  out=$(MARROW_INCREMENTAL_MARKING=$mode "$bin" --frames 40 --entities 20000 --budget-ms 40)
  grep -q '^frame_loop: done$' <<<"$out" || { echo "$out"; echo "frame-loop: stopped early" >&2; exit 1; }
  check 40 <<<"$out"
done
out=$(MARROW_STRESS_INTERVAL=50 MARROW_VERIFY_HEAP=1 "$bin" --frames 4 --entities 2000 --budget-ms 200)
grep -q '^frame_loop: done$' <<<"$out" || { echo "$out"; echo "frame-loop: stress run stopped early" >&2; exit 1; }
check 4 <<<"$out"
