# Sourced by the scripts that read heap snapshots: makes sure DevTools' snapshot loader
# (the npm package heap-snapshot-toolkit, pinned) is installed in build/npm and exports
# SNAPSHOT_CHECK_NPM for tools/snapshot-check/*.mjs. build/npm is a cache: only the first
# run needs the npm registry. Expects $root (the checkout).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "$(basename "$0"): node and npm are needed (tools/install-deps.sh installs them)" >&2
  exit 1
fi
toolkit_version=1.1.3
npm_prefix=$root/build/npm
installed=$(node -p "require('$npm_prefix/node_modules/heap-snapshot-toolkit/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$toolkit_version" ]; then
  echo "-- installing heap-snapshot-toolkit@$toolkit_version into build/npm"
  mkdir -p "$npm_prefix"
  npm install --prefix "$npm_prefix" --no-audit --no-fund --save-exact \
    "heap-snapshot-toolkit@$toolkit_version"
fi
export SNAPSHOT_CHECK_NPM=$npm_prefix
