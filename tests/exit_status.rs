//! The exit statuses of every subcommand, row by row of the README's table (*Exit
//! statuses*): 0 success, 1 a failure or finding, 2 bad usage or unreadable input, 3
//! incomplete results; and a closed standard output (`| head`), which ends every
//! subcommand quietly instead of with a panic (status 101).
//!
//! Rows that cannot happen for a subcommand are left out, with the reason: `heddle litmus`
//! has no findings (the model itself fails only on an internal error), `heddle xcheck` and
//! `heddle fuzz` have no bound that leaves a result incomplete (a hang is a finding; a
//! campaign's bound is its length).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn heddle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heddle"))
        .args(args)
        .output()
        .unwrap()
}

/// The status of `heddle args`, with its standard error for messages.
fn status(args: &[&str]) -> (Option<i32>, String) {
    let out = heddle(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heddle-exit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn catalogue(name: &str) -> String {
    format!("{}/model/tests/litmus/{name}", env!("CARGO_MANIFEST_DIR"))
}

const PASSING: &str = r#"(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
"#;
const FAILING: &str = r#"(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 2))
"#;
const LOOPING: &str = r#"(module (func (export "f") (result i32) (loop (br 0)) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
"#;
const SYNTAX_ERROR: &str =
    "(module (func (export \"f\") (result i32) (i32.const 1))\n(thread $T0\n";

#[test]
fn wast() {
    let dir = scratch("wast");
    let pass = write(&dir, "pass.wast", PASSING);
    let fail = write(&dir, "fail.wast", FAILING);
    let looping = write(&dir, "loop.wast", LOOPING);
    assert_eq!(status(&["wast", &pass]).0, Some(0));
    assert_eq!(status(&["wast", &fail]).0, Some(1));
    assert_eq!(status(&["wast", "/no/such/file.wast"]).0, Some(2));
    assert_eq!(status(&["wast", &pass, "--jobs", "0"]).0, Some(2));
    // Out of fuel: a bound, not a failure; a failure elsewhere is more serious.
    assert_eq!(status(&["wast", &looping, "--fuel", "1000"]).0, Some(3));
    assert_eq!(
        status(&["wast", &looping, &fail, "--fuel", "1000"]).0,
        Some(1)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn race_script(name: &str) -> String {
    format!("{}/model/tests/races/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// `--races` (docs/races.md): a data race is a finding (1); a race that is not a data race
/// is reported with `--races=all` but is not one (0); `--races` on the native backend or
/// relaxed memory is bad usage (2).
#[test]
fn races_statuses() {
    for cmd in ["wast", "explore"] {
        assert_eq!(
            status(&[cmd, &race_script("sb_plain.wast"), "--races"]).0,
            Some(1),
            "{cmd}"
        );
        assert_eq!(
            status(&[cmd, &race_script("sb_plain.wast")]).0,
            Some(0),
            "{cmd}"
        );
        let (code, err) = status(&[
            cmd,
            &race_script("atomic_store_plain_load.wast"),
            "--races=all",
        ]);
        assert_eq!(code, Some(0), "{cmd}: {err}");
        assert_eq!(
            status(&[cmd, &race_script("sb_plain.wast"), "--races=some"]).0,
            Some(2),
            "{cmd}"
        );
    }
    // (A run of the seeded schedule may block forever in this one: explore only.)
    let (code, err) = status(&[
        "explore",
        &race_script("notify_publishes.wast"),
        "--races=all",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        status(&[
            "wast",
            &race_script("sb_plain.wast"),
            "--races",
            "--memory",
            "native"
        ])
        .0,
        Some(2)
    );
    assert_eq!(
        status(&[
            "explore",
            &race_script("sb_plain.wast"),
            "--races",
            "--memory",
            "relaxed"
        ])
        .0,
        Some(2)
    );
}

/// `heddle run --wasi --races` (docs/races.md, README *Exit statuses*): a data race is a
/// finding (1) where the program would exit 0 or run out of steps (3); the program's own
/// nonzero status and a trap (134) stand; without `--races` the program's status; `--races`
/// with `--memory native` is bad usage (2). `racy_exit.wat` races on every schedule, then
/// ends as its argument count says.
#[test]
fn run_wasi_races_statuses() {
    let prog = format!(
        "{}/wasi/tests/wat/racy_exit.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let run = |extra: &[&str], args: &[&str]| {
        let mut v = vec!["run", "--wasi"];
        v.extend_from_slice(extra);
        v.push(&prog);
        v.extend_from_slice(args);
        status(&v)
    };
    // Returns from _start: 0, with a data race 1.
    assert_eq!(run(&[], &[]).0, Some(0));
    let (code, err) = run(&["--races"], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("data race: "), "{err}");
    // proc_exit(7) stands.
    assert_eq!(run(&[], &["x"]).0, Some(7));
    assert_eq!(run(&["--races"], &["x"]).0, Some(7));
    // A trap (134) stands.
    assert_eq!(run(&[], &["x", "y"]).0, Some(134));
    let (code, err) = run(&["--races"], &["x", "y"]);
    assert_eq!(code, Some(134), "{err}");
    assert!(err.contains("data race: "), "{err}");
    // The step bound (3): the data race found before it is a finding (1).
    assert_eq!(run(&["--fuel", "5000"], &["x", "y", "z"]).0, Some(3));
    assert_eq!(
        run(&["--races", "--fuel", "5000"], &["x", "y", "z"]).0,
        Some(1)
    );
    // Native memory cannot detect races.
    let (code, err) = run(&["--races", "--memory", "native"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--races needs sequentially consistent memory"),
        "{err}"
    );
}

/// The report of `heddle explore --races` names both accesses, human and JSON with the same
/// keys; `--races=all` adds the races that are not data races, named as the spec names them.
#[test]
fn races_reports() {
    let out = heddle(&[
        "explore",
        &race_script("mp_plain_flag.wast"),
        "--races",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    let races = v["races"].as_array().unwrap();
    assert!(!races.is_empty(), "{line}");
    for r in races {
        assert_eq!(r["kind"], "data race");
        for a in [&r["first"], &r["second"]] {
            for key in [
                "thread", "function", "offset", "location", "address", "size", "atomic", "access",
            ] {
                assert!(!a[key].is_null(), "{key} missing in {a}");
            }
        }
        assert!(r["schedule"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
    }
    let human = heddle(&[
        "explore",
        &race_script("atomic_store_plain_load.wast"),
        "--races=all",
    ]);
    let text = String::from_utf8_lossy(&human.stdout).into_owned();
    assert_eq!(human.status.code(), Some(0), "{text}");
    assert!(text.contains("race: T0 $writer @"), "{text}");
    assert!(
        text.contains("atomic write of 4 bytes at address 0"),
        "{text}"
    );
    assert!(
        text.contains("non-atomic read of 4 bytes at address 0"),
        "{text}"
    );
    assert!(!text.contains("data race:"), "{text}");
    // `heddle wast --races` names script threads as `heddle explore` does: `T0`, not the
    // script's `$T0` (docs/races.md, *Decisions*).
    let wast = heddle(&[
        "wast",
        &race_script("atomic_store_plain_load.wast"),
        "--races=all",
    ]);
    let text = String::from_utf8_lossy(&wast.stdout).into_owned();
    assert!(text.contains("T0 $writer @"), "{text}");
    assert!(text.contains("T1 $reader @"), "{text}");
    assert!(!text.contains("$T0") && !text.contains("$T1"), "{text}");
    let data_only = heddle(&[
        "explore",
        &race_script("atomic_store_plain_load.wast"),
        "--races",
    ]);
    let text = String::from_utf8_lossy(&data_only.stdout).into_owned();
    assert!(text.contains("0 race(s) reported (data races)"), "{text}");
}

#[test]
fn run() {
    let dir = scratch("run");
    let wat = write(
        &dir,
        "m.wat",
        r#"(module
  (func (export "one") (result i32) (i32.const 1))
  (func (export "trap") (unreachable))
  (func (export "spin") (loop (br 0))))"#,
    );
    assert_eq!(status(&["run", &wat, "--invoke", "one"]).0, Some(0));
    assert_eq!(status(&["run", &wat, "--invoke", "trap"]).0, Some(1));
    assert_eq!(
        status(&["run", "/no/such.wat", "--invoke", "one"]).0,
        Some(2)
    );
    assert_eq!(status(&["run", &wat, "--invoke", "nothing"]).0, Some(2));
    assert_eq!(
        status(&["run", &wat, "--invoke", "spin", "--fuel", "1000"]).0,
        Some(3)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `heddle run --wasi` (docs/wasi.md): the program's own status, 134 for a trap or a
/// deadlock, 2 for a binary that is not a WASI program, 3 when the step bound runs out.
#[test]
fn run_wasi() {
    let dir = scratch("run-wasi");
    let wasi = |body: &str| {
        format!(
            r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "_start") {body}))"#
        )
    };
    let returns = write(&dir, "returns.wat", &wasi(""));
    let exits = write(&dir, "exits.wat", &wasi("(call $proc_exit (i32.const 5))"));
    let traps = write(&dir, "traps.wat", &wasi("unreachable"));
    let spins = write(&dir, "spins.wat", &wasi("(loop (br 0))"));
    let waits = write(
        &dir,
        "waits.wat",
        &wasi("(drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))"),
    );
    let no_start = write(
        &dir,
        "no_start.wat",
        r#"(module (memory 1) (func (export "main")))"#,
    );
    assert_eq!(status(&["run", "--wasi", &returns]).0, Some(0));
    assert_eq!(status(&["run", "--wasi", &exits]).0, Some(5));
    assert_eq!(status(&["run", "--wasi", &traps]).0, Some(134));
    assert_eq!(status(&["run", "--wasi", &waits]).0, Some(134));
    assert_eq!(status(&["run", "--wasi", &no_start]).0, Some(2));
    assert_eq!(status(&["run", "--wasi", "/no/such.wasm"]).0, Some(2));
    assert_eq!(
        status(&["run", "--wasi", &spins, "--fuel", "1000"]).0,
        Some(3)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `heddle explore --wasi` (docs/wasi.md, *Exploring every schedule*): 0 when complete
/// without a finding (a program's own exit code is an outcome), 1 for a trap or deadlock
/// outcome, 3 when a bound cut it short, 2 for a binary that is not a WASI program.
#[test]
fn explore_wasi() {
    let dir = scratch("explore-wasi");
    let wasi = |body: &str| {
        format!(
            r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "_start") {body}))"#
        )
    };
    let exits = write(&dir, "exits.wat", &wasi("(call $proc_exit (i32.const 5))"));
    let traps = write(&dir, "traps.wat", &wasi("unreachable"));
    let spins = write(&dir, "spins.wat", &wasi("(loop (br 0))"));
    let waits = write(
        &dir,
        "waits.wat",
        &wasi("(drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))"),
    );
    let no_start = write(
        &dir,
        "no_start.wat",
        r#"(module (memory 1) (func (export "main")))"#,
    );
    let explore = |file: &str| status(&["explore", "--wasi", file]).0;
    assert_eq!(explore(&exits), Some(0));
    assert_eq!(explore(&traps), Some(1));
    assert_eq!(explore(&waits), Some(1));
    assert_eq!(explore(&no_start), Some(2));
    assert_eq!(
        status(&["explore", "--wasi", &spins, "--max-steps", "1000"]).0,
        Some(3)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn litmus() {
    let dir = scratch("litmus");
    assert_eq!(status(&["litmus", &catalogue("SB.wast")]).0, Some(0));
    // A directory is searched for .wast files, as by `heddle wast`.
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(catalogue("SB.wast"), sub.join("SB.wast")).unwrap();
    let out = heddle(&["litmus", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let bad = write(&dir, "bad.wast", SYNTAX_ERROR);
    let (code, err) = status(&["litmus", &bad]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line 2, column 2: syntax error"), "{err}");
    assert_eq!(status(&["litmus", "/no/such/file.wast"]).0, Some(2));
    let empty = scratch("litmus-empty");
    assert_eq!(status(&["litmus", empty.to_str().unwrap()]).0, Some(2));
    // Too many events for the model: incomplete.
    let big = write(&dir, "big.wast", &heddle_explore::rings::sb_ring(2, 70));
    let (code, err) = status(&["litmus", &big]);
    assert_eq!(code, Some(3), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&empty).unwrap();
}

#[test]
fn explore() {
    let dir = scratch("explore");
    assert_eq!(status(&["explore", &catalogue("SB.wast")]).0, Some(0));
    assert_eq!(
        status(&["explore", &catalogue("SB.wast"), "--check"]).0,
        Some(0)
    );
    // A directory is searched for .wast files.
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(catalogue("MP.wast"), sub.join("MP.wast")).unwrap();
    let out = heddle(&["explore", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // 1: a shard's result says an outcome is not allowed by the model (with --check).
    let finding = serde_json::json!({
        "file": "x.wast", "shard": "1/1", "complete": true,
        "reachable": [{"T0": [["i32:0"]]}],
        "found": [{"outcome": {"T0": [["i32:0"]]}, "count": 1, "schedule": ""}],
        "executions": 1, "pruned": 0, "reduction": "caching",
        "not_allowed": [{"T0": [["i32:0"]]}], "allowed_not_reachable": [],
    });
    let result = write(&dir, "result.json", &format!("{finding}\n"));
    let (code, err) = status(&["explore", "--merge", &result]);
    assert_eq!(code, Some(1), "{err}");
    // 2: unreadable input, nonsensical options.
    let bad = write(&dir, "bad.wast", SYNTAX_ERROR);
    assert_eq!(status(&["explore", &bad]).0, Some(2));
    assert_eq!(status(&["explore", "/no/such/file.wast"]).0, Some(2));
    assert_eq!(
        status(&["explore", &catalogue("SB.wast"), "--jobs", "0"]).0,
        Some(2)
    );
    // --check on a program the explorer runs but the model does not read (a loop): the
    // model rejects the input, 2.
    let looping = write(
        &dir,
        "loop.wast",
        r#"(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (block (loop (br_if 1 (i32.eqz (i32.load (i32.const 0)))) (br 0)))
      (i32.const 1)))
  (invoke "run"))
(wait $T0)
"#,
    );
    let (code, err) = status(&["explore", &looping]);
    assert_eq!(code, Some(0), "the explorer reads it: {err}");
    let (code, err) = status(&["explore", &looping, "--check"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--check: model"), "{err}");
    // 3: a bound.
    assert_eq!(
        status(&["explore", &catalogue("SB.wast"), "--max-executions", "1"]).0,
        Some(3)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn xcheck() {
    let dir = scratch("xcheck");
    let sb = catalogue("SB_sc.wast");
    let quick = ["--engine", "heddle", "--iterations", "2"];
    let args = |extra: &[&str]| {
        let mut a = vec!["xcheck"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&quick);
        status(&a)
    };
    assert_eq!(args(&[&sb]).0, Some(0));
    // 1: an engine (a recorded one) shows an outcome the model forbids.
    let liar = serde_json::json!({
        "file": sb, "engine": "liar", "version": "liar 1.0", "iterations": 10,
        "histogram": [{"outcome": {"T0": [["i32:0"]], "T1": [["i32:0"]]}, "count": 10}],
    });
    let liar = write(&dir, "liar.jsonl", &format!("{liar}\n"));
    let engine = format!("file:{liar}");
    let (code, err) = status(&["xcheck", &sb, "--iterations", "10", "--engine", &engine]);
    assert_eq!(code, Some(1), "{err}");
    // 2: a litmus file with a syntax error is not skipped; neither is a missing one.
    let bad = write(&dir, "bad.wast", SYNTAX_ERROR);
    let (code, err) = args(&[&bad]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("line 2, column 2: syntax error"), "{err}");
    assert_eq!(args(&["/no/such/file.wast"]).0, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fuzz() {
    let dir = scratch("fuzz");
    let out = dir.display().to_string();
    // The no-panic campaign needs no engine.
    let (code, err) = status(&["fuzz", "--mutate", "--iterations", "3", "--out", &out]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        status(&[
            "fuzz",
            "--threads",
            "--engine",
            "wasmi",
            "--iterations",
            "1"
        ])
        .0,
        Some(2)
    );
    assert_eq!(
        status(&["fuzz", "/no/such/module.wasm", "--iterations", "1"]).0,
        Some(2)
    );
    #[cfg(feature = "wasmtime")]
    {
        let (code, err) = status(&[
            "fuzz",
            "--threads",
            "--iterations",
            "4",
            "--runs",
            "100",
            "--planted-fault",
            "--max-findings",
            "1",
            "--out",
            &out,
        ]);
        assert_eq!(code, Some(1), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `heddle … | head`: the reader closes the pipe; the command ends quietly (no panic, not
/// status 101) with the status of what it had found.
fn closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heddle"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the command writes anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_every_subcommand_quietly() {
    let dir = scratch("pipe");
    let pass = write(&dir, "pass.wast", PASSING);
    let fail = write(&dir, "fail.wast", FAILING);
    let wat = write(
        &dir,
        "m.wat",
        r#"(module (func (export "one") (result i32) (i32.const 1)))"#,
    );
    // More than a pipe's buffer of output (4,411 outcomes), so that a write surely fails.
    let ring = write(&dir, "sb_3x6.wast", &heddle_explore::rings::sb_ring(3, 6));
    let out = dir.display().to_string();
    for (args, expected) in [
        (vec!["wast", pass.as_str()], 0),
        (vec!["wast", fail.as_str()], 1),
        (vec!["run", wat.as_str(), "--invoke", "one"], 0),
        (vec!["litmus", &catalogue("SB.wast")], 0),
        (vec!["explore", ring.as_str()], 0),
        (
            vec!["explore", &catalogue("SB.wast"), "--format", "json"],
            0,
        ),
        (
            vec![
                "xcheck",
                &catalogue("SB_sc.wast"),
                "--engine",
                "heddle",
                "--iterations",
                "2",
            ],
            0,
        ),
        (
            vec!["fuzz", "--mutate", "--iterations", "2", "--out", &out],
            0,
        ),
    ] {
        let (code, err) = closed_pipe(&args);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(code, Some(expected), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
