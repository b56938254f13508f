#!/usr/bin/env bash
# Wall-clock time of `heddle run --wasi wasi/tests/wat/counter.wat` (4 threads x 1000
# atomic increments) with the SC backend and with native threads: best and median of N
# runs (default 10), process start-up included. Usage:
#   scripts/bench-wasi-counter.sh [PATH/TO/heddle] [N]
# (build first: cargo build --release). BENCHMARKS.md, "WASI programs".
set -euo pipefail
cd "$(dirname "$0")/.."
heddle=${1:-target/release/heddle}
n=${2:-10}
for memory in sc native; do
  times=()
  for _ in $(seq "$n"); do
    start=$(date +%s%N)
    out=$("$heddle" run --wasi wasi/tests/wat/counter.wat --memory "$memory")
    end=$(date +%s%N)
    [ "$out" = "counter 4000" ] || { echo "unexpected output: $out" >&2; exit 1; }
    times+=($(( (end - start) / 1000 )))
  done
  sorted=($(printf '%s\n' "${times[@]}" | sort -n))
  echo "$memory: best ${sorted[0]} us, median ${sorted[$((n / 2))]} us (of $n)"
done
start=$(date +%s%N); "$heddle" run --wasi wasi/tests/wat/hello.wat >/dev/null; end=$(date +%s%N)
echo "start-up (hello.wat): $(( (end - start) / 1000 )) us"
