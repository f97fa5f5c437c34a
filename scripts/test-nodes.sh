#!/usr/bin/env bash
# Runs the compiled test suite (dist/) once on the machine's Node and once on Node 24, the current
# LTS, from the `node` dev dependency (node_modules/node/bin/node), so every change is proven on
# both. Called by `npm test` after the build and lint. Both runs always happen; the exit status
# is non-zero if either failed.
#
# npm puts node_modules/.bin first on PATH in scripts, and the `node` dev dependency links
# node_modules/.bin/node: the machine's Node is therefore the first `node` on PATH outside any
# node_modules/.bin. Each run puts its own Node first on PATH, so what a test spawns by name runs
# on the same Node as the test (the tests themselves spawn process.execPath).
set -uo pipefail
cd "$(dirname "$0")/.."

machine_node=""
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  case "$dir" in */node_modules/.bin) continue ;; esac
  if [ -x "$dir/node" ]; then
    machine_node="$dir/node"
    break
  fi
done
node24="$PWD/node_modules/node/bin/node"

if [ -z "$machine_node" ]; then
  echo "test-nodes: no node on PATH outside node_modules/.bin" >&2
  exit 1
fi
if [ ! -x "$node24" ]; then
  echo "test-nodes: $node24 is missing: run npm ci (the \`node\` dev dependency installs Node 24)" >&2
  exit 1
fi

# The test files, expanded here: Node 20 reads a directory argument as "every test file in it",
# Node 22+ reads arguments as files or globs only (`dist/` alone is "module not found").
shopt -s globstar nullglob
tests=(dist/**/*.test.js)
if [ "${#tests[@]}" -eq 0 ]; then
  echo "test-nodes: no dist/**/*.test.js: run npm run build first" >&2
  exit 1
fi

status=0
seen=""
for node in "$machine_node" "$node24"; do
  version="$("$node" --version)"
  # A machine already on Node 24 runs the suite once.
  [ "$version" = "$seen" ] && continue
  seen="$version"
  echo "== test suite on Node $version ($node)"
  PATH="$(dirname "$node"):$PATH" "$node" --test --test-reporter=spec --test-timeout=600000 "${tests[@]}" ||
    { echo "== test suite FAILED on Node $version" >&2; status=1; }
done
exit "$status"
