#!/usr/bin/env bash
# The main job: the Lox VM on a garbage-heavy program with a GC report (an allocator
# sample until the VM exists).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/bin
if [ -x $bin/lox ] && [ -f samples/lox/bench/binary_trees.lox ]; then
  exec $bin/lox --gc-stats samples/lox/bench/binary_trees.lox
fi
exec $bin/allocator_demo
