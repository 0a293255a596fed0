#!/usr/bin/env bash
# Makes the pictures of docs/observability.md from a real run of the Lox VM on
# samples/lox/examples/leak.lox: its GC timeline (--gc-trace, drawn by
# tools/render_gc_trace.py) and its heap snapshot (--heap-snapshot, read by DevTools' own
# snapshot code and drawn by tools/snapshot-check/render.mjs).
# Usage: tools/render-observability.sh [OUT_DIR (default docs/img)] [LOX (default build/release/bin/lox)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-docs/img}
lox=${2:-build/release/bin/lox}
[ -x "$lox" ] || { echo "render-observability.sh: $lox is missing (make build)" >&2; exit 1; }
. tools/snapshot-check/toolkit.sh
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$lox" --gc-trace="$work/leak-trace.json" --heap-snapshot="$work/leak.heapsnapshot" \
  samples/lox/examples/leak.lox >/dev/null
python3 tools/render_gc_trace.py "$work/leak-trace.json" "$out/leak-gc-timeline.svg" \
  --title "lox samples/lox/examples/leak.lox: GC timeline (--gc-trace)"
node tools/snapshot-check/render.mjs "$work/leak.heapsnapshot" "$out/leak-heap-snapshot.svg" Tree
echo "render-observability.sh: wrote $out/leak-gc-timeline.svg and $out/leak-heap-snapshot.svg"
