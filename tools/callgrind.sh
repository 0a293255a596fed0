#!/usr/bin/env bash
# Runs a program (usually a benchmark binary) under valgrind's callgrind and prints its
# total instruction count (Ir). The count is deterministic, so it shows a change of a
# fraction of a percent where wall-clock timings on a busy machine cannot; it counts
# instructions, not cache misses or stalls. Expect about 50x a native run: use small sizes.
#
# Usage: tools/callgrind.sh [--keep FILE] PROGRAM [ARGS...]
#   tools/callgrind.sh build/release/bin/bench_binary_trees --variant marrow 16
#   tools/callgrind.sh --keep build/bt.callgrind build/release/bin/bench_binary_trees 16
#   callgrind_annotate build/bt.callgrind | head -30      # where the instructions went
#
# stdout is only the count (ir=$(tools/callgrind.sh ...)); the program's own output goes to
# stderr. --keep FILE keeps callgrind's profile for callgrind_annotate. Exit status: the
# program's. Extra valgrind options go in VALGRIND_OPTS (e.g. --separate-threads=yes).
set -euo pipefail

usage() { sed -n '7,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

keep=
if [ "${1:-}" = --keep ]; then
  [ $# -ge 3 ] || usage
  keep=$2
  shift 2
fi
[ $# -ge 1 ] || usage
case $1 in -h | --help) usage ;; esac
if ! command -v valgrind >/dev/null; then
  echo "callgrind.sh: valgrind is not installed (tools/install-deps.sh installs it)" >&2
  exit 2
fi

if [ -n "$keep" ]; then
  out=$keep
else
  out=$(mktemp "${TMPDIR:-/tmp}/callgrind.XXXXXX")
  trap 'rm -f "$out"' EXIT
fi

status=0
valgrind -q --tool=callgrind --callgrind-out-file="$out" "$@" >&2 || status=$?
ir=$(sed -n 's/^summary: *//p' "$out" 2>/dev/null | head -n 1)
if [ -z "$ir" ]; then
  echo "callgrind.sh: no instruction count in callgrind's output ($out)" >&2
  exit $((status ? status : 1))
fi
echo "$ir"
exit "$status"
