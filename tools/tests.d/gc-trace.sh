#!/usr/bin/env bash
# The GC timeline and log, checked from the outside: the Lox VM runs a program with
# --gc-trace (Chrome trace-event JSON), --gc-stats=json and MARROW_TRACE_GC=1; the trace
# must be valid JSON whose collections match what HeapStats counted, with every phase
# inside its collection, and the log must have one line per collection.
# $1: the preset whose build to test (release, asan, ...).
set -euo pipefail
preset=${1:-release}
cd "$(dirname "$0")/../.."
lox=build/$preset/bin/lox
[ -x "$lox" ] || { echo "gc-trace.sh: $lox is missing (build the $preset preset first)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sed 's/^var maxDepth = .*/var maxDepth = 12;/' samples/lox/bench/binary_trees.lox >"$out/prog.lox"
# Stress mode every 3000 allocations cycles minor, major and compacting collections.
MARROW_TRACE_GC=1 MARROW_STRESS_INTERVAL=3000 "$lox" --gc-stats=json --gc-trace="$out/trace.json" "$out/prog.lox" \
  >/dev/null 2>"$out/stderr"
python3 - "$out/trace.json" "$out/stderr" <<'PY'
import json, re, sys
trace = json.load(open(sys.argv[1]))  # must parse
err = open(sys.argv[2]).read().splitlines()
stats = json.loads(err[-1])
events = trace["traceEvents"]
gcs = [e for e in events if e.get("cat") == "gc"]
phases = [e for e in events if e.get("cat") == "gc.phase"]
counted = stats["minor_collections"] + stats["major_collections"]
problems = []
if len(gcs) != counted:
    problems.append(f"{len(gcs)} collections in the trace, HeapStats counted {counted}")
if [e["args"]["sequence"] for e in gcs] != list(range(1, len(gcs) + 1)):
    problems.append("collection sequence numbers are not 1..N in order")
kinds = {k: sum(1 for e in gcs if e["args"]["kind"] == k) for k in ("minor", "major", "compact")}
if kinds["minor"] != stats["minor_collections"]:
    problems.append(f"minor: trace {kinds['minor']}, stats {stats['minor_collections']}")
if kinds["compact"] != stats["compactions"]:
    problems.append(f"compact: trace {kinds['compact']}, stats {stats['compactions']}")
by_seq = {e["args"]["sequence"]: e for e in gcs}
for p in phases:
    g = by_seq.get(p["args"]["sequence"])
    if g is None or p["ts"] < g["ts"] - 0.002 or p["ts"] + p["dur"] > g["ts"] + g["dur"] + 0.002:
        problems.append(f"phase {p['name']} of #{p['args']['sequence']} lies outside its collection")
        break
total_us = sum(e["dur"] for e in gcs)
if abs(total_us * 1e3 - stats["pauses"]["total_ns"]) > 1e3 * len(gcs):
    problems.append(f"trace pauses sum to {total_us:.1f} us, stats say {stats['pauses']['total_ns'] / 1e3:.1f} us")
log = [l for l in err if l.startswith("[marrow gc #")]
if len(log) != counted:
    problems.append(f"{len(log)} log lines for {counted} collections")
elif not all(re.search(r"pause [\d.]+ ms \[.*(evacuate|mark) [\d.]+", l) for l in log):
    problems.append("a log line lacks its phase times")
for p in problems:
    print("gc-trace.sh:", p)
if problems:
    sys.exit(1)
print(f"gc-trace.sh: {len(gcs)} collections ({kinds}), {len(phases)} phase spans, "
      f"{len(log)} log lines; trace and HeapStats agree")
PY
