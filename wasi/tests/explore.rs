//! Exploring every schedule of a WASI program (`heddle_wasi::explore`): the WAT programs of
//! `tests/wat/` stand in for C programs (a counter under a lock, a lock that spins before
//! it waits as wasi-libc's does, a racy counter, a lock-order deadlock). Each outcome's
//! schedule is replayed with `run` and must give the same outcome. The reductions (DPOR,
//! DPOR with state caching) must find every outcome the search without partial-order
//! reduction finds.

use heddle_interp::{ChoiceLog, Module};
use heddle_wasi::{
    explore, run, Backend, Ending, Exploration, ExploreOptions, Program, Reduction, RunOptions,
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
    explored_with(name, Reduction::default())
}

fn explored_with(name: &str, reduction: Reduction) -> Exploration {
    let options = ExploreOptions {
        timeout: None,
        reduction,
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

/// The reductions lose no outcome: DPOR and DPOR with state caching find exactly the
/// outcomes of the search without partial-order reduction ([`Reduction::Caching`]), on
/// every small program here, and state caching explores fewer runs than DPOR alone.
#[test]
fn the_reductions_find_every_outcome_of_the_full_search() {
    for name in [
        "racy_2x1.wat",
        "spin_lock.wat",
        "racy_counter.wat",
        "mutex_counter.wat",
        "lock_order.wat",
    ] {
        let full = explored_with(name, Reduction::Caching);
        assert!(full.complete(), "{name}: {:?}", full.incomplete);
        let dpor = explored_with(name, Reduction::Dpor);
        assert!(dpor.complete(), "{name}: {:?}", dpor.incomplete);
        let cached = explored_with(name, Reduction::DporCaching);
        assert!(cached.complete(), "{name}: {:?}", cached.incomplete);
        assert_eq!(summary(&dpor), summary(&full), "{name}: DPOR");
        assert_eq!(
            summary(&cached),
            summary(&full),
            "{name}: DPOR with caching"
        );
        assert!(
            cached.runs + cached.pruned < dpor.runs,
            "{name}: caching {} runs + {} pruned, DPOR {} runs",
            cached.runs,
            cached.pruned,
            dpor.runs
        );
        replays(name, &cached);
    }
}

/// The lost update of two unsynchronised increments is found; the lock that spins before
/// it waits (wasi-libc's pattern) never loses one.
#[test]
fn the_small_programs_have_their_outcomes() {
    assert_eq!(
        summary(&explored("racy_2x1.wat")),
        ["exit 0: counter = 1", "exit 0: counter = 2"]
    );
    assert_eq!(summary(&explored("spin_lock.wat")), ["exit 0: counter = 2"]);
}

/// A small random program of `threads` threads, each taking 1 to 4 accesses (1 to 2 with
/// 3 threads) (plain and
/// atomic stores, loads, `rmw.add`, `cmpxchg`) to 2 shared cells with values 0 to 2 (so
/// that writes of the value a cell holds, failed compare-exchanges, and schedules that
/// reach equal states abound), each loaded value kept in the thread's own result cell.
/// The main thread joins them (a done count, with a bounded spin before it waits) and
/// prints every cell as a digit.
fn random_program(seed: u64, threads: u32) -> String {
    let mut rng = heddle_interp::rng::SplitMix64::new(seed);
    let cells = [64u32, 68];
    let mut funcs = String::new();
    let mut printed: Vec<u32> = cells.to_vec();
    let mut dispatch = String::new();
    for t in 0..threads {
        let mut body = String::new();
        for i in 0..1 + rng.below(if threads == 2 { 4 } else { 2 }) as u32 {
            let a = cells[rng.below(2) as usize];
            let v = rng.below(3);
            let r = 200 + 4 * (t * 8 + i);
            let op = match rng.below(5) {
                0 => format!("(i32.store (i32.const {a}) (i32.const {v}))"),
                1 => format!("(i32.atomic.store (i32.const {a}) (i32.const {v}))"),
                2 => format!("(i32.store (i32.const {r}) (i32.load (i32.const {a})))"),
                3 => format!(
                    "(i32.store (i32.const {r}) (i32.atomic.rmw.add (i32.const {a}) (i32.const 1)))"
                ),
                _ => format!(
                    "(i32.store (i32.const {r}) (i32.atomic.rmw.cmpxchg (i32.const {a}) (i32.const {}) (i32.const {v})))",
                    rng.below(3)
                ),
            };
            if op.starts_with(&format!("(i32.store (i32.const {r})")) {
                printed.push(r);
            }
            body.push_str(&op);
            body.push('\n');
        }
        funcs.push_str(&format!(
            "(func $t{t}\n{body}(drop (i32.atomic.rmw.add (i32.const 76) (i32.const 1)))\n(drop (memory.atomic.notify (i32.const 76) (i32.const 1))))\n"
        ));
        dispatch.push_str(&format!(
            "(if (i32.eq (local.get $arg) (i32.const {t})) (then (call $t{t})))\n"
        ));
    }
    let spawns: String = (0..threads)
        .map(|t| format!("(drop (call $thread_spawn (i32.const {t})))\n"))
        .collect();
    let digits: String = printed
        .iter()
        .enumerate()
        .map(|(k, c)| {
            format!(
                "(i32.store8 (i32.const {}) (i32.add (i32.const 48) (i32.load (i32.const {c}))))\n",
                400 + k
            )
        })
        .collect();
    let len = printed.len() + 1;
    format!(
        r#"(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  {funcs}
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    {dispatch})
  (func (export "_start") (local $done i32) (local $spins i32)
    {spawns}
    (local.set $spins (i32.const 2))
    (block $all
      (loop $wait
        (local.set $done (i32.atomic.load (i32.const 76)))
        (br_if $all (i32.ge_u (local.get $done) (i32.const {threads})))
        (if (local.get $spins)
          (then
            (local.set $spins (i32.sub (local.get $spins) (i32.const 1)))
            (br $wait)))
        (drop (memory.atomic.wait32 (i32.const 76) (local.get $done) (i64.const -1)))
        (br $wait)))
    {digits}
    (i32.store8 (i32.const {nl}) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 400))
    (i32.store (i32.const 4) (i32.const {len}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#,
        nl = 400 + printed.len()
    )
}

/// On random small programs (2 threads beside the main one; with 3 the search without
/// reduction takes too long for a test), DPOR and DPOR with state caching find
/// exactly the outcomes of the search without partial-order reduction.
#[test]
fn random_programs_lose_no_outcome_to_the_reductions() {
    let mut outcomes = 0;
    for seed in 0..20 {
        let threads = 2;
        let text = random_program(seed, threads);
        let wasm = wat::parse_str(&text).unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"));
        let module = Arc::new(Module::decode(&wasm).expect("decodes"));
        let p = Program::check(module).expect("a WASI program");
        let with = |reduction: Reduction| {
            let e = explore(
                &p,
                &ExploreOptions {
                    timeout: None,
                    reduction,
                    ..ExploreOptions::default()
                },
            )
            .expect("explores");
            assert!(
                e.complete(),
                "seed {seed}, {reduction:?}: {:?}",
                e.incomplete
            );
            summary(&e)
        };
        let full = with(Reduction::Caching);
        assert_eq!(with(Reduction::Dpor), full, "seed {seed}: DPOR\n{text}");
        assert_eq!(
            with(Reduction::DporCaching),
            full,
            "seed {seed}: DPOR with caching\n{text}"
        );
        outcomes += full.len();
    }
    assert!(
        outcomes > 20 * 2,
        "the programs have several outcomes: {outcomes}"
    );
}
