#!/usr/bin/env bash
# Package test: installs build/release into a temporary prefix, then builds and runs the
# separate project tests/package/consumer against it twice -- through CMake's
# find_package(marrow) and through pkg-config. Release preset only; fails loudly.
set -euo pipefail
preset=${1:-release}
if [ "$preset" != release ]; then
  echo "package: skipped for preset '$preset' (the installed package is tested from release)"
  exit 0
fi
cd "$(dirname "$0")/../.."
root=$PWD
build=build/release
fail() {
  echo "package: FAILED: $*" >&2
  exit 1
}
[ -f "$build/CMakeCache.txt" ] || fail "$build is not configured (cmake --preset release)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

echo "package: installing $build into a temporary prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }

echo "package: consumer via find_package(marrow CONFIG REQUIRED)"
cmake -S tests/package/consumer -B "$tmp/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" 2>&1 ||
  { cat "$tmp/configure.log" >&2; fail "configuring the CMake consumer"; }
cmake --build "$tmp/cmake-build" >"$tmp/build.log" 2>&1 ||
  { cat "$tmp/build.log" >&2; fail "building the CMake consumer"; }
"$tmp/cmake-build/marrow_consumer" || fail "running the CMake consumer"

echo "package: consumer via pkg-config --cflags --libs marrow"
command -v pkg-config >/dev/null || fail "pkg-config is not installed"
pc=$(find "$prefix" -name marrow.pc -print -quit)
[ -n "$pc" ] || fail "marrow.pc was not installed"
# marrow.pc records the prefix chosen at configure time; point it at this install.
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-variable=prefix="$prefix" \
  --cflags --libs marrow) || fail "pkg-config --cflags --libs marrow"
echo "  flags: $flags"
# shellcheck disable=SC2086  # the flags are a word list by design
${CXX:-g++} "$root/tests/package/consumer/main.cpp" -o "$tmp/pc-consumer" $flags \
  >"$tmp/pc.log" 2>&1 || { cat "$tmp/pc.log" >&2; fail "building the pkg-config consumer"; }
"$tmp/pc-consumer" || fail "running the pkg-config consumer"

echo "package: both consumers built and ran against the installed package"
