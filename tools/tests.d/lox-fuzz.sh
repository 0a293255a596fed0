#!/usr/bin/env bash
# Bounded-time fuzzing of the Lox VM (fixed seed; LOX_FUZZ_SECONDS, default 25): random
# and mutated programs must end in exit code 0, 65 or 70, never a signal or a sanitizer
# report. $1: the preset whose build to fuzz.
set -euo pipefail
preset=${1:-release}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel 2>/dev/null || (cd "$(dirname "$0")/../.." && pwd))
cd "$root"
corpus=(tests/lox)
[ -d "$root/../shared/lox/test" ] && corpus+=("$root/../shared/lox/test")
exec python3 tools/lox-fuzz.py --lox "build/$preset/bin/lox" --out "build/$preset/lox-fuzz" "${corpus[@]}"
