#!/usr/bin/env bash
# Rebuild every wasi-threads fixture of fixtures/wasi/ from its source (c/*.c, rust/), on
# Debian bookworm (x86_64), and write the .wasm files next to the sources' directories.
#
#   1. (--install, as root) apt-get install clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32
#      rustc-web cargo-web rust-web-src. The rust-web packages put a second rustc and cargo
#      in /usr/bin: the script calls them by full path, and removes them again at the end
#      (only when it installed them itself).
#   2. wasi-libc at tag wasi-sdk-25, cloned from WASI_LIBC (a URL or a local git repository
#      or mirror; default https://github.com/WebAssembly/wasi-libc), built with
#      THREAD_MODEL=posix into a scratch sysroot (no Debian release ships one with threads).
#   3. C: clang-19 --target=wasm32-wasi-threads -pthread -O1, shared memory imported as
#      env.memory and exported, at most 64 MiB (1024 pages).
#   4. Rust: /usr/bin/cargo (1.96, Debian) with RUSTC_BOOTSTRAP=1 -Zbuild-std=std,panic_abort
#      for wasm32-wasip1-threads, linked by wasm-ld-19 against the same sysroot.
# Everything else happens in a scratch directory that is removed at the end.
#
# Usage: scripts/build-wasi-fixtures.sh [--install] [--wasi-libc URL_OR_PATH] [--help]
#        (WASI_LIBC=URL_OR_PATH in the environment does the same as --wasi-libc)
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

install=0
wasi_libc="${WASI_LIBC:-https://github.com/WebAssembly/wasi-libc}"
while [ $# -gt 0 ]; do
  case "$1" in
    --help | -h) usage; exit 0 ;;
    --install) install=1; shift ;;
    --wasi-libc)
      [ $# -ge 2 ] || { echo "build-wasi-fixtures.sh: --wasi-libc needs a value" >&2; exit 2; }
      wasi_libc="$2"; shift 2 ;;
    *) echo "build-wasi-fixtures.sh: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
out="$PWD/fixtures/wasi"
WASI_LIBC_TAG=wasi-sdk-25
MAX_MEMORY=67108864

rust_web_installed_here=0
if [ "$install" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq clang-19 lld-19 llvm-19 libclang-rt-19-dev-wasm32 git make
  if ! dpkg -s rustc-web >/dev/null 2>&1; then rust_web_installed_here=1; fi
  apt-get install -y -qq rustc-web cargo-web rust-web-src
fi
for tool in clang-19 llvm-ar-19 llvm-nm-19 wasm-ld-19 git make /usr/bin/rustc /usr/bin/cargo; do
  command -v "$tool" >/dev/null || {
    echo "build-wasi-fixtures.sh: $tool not found (run with --install, as root)" >&2
    exit 2
  }
done
case "$(/usr/bin/rustc --version)" in
  *1.9[6-9]* | *1.[1-9][0-9][0-9]*) ;;
  *) echo "build-wasi-fixtures.sh: /usr/bin/rustc is not Debian's rustc-web 1.96: $(/usr/bin/rustc --version)" >&2
     exit 2 ;;
esac

scratch="$(mktemp -d)"
cleanup() {
  rm -rf "$scratch"
  if [ "$rust_web_installed_here" = 1 ]; then
    apt-get remove -y -qq rustc-web cargo-web rust-web-src || true
  fi
}
trap cleanup EXIT

echo "== wasi-libc $WASI_LIBC_TAG from $wasi_libc"
git clone --quiet "$wasi_libc" "$scratch/wasi-libc"
git -C "$scratch/wasi-libc" checkout --quiet "$WASI_LIBC_TAG"
sysroot="$scratch/sysroot"
make -s -C "$scratch/wasi-libc" -j"$(nproc)" CC=clang-19 AR=llvm-ar-19 NM=llvm-nm-19 \
  THREAD_MODEL=posix SYSROOT="$sysroot" >"$scratch/wasi-libc.log" 2>&1 || {
  tail -30 "$scratch/wasi-libc.log" >&2
  exit 1
}
lib="$sysroot/lib/wasm32-wasi-threads"

echo "== C fixtures"
for source in "$out"/c/*.c; do
  name="$(basename "$source" .c)"
  clang-19 --target=wasm32-wasi-threads -pthread --sysroot="$sysroot" -O1 -Wall -Wextra -Werror \
    -Wl,--import-memory,--export-memory,--max-memory=$MAX_MEMORY \
    -o "$out/$name.wasm" "$source"
  echo "   $name.wasm"
done

echo "== Rust fixtures"
(
  cd "$out/rust"
  # Debian's toolchain, by full path: rustup's (if any) stays first on PATH for everyone.
  env RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_HOME="$scratch/cargo-home" \
    CARGO_TARGET_DIR="$scratch/rust-target" \
    RUSTFLAGS="-C link-self-contained=no -C linker=wasm-ld-19 -L $lib -C link-arg=$lib/crt1-command.o -C link-arg=--max-memory=$MAX_MEMORY" \
    /usr/bin/cargo build --quiet --release --locked -Zbuild-std=std,panic_abort \
    --target wasm32-wasip1-threads
)
for bin in rust_threads rust_racy; do
  cp "$scratch/rust-target/wasm32-wasip1-threads/release/$bin.wasm" "$out/$bin.wasm"
  echo "   $bin.wasm"
done
echo "== done: $out"
