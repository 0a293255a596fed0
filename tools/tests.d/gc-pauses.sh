#!/usr/bin/env bash
# Pause metrics for the benchmark report: tools/gc_pauses.py's MMU and percentiles against
# hand-worked cases (any preset), and, in release builds, the benchmarks' pause logs
# (BENCH_PAUSE_LOG) against their own RESULT lines for marrow and Boehm: one line per
# collection, in order, inside the run, adding up to the total pause; and the report
# (tools/bench_gc.py --report-only) renders its MMU and per-kind tables from those runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
preset=${1:-release}
python3 tools/gc_pauses_test.py
if [ "$preset" != release ]; then
  echo "gc-pauses: pause-log check skipped for preset $preset (release only)"
  exit 0
fi
bin=build/$preset/bin/bench_gcbench
[ -x "$bin" ] || { echo "gc-pauses: $bin is missing" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for v in marrow boehm; do
  # A small GCBench with holes and a 1 MiB nursery: dozens of collections, majors among them.
  MARROW_NURSERY_BYTES=1M BENCH_PAUSE_LOG="$out/$v.log" "$bin" --variant "$v" --holes \
    --stretch-depth 14 --long-lived-depth 12 --max-depth 12 --array-size 20000 \
    | grep '^RESULT ' >"$out/$v.result"
done
python3 - "$out" <<'PY'
import json, sys
sys.path.insert(0, "tools")
import gc_pauses as gp
out = sys.argv[1]
problems = []
# Boehm's count (GC_get_gc_no) includes the collection GC_INIT runs before the event hook
# is installed; no pause of it is recorded.
for v, kinds, unrecorded in (("marrow", {"minor", "major", "compact"}, 0), ("boehm", {"full"}, 1)):
    result = json.loads(open(f"{out}/{v}.result").read()[len("RESULT "):])
    span, pauses = gp.parse_log(open(f"{out}/{v}.log").read())
    if span is None or abs(span / 1e3 - result["wall_ms"]) > 0.01:
        problems.append(f"{v}: span {span} us, RESULT wall {result['wall_ms']} ms")
        continue
    if len(pauses) + unrecorded != result["collections"] or not pauses:
        problems.append(f"{v}: {len(pauses)} pauses logged, RESULT counts {result['collections']}")
    if {k for k, _, _ in pauses} - kinds:
        problems.append(f"{v}: unexpected kinds {sorted({k for k, _, _ in pauses} - kinds)}")
    for (_, s0, d0), (_, s1, _) in zip(pauses, pauses[1:]):
        if s1 < s0 + d0 - 1:  # 1 us: the log's rounding
            problems.append(f"{v}: pause at {s1} us starts before the one at {s0} us ended")
            break
    if pauses and (pauses[0][1] < 0 or pauses[-1][1] + pauses[-1][2] > span + 1):
        problems.append(f"{v}: pauses outside the run [0, {span}] us")
    total = sum(d for _, _, d in pauses) / 1e3
    if abs(total - result["pause_total_ms"]) > 0.01 + 1e-3 * len(pauses):
        problems.append(f"{v}: pauses add up to {total} ms, RESULT says {result['pause_total_ms']}")
    m = gp.run_metrics(open(f"{out}/{v}.log").read())
    print(f"gc-pauses: {v}: {len(pauses)} pauses in {span / 1e3:.1f} ms, "
          f"MMU(1 ms) {m['mmu'][0]:.2f}, MMU(10 ms) {m['mmu'][8]:.2f}, kinds "
          + ", ".join(f"{k} {s['count']}" for k, s in m["kinds"].items()))
    result["pause_metrics"] = m
    json.dump(result, open(f"{out}/{v}.json", "w"))
for p in problems:
    print("gc-pauses:", p)
sys.exit(1 if problems else 0)
PY

# The report renders the section from those two runs (tools/bench_gc.py --report-only).
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = {v: [json.load(open(f"{out}/{v}.json"))] for v in ("marrow", "boehm")}
json.dump({"mode": "test", "rounds": 1, "machine": {}, "runs": {"gcbench-holes": runs},
           "workloads": {"gcbench-holes": {"binary": "bench_gcbench", "args": ["--holes"],
                                           "variants": ["marrow", "boehm"]}}},
          open(f"{out}/results.json", "w"))
PY
python3 tools/bench_gc.py --report-only --out "$out" >/dev/null
for want in '^## Mutator utilization and pauses per kind$' '^\| marrow \| minor \| [0-9]' \
            '^\| boehm \| full \| [0-9]' '^\| boehm \| [0-9.,]+ \| [01]\.[0-9]{3} \| ' \
            'mmu_gcbench-holes\.svg'; do
  grep -Eq "$want" "$out/report.md" ||
    { echo "gc-pauses: report.md lacks /$want/" >&2; exit 1; }
done
grep -q '<polyline' "$out/mmu_gcbench-holes.svg" ||
  { echo "gc-pauses: mmu_gcbench-holes.svg has no curve" >&2; exit 1; }
echo "gc-pauses: pause logs agree with RESULT; the report has MMU and per-kind tables"
