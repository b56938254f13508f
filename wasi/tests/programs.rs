//! WASI programs (the WAT files of `tests/wat/`) run on Heddle's interpreter: output,
//! arguments, exit statuses, threads, deadlocks, traps, schedules and their replay.

use heddle_interp::Module;
use heddle_wasi::{
    run, Backend, Ending, Program, ProgramError, RunOptions, RunReport, SchedulePolicy, Sink,
    WasiCtx,
};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn module(name: &str) -> Arc<Module> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/wat")
        .join(name);
    let wasm = wat::parse_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    Arc::new(Module::decode(&wasm).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn program(name: &str) -> Program {
    Program::check(module(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Run {
    report: RunReport,
    stdout: String,
    stderr: String,
}

fn run_with(name: &str, args: &[&str], env: &[&str], options: &RunOptions) -> Run {
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let err = Arc::new(Mutex::new(Vec::<u8>::new()));
    let ctx = Arc::new(WasiCtx::new(
        args.iter().map(|s| s.to_string()).collect(),
        env.iter().map(|s| s.to_string()).collect(),
        Vec::new(),
        7,
        out.clone() as Sink,
        err.clone() as Sink,
    ));
    let report = run(&program(name), ctx, options).unwrap_or_else(|e| panic!("{name}: {e}"));
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
        backend: Backend::Sc,
        fuel: Some(10_000_000),
    }
}

fn native() -> RunOptions {
    RunOptions {
        policy: SchedulePolicy::RoundRobin,
        backend: Backend::Native {
            wait_poll: Duration::from_millis(20),
        },
        fuel: Some(10_000_000),
    }
}

#[test]
fn hello_world_goes_to_stdout_and_start_returning_is_exit_0() {
    let r = run_with("hello.wat", &["hello"], &[], &RunOptions::default());
    assert_eq!(r.stdout, "hello, world\n");
    assert_eq!(r.stderr, "");
    assert_eq!(r.report.ending, Ending::Exit(0));
}

#[test]
fn arguments_and_environment_reach_the_program() {
    let r = run_with(
        "args.wat",
        &["prog", "one", "two words"],
        &["K=V"],
        &RunOptions::default(),
    );
    assert_eq!(r.stdout, "prog\none\ntwo words\nK=V\nrc=8\n");
    // The environment is empty unless given.
    let r = run_with("args.wat", &["prog"], &[], &RunOptions::default());
    assert_eq!(r.stdout, "prog\nrc=8\n");
}

#[test]
fn proc_exit_gives_the_exit_status() {
    let r = run_with("exit.wat", &[], &[], &RunOptions::default());
    assert_eq!(r.report.ending, Ending::Exit(42));
    let r = run_with("exit.wat", &[], &[], &native());
    assert_eq!(r.report.ending, Ending::Exit(42));
}

#[test]
fn spawned_threads_count_with_atomics_and_notify_the_main_thread() {
    for policy in [
        SchedulePolicy::RoundRobin,
        SchedulePolicy::Random { seed: 1 },
        SchedulePolicy::Random { seed: 2 },
        SchedulePolicy::Pct {
            seed: 3,
            depth: 3,
            steps: Some(100_000),
        },
    ] {
        let r = run_with("counter.wat", &[], &[], &sc(policy.clone()));
        assert_eq!(r.report.ending, Ending::Exit(0), "{policy:?}");
        assert_eq!(r.stdout, "counter 4000\n", "{policy:?}");
        assert_eq!(r.report.threads, 5);
    }
    let r = run_with("counter.wat", &[], &[], &native());
    assert_eq!(r.report.ending, Ending::Exit(0));
    assert_eq!(r.stdout, "counter 4000\n");
    assert_eq!(r.report.threads, 5);
}

#[test]
fn a_deadlock_is_reported_with_each_thread_and_its_named_call_stack() {
    let r = run_with("deadlock.wat", &[], &[], &RunOptions::default());
    let Ending::Deadlock(report) = &r.report.ending else {
        panic!("expected a deadlock, got {:?}", r.report.ending);
    };
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 6, "{report}");
    assert!(
        lines[0].starts_with("main thread waits on memory 0 (imported as \"env\" \"memory\"), address 64 (no timeout)"),
        "{report}"
    );
    assert_eq!(lines[1], "    in func 1 $wait_for_worker");
    assert_eq!(lines[2], "    in func 4 $_start");
    assert!(
        lines[3].contains("(wasi tid 1) waits on memory 0"),
        "{report}"
    );
    assert!(lines[3].contains("address 68"), "{report}");
    assert_eq!(lines[4], "    in func 2 $wait_for_main");
    assert_eq!(lines[5], "    in func 3 $wasi_thread_start");
    // Natively, the waits find every live thread waiting.
    let r = run_with("deadlock.wat", &[], &[], &native());
    assert!(
        matches!(r.report.ending, Ending::Deadlock(_)),
        "{:?}",
        r.report.ending
    );
}

#[test]
fn a_trap_in_a_spawned_thread_ends_the_program() {
    let r = run_with("trap.wat", &[], &[], &RunOptions::default());
    assert_eq!(
        r.report.ending,
        Ending::Trap {
            thread: "thread 1 (wasi tid 1)".into(),
            message: "unreachable".into()
        }
    );
    let r = run_with("trap.wat", &[], &[], &native());
    assert!(
        matches!(&r.report.ending, Ending::Trap { message, .. } if message == "unreachable"),
        "{:?}",
        r.report.ending
    );
}

#[test]
fn the_schedule_decides_the_output_and_its_replay_reproduces_it() {
    let mut outputs = std::collections::BTreeSet::new();
    for seed in 0..8 {
        for policy in [
            SchedulePolicy::Random { seed },
            SchedulePolicy::Pct {
                seed,
                depth: 2,
                steps: Some(200),
            },
        ] {
            let first = run_with("race.wat", &["race"], &[], &sc(policy.clone()));
            assert_eq!(first.report.ending, Ending::Exit(0));
            assert_eq!(first.stdout.len(), 10);
            let schedule = first.report.schedule.clone().expect("an SC run has one");
            let prefix = heddle_interp::ChoiceLog::parse_schedule(&schedule).unwrap();
            let again = run_with(
                "race.wat",
                &["race"],
                &[],
                &sc(SchedulePolicy::Replay(prefix)),
            );
            assert_eq!(again.stdout, first.stdout, "{policy:?} replayed");
            assert_eq!(again.report.schedule, Some(schedule), "{policy:?}");
            assert_eq!(again.report.misfit, None);
            outputs.insert(first.stdout);
        }
    }
    // Different schedules interleave the letters differently.
    assert!(outputs.len() >= 3, "{outputs:?}");
}

#[test]
fn an_unsupported_wasi_function_traps_with_its_name() {
    let r = run_with("unsupported.wat", &[], &[], &RunOptions::default());
    assert_eq!(
        r.report.ending,
        Ending::Trap {
            thread: "main thread".into(),
            message: "unsupported WASI function path_open".into()
        }
    );
}

#[test]
fn the_step_bound_ends_a_run_that_does_not() {
    let options = RunOptions {
        fuel: Some(1_000),
        ..sc(SchedulePolicy::Random { seed: 0 })
    };
    let r = run_with("counter.wat", &[], &[], &options);
    assert_eq!(r.report.ending, Ending::FuelExhausted);
}

fn check(wat: &str) -> Result<Program, ProgramError> {
    Program::check(Arc::new(
        Module::decode(&wat::parse_str(wat).unwrap()).unwrap(),
    ))
}

#[test]
fn programs_that_are_not_wasi_programs_are_refused() {
    let e = check(r#"(module (memory 1) (func (export "main")))"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        "not a WASI program: no exported function \"_start\""
    );
    let e = check(
        r#"(module (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                   (import "env" "memory" (memory 1 1 shared))
                   (func (export "_start")))"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("wasi_thread_start"), "{e}");
    let e = check(
        r#"(module (import "env" "print" (func (param i32)))
                   (memory 1) (func (export "_start")))"#,
    )
    .unwrap_err();
    assert_eq!(
        e,
        ProgramError::UnknownImport {
            module: "env".into(),
            name: "print".into()
        }
    );
    // A WASI function imported with the wrong type fails to link.
    let p = check(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))
                   (memory 1) (func (export "_start")))"#,
    )
    .unwrap();
    let ctx = Arc::new(WasiCtx::new(
        vec![],
        vec![],
        vec![],
        0,
        Arc::new(Mutex::new(Vec::<u8>::new())) as Sink,
        Arc::new(Mutex::new(Vec::<u8>::new())) as Sink,
    ));
    let e = run(&p, ctx, &RunOptions::default()).unwrap_err();
    assert!(matches!(e, ProgramError::Instantiation(_)), "{e}");
}
