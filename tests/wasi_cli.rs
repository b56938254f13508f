//! `heddle run --wasi` (docs/wasi.md): output, arguments, exit statuses, schedules printed
//! by failing runs and replayed with `--replay`, `--memory native`, bad binaries.

mod common;
use common::{heddle, printed_schedule, text, wat};

#[test]
fn hello_world_and_arguments() {
    let out = heddle(&["run", "--wasi", &wat("hello.wat")]);
    assert_eq!(text(&out.stdout), "hello, world\n");
    assert_eq!(out.status.code(), Some(0));
    let out = heddle(&[
        "run",
        "--wasi",
        &wat("args.wat"),
        "--env",
        "A=b",
        "--",
        "x",
        "-y",
    ]);
    assert_eq!(
        text(&out.stdout),
        format!("{}\nx\n-y\nA=b\nrc=8\n", wat("args.wat"))
    );
}

#[test]
fn a_failing_run_prints_a_schedule_that_replays_it() {
    let mut outputs = std::collections::BTreeSet::new();
    for seed in ["1", "2", "3", "4", "5"] {
        for schedule in ["random", "pct"] {
            let args = [
                "run",
                "--wasi",
                &wat("race.wat"),
                "--seed",
                seed,
                "--schedule",
                schedule,
                "--pct-steps",
                "100",
                "arg",
            ];
            let first = heddle(&args);
            // One argument: the program exits with 1, a failure.
            assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
            let stderr = text(&first.stderr);
            let s = printed_schedule(&stderr);
            let again = heddle(&["run", "--wasi", &wat("race.wat"), "--replay", &s, "arg"]);
            assert_eq!(again.stdout, first.stdout, "seed {seed} {schedule}");
            assert_eq!(again.status.code(), Some(1));
            assert_eq!(printed_schedule(&text(&again.stderr)), s);
            assert!(
                !text(&again.stderr).contains("warning"),
                "{}",
                text(&again.stderr)
            );
            outputs.insert(text(&first.stdout));
        }
    }
    assert!(outputs.len() >= 3, "{outputs:?}");
}

#[test]
fn deadlocks_and_traps_are_reported_with_their_threads() {
    let out = heddle(&["run", "--wasi", &wat("deadlock.wat")]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("deadlock: every live thread waits forever"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    in func 1 $wait_for_worker\n    in func 4 $_start"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    in func 2 $wait_for_main\n    in func 3 $wasi_thread_start"),
        "{stderr}"
    );
    let out = heddle(&["run", "--wasi", &wat("trap.wat")]);
    assert_eq!(out.status.code(), Some(134));
    assert!(
        text(&out.stderr).contains("thread 1 (wasi tid 1) trapped: unreachable"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn native_threads_count_to_the_same_total() {
    let out = heddle(&["run", "--wasi", &wat("counter.wat"), "--memory", "native"]);
    assert_eq!(text(&out.stdout), "counter 4000\n", "{}", text(&out.stderr));
    assert_eq!(out.status.code(), Some(0));
    let out = heddle(&["run", "--wasi", &wat("deadlock.wat"), "--memory", "native"]);
    assert_eq!(out.status.code(), Some(134), "{}", text(&out.stderr));
}

#[test]
fn bad_programs_and_options_are_refused() {
    let dir = std::env::temp_dir().join(format!("heddle-wasi-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let no_start = dir.join("no_start.wat");
    std::fs::write(&no_start, r#"(module (memory 1) (func (export "main")))"#).unwrap();
    let out = heddle(&["run", "--wasi", &no_start.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a WASI program: no exported function \"_start\""));
    let unknown = dir.join("unknown.wat");
    std::fs::write(
        &unknown,
        r#"(module (import "env" "log" (func)) (memory 1) (func (export "_start")))"#,
    )
    .unwrap();
    let out = heddle(&["run", "--wasi", &unknown.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown import \"env\" \"log\""),
        "{}",
        text(&out.stderr)
    );
    let out = heddle(&["run", "--wasi", &wat("hello.wat"), "--replay", "1.x"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
