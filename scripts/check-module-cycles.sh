#!/usr/bin/env bash
# Check the graph of `crate::` paths between heddle-interp's modules (interp/src/*.rs): a
# module that names `crate::m` (in a `use crate::...` tree or inline) depends on module m.
# The graph must have no cycle, except through the edges listed in KNOWN below: today's
# cycles, each an edge from a lower module to a higher one (issue 26: `syntax` is to import
# nothing above it, the thread types are to leave `exec`). Fails on:
#   1. a cycle that does not use a KNOWN edge (a new cycle);
#   2. a KNOWN edge that is gone (the list must shrink with the code).
# Comments are ignored; reads the files only (no build). Exit status 0 when the graph is
# acceptable, 1 with one line per problem otherwise.
#
# Usage: scripts/check-module-cycles.sh [--help] [DIR]   (DIR: default interp/src)
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
cd "$(dirname "$0")/.."
dir="${1:-interp/src}"
[ -d "$dir" ] || { echo "check-module-cycles.sh: no directory $dir" >&2; exit 2; }
command -v python3 >/dev/null || { echo "check-module-cycles.sh: python3 not found" >&2; exit 2; }

PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=scripts python3 - "$dir" <<'PY'
import os, re, sys
from graph_cycles import cycles

# Today's cycle-forming edges (module -> module it names), to be removed one by one.
KNOWN = {
    ("memory", "native"),
}

src = sys.argv[1]
modules = sorted(f[:-3] for f in os.listdir(src) if f.endswith(".rs") and f != "lib.rs")
edges = {}
for m in modules:
    text = re.sub(r"//[^\n]*", "", open(os.path.join(src, m + ".rs"), encoding="utf-8").read())
    named = set(re.findall(r"crate::(\w+)", text))
    for group in re.findall(r"crate::\{([^;]*?)\}\s*;", text, re.S):
        named |= set(re.findall(r"(?:^|[,{])\s*(\w+)", group))
    edges[m] = sorted(n for n in named if n in modules and n != m)

problems = []
for a, b in sorted(KNOWN):
    if b not in edges.get(a, []):
        problems.append(f"known edge {a} -> {b} is gone: remove it from KNOWN")

# Cycles over the edges not in KNOWN, each reported by its path.
for cycle in cycles(modules, lambda m: [n for n in edges[m] if (m, n) not in KNOWN]):
    problems.append("module cycle: " + " -> ".join(cycle))

for p in problems:
    print("check-module-cycles: " + p)
if problems:
    sys.exit(1)
count = sum(len(e) for e in edges.values())
print(f"check-module-cycles: {len(modules)} modules, {count} edges, no cycle but through "
      f"the {len(KNOWN)} known edges")
PY
