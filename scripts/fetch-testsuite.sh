#!/usr/bin/env bash
# Fill testsuite/ (or $HEDDLE_TESTSUITE) with the official suites at the pinned commits:
#   testsuite/threads/   WebAssembly/threads    test/core   979d0fcb994439423d63b2f0a8a7332d6285dd84
#   testsuite/upstream/  WebAssembly/testsuite  (root)      193e551ff22663995b1ac95dc62344133669e14b
# Needs git and network access to github.com. With `--from DIR`, copies an existing
# directory holding threads/ and upstream/ instead (e.g. a shared read-only copy).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${HEDDLE_TESTSUITE:-$root/testsuite}

if [ "${1:-}" = "--from" ]; then
  src=${2:?usage: $0 [--from DIR]}
  for d in threads upstream; do
    [ -d "$src/$d" ] || { echo "error: $src/$d does not exist" >&2; exit 1; }
  done
  mkdir -p "$dest"
  rm -rf "$dest/threads" "$dest/upstream"
  cp -R "$src/threads" "$src/upstream" "$dest/"
  echo "copied $src into $dest"
  exit 0
fi

fetch() { # fetch URL COMMIT SUBDIR TARGET
  local url=$1 commit=$2 sub=$3 target=$4 tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  git -C "$tmp" init -q
  git -C "$tmp" remote add origin "$url"
  git -C "$tmp" fetch -q --depth 1 origin "$commit"
  git -C "$tmp" checkout -q FETCH_HEAD
  rm -rf "$target"
  mkdir -p "$(dirname "$target")"
  cp -R "$tmp/$sub" "$target"
  echo "fetched $url@${commit:0:8}/$sub into $target"
}

fetch https://github.com/WebAssembly/threads.git 979d0fcb994439423d63b2f0a8a7332d6285dd84 test/core "$dest/threads"
fetch https://github.com/WebAssembly/testsuite.git 193e551ff22663995b1ac95dc62344133669e14b . "$dest/upstream"
rm -rf "$dest/upstream/.git"
