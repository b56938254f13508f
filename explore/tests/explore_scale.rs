//! Exploration at scale (issue 13): sharding (the union of the shards' reachable outcomes is
//! the whole exploration's, on the catalogue, the suite's `threads/` files and generated
//! rings), the size estimate that refuses programs far too large, the time bound, and the
//! generated rings of the benchmarks.

#[allow(dead_code)] // the helpers other exploration tests use
mod common;
use common::{catalogue, catalogue_and_suite as files};
use heddle_explore::rings::{mp_chain, sb_ring};
use heddle_explore::shard::merge;
use heddle_explore::{
    explore, size, Exploration, ExploreOptions, MemoryMode, Plan, Reduction, Shard, Stopped,
};
use heddle_model::Outcome;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

fn outcomes(ex: &Exploration) -> BTreeSet<String> {
    ex.reachable.keys().map(Outcome::to_string).collect()
}

/// Explore `plan` whole and in `n` shards; the union of the shards' outcomes (and the
/// merged JSON) must equal the whole's, and each shard must be complete. Returns the
/// smallest number of outcomes one shard reached (to show that the work was split).
fn assert_shards_unite(name: &str, plan: &Plan, memory: MemoryMode, n: u32) -> usize {
    let opts = ExploreOptions {
        memory,
        max_executions: 200_000,
        ..ExploreOptions::default()
    };
    let whole = explore(plan, &opts).unwrap();
    assert!(whole.complete, "{name}: whole exploration incomplete");
    let mut union = BTreeSet::new();
    let mut lines = Vec::new();
    let mut fewest = usize::MAX;
    for k in 0..n {
        let shard = Shard { index: k, count: n };
        let ex = explore(
            plan,
            &ExploreOptions {
                shard: Some(shard),
                ..opts.clone()
            },
        )
        .unwrap();
        assert!(ex.complete, "{name}: shard {shard} incomplete");
        for o in ex.reachable.keys() {
            assert!(
                whole.reachable.contains_key(o),
                "{name}: shard {shard} reached {o}, which the whole exploration does not"
            );
        }
        fewest = fewest.min(ex.reachable.len());
        union.extend(outcomes(&ex));
        lines.push(json!({
            "file": name, "shard": shard.to_string(), "complete": ex.complete,
            "executions": ex.executions, "pruned": ex.pruned,
            "found": ex.reachable.iter().map(|(o, f)| json!({
                "outcome": o, "count": f.count, "schedule": f.schedule})).collect::<Vec<_>>(),
        }));
    }
    assert_eq!(union, outcomes(&whole), "{name}: {n} shards");
    let merged = merge(&lines).unwrap();
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0]["complete"], json!(true), "{name}");
    let merged_set: BTreeSet<String> = merged[0]["reachable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let whole_set: BTreeSet<String> = whole
        .reachable
        .keys()
        .map(|o| json!(o).to_string())
        .collect();
    assert_eq!(merged_set, whole_set, "{name}: merged JSON");
    fewest
}

#[test]
fn shards_unite_to_the_whole_sc() {
    let mut checked = 0;
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Ok(plan) = Plan::from_text(&text) else {
            continue; // suite files that are not litmus plans
        };
        let name = path.display().to_string();
        for n in [2, 3, 5] {
            let _ = assert_shards_unite(&name, &plan, MemoryMode::Sc, n);
        }
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} files checked");
}

#[test]
fn shards_unite_to_the_whole_relaxed() {
    for path in catalogue() {
        let text = std::fs::read_to_string(&path).unwrap();
        let plan = Plan::from_text(&text).unwrap();
        let _ = assert_shards_unite(&path.display().to_string(), &plan, MemoryMode::Relaxed, 3);
    }
}

#[test]
fn shards_unite_on_generated_rings() {
    for (name, text) in [
        ("SB 2x6", sb_ring(2, 6)),
        ("SB 3x3", sb_ring(3, 3)),
        ("MP 3x4", mp_chain(3, 4)),
    ] {
        let plan = Plan::from_text(&text).unwrap();
        let whole = explore(&plan, &ExploreOptions::default())
            .unwrap()
            .reachable
            .len();
        for n in [2, 4, 7] {
            let fewest = assert_shards_unite(name, &plan, MemoryMode::Sc, n);
            assert!(
                fewest < whole,
                "{name}: every one of {n} shards reached everything"
            );
        }
    }
}

