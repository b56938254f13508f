//! Property tests of exploration against the memory model, on random litmus programs:
//! 2 or 3 threads of up to 4 shared-memory operations each (loads and stores of every
//! width, plain and atomic, RMWs, cmpxchg, fences, wait with a timeout, notify), over
//! overlapping addresses so that mixed-size accesses occur. For each program and each memory
//! backend (sequentially consistent, relaxed), every outcome reached by exhaustive
//! exploration is allowed by `heddle-model`, on the relaxed backend every allowed outcome
//! is reached, and every trace
//! of a run that reached an outcome passes `check_execution`.
//!
//! (In heddle-fuzz, which has the generator, rather than in heddle-spec-tests: a
//! dev-dependency of heddle-spec-tests on heddle-fuzz would be a cycle, and `cargo publish`
//! refuses it. The helpers are the other exploration tests', in explore/tests/common.)

#[allow(dead_code)] // the helpers other exploration tests use
#[path = "../../explore/tests/common/mod.rs"]
mod common;
use common::check_traces;
use heddle_explore::{explore, ExploreOptions, MemoryMode, Plan};
use heddle_fuzz::generate::{program_strategy, GenConfig, LitmusProgram, Op, RmwOp};
use heddle_model::{enumerate, parse_litmus, Config, ModelError};
use proptest::prelude::*;

/// The preset of this test (2 threads of up to 4 ops or 3 of up to 3; see
/// [`GenConfig::explore`]).
fn program() -> impl Strategy<Value = LitmusProgram> {
    program_strategy(&GenConfig::explore())
}

fn check(p: &LitmusProgram, memory: MemoryMode) -> Result<(), TestCaseError> {
    let text = p.to_wast();
    let program = parse_litmus(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    let started = std::time::Instant::now();
    let allowed = match enumerate(&program, &Config::default()) {
        Ok(e) => e.allowed,
        // The model's search has a size bound; such a program says nothing here. Proptest
        // counts the rejection (and fails if too many cases are rejected).
        Err(ModelError::TooManyCandidates(_)) | Err(ModelError::TooManyEvents(_)) => {
            return Err(TestCaseError::reject("program too large for the model"))
        }
        Err(e) => return Err(TestCaseError::fail(format!("model: {e}\n{text}"))),
    };
    if std::env::var_os("HEDDLE_PROP_TIMES").is_some() {
        eprintln!("model {:?} for {} ops", started.elapsed(), p.ops().count());
    }
    let plan = Plan::from_text(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
    let opts = ExploreOptions {
        memory,
        keep_traces: true,
        max_executions: 200_000,
        ..ExploreOptions::default()
    };
    let started = std::time::Instant::now();
    let ex = explore(&plan, &opts).map_err(TestCaseError::fail)?;
    if std::env::var_os("HEDDLE_PROP_TIMES").is_some() {
        eprintln!(
            "explore {memory:?} {:?}: {} runs ({} broken promises, {} rounds), {} outcomes",
            started.elapsed(),
            ex.executions,
            ex.broken_promises,
            ex.rounds,
            ex.reachable.len()
        );
    }
    prop_assert!(ex.complete, "incomplete exploration\n{}", text);
    prop_assert!(!ex.reachable.is_empty(), "no outcome\n{}", text);
    for o in ex.reachable.keys() {
        prop_assert!(
            allowed.contains_key(o),
            "reached {} which the model forbids\n{}",
            o,
            text
        );
    }
    if memory == MemoryMode::Relaxed {
        // With promises the relaxed exploration is complete: it reaches every allowed
        // outcome (load buffering and out-of-thin-air values the model allows included).
        for o in allowed.keys() {
            prop_assert!(
                ex.reachable.contains_key(o),
                "allowed {} not reached\n{}",
                o,
                text
            );
        }
    }
    check_traces(&ex).map_err(|v| TestCaseError::fail(format!("trace breaks {v}\n{text}")))?;
    Ok(())
}

proptest! {
    // A fixed seed: the model's enumeration time varies a lot between programs, and CI must
    // not depend on luck. Run with PROPTEST_CASES / a new seed locally to search further.
    #![proptest_config(ProptestConfig {
        cases: 64,
        max_global_rejects: 64,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x4845_4444_4c45),
        ..ProptestConfig::default()
    })]

    #[test]
    fn sc_exploration_reaches_only_allowed_outcomes(p in program()) {
        check(&p, MemoryMode::Sc)?;
    }

    #[test]
    fn relaxed_exploration_reaches_exactly_the_allowed_outcomes(p in program()) {
        check(&p, MemoryMode::Relaxed)?;
    }
}

/// A case proptest once shrank a failure to (formerly in explore_props.proptest-regressions,
/// whose seed no longer reproduces it since the generator moved to `heddle_fuzz::generate`):
/// adds on one cell, byte stores over it, and waits on it. Today the model's size bound
/// rejects it (as proptest's replay did); the test checks that nothing fails.
#[test]
fn regression_adds_byte_stores_and_waits_on_one_cell() {
    let add = |value| Op::Rmw {
        width: 4,
        op: RmwOp::Add,
        addr: 0,
        value,
    };
    let store8 = Op::Store {
        width: 1,
        atomic: false,
        addr: 0,
        value: 1,
    };
    let wait = Op::Wait {
        width: 4,
        addr: 0,
        expected: 0,
        timeout_ns: 1000,
    };
    let p = LitmusProgram {
        threads: vec![
            vec![add(1), add(1)],
            vec![add(2), add(1), store8.clone(), store8.clone()],
            vec![store8, wait.clone(), wait],
        ],
    };
    for memory in [MemoryMode::Sc, MemoryMode::Relaxed] {
        match check(&p, memory) {
            Ok(()) | Err(TestCaseError::Reject(_)) => {}
            Err(e) => panic!("{memory:?}: {e}"),
        }
    }
}
