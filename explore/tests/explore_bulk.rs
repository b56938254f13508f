//! Bulk memory on a shared memory, explored byte by byte (issue 24). The spec reduces
//! `memory.fill`, `memory.copy` and `memory.init` on a shared memory to a sequence of
//! `i32.store8` steps (with an `i32.load8_u` before each for a copy), low to high, or high to
//! low for a copy with `d > s` (exec/instructions.rst *memory.fill*, *memory.copy*,
//! *memory.init*), and other threads may step between them.
//!
//! The catalogue's `bulk_*.wast` files each write their sequentially consistent outcome set
//! out by hand in their comment (`;; SC set: {(0,0), (0,1)}`, T1's two results): sequentially
//! consistent exploration (DPOR and state caching) must reach exactly that set, relaxed
//! exploration a superset of it, and every trace of every run must pass `check_execution`.
//! The `grow_*.wast` files do the same for `memory.grow` (`;; SC:` lines, one outcome each).

#[allow(dead_code)] // the helpers other exploration tests use
mod common;
use common::{catalogue_file, catalogue_files_starting, check_traces};
use heddle_explore::{explore, Exploration, ExploreOptions, MemoryMode, Plan, Reduction};
use heddle_model::{InvokeResult, Outcome, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The catalogue's bulk-memory files of this file's shape: T0 runs one bulk instruction, T1
/// returns two bytes, and the comment has a hand-written `;; SC set:` line. The other
/// `bulk_` files (one thread, or a racing i32 load) are checked against the model, in
/// sequentially consistent and relaxed exploration, by the catalogue tests (explore.rs,
/// explore_relaxed.rs).
fn bulk_files() -> Vec<PathBuf> {
    let files: Vec<PathBuf> = catalogue_files_starting("bulk_")
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.starts_with(";; SC set: "))
        })
        .collect();
    assert!(files.len() >= 4, "bulk files: {files:?}");
    files
}

/// The hand-written set of a file's comment, `;; SC set: {(0,0), (0,1), ...}`: T1's two
/// results per outcome.
fn hand_written_sc_set(path: &Path) -> BTreeSet<(u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(";; SC set: "))
        .unwrap_or_else(|| panic!("{}: no `;; SC set:` line", path.display()));
    let set: BTreeSet<(u32, u32)> = line
        .trim_end_matches('.')
        .trim_matches(|c| c == '{' || c == '}')
        .split("),")
        .map(|pair| {
            let pair = pair.trim().trim_matches(|c| c == '(' || c == ')');
            let (a, b) = pair.split_once(',').unwrap_or_else(|| panic!("{pair:?}"));
            (a.trim().parse().unwrap(), b.trim().parse().unwrap())
        })
        .collect();
    assert!(!set.is_empty(), "{}: empty SC set", path.display());
    set
}

/// T1's two results in each reachable outcome (T0 returns nothing).
fn pairs(ex: &Exploration) -> BTreeSet<(u32, u32)> {
    ex.reachable
        .keys()
        .map(|o: &Outcome| {
            let results = o.get("T1").expect("T1's results");
            match results {
                [InvokeResult::Values(v)] => match v.as_slice() {
                    [Value::I32(a), Value::I32(b)] => (*a, *b),
                    other => panic!("T1 returned {other:?}"),
                },
                other => panic!("T1: {other:?}"),
            }
        })
        .collect()
}

fn plan(path: &Path) -> Plan {
    Plan::from_text(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn explore_with(path: &Path, memory: MemoryMode, reduction: Reduction) -> Exploration {
    let opts = ExploreOptions {
        memory,
        reduction,
        keep_traces: true,
        ..ExploreOptions::default()
    };
    let ex = explore(&plan(path), &opts).unwrap();
    assert!(ex.complete, "{}: exploration incomplete", path.display());
    match check_traces(&ex) {
        Ok(checked) => assert!(checked > 0, "{}: no trace checked", path.display()),
        Err(v) => panic!("{}: a trace breaks {v}", path.display()),
    }
    ex
}

#[test]
fn sc_exploration_reaches_exactly_the_hand_written_set() {
    for path in bulk_files() {
        let expected = hand_written_sc_set(&path);
        for reduction in [Reduction::Dpor, Reduction::Caching] {
            let ex = explore_with(&path, MemoryMode::Sc, reduction);
            assert_eq!(pairs(&ex), expected, "{} ({reduction:?})", path.display());
        }
    }
}

#[test]
fn relaxed_exploration_reaches_a_superset_of_the_hand_written_set() {
    for path in bulk_files() {
        let expected = hand_written_sc_set(&path);
        let reached = pairs(&explore_with(
            &path,
            MemoryMode::Relaxed,
            Reduction::Caching,
        ));
        assert!(
            reached.is_superset(&expected),
            "{}: relaxed reached {reached:?}, missing some of {expected:?}",
            path.display()
        );
    }
}

/// The issue's example: T0 `memory.fill(0, 1, 2)`, T1 reads byte 0 then byte 1. A reader
/// between the two byte stores sees (1,0), which a fill taken as one step never shows.
#[test]
fn the_issue_example_reaches_1_0_between_the_byte_stores() {
    let path = catalogue_file("bulk_fill_forward.wast");
    let ex = explore_with(&path, MemoryMode::Sc, Reduction::Dpor);
    assert_eq!(pairs(&ex), BTreeSet::from([(0, 0), (0, 1), (1, 0), (1, 1)]));
    // One run per outcome: byte stores on different bytes commute (DPOR's footprints).
    assert_eq!(ex.executions, 4);
}

/// A backwards overlapping copy (`d > s`) reaches exactly the outcomes of the spec's
/// high-to-low order, among them (2,2) between its two byte stores; never a value that a
/// low-to-high copy would have read back from a byte it had already overwritten.
#[test]
fn a_backward_copy_reaches_exactly_the_outcomes_of_the_high_to_low_order() {
    let path = catalogue_file("bulk_copy_backward.wast");
    let ex = explore_with(&path, MemoryMode::Sc, Reduction::Dpor);
    assert_eq!(
        pairs(&ex),
        BTreeSet::from([(0, 0), (0, 1), (0, 2), (2, 1), (2, 2)])
    );
}

/// Between a copy's load of a byte and its store, another thread may write the source: the
/// copy stores the value it loaded. T0 stores 1 at byte 0 and copies byte 0 to byte 1, then
/// returns bytes 1 and 0; T1 stores 5 at byte 0, then returns byte 1. The outcome
/// (T0: [1, 5], T1: [0]) needs T0's load before T1's store (so T0 copies 1 while byte 0 ends
/// as 5) and T1's read before T0's store (T1 sees 0): T1's two steps between the copy's load
/// and its store. A copy whose load and store were one step could not reach it (T1's read
/// before the copy would put its store before the copy too, which then copies 5, or, before
/// T0's store of 1, leaves byte 0 at 1).
#[test]
fn a_copy_loads_and_stores_each_byte_in_two_steps() {
    let text = r#"
(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32 i32)
      (i32.atomic.store8 (i32.const 0) (i32.const 1))
      (memory.copy (i32.const 1) (i32.const 0) (i32.const 1))
      (i32.atomic.load8_u (i32.const 1))
      (i32.atomic.load8_u (i32.const 0))))
  (invoke "run"))
