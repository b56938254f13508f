#!/usr/bin/env bash
# Check the dependency graph among the workspace's crates, as `cargo publish --workspace`
# needs it (every crate published after the crates it depends on, dev-dependencies
# included):
#   1. no cycle among workspace crates, counting normal, build and dev-dependencies (a
#      dev-dependency cycle, e.g. heddle-model dev-depending on heddle-fuzz, which depends
#      on heddle-model, cannot be published);
#   2. heddle-spec-tests (the .wast runner) is a dependency of the `heddle` command only;
#      heddle-explore and heddle-fuzz may dev-depend on it (their tests find the vendored
#      suite with `testsuite_dir`, and fuzz's run scripts), nothing explores through it.
# Reads only `cargo metadata --no-deps` (no build, no network). Exit status 0 when the graph
# is acceptable, 1 with one line per problem otherwise.
#
# Usage: scripts/check-crate-graph.sh [--help]
set -euo pipefail

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
if [ $# -gt 0 ]; then
  echo "check-crate-graph.sh: unexpected argument '$1' (see --help)" >&2
  exit 2
fi

cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "check-crate-graph.sh: python3 not found" >&2; exit 2; }

cargo metadata --no-deps --format-version 1 --offline | PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=scripts python3 -c '
import json, sys
from graph_cycles import cycles

# The crate that may depend (normally) on heddle-spec-tests, and those that may dev-depend.
SPEC_TESTS = "heddle-spec-tests"
MAY_DEPEND = {"heddle"}
MAY_DEV_DEPEND = {"heddle", "heddle-explore", "heddle-fuzz"}

meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
crates = {p["name"]: p for p in meta["packages"] if p["id"] in members}
problems = []

# Edges among workspace crates, every kind (null is a normal dependency).
edges = {name: [] for name in crates}
for name, p in crates.items():
    for d in p["dependencies"]:
        if d["name"] in crates and d["name"] != name:
            kind = d["kind"] or "normal"
            edges[name].append((d["name"], kind))
            if d["name"] == SPEC_TESTS:
                allowed = MAY_DEV_DEPEND if kind == "dev" else MAY_DEPEND
                if name not in allowed:
                    who = ", ".join(sorted(allowed))
                    problems.append(
                        f"{name} has a {kind} dependency on {SPEC_TESTS} (allowed only for: {who})"
                    )

# Cycles: depth-first search, reporting each cycle once by its path.
for cycle in cycles(sorted(crates), lambda name: [dep for dep, kind in sorted(edges[name])]):
    problems.append("dependency cycle (dev-dependencies included): " + " -> ".join(cycle))

for p in problems:
    print("check-crate-graph: " + p)
if problems:
    sys.exit(1)
users = ", ".join(sorted(n for n in crates if any(d == SPEC_TESTS for d, _ in edges[n])))
print(f"check-crate-graph: {len(crates)} workspace crates, no cycle; {SPEC_TESTS} used by {users}")
'
