#!/usr/bin/env bash
# docs/observability.md's pictures must still come out of the tools that make them: renders
# them from this build into build/$1/observability and checks they show the leak (the
# retainer path through the global `registry`) and the collections.
# $1: the preset whose build to test (release, asan, ...).
set -euo pipefail
preset=${1:-release}
cd "$(dirname "$0")/../.."
out=build/$preset/observability
bash tools/render-observability.sh "$out" "build/$preset/bin/lox"
grep -q 'registry in Lox VM' "$out/leak-heap-snapshot.svg" ||
  { echo "observability-docs.sh: the snapshot picture lacks the retainer path" >&2; exit 1; }
grep -q '>Tree<' "$out/leak-heap-snapshot.svg" ||
  { echo "observability-docs.sh: the snapshot picture lacks the Tree row" >&2; exit 1; }
grep -Eq '[0-9]+ collections, [0-9.]+ ms paused' "$out/leak-gc-timeline.svg" ||
  { echo "observability-docs.sh: the timeline picture lacks its collections" >&2; exit 1; }
# Every picture the doc shows must exist.
for img in $(grep -o 'img/[a-z0-9-]*\.svg' docs/observability.md | sort -u); do
  [ -f "docs/$img" ] || { echo "observability-docs.sh: docs/$img is missing" >&2; exit 1; }
done
echo "observability-docs.sh: pictures render; the leak's retainer path is in the snapshot"

# The examples of docs/observability.md are quoted from samples/observability_demo.cpp,
# which must still run; every ```cpp block must be in it verbatim.
demo_out=build/$preset/observability/demo
mkdir -p "$demo_out"
"build/$preset/bin/observability_demo" "$demo_out" >"$demo_out/stdout.txt"
grep -q '^observability_demo: all examples ran$' "$demo_out/stdout.txt" ||
  { echo "observability-docs.sh: observability_demo stopped early" >&2; exit 1; }
python3 tools/check-doc-snippets.py docs/observability.md samples/observability_demo.cpp
echo "observability-docs.sh: the examples ran and the doc quotes them verbatim"
