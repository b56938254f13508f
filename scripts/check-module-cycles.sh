#!/usr/bin/env bash
# Check the graph of `crate::` paths between heddle-interp's modules (interp/src/*.rs): a
# module that names `crate::m` (in a `use crate::...` tree or inline) depends on module m.
# The graph must have no cycle (issue 26: the modules are layered as the spec is, syntax
# below validation below execution; a lower module names no higher one). Fails on every
# cycle, reported by its path. Comments are ignored; reads the files only (no build).
# Exit status 0 when the graph has no cycle, 1 with one line per cycle otherwise.
#
# Usage: scripts/check-module-cycles.sh [--help] [DIR]   (DIR: default interp/src)
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
dir="${1:-interp/src}"
[ -d "$dir" ] || { echo "check-module-cycles.sh: no directory $dir" >&2; exit 2; }
command -v python3 >/dev/null || { echo "check-module-cycles.sh: python3 not found" >&2; exit 2; }

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=scripts python3 - "$dir" <<'PY'
import os, re, sys
from graph_cycles import cycles

src = sys.argv[1]
modules = sorted(f[:-3] for f in os.listdir(src) if f.endswith(".rs") and f != "lib.rs")
edges = {}
for m in modules:
    text = re.sub(r"//[^\n]*", "", open(os.path.join(src, m + ".rs"), encoding="utf-8").read())
    named = set(re.findall(r"crate::(\w+)", text))
    for group in re.findall(r"crate::\{([^;]*?)\}\s*;", text, re.S):
        named |= set(re.findall(r"(?:^|[,{])\s*(\w+)", group))
    edges[m] = sorted(n for n in named if n in modules and n != m)

problems = ["module cycle: " + " -> ".join(c) for c in cycles(modules, lambda m: edges[m])]

for p in problems:
    print("check-module-cycles: " + p)
if problems:
    sys.exit(1)
count = sum(len(e) for e in edges.values())
print(f"check-module-cycles: {len(modules)} modules, {count} edges, no cycle")
PY
