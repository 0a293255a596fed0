#!/usr/bin/env bash
# Checks that are not doctest suites: each tools/tests.d/*.sh gets the preset name as $1.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
for t in tools/tests.d/*.sh; do
  [ -e "$t" ] || continue
  echo "== $t ($preset)"
  bash "$t" "$preset"
done
