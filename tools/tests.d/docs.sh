#!/usr/bin/env bash
# The embedding guide's examples (samples/embedding_guide.cpp, quoted by docs/embedding.md)
# must run to completion. $1: the preset whose build to test (release, asan, ...).
set -euo pipefail
preset=${1:-release}
cd "$(dirname "$0")/../.."
guide=build/$preset/bin/embedding_guide
if [ ! -x "$guide" ]; then
  echo "docs.sh: $guide is missing (build the $preset preset first)" >&2
  exit 1
fi
out=$("$guide") || { echo "$out"; echo "docs.sh: embedding_guide failed" >&2; exit 1; }
echo "$out"
grep -q '^embedding_guide: all examples ran$' <<<"$out" || { echo "docs.sh: embedding_guide stopped early" >&2; exit 1; }

# docs/embedding.md quotes the program: every ```cpp block must still be in it verbatim.
python3 tools/check-doc-snippets.py docs/embedding.md samples/embedding_guide.cpp
