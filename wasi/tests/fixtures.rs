//! The wasi-threads fixtures (`fixtures/wasi/`: C with pthreads on wasi-libc, Rust
//! `std::thread`) on Heddle (issue 27): the data-race-free ones print their expected line
//! and exit 0 under 20 random schedules (SC) and on native memory; the lock-order deadlock
//! and the lost wake-up are found, reported with every blocked thread's stack, and their
//! schedules replay; the racy counters lose updates on some schedule, which replays to the
//! same total; binaries that are not wasi-threads programs are refused.

use heddle_interp::syntax::ExportDesc;
use heddle_interp::Module;
use heddle_wasi::{
    run, Backend, Ending, Program, ProgramError, RunOptions, RunReport, SchedulePolicy, Sink,
    WasiCtx,
};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The data-race-free, hang-free fixtures and the line each must print (fixtures/wasi/README.md).
const DATA_RACE_FREE: [(&str, &str); 5] = [
    ("mutex_counter_2x2", "counter = 4\n"),
    ("mutex_counter", "counter = 4000\n"),
    ("c11_atomics", "atomic = 4000 relaxed = 4000 msg = 42\n"),
    ("condvar", "consumed 1000 items, sum = 250500\n"),
    (
        "rust_threads",
        "mutex = 4000 atomic = 4000 channel = 2002000 ids = 6\n",
    ),
];

/// Seeds tried where a schedule must be found (and every seed of the data-race-free check).
const SEEDS: u64 = 20;

