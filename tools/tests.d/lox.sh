#!/usr/bin/env bash
# The Lox VM against the conformance suite (../shared/lox/test), marrow's own Lox tests
# (tests/lox) and generated ones (absurd nesting, huge literals), each run twice: as is,
# and under GC stress (a collection at every allocation, moving everything).
# $1: the preset whose build to test (release, asan, ...).
set -euo pipefail
preset=${1:-release}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/../.." && pwd))
cd "$root"
lox=build/$preset/bin/lox
if [ ! -x "$lox" ]; then
  echo "lox.sh: $lox is missing (build the $preset preset first)" >&2
  exit 1
fi

# Stress settings. Release: every allocation collects, and the heap is verified before
# and after each collection. ASan: every allocation collects without verification
# (ASan itself catches stale pointers into poisoned memory; verification on top of it
# takes the suite past its time budget).
case "$preset" in
  asan) stress=(--arg=--gc-stress=1) ;;
  *) stress=(--arg=--gc-stress=1 --arg=--verify-heap) ;;
esac

generated=build/$preset/lox-generated
python3 tools/lox-gen-tests.py "$generated"

suites=()
suite="$root/../shared/lox/test"
if [ -d "$suite" ]; then
  suites+=("$suite")
else
  echo "lox.sh: $suite not found: conformance suite skipped"
fi
suites+=(tests/lox "$generated")

status=0

# docs/lox.md quotes the VM's code: every ```cpp block must still be in samples/lox.
python3 tools/check-doc-snippets.py docs/lox.md samples/lox/*.[ch]pp || status=1

# Command-line switches: malformed numbers are usage errors (exit 64), not huge values.
python3 tools/lox-cli-test.py --lox "$lox" || status=1
# The REPL on a pseudo-terminal: libedit's line editing and history (Up recalls a line).
python3 tools/lox-repl-test.py --lox "$lox" || status=1

for dir in "${suites[@]}"; do
  echo "-- $dir"
  python3 tools/lox-test.py --lox "$lox" "$dir" || status=1
  echo "-- $dir (${stress[*]#--arg=})"
  python3 tools/lox-test.py --lox "$lox" "${stress[@]}" "$dir" || status=1
  # Incremental stress: a marking cycle every 3 allocations, a marking or sweeping step at
  # every allocation, with the collection at every allocation (the environment reaches
  # the VM through Config::from_env).
  echo "-- $dir (incremental stress)"
  MARROW_INCREMENTAL_MARKING=1 MARROW_STRESS_INCREMENTAL=3 \
    python3 tools/lox-test.py --lox "$lox" "${stress[@]}" "$dir" || status=1
done
exit $status
