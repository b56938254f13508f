//! Exploring every schedule of a WASI program (`heddle_wasi::explore`): the WAT programs of
//! `tests/wat/` stand in for C programs (a counter under a lock, a racy counter, a
//! lock-order deadlock). Each outcome's schedule is replayed with `run` and must give the
//! same outcome.

use heddle_interp::{ChoiceLog, Module};
use heddle_wasi::{
    explore, run, Backend, Ending, Exploration, ExploreOptions, Program, RunOptions,
    SchedulePolicy, Sink, WasiCtx,
};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn program(name: &str) -> Program {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wat")
        .join(name);
    let wasm = wat::parse_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let module = Arc::new(Module::decode(&wasm).unwrap_or_else(|e| panic!("{name}: {e}")));
    Program::check(module).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn explored(name: &str) -> Exploration {
    let options = ExploreOptions {
        timeout: None,
        ..ExploreOptions::default()
    };
    explore(&program(name), &options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The outcomes' endings and outputs, sorted, as text.
fn summary(e: &Exploration) -> Vec<String> {
    let mut v: Vec<String> = e
        .outcomes
        .iter()
        .map(|f| match &f.outcome.ending {
            Ending::Exit(code) => format!("exit {code}: {}", f.outcome.stdout.trim_end()),
            Ending::Deadlock(_) => format!("deadlock: {}", f.outcome.stdout.trim_end()),
            other => format!("{other:?}"),
        })
        .collect();
    v.sort();
    v
}

/// Replay every outcome's schedule with `run` (as `heddle run --wasi --replay` does): the
/// same ending and output, and the schedule fits.
fn replays(name: &str, e: &Exploration) {
    let p = program(name);
    for found in &e.outcomes {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let err = Arc::new(Mutex::new(Vec::<u8>::new()));
        let ctx = Arc::new(WasiCtx::new(
            ExploreOptions::default().args,
            Vec::new(),
            Vec::new(),
            0,
            out.clone() as Sink,
            err.clone() as Sink,
        ));
        let schedule = ChoiceLog::parse_schedule(&found.schedule).expect("a schedule");
        let options = RunOptions {
            policy: SchedulePolicy::Replay(schedule),
            backend: Backend::Sc,
            fuel: ExploreOptions::default().fuel,
        };
        let report = run(&p, ctx, &options).expect("runs");
        assert_eq!(report.misfit, None, "{name}: schedule {}", found.schedule);
        assert_eq!(
            report.ending, found.outcome.ending,
            "{name}: schedule {}",
            found.schedule
        );
        assert_eq!(
            String::from_utf8_lossy(&out.lock().unwrap()),
            found.outcome.stdout,
            "{name}: schedule {}",
            found.schedule
        );
        assert_eq!(report.schedule.as_deref(), Some(found.schedule.as_str()));
    }
}

#[test]
fn a_counter_under_a_lock_has_one_outcome() {
    let e = explored("mutex_counter.wat");
    assert!(e.complete(), "{:?}", e.incomplete);
    assert_eq!(summary(&e), ["exit 0: counter = 4"]);
    assert!(e.runs > 1, "the lock's races are explored: {} runs", e.runs);
    replays("mutex_counter.wat", &e);
}

#[test]
fn a_racy_counter_has_three_outcomes() {
    let e = explored("racy_counter.wat");
    assert!(e.complete(), "{:?}", e.incomplete);
    assert_eq!(
        summary(&e),
        [
            "exit 0: counter = 2",
            "exit 0: counter = 3",
            "exit 0: counter = 4"
        ]
    );
    replays("racy_counter.wat", &e);
}

#[test]
fn a_lock_order_deadlock_is_found_and_replays() {
    let e = explored("lock_order.wat");
    assert!(e.complete(), "{:?}", e.incomplete);
    assert_eq!(summary(&e), ["deadlock: ", "exit 0: counter = 2"]);
    let deadlock = e
        .outcomes
        .iter()
        .find(|f| matches!(f.outcome.ending, Ending::Deadlock(_)))
        .expect("a deadlock");
    let Ending::Deadlock(report) = &deadlock.outcome.ending else {
        unreachable!()
    };
    assert!(report.contains("$lock"), "{report}");
    replays("lock_order.wat", &e);
}

#[test]
fn the_bounds_make_it_incomplete() {
    let p = program("racy_counter.wat");
    let e = explore(
        &p,
        &ExploreOptions {
            max_runs: 1,
            ..ExploreOptions::default()
        },
    )
    .expect("explores");
    assert_eq!(e.runs, 1);
    assert!(!e.complete());
    let e = explore(
        &p,
        &ExploreOptions {
            fuel: Some(50),
            ..ExploreOptions::default()
        },
    )
    .expect("explores");
    assert!(!e.complete(), "a run cut by the step bound");
    assert!(e
        .outcomes
        .iter()
        .any(|f| f.outcome.ending == Ending::FuelExhausted));
}
