#!/usr/bin/env bash
# Fails (exit 1) when a tracked C++ file differs from what clang-format makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not formatted: $f"; bad=1
  fi
done < <(git ls-files '*.cpp' '*.hpp' '*.h')
[ $bad -eq 0 ] && echo "format-check: all files formatted"
exit $bad