#[test]
fn a_single_shard_is_the_whole_exploration() {
    // Sharded searches use state caching: compare with the caching search.
    let plan = Plan::from_text(&sb_ring(2, 4)).unwrap();
    let caching = ExploreOptions {
        reduction: Reduction::Caching,
        ..ExploreOptions::default()
    };
    let whole = explore(&plan, &caching).unwrap();
    let one = explore(
        &plan,
        &ExploreOptions {
            shard: Some(Shard { index: 0, count: 1 }),
            ..caching
        },
    )
    .unwrap();
    assert_eq!(outcomes(&one), outcomes(&whole));
    assert_eq!(one.executions, whole.executions);
    assert_eq!(one.other_shards, 0);
}

#[test]
fn the_sb_ring_of_two_threads_has_the_outcomes_of_the_issue() {
    // Issue 13: SB 2x6, sequentially consistent: 141 reachable outcomes; state caching
    // (with the incremental content hash, which cuts exactly where hashing every byte did)
    // makes 281 runs, optimal DPOR one per outcome.
    let plan = Plan::from_text(&sb_ring(2, 6)).unwrap();
    let ex = explore(
        &plan,
        &ExploreOptions {
            reduction: Reduction::Caching,
            ..ExploreOptions::default()
        },
    )
    .unwrap();
    assert!(ex.complete);
    assert_eq!(ex.reachable.len(), 141);
    assert_eq!(ex.executions, 281);
    let ex = explore(&plan, &ExploreOptions::default()).unwrap();
    assert_eq!(ex.reduction, Reduction::Dpor);
    assert!(ex.complete);
    assert_eq!(ex.reachable.len(), 141);
    assert_eq!(ex.executions, 141);
    let plan = Plan::from_text(&mp_chain(4, 6)).unwrap();
    assert_eq!(size::estimate(&plan).threads.len(), 4);
}

/// The default bound of `heddle explore`.
const TIMEOUT: f64 = 600.0;

#[test]
fn the_size_estimate_refuses_only_what_would_not_finish() {
    use size::SearchKind::{Caching, Dpor, Relaxed};
    let est = |text: String| size::estimate(&Plan::from_text(&text).unwrap());
    let sb46 = est(sb_ring(4, 6));
    assert!(
        (sb46.log10_states - 15.38).abs() < 0.01,
        "{}",
        sb46.describe()
    );
    assert_eq!(
        sb46.threads
            .iter()
            .map(|t| (t.visible, t.reads, t.writes))
            .collect::<Vec<_>>(),
        vec![(6, 3, 3); 4]
    );
    // Per cell x[t]: 3 writes of T_t, 3 reads of T_{t-1}: C(6, 3) = 20 orders; 20^4 in all
    // (DPOR makes 108,113 runs).
    assert!((sb46.log10_traces - 160_000f64.log10()).abs() < 1e-9);
    assert!(!sb46.cyclic);
    // What DPOR finishes within the default timeout is accepted, with one worker or two.
    for text in [sb_ring(4, 6), sb_ring(3, 6), mp_chain(4, 6), sb_ring(5, 6)] {
        let e = est(text);
        for jobs in [1, 2] {
            assert_eq!(e.search(false, true), Dpor);
            assert_eq!(e.refusal(Dpor, TIMEOUT, jobs, 1), None, "{}", e.describe());
        }
    }
    // Relaxed exploration of SB 3×6 and MP 4×6 finishes (BENCHMARKS.md: 45 s, 37 s).
    for text in [sb_ring(3, 6), mp_chain(4, 6), sb_ring(4, 4)] {
        let e = est(text);
        assert_eq!(e.refusal(Relaxed, TIMEOUT, 1, 1), None, "{}", e.describe());
    }
    // Truly huge: refused, saying how to go on.
    let sb66 = est(sb_ring(6, 6));
    let why = sb66
        .refusal(Dpor, TIMEOUT, 2, 1)
        .expect("SB 6×6 is refused");
    assert!(why.contains("--force") && why.contains("--shard"), "{why}");
    let why = est(sb_ring(4, 6))
        .refusal(Relaxed, TIMEOUT, 2, 1)
        .expect("SB 4×6 relaxed is refused");
    assert!(why.contains("--memory sc"), "{why}");
    let why = est(sb_ring(4, 6))
        .refusal(Caching, TIMEOUT, 2, 1)
        .expect("SB 4×6 without DPOR is refused");
    assert!(why.contains("--reduction dpor"), "{why}");
    // A longer timeout, or shards, accept it.
    assert_eq!(sb66.refusal(Dpor, 1e9, 2, 1), None);
    for path in files() {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Ok(plan) = Plan::from_text(&text) {
            let e = size::estimate(&plan);
            assert!(e.log10_states < 9.0, "{}: {}", path.display(), e.describe());
            for search in [Dpor, Caching, Relaxed] {
                assert_eq!(e.refusal(search, TIMEOUT, 1, 1), None, "{}", path.display());
            }
        }
    }
}

