#!/usr/bin/env bash
# Heap snapshots read by an independent parser: Chrome DevTools' own snapshot loader (the
# npm package heap-snapshot-toolkit, pinned, installed once into build/npm) loads
#  1. the fixture graph that observability_tests writes with MARROW_SNAPSHOT_OUT set, and
#     tools/snapshot-check/check.mjs compares it with the heap walk written beside it;
#  2. snapshots the Lox VM writes of tools/snapshot-check/program.lox (as is and under GC
#     stress), checked for the Lox labels and a retainer path from the "Lox VM" root;
# and an unwritable snapshot path must make the VM fail with a message naming it.
# $1: the preset whose build to test (release, asan, ...); SNAPSHOT_BIN=DIR overrides
# build/$1/bin (to test another build directory).
set -euo pipefail
preset=${1:-release}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/../.." && pwd))
cd "$root"
bin=${SNAPSHOT_BIN:-build/$preset/bin}
for exe in observability_tests lox; do
  if [ ! -x "$bin/$exe" ]; then
    echo "heap-snapshot.sh: $bin/$exe is missing (build the $preset preset first)" >&2
    exit 1
  fi
done
. tools/snapshot-check/toolkit.sh
check=tools/snapshot-check/check.mjs

out=$(dirname "$bin")/heap-snapshot
rm -rf "$out"
mkdir -p "$out"
status=0

echo "-- the fixture graph (observability_tests, MARROW_SNAPSHOT_OUT=$out)"
MARROW_SNAPSHOT_OUT=$out "$bin/observability_tests" \
  --test-case='a snapshot of a known graph*' --no-version || status=1
if [ -s "$out/graph.heapsnapshot" ] && [ -s "$out/graph-walk.json" ]; then
  node "$check" graph "$out/graph.heapsnapshot" "$out/graph-walk.json" || status=1
else
  echo "heap-snapshot.sh: observability_tests wrote no graph.heapsnapshot / graph-walk.json" >&2
  status=1
fi

case "$preset" in
  asan) stress=(--gc-stress=1) ;;  # ASan catches stale pointers; verification is too slow
  *) stress=(--gc-stress=1 --verify-heap) ;;
esac
for mode in plain stress; do
  snapshot=$out/lox-$mode.heapsnapshot
  flags=()
  [ "$mode" = stress ] && flags=("${stress[@]}")
  echo "-- the Lox VM: lox ${flags[*]} --heap-snapshot=$snapshot tools/snapshot-check/program.lox"
  printed=$("$bin/lox" "${flags[@]}" --heap-snapshot="$snapshot" tools/snapshot-check/program.lox) || {
    echo "heap-snapshot.sh: lox failed" >&2
    status=1
    continue
  }
  if [ "$printed" != 5 ]; then
    echo "heap-snapshot.sh: program.lox printed '$printed', expected 5" >&2
    status=1
  fi
  node "$check" lox "$snapshot" || status=1
done

echo "-- an unwritable snapshot path"
bad=/nonexistent-marrow-dir/x.heapsnapshot
set +e
message=$("$bin/lox" --heap-snapshot="$bad" tools/snapshot-check/program.lox 2>&1 >/dev/null)
code=$?
set -e
if [ "$code" -eq 74 ] && grep -q "$bad" <<<"$message" && grep -q "No such file or directory" <<<"$message"; then
  echo "  ok   exit 74: $message"
else
  echo "  FAIL expected exit 74 and a message naming $bad; got exit $code: $message"
  status=1
fi

if [ "$status" -ne 0 ]; then
  echo "heap-snapshot.sh: FAILED" >&2
fi
exit $status