/// The decoded fixture `name` (without `.wasm`).
fn module(name: &str) -> Module {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/wasi")
        .join(format!("{name}.wasm"));
    let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Module::decode(&wasm).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn program(name: &str) -> Program {
    Program::check(Arc::new(module(name))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Run {
    report: RunReport,
    stdout: String,
    stderr: String,
}

/// Run `program` (named `name`) with no arguments, environment or input.
fn run_program(name: &str, program: &Program, options: &RunOptions) -> Run {
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let err = Arc::new(Mutex::new(Vec::<u8>::new()));
    let ctx = Arc::new(WasiCtx::new(
        vec![format!("{name}.wasm")],
        Vec::new(),
        Vec::new(),
        0,
        out.clone() as Sink,
        err.clone() as Sink,
    ));
    let report = run(program, ctx, options).unwrap_or_else(|e| panic!("{name}: {e}"));
    let text = |b: &Arc<Mutex<Vec<u8>>>| String::from_utf8(b.lock().unwrap().clone()).unwrap();
    Run {
        report,
        stdout: text(&out),
        stderr: text(&err),
    }
}

fn sc(policy: SchedulePolicy) -> RunOptions {
    RunOptions {
        policy,
        ..RunOptions::default()
    }
}

/// Replay `first`'s schedule and check that the run is the same one.
fn replays(name: &str, program: &Program, first: &Run) -> Run {
    let schedule = first
        .report
        .schedule
        .as_deref()
        .expect("an SC run's schedule");
    assert!(!schedule.is_empty(), "{name}: threads ran side by side");
    let prefix = heddle_interp::ChoiceLog::parse_schedule(schedule).unwrap();
    let again = run_program(name, program, &sc(SchedulePolicy::Replay(prefix)));
    assert_eq!(again.report.misfit, None, "{name}");
    assert_eq!(again.report.ending, first.report.ending, "{name}");
    assert_eq!(again.stdout, first.stdout, "{name}");
    assert_eq!(again.report.steps, first.report.steps, "{name}");
    again
}

#[test]
fn data_race_free_fixtures_print_their_line_under_20_random_schedules() {
    for (name, line) in DATA_RACE_FREE {
        let p = program(name);
        for seed in 0..SEEDS {
            let r = run_program(name, &p, &sc(SchedulePolicy::Random { seed }));
            assert_eq!(
                (&r.report.ending, r.stdout.as_str(), r.stderr.as_str()),
                (&Ending::Exit(0), line, ""),
                "{name}, seed {seed}"
            );
            assert!(r.report.threads > 1, "{name}: no thread was spawned");
        }
    }
}

#[test]
fn data_race_free_fixtures_print_their_line_on_native_memory() {
    let native = RunOptions {
        backend: Backend::Native {
            wait_poll: Duration::from_millis(50),
        },
        ..RunOptions::default()
    };
    for (name, line) in DATA_RACE_FREE {
        let p = program(name);
        for _ in 0..3 {
            let r = run_program(name, &p, &native);
            assert_eq!(
                (&r.report.ending, r.stdout.as_str(), r.stderr.as_str()),
                (&Ending::Exit(0), line, ""),
                "{name} on native memory"
            );
        }
    }
}

/// The first of seeds 0..SEEDS whose run under `policy(seed)` deadlocks.
fn first_deadlock(name: &str, p: &Program, policy: impl Fn(u64) -> SchedulePolicy) -> (u64, Run) {
    (0..SEEDS)
        .map(|seed| (seed, run_program(name, p, &sc(policy(seed)))))
        .find(|(_, r)| matches!(r.report.ending, Ending::Deadlock(_)))
        .unwrap_or_else(|| panic!("{name}: no deadlock in {SEEDS} schedules"))
}

fn random(seed: u64) -> SchedulePolicy {
    SchedulePolicy::Random { seed }
}

#[test]
fn the_lock_order_deadlock_is_reported_with_both_threads_stacks_and_replays() {
    let p = program("deadlock");
    let (_, r) = first_deadlock("deadlock", &p, random);
    let Ending::Deadlock(report) = &r.report.ending else {
        unreachable!()
    };
    // Both spawned threads wait for a mutex, inside the thread function the C source names.
    for tid in ["(wasi tid 1) waits", "(wasi tid 2) waits"] {
        assert!(report.contains(tid), "{report}");
    }
    let locking = "$__pthread_mutex_lock\n    in func 13 $take_in_order\n";
    assert_eq!(report.matches(locking).count(), 2, "{report}");
    // The main thread waits in pthread_join.
    assert!(report.contains("main thread waits"), "{report}");
    assert!(report.contains("$__pthread_join"), "{report}");
    assert_eq!(r.stdout, "");
    replays("deadlock", &p, &r);
}

#[test]
fn the_lost_wake_up_is_found_by_random_and_pct_schedules_and_replays() {
    let p = program("lost_wakeup");
    // PCT with its defaults (the CLI's): k measured by a first run, in scheduling steps
    // (docs/wasi.md).
    let pct = |seed| SchedulePolicy::Pct {
        seed,
        depth: 3,
        steps: None,
    };
    for (_, r) in [
        first_deadlock("lost_wakeup", &p, random),
        first_deadlock("lost_wakeup", &p, pct),
    ] {
        let Ending::Deadlock(report) = &r.report.ending else {
            unreachable!()
        };
        assert!(report.contains("$pthread_cond_wait"), "{report}");
        assert!(report.contains("$waiter"), "{report}");
        assert_eq!(r.stdout, "");
        replays("lost_wakeup", &p, &r);
    }
}

/// The total a racy counter printed (`counter = N`).
fn total(name: &str, r: &Run) -> u32 {
    assert_eq!(r.report.ending, Ending::Exit(0), "{name}: {}", r.stderr);
    r.stdout
        .strip_prefix("counter = ")
        .and_then(|s| s.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("{name}: {:?}", r.stdout))
}

#[test]
fn racy_counters_lose_updates_and_the_schedule_replays_to_the_same_total() {
    for name in ["racy_counter", "rust_racy"] {
        let p = program(name);
        let (seed, r) = (0..SEEDS)
            .map(|seed| {
                (
                    seed,
                    run_program(name, &p, &sc(SchedulePolicy::Random { seed })),
                )
            })
            .find(|(_, r)| total(name, r) < 4000)
            .unwrap_or_else(|| panic!("{name}: no lost update in {SEEDS} random schedules"));
        let n = total(name, &r);
        assert!((2..4000).contains(&n), "{name}, seed {seed}: {n}");
        let again = replays(name, &p, &r);
        assert_eq!(total(name, &again), n, "{name}, seed {seed}");
    }
}

#[test]
fn binaries_that_are_not_wasi_threads_programs_are_refused() {
    let without_export = |export: &str| {
        let mut m = module("mutex_counter");
        m.exports
            .retain(|e| !(e.name == export && matches!(e.desc, ExportDesc::Func(_))));
        Program::check(Arc::new(m)).unwrap_err()
    };
    assert!(matches!(
        without_export("wasi_thread_start"),
        ProgramError::NotWasi(m) if m.contains("\"wasi_thread_start\"")
    ));
    assert!(matches!(
        without_export("_start"),
        ProgramError::NotWasi(m) if m.contains("\"_start\"")
    ));
    // An import from wasi's older snapshot is not one Heddle provides.
    let mut m = module("rust_threads");
    let fd_write = m.imports.iter_mut().find(|i| i.name == "fd_write").unwrap();
    fd_write.module = "wasi_unstable".into();
    assert_eq!(
        Program::check(Arc::new(m)).unwrap_err(),
        ProgramError::UnknownImport {
            module: "wasi_unstable".into(),
            name: "fd_write".into()
        }
    );
}
