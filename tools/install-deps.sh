#!/usr/bin/env bash
# Installs the Debian packages marrow needs, only those missing: apt-get as root, sudo otherwise.
set -euo pipefail
pkgs=(cmake g++ ninja-build libfmt-dev doctest-dev libgc-dev libbenchmark-dev clang-format
      valgrind gnuplot-nox pkg-config python3 libedit-dev)
# node and npm run DevTools' snapshot parser (tools/tests.d/heap-snapshot.sh): Debian's
# packages, only when no node or npm is on the PATH (one from nvm or NodeSource is fine).
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
read -r -a missing <<<"${missing[*]:-}"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
