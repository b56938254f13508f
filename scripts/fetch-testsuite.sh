#!/usr/bin/env bash
# Refresh the vendored official suites (testsuite/) and the threads proposal's spec text
# (spec/document/core/) from the pinned commits below. A fresh clone does not need this:
# both are committed. Use it to move the pinned commits (edit them here, run it, commit the
# result and update testsuite/README.md and spec/README.md).
#
#   testsuite/threads/    WebAssembly/threads   test/core      979d0fcb994439423d63b2f0a8a7332d6285dd84
#   spec/document/core/   WebAssembly/threads   document/core  (same commit)
#   testsuite/upstream/   WebAssembly/testsuite (root)         193e551ff22663995b1ac95dc62344133669e14b
set -euo pipefail

THREADS_URL=https://github.com/WebAssembly/threads.git
THREADS_COMMIT=979d0fcb994439423d63b2f0a8a7332d6285dd84
UPSTREAM_URL=https://github.com/WebAssembly/testsuite.git
UPSTREAM_COMMIT=193e551ff22663995b1ac95dc62344133669e14b

root=$(cd "$(dirname "$0")/.." && pwd)
dest=${HEDDLE_TESTSUITE:-$root/testsuite}
spec_dest=$root/spec/document/core

usage() {
  cat <<USAGE
usage: $0 [--from DIR] [--help]

Fetch the official WebAssembly test suites at the pinned commits into
$dest (threads/ and upstream/; \$HEDDLE_TESTSUITE overrides the directory),
and the threads proposal's spec text into $spec_dest.
Needs git and network access to github.com.

  --from DIR   copy DIR/threads and DIR/upstream instead (a local copy of the
               suites, e.g. a shared read-only directory); no network needed
  --help       show this help
USAGE
}

# Temporary directories are removed however the script ends.
tmps=()
cleanup() { if [ ${#tmps[@]} -gt 0 ]; then rm -rf "${tmps[@]}"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Replace $2 by a copy of $1, never leaving a half-copied target behind.
install_dir() {
  local src=$1 target=$2 staging
  mkdir -p "$(dirname "$target")"
  staging=$(mktemp -d "$(dirname "$target")/.fetch.XXXXXX")
  tmps+=("$staging")
  cp -R "$src/." "$staging/"
  rm -rf "$staging/.git"
  rm -rf "$target"
  mv "$staging" "$target"
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --from)
    src=${2:-}
    if [ -z "$src" ] || [ $# -ne 2 ]; then usage >&2; exit 2; fi
    for d in threads upstream; do
      [ -d "$src/$d" ] || { echo "error: $src/$d does not exist (--from needs a directory holding threads/ and upstream/)" >&2; exit 1; }
    done
    install_dir "$src/threads" "$dest/threads"
    install_dir "$src/upstream" "$dest/upstream"
    echo "copied $src/threads and $src/upstream into $dest"
    exit 0 ;;
  "") ;;
  *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

command -v git >/dev/null || { echo "error: git not found; install git, or use --from DIR" >&2; exit 1; }

checkout() { # checkout URL COMMIT -> prints the directory of the checkout
  local url=$1 commit=$2 tmp log
  tmp=$(mktemp -d)
  tmps+=("$tmp")
  log=$tmp.log
  tmps+=("$log")
  if ! { git -C "$tmp" init -q &&
         git -C "$tmp" remote add origin "$url" &&
         git -C "$tmp" fetch -q --depth 1 origin "$commit" &&
         git -C "$tmp" checkout -q FETCH_HEAD; } 2>"$log"; then
    {
      echo "error: could not fetch $url at ${commit:0:12}:"
      sed 's/^/  /' "$log"
      echo "This needs network access to github.com. Without it, copy a local directory"
      echo "holding threads/ and upstream/ with: $0 --from DIR"
      echo "(A clone of Heddle already has the suites in testsuite/; nothing was changed.)"
    } >&2
    return 1
  fi
  CHECKOUT=$tmp
}

checkout "$THREADS_URL" "$THREADS_COMMIT"; threads=$CHECKOUT
checkout "$UPSTREAM_URL" "$UPSTREAM_COMMIT"; upstream=$CHECKOUT
install_dir "$threads/test/core" "$dest/threads"
install_dir "$threads/document/core" "$spec_dest"
install_dir "$upstream" "$dest/upstream"
echo "fetched $THREADS_URL@${THREADS_COMMIT:0:8} (test/core, document/core) and $UPSTREAM_URL@${UPSTREAM_COMMIT:0:8}"