(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (i32.atomic.store8 (i32.const 0) (i32.const 5))
      (i32.atomic.load8_u (i32.const 1))))
  (invoke "run"))
(wait $T0)
(wait $T1)
"#;
    let plan = Plan::from_text(text).unwrap();
    let mut sets = Vec::new();
    for reduction in [Reduction::Dpor, Reduction::Caching] {
        let ex = explore(
            &plan,
            &ExploreOptions {
                reduction,
                keep_traces: true,
                ..ExploreOptions::default()
            },
        )
        .unwrap();
        assert!(ex.complete);
        assert!(check_traces(&ex).is_ok());
        let reached: BTreeSet<String> = ex.reachable.keys().map(Outcome::to_string).collect();
        assert!(
            reached.contains("T0: [i32:1, i32:5]  T1: [i32:0]"),
            "{reduction:?}: {reached:?}"
        );
        sets.push(reached);
    }
    assert_eq!(sets[0], sets[1], "DPOR and caching differ");
}

/// The catalogue's `grow_*.wast` files: each writes its sequentially consistent outcomes out
/// by hand (`;; SC: <outcome>` lines), with every grow free to fail (instructions.rst
/// *memory.grow* 10.b; [`ExploreOptions::spurious_grow_failure`], on by default).
fn grow_files() -> Vec<(PathBuf, BTreeSet<String>)> {
    let files: Vec<(PathBuf, BTreeSet<String>)> = catalogue_files_starting("grow_")
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let set: BTreeSet<String> = text
                .lines()
                .filter_map(|l| l.strip_prefix(";; SC: "))
                .map(str::to_string)
                .collect();
            assert!(!set.is_empty(), "{}: no `;; SC:` line", p.display());
            (p, set)
        })
        .collect();
    assert!(files.len() >= 6, "grow files: {files:?}");
    files
}

/// Sequentially consistent exploration of a program that grows its memory reaches exactly
/// the hand-derived set, with either reduction (DPOR gives way to state caching: a grow's
/// failure is a choice inside a step), and every trace, with its length events (the
/// allocation's write of the length, bounds checks, `memory.size`, the grows' RMWs), passes
/// `check_execution`.
#[test]
fn sc_exploration_of_the_grow_files_reaches_exactly_the_hand_written_set() {
    for (path, expected) in grow_files() {
        for reduction in [Reduction::Dpor, Reduction::Caching] {
            let ex = explore_with(&path, MemoryMode::Sc, reduction);
            let reached: BTreeSet<String> = ex.reachable.keys().map(Outcome::to_string).collect();
            assert_eq!(reached, expected, "{} ({reduction:?})", path.display());
            assert_eq!(ex.reduction, Reduction::Caching, "{}", path.display());
        }
    }
}

/// Without spurious failure (`--grow-fails-only-at-max`) a grow below the maximum always
/// succeeds: no outcome of the SC set has -1, and DPOR explores the schedules.
#[test]
fn without_spurious_failure_a_grow_below_the_maximum_succeeds() {
    for (path, expected) in grow_files() {
        let opts = ExploreOptions {
            spurious_grow_failure: false,
            keep_traces: true,
            ..ExploreOptions::default()
        };
        let ex = explore(&plan(&path), &opts).unwrap();
        assert!(ex.complete);
        assert!(check_traces(&ex).is_ok());
        assert_eq!(ex.reduction, Reduction::Dpor, "{}", path.display());
        let reached: BTreeSet<String> = ex.reachable.keys().map(Outcome::to_string).collect();
        let succeeding: BTreeSet<String> = expected
            .into_iter()
            .filter(|o| !o.contains("4294967295"))
            .collect();
        assert_eq!(reached, succeeding, "{}", path.display());
    }
}
