#!/usr/bin/env bash
# The mal interpreter (samples/mal) against the mal test suite in ../shared/mal: every
# step's tests on the matching --step, the self-hosted interpreter (mal/stepA_mal.mal run
# by ours on the step tests 2..A but 5, which upstream excludes for mal; and each
# mal/stepN on step N's tests, as upstream's mal/run does), and our own tests
# (samples/mal/tests: bad input, deep recursion, huge lists, the heap limit, garbage-heavy
# programs), each as is and under GC stress. Also: the REPL's line editing through a
# pseudo-terminal, bad command-line values, and docs/mal.md's snippets against the code.
# $1: the preset whose build to test (release, asan, ...).
#
# Stress settings, chosen to keep this hook within ~4 minutes per preset on two cores
# (measured: see docs/mal.md):
# - release: a collection at every allocation with the heap verified before and after
#   each (--gc-stress=1 --verify-heap) for the step tests, our tests and mal-in-mal;
#   our tests that fill tens of MiB say in their `;;; mal-stress-args:` line how sparse
#   their stress must be (verifying a big heap at every allocation would take hours).
# - asan: no verification (ASan catches stale pointers into poisoned memory itself);
#   --gc-stress=1 for the step tests and our tests, --gc-stress=3 for mal-in-mal (at 1 it
#   alone takes 3.5 minutes under ASan).
set -euo pipefail
preset=${1:-release}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/../.." && pwd))
cd "$root"
mal=build/$preset/bin/mal
if [ ! -x "$mal" ]; then
  echo "mal.sh: $mal is missing (build the $preset preset first)" >&2
  exit 1
fi
start=$SECONDS
status=0

# docs/mal.md quotes the interpreter's code: every ```cpp block must still be in samples/mal.
python3 tools/check-doc-snippets.py docs/mal.md samples/mal/*.[ch]pp || status=1

# Bad command-line values: exit 64 with a message; no interpreter runs.
for bad in --gc-stress=x --gc-stress=-1 --heap-limit=lots --step=B --step= --no-such-option; do
  code=0
  err=$("$mal" "$bad" </dev/null 2>&1 >/dev/null) || code=$?
  if [ "$code" != 64 ] || [ -z "$err" ]; then
    echo "mal.sh: '$mal $bad' exited $code (expected 64 and a message): $err"
    status=1
  fi
done
code=0
err=$(MARROW_HEAP_LIMIT=bad "$mal" </dev/null 2>&1 >/dev/null) || code=$?
if [ "$code" != 64 ]; then
  echo "mal.sh: MARROW_HEAP_LIMIT=bad exited $code (expected 64): $err"
  status=1
fi

# Script mode, *ARGV*, --gc-stats and --heap-snapshot.
out=$("$mal" --gc-stats=json --heap-snapshot="build/$preset/mal.heapsnapshot" \
  samples/mal/bench/fib.mal 20 2>"build/$preset/mal-stats.json") || status=1
grep -q '^6765$' <<<"$out" || { echo "mal.sh: fib.mal 20 printed: $out"; status=1; }
out=$(printf '(prn *ARGV*)\n(throw "boom")\n(prn :unreached)\n' >"build/$preset/mal-argv.mal"
  code=0; "$mal" "build/$preset/mal-argv.mal" a "b c" || code=$?; echo "exit $code")
[ "$out" = $'("a" "b c")\nError: boom\nexit 1' ] || { echo "mal.sh: script mode printed: $out"; status=1; }
python3 - "build/$preset/mal-stats.json" "build/$preset/mal.heapsnapshot" <<'PY' || status=1
import json, sys
stats = json.loads(open(sys.argv[1]).read())
snap = json.load(open(sys.argv[2]))
names = snap["strings"]
assert "minor_collections" in json.dumps(stats), "no collector figures in --gc-stats=json"
for t in ("MalEnv", "MalSeq", "repl-env", "fib"):  # types, the root edge, a bound name
    assert t in names, f"{t} missing from the heap snapshot"
PY

# Line editing and history through a pseudo-terminal.
python3 tools/mal-pty-test.py "$mal" || status=1

suite="$root/../shared/mal"
if [ ! -f "$suite/runtest.py" ]; then
  echo "mal.sh: $suite not found: the mal test suite (and our tests, which need its runtest.py) skipped"
  exit $status
fi

case "$preset" in
  asan)
    stress=(--args=--gc-stress=1 --self-hosted-args=--gc-stress=3 --no-verify) ;;
  *)
    stress=("--args=--gc-stress=1 --verify-heap") ;;
esac
run=(python3 tools/mal-test.py --mal "$mal" --suite "$suite" --work "build/$preset/mal-suite"
     --own samples/mal/tests --jobs 2)
echo "-- the mal suite, mal-in-mal and samples/mal/tests"
"${run[@]}" || status=1
echo "-- the same under GC stress (${stress[*]#--})"
"${run[@]}" --stress --set steps --set own --set self-hosted "${stress[@]}" || status=1
echo "mal.sh: $preset done in $((SECONDS - start)) s"
exit $status