/// Reads do not conflict with reads: one writer and three threads reading its cell twice
/// have `Π C(2 + 1, 2) = 27` traces (each reader's two reads fall before, around or after
/// the write), not the `7!/(2!·2!·2!) = 630` orders of all the accesses.
#[test]
fn reads_of_one_cell_do_not_multiply_the_traces() {
    let mut text = String::from(
        "(module $Mem (memory (export \"shared\") 1 1 shared))\n(register \"mem\" $Mem)\n",
    );
    let thread = |name: &str, body: &str, result: &str| {
        format!(
            "(thread ${name} (shared (module $Mem))\n  (register \"mem\" $Mem)\n  (module\n    \
             (memory (import \"mem\" \"shared\") 1 1 shared)\n    \
             (func (export \"run\") {result} {body}))\n  (invoke \"run\"))\n"
        )
    };
    text.push_str(&thread("W", "(i32.store (i32.const 0) (i32.const 1))", ""));
    let reads = "(i32.add (i32.load (i32.const 0)) (i32.load (i32.const 0)))";
    for r in ["R0", "R1", "R2"] {
        text.push_str(&thread(r, reads, "(result i32)"));
    }
    for t in ["W", "R0", "R1", "R2"] {
        text.push_str(&format!("(wait ${t})\n"));
    }
    let plan = Plan::from_text(&text).unwrap();
    let e = size::estimate(&plan);
    assert!(
        (e.log10_traces - 27f64.log10()).abs() < 1e-9,
        "{}",
        e.log10_traces
    );
    let ex = explore(&plan, &ExploreOptions::default()).unwrap();
    assert!(ex.complete);
    assert!(ex.executions - ex.pruned <= 27, "{}", ex.executions);
}

/// The bound on Mazurkiewicz traces is an over-estimate of DPOR's runs (those not blocked
/// by sleep sets), on the catalogue and on rings.
#[test]
fn the_trace_bound_is_above_dpor_runs() {
    let mut programs: Vec<(String, String)> = catalogue()
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap()))
        .collect();
    for (t, a) in [(2, 6), (3, 4), (3, 6), (4, 4)] {
        programs.push((format!("SB {t}x{a}"), sb_ring(t, a)));
        programs.push((format!("MP {t}x{a}"), mp_chain(t, a)));
    }
    let mut tight = 0;
    for (name, text) in programs {
        let Ok(plan) = Plan::from_text(&text) else {
            continue;
        };
        let e = size::estimate(&plan);
        let ex = explore(&plan, &ExploreOptions::default()).unwrap();
        if ex.reduction != Reduction::Dpor || e.cyclic {
            continue;
        }
        assert!(ex.complete, "{name}");
        let runs = (ex.executions - ex.pruned) as f64;
        let bound = 10f64.powf(e.log10_traces);
        assert!(
            runs <= bound * (1.0 + 1e-9),
            "{name}: {runs} runs, bound {bound}"
        );
        if bound <= 4.0 * runs {
            tight += 1;
        }
    }
    assert!(
        tight >= 8,
        "the bound is within 4x of the runs on most programs: {tight}"
    );
}

#[test]
fn a_timeout_stops_the_exploration_incomplete() {
    let plan = Plan::from_text(&sb_ring(3, 6)).unwrap();
    let ex = explore(
        &plan,
        &ExploreOptions {
            timeout: Some(Duration::ZERO),
            ..ExploreOptions::default()
        },
    )
    .unwrap();
    assert!(!ex.complete);
    assert_eq!(ex.stopped, Some(Stopped::Timeout));
    assert_eq!(ex.executions, 0);
    let ex = explore(
        &plan,
        &ExploreOptions {
            max_executions: 10,
            ..ExploreOptions::default()
        },
    )
    .unwrap();
    assert_eq!(ex.stopped, Some(Stopped::MaxExecutions));
    assert_eq!(ex.executions, 10);
}
