//! Optimal DPOR (`Reduction::Dpor`) against the state-caching search (`Reduction::Caching`):
//! the same reachable outcomes on the catalogue, the suite's `threads/` files, the generated
//! rings and random programs; every trace of a DPOR run that reaches an outcome passes
//! `check_execution`; and on the rings (where every Mazurkiewicz trace has its own outcome)
//! DPOR makes exactly one run per outcome.

#[allow(dead_code)] // the helpers other exploration tests use
mod common;
use common::{catalogue, suite_threads_dir};
use heddle_fuzz::generate::{program_strategy, GenConfig, LitmusProgram};
use heddle_model::{check_execution, Config, Outcome};
use heddle_spec_tests::explore::rings::{mp_chain, sb_ring};
use heddle_spec_tests::explore::{
    explore, Exploration, ExploreOptions, MemoryMode, Plan, Reduction,
};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn outcomes(ex: &Exploration) -> BTreeSet<String> {
    ex.reachable.keys().map(Outcome::to_string).collect()
}

fn opts(reduction: Reduction) -> ExploreOptions {
    ExploreOptions {
        memory: MemoryMode::Sc,
        max_executions: 200_000,
        reduction,
        ..ExploreOptions::default()
    }
}

/// Explore `plan` both ways; the reachable sets must be equal. Returns the DPOR result.
fn compare(name: &str, plan: &Plan) -> Exploration {
    let caching = explore(plan, &opts(Reduction::Caching)).unwrap();
    // Traces need one shared memory; a multi-memory script is compared without them.
    let dpor = explore(
        plan,
        &ExploreOptions {
            keep_traces: true,
            ..opts(Reduction::Dpor)
        },
    )
    .or_else(|_| explore(plan, &opts(Reduction::Dpor)))
    .unwrap();
    assert!(caching.complete, "{name}: caching search incomplete");
    assert!(dpor.complete, "{name}: DPOR search incomplete");
    assert_eq!(
        outcomes(&dpor),
        outcomes(&caching),
        "{name}: DPOR ({:?}) and caching reach different outcomes",
        dpor.reduction
    );
    for t in &dpor.traces {
        if let Some(exec) = t.to_execution() {
            if let Err(v) = check_execution(&exec, &Config::default()) {
                panic!("{name}: a DPOR trace breaks {v}");
            }
        }
    }
    dpor
}

fn files() -> Vec<PathBuf> {
    let mut files = catalogue();
    let mut suite: Vec<PathBuf> = std::fs::read_dir(suite_threads_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    suite.sort();
    files.extend(suite);
    files
}

#[test]
fn dpor_reaches_the_outcomes_of_the_caching_search_on_the_catalogue_and_suite() {
    let (mut dpor_files, mut fallback) = (0, 0);
    for f in files() {
        let text = std::fs::read_to_string(&f).unwrap();
        let Ok(plan) = Plan::from_text(&text) else {
            continue;
        };
        let ex = compare(&f.display().to_string(), &plan);
        match ex.reduction {
            Reduction::Dpor => dpor_files += 1,
            Reduction::Caching => fallback += 1,
        }
    }
    eprintln!("{dpor_files} files explored with DPOR, {fallback} fell back to caching");
    assert!(dpor_files > 10, "DPOR ran on only {dpor_files} files");
}

#[test]
fn dpor_makes_one_run_per_outcome_on_the_rings() {
    for (name, text) in [
        ("SB 2x6", sb_ring(2, 6)),
        ("SB 3x4", sb_ring(3, 4)),
        ("MP 2x6", mp_chain(2, 6)),
        ("MP 3x4", mp_chain(3, 4)),
    ] {
        let plan = Plan::from_text(&text).unwrap();
        let ex = compare(name, &plan);
        assert_eq!(ex.reduction, Reduction::Dpor, "{name}");
        assert_eq!(
            ex.executions,
            ex.reachable.len() as u64,
            "{name}: runs per outcome"
        );
        assert_eq!(ex.pruned, 0, "{name}: sleep-set-blocked runs");
    }
}

fn program() -> impl Strategy<Value = LitmusProgram> {
    program_strategy(&GenConfig::explore())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x4450_4f52),
        ..ProptestConfig::default()
    })]

    #[test]
    fn dpor_reaches_the_outcomes_of_the_caching_search_on_random_programs(p in program()) {
        let text = p.to_wast();
        let plan = Plan::from_text(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let caching = explore(&plan, &opts(Reduction::Caching)).map_err(TestCaseError::fail)?;
        let dpor = explore(&plan, &ExploreOptions { keep_traces: true, ..opts(Reduction::Dpor) })
            .map_err(TestCaseError::fail)?;
        prop_assert!(caching.complete && dpor.complete, "incomplete\n{}", text);
        prop_assert_eq!(outcomes(&dpor), outcomes(&caching), "\n{}", text);
        for t in &dpor.traces {
            if let Some(exec) = t.to_execution() {
                if let Err(v) = check_execution(&exec, &Config::default()) {
                    return Err(TestCaseError::fail(format!("trace breaks {v}\n{text}")));
                }
            }
        }
    }
}
