//! `heddle explore --memory relaxed` against the memory model: on every litmus file the
//! model accepts (the catalogue in `model/tests/litmus/` and the straight-line files of the
//! suite's `threads/`), every reachable outcome is allowed, every allowed outcome is reached
//! (load buffering's (1,1) included: it reads from a write later in `tot`, through a
//! promise), and every trace of every run that reached an outcome passes the model's
//! `check_execution`.

#[allow(dead_code)] // the helpers other exploration tests use
mod common;
use common::{
    assert_spin_loop_terminates, assert_suite_outcomes_pass_check, catalogue, model_allowed,
    suite_threads_dir,
};
use heddle_explore::{explore, replay, ExploreOptions, MemoryMode, Plan};
use heddle_model::{check_execution, Config, Outcome};
use std::collections::BTreeSet;
use std::path::Path;

fn relaxed() -> ExploreOptions {
    ExploreOptions {
        memory: MemoryMode::Relaxed,
        keep_traces: true,
        ..ExploreOptions::default()
    }
}

/// Explore `path` on the relaxed backend; `None` if the model does not accept it. Asserts
/// completeness, soundness (reachable ⊆ allowed) and that every kept trace passes the
/// checker. Returns the reachable and the allowed-but-unreached outcomes.
fn check_file(path: &Path) -> Option<(Vec<Outcome>, BTreeSet<String>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let allowed = model_allowed(path, &text)?;
    let plan = Plan::from_text(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ex = explore(&plan, &relaxed()).unwrap();
    assert!(ex.complete, "{}: exploration incomplete", path.display());
    let reached: Vec<Outcome> = ex.reachable.keys().cloned().collect();
    for (o, f) in &ex.reachable {
        assert!(
            allowed.contains(o),
            "{}: relaxed exploration reached {o} (schedule {:?}), which the model forbids",
            path.display(),
            f.schedule
        );
    }
    let mut checked = 0;
    for t in &ex.traces {
        if let Some(exec) = t.to_execution() {
            checked += 1;
            if let Err(v) = check_execution(&exec, &Config::default()) {
                panic!("{}: a trace breaks {v}", path.display());
            }
        }
    }
    assert!(checked > 0, "{}: no trace was checked", path.display());
    let unreached = allowed
        .iter()
        .filter(|o| !reached.contains(o))
        .map(|o| o.to_string())
        .collect();
    Some((reached, unreached))
}

#[test]
fn relaxed_exploration_of_the_catalogue_reaches_exactly_the_allowed_outcomes() {
    let mut checked = 0;
    let mut lb = false;
    for f in catalogue() {
        let name = f.file_stem().unwrap().to_str().unwrap().to_string();
        let Some((reached, unreached)) = check_file(&f) else {
            panic!("{name}: the model rejects a catalogue file");
        };
        assert_eq!(
            unreached,
            BTreeSet::new(),
            "{name}: allowed but not reached"
        );
        if name == "LB" {
            // Load buffering's (1,1): both reads from writes later in tot, by promises.
            lb = reached
                .iter()
                .any(|o| o.to_string() == "T0: [i32:1]  T1: [i32:1]");
        }
        checked += 1;
    }
    assert!(lb, "LB (1,1) not reached");
    assert!(checked >= 40);
}

#[test]
fn relaxed_store_buffering_reaches_0_0_only_with_plain_accesses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/litmus");
    for (name, n) in [("SB", 4), ("SB_sc", 3)] {
        let plan =
            Plan::from_text(&std::fs::read_to_string(dir.join(format!("{name}.wast"))).unwrap())
                .unwrap();
        let ex = explore(&plan, &relaxed()).unwrap();
        assert_eq!(ex.reachable.len(), n, "{name}");
        let zero_zero = ex
            .reachable
            .keys()
            .any(|o| o.to_string() == "T0: [i32:0]  T1: [i32:0]");
        assert_eq!(zero_zero, name == "SB", "{name}");
        // Every schedule (read choices included) replays its outcome.
        for (o, f) in &ex.reachable {
            let r = replay(&plan, &f.schedule, &relaxed()).unwrap();
            assert_eq!(r.outcome.as_ref(), Some(o), "{name}: replay {}", f.schedule);
        }
    }
}

#[test]
fn relaxed_exploration_of_the_suite_threads_files_reaches_exactly_the_allowed_outcomes() {
    let mut checked = 0;
    for f in std::fs::read_dir(suite_threads_dir()).unwrap() {
        let path = f.unwrap().path();
        if let Some((_, unreached)) = check_file(&path) {
            assert_eq!(
                unreached,
                BTreeSet::new(),
                "{}: allowed but not reached",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 8,
        "only {checked} suite files accepted by the model"
    );
}

#[test]
fn every_relaxed_outcome_of_the_suite_passes_its_check() {
    assert_suite_outcomes_pass_check(&relaxed());
}

/// On the relaxed backend too the spin loop of `wait_notify.wast` returns to a state seen
/// before (notifies write nothing), so state caching ends it.
#[test]
fn relaxed_spin_loops_terminate_by_state_caching() {
    assert_spin_loop_terminates(&relaxed());
}

/// The relaxed targets of issue 13: on the store-buffering rings every load may read 0 or
/// any value its neighbour stores, `(rounds + 1)^(threads · rounds)` outcomes, all reached
/// (load-buffering shapes included: a load reading a store its neighbour makes later), each
/// run's trace accepted by the model.
#[test]
fn relaxed_store_buffering_rings_reach_every_allowed_outcome() {
    use heddle_explore::rings::sb_ring;
    for (threads, accesses, outcomes) in [(2, 6, 4_096), (4, 4, 6_561)] {
        let plan = Plan::from_text(&sb_ring(threads, accesses)).unwrap();
        let ex = explore(&plan, &relaxed()).unwrap();
        assert!(ex.complete, "SB {threads}x{accesses}");
        assert_eq!(ex.reachable.len(), outcomes, "SB {threads}x{accesses}");
        assert_eq!(
            common::check_traces(&ex).unwrap(),
            ex.traces.len(),
            "SB {threads}x{accesses}"
        );
        assert_eq!(ex.traces.len(), outcomes);
    }
}

/// A large relaxed exploration is split into subtrees for parallel workers; the result
/// (outcomes in order, counts, schedules, runs) is the same for any number of them.
#[test]
fn relaxed_exploration_is_the_same_on_one_or_two_workers() {
    use heddle_explore::rings::sb_ring;
    let plan = Plan::from_text(&sb_ring(4, 4)).unwrap();
    let run = |jobs| {
        explore(
            &plan,
            &ExploreOptions {
                memory: MemoryMode::Relaxed,
                jobs,
                ..ExploreOptions::default()
            },
        )
        .unwrap()
    };
    let (one, two) = (run(1), run(2));
    assert!(one.complete && two.complete);
    assert_eq!(one.reachable.len(), 6_561);
    assert_eq!(one.reachable, two.reachable);
    assert_eq!(
        (one.executions, one.pruned, one.rounds),
        (two.executions, two.pruned, two.rounds)
    );
}
