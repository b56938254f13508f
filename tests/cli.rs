//! The `heddle` command line: `heddle wast` formats and exit status, `heddle run`.

use std::path::PathBuf;
use std::process::Command;

fn heddle() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heddle"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heddle-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const PASSING: &str = r#"(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1))
"#;
const FAILING: &str = r#"(module (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 2))
"#;

#[test]
fn wast_json_is_one_object_per_file_then_a_summary() {
    let dir = scratch("json");
    std::fs::write(dir.join("a.wast"), PASSING).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/b.wast"), FAILING).unwrap();
    std::fs::create_dir_all(dir.join("skip")).unwrap();
    std::fs::write(dir.join("skip/c.wast"), FAILING).unwrap();
    let out = heddle()
        .args(["wast", "--format", "json", "--exclude", "skip/*"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failure makes the exit status non-zero"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0]["file"].as_str().unwrap().ends_with("a.wast"));
    assert_eq!(lines[0]["passed"], 2);
    assert_eq!(lines[0]["failed"], 0);
    assert!(lines[1]["file"].as_str().unwrap().ends_with("b.wast"));
    assert_eq!(lines[1]["failed"], 1);
    let f = &lines[1]["failures"][0];
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(f["directive"], "assert_return");
    assert_eq!(f["message"], "invoke \"f\": expected [i32:2], got [i32:1]");
    let s = &lines[2]["summary"];
    assert_eq!(
        (s["files"].as_u64(), s["files_failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        (s["passed"].as_u64(), s["failed"].as_u64()),
        (Some(3), Some(1))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wast_human_and_junit_exit_zero_when_everything_passes() {
    let dir = scratch("human");
    std::fs::write(dir.join("a.wast"), PASSING).unwrap();
    let out = heddle().arg("wast").arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("PASS  "), "{stdout}");
    assert!(
        stdout.contains("summary: 1 file (1 passed, 0 failed); 2 directives (2 passed, 0 failed)"),
        "{stdout}"
    );
    let out = heddle()
        .args(["wast", "--format", "junit"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(
        xml.contains("<testsuites name=\"heddle wast\" tests=\"2\" failures=\"0\""),
        "{xml}"
    );
    let out = heddle()
        .arg("wast")
        .arg(dir.join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A file that cannot be read as text is unreadable input (2), not a failing test (1).
    std::fs::write(dir.join("bad.wast"), b"\xff\xfe(module)").unwrap();
    let out = heddle()
        .arg("wast")
        .arg(dir.join("bad.wast"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stdout).unwrap().contains("bad.wast"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_prints_results_or_the_trap() {
    let dir = scratch("run");
    let wat = dir.join("m.wat");
    std::fs::write(
        &wat,
        r#"(module
  (import "spectest" "print_i32" (func $print (param i32)))
  (func (export "add") (param i32 i64) (result i32 i64)
    (call $print (local.get 0))
    (i32.add (local.get 0) (i32.const 1))
    (i64.mul (local.get 1) (i64.const 2)))
  (func (export "trap") (unreachable)))"#,
    )
    .unwrap();
    let out = heddle()
        .arg("run")
        .arg(&wat)
        .args(["--invoke", "add", "i32:41", "i64:-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "i32:42\ni64:-2\n");
    let out = heddle()
        .arg("run")
        .arg(&wat)
        .args(["--invoke", "trap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("trap: unreachable"));
    let out = heddle()
        .arg("run")
        .arg(&wat)
        .args(["--invoke", "add", "i32:1"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "wrong arguments are a usage error"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_prints_an_uncaught_exception_apart_from_a_trap() {
    let dir = scratch("run-exn");
    let wat = dir.join("m.wat");
    std::fs::write(
        &wat,
        r#"(module
  (tag $e (export "e") (param i32 f64))
  (tag $hidden (param i64))
  (func (export "throw") (param i32)
    (throw $e (local.get 0) (f64.const 1.5)))
  (func (export "hidden") (throw $hidden (i64.const -7)))
  (func (export "caught") (result i32)
    (block $h (result i32 f64)
      (try_table (catch $e $h) (call 0 (i32.const 3)))
      (unreachable))
    (drop)))"#,
    )
    .unwrap();
    let (code, stdout, stderr) = run_out(&wat, &["--invoke", "throw", "42"]);
    assert_eq!(
        code,
        Some(1),
        "an uncaught exception is a failure: {stderr}"
    );
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(r#"uncaught exception: tag "e", payload [i32:42 f64:1.5]"#),
        "{stderr}"
    );
    assert!(!stderr.contains("trap"), "not reported as a trap: {stderr}");
    let (code, _, stderr) = run_out(&wat, &["--invoke", "hidden"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("uncaught exception: tag #1, payload [i64:-7]"),
        "an unexported tag is named by its address: {stderr}"
    );
    let (code, stdout, _) = run_out(&wat, &["--invoke", "caught"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "i32:3\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

const MODULE: &str = r#"(module
  (func (export "add") (param i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "spin") (loop (br 0)))
  (func (export "v") (param v128) (result v128) (local.get 0))
  (func (export "r") (param externref funcref) (result externref) (local.get 0))
  (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5))))"#;

fn run_out(file: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = heddle().arg("run").arg(file).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn run_types_arguments_from_the_signature_and_takes_options_anywhere() {
    let dir = scratch("run-args");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, MODULE).unwrap();
    let ok = |args: &[&str], want: &str| {
        let (code, out, err) = run_out(&wat, args);
        assert_eq!((code, out.as_str()), (Some(0), want), "{args:?}: {err}");
    };
    ok(&["--invoke", "add", "1", "-3"], "i64:-2\n");
    ok(
        &["--invoke", "add", "i32:1", "i64:2", "--fuel", "100"],
        "i64:3\n",
    );
    ok(
        &["--fuel", "100", "--invoke", "add", "0x10", "1"],
        "i64:17\n",
    );
    ok(&["--invoke", "half", "3"], "f64:1.5\n");
    ok(
        &["--invoke", "v", "i32x4:1,2,3,-1"],
        "v128:i32x4 1 2 3 4294967295\n",
    );
    // A v128 result is printed as i32x4 lanes unless --v128-shape names another shape.
    ok(
        &["--invoke", "v", "f32x4:1.5,2,-0,inf"],
        "v128:i32x4 1069547520 1073741824 2147483648 2139095040\n",
    );
    ok(
        &[
            "--invoke",
            "v",
            "f32x4:1.5,2,-0,inf",
            "--v128-shape",
            "f32x4",
        ],
        "v128:f32x4 1.5 2 -0 inf\n",
    );
    ok(
        &["--v128-shape", "i64x2", "--invoke", "v", "i32x4:1,0,2,0"],
        "v128:i64x2 1 2\n",
    );
    let (code, _, err) = run_out(&wat, &["--invoke", "v", "0x0", "--v128-shape", "f16x8"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unknown shape \"f16x8\""), "{err}");
    ok(&["--invoke", "r", "ref.extern:7", "null"], "ref.extern 7\n");
    ok(
        &["--invoke", "r", "null", "funcref:null"],
        "ref.null extern\n",
    );
    // Wrong count, wrong type, bad literal: usage errors (2) naming the problem.
    let (code, _, err) = run_out(&wat, &["--invoke", "add", "1"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("m.wat") && err.contains("2 argument(s), 1 given"),
        "{err}"
    );
    let (code, _, err) = run_out(&wat, &["--invoke", "add", "i64:1", "2"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = run_out(&wat, &["--invoke", "add", "1.5", "2"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, _, err) = run_out(&wat, &["--invoke", "nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("exported functions: add, spin"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_stops_at_its_fuel_or_timeout_with_status_3() {
    let dir = scratch("run-fuel");
    let wat = dir.join("m.wat");
    std::fs::write(&wat, MODULE).unwrap();
    let (code, _, err) = run_out(&wat, &["--invoke", "spin", "--fuel", "10000"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("fuel exhausted"), "{err}");
    let start = std::time::Instant::now();
    let (code, _, err) = run_out(
        &wat,
        &["--invoke", "spin", "--fuel", "0", "--timeout", "0.3"],
    );
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("timeout"), "{err}");
    assert!(start.elapsed().as_secs() < 20);
    // A start function that loops is cut by the default fuel too (here a small one).
    let start_loop = dir.join("start.wat");
    std::fs::write(
        &start_loop,
        r#"(module (func $s (loop (br 0))) (start $s) (func (export "f")))"#,
    )
    .unwrap();
    let (code, _, err) = run_out(&start_loop, &["--invoke", "f", "--fuel", "5000"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("start function"), "{err}");
    let (code, _, err) = run_out(&wat, &["--invoke", "spin", "--timeout", "-1"]);
    assert_eq!(code, Some(2), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_name_the_file_and_the_offset_or_line() {
    let dir = scratch("errors");
    let bin = dir.join("bad.wasm");
    std::fs::write(&bin, b"\0asm\x01\0\0\0\x01\x05").unwrap();
    let (code, _, err) = run_out(&bin, &["--invoke", "f"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("bad.wasm: at byte offset 0xa: unexpected end-of-file"),
        "{err}"
    );
    let text = dir.join("invalid.wat");
    std::fs::write(
        &text,
        "(module\n  (func (export \"f\")\n    (i32.const 1)))\n",
    )
    .unwrap();
    let (code, _, err) = run_out(&text, &["--invoke", "f"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("invalid.wat:2:4: in this function: type mismatch"),
        "{err}"
    );
    let syntax = dir.join("syntax.wat");
    std::fs::write(&syntax, "(module\n  (func (i32.frob)))\n").unwrap();
    let (code, _, err) = run_out(&syntax, &["--invoke", "f"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("syntax.wat:2:10"), "{err}");
    // litmus and explore: the file, and the real line and column of a syntax error.
    let litmus = dir.join("l.wast");
    std::fs::write(&litmus, "(module $M (memory 1 1 shared))\n\n(invoke \"f\"").unwrap();
    for cmd in ["litmus", "explore"] {
        let out = heddle().arg(cmd).arg(&litmus).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.contains("l.wast: line 3, column 12"), "{cmd}: {err}");
        let out = heddle()
            .arg(cmd)
            .arg(dir.join("missing.wast"))
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd}: missing file: {err}");
        assert!(err.contains("missing.wast"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nonsensical_options_are_usage_errors() {
    let dir = scratch("options");
    std::fs::write(dir.join("a.wast"), PASSING).unwrap();
    for args in [
        vec!["wast", "--jobs", "0"],
        vec!["wast", "--max-quantum", "0"],
        vec!["explore", "--max-executions", "0"],
        vec!["explore", "--max-steps", "0"],
        vec!["explore", "--replay", "0,1", "--check"],
        vec!["explore", "--replay", "x!"],
        vec!["explore", "--timeout", "0"],
        vec!["explore", "--shard", "0/2"],
        vec!["explore", "--shard", "3/2"],
        vec!["explore", "--shard", "1/2", "--replay", "0"],
        vec!["explore", "--merge", "--check"],
        vec!["litmus", "--witnesses", "--format", "json"],
    ] {
        let out = heddle()
            .args(&args)
            .arg(dir.join("a.wast"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wast_without_a_path_runs_the_threads_suite_of_heddle_testsuite() {
    let dir = scratch("default-suite");
    std::fs::create_dir_all(dir.join("threads")).unwrap();
    std::fs::write(dir.join("threads/a.wast"), PASSING).unwrap();
    let out = heddle()
        .arg("wast")
        .env("HEDDLE_TESTSUITE", &dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("a.wast") && stdout.contains("summary: 1 file "),
        "{stdout}"
    );
    let out = heddle()
        .arg("wast")
        .env("HEDDLE_TESTSUITE", dir.join("nowhere"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--memory native` for `heddle wast` (the suite's threads/ files, script threads on OS
/// threads) and `heddle run` (a real timeout; a wait nothing can notify is a deadlock).
#[test]
fn memory_native_for_wast_and_run() {
    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testsuite/threads/threads");
    let out = heddle()
        .args(["wast", "--memory", "native", "--format", "json"])
        .arg(&suite)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(r#""files":13"#), "{stdout}");

    let dir = scratch("native-run");
    let wat = dir.join("wait.wat");
    std::fs::write(
        &wat,
        r#"(module (memory 1 1 shared)
             (func (export "wait") (param i64) (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (local.get 0))))"#,
    )
    .unwrap();
    let start = std::time::Instant::now();
    let out = heddle()
        .arg("run")
        .arg(&wat)
        .args(["--memory", "native", "--invoke", "wait", "20000000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "i32:2");
    assert!(start.elapsed() >= std::time::Duration::from_millis(20));
    let out = heddle()
        .arg("run")
        .arg(&wat)
        .args(["--memory", "native", "--invoke", "wait", "-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("deadlock"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `heddle wast` picks the threads suite's feature set (Wasm 2.0 + threads) by the layout
/// of the path, not only for the suite of the tree the binary was built in: a copy of a
/// threads-suite file under `…/testsuite/threads/` passes (it expects a multi-memory
/// module to be rejected), the same file elsewhere runs with Wasm 3.0 and fails there.
#[test]
fn wast_picks_the_threads_feature_set_by_the_path_of_a_copy_of_the_suite() {
    let original =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testsuite/threads/binary-leb128.wast");
    let source = std::fs::read(&original).unwrap();
    let dir = scratch("features");
    let in_suite = dir.join("testsuite/threads");
    let elsewhere = dir.join("other");
    for d in [&in_suite, &elsewhere] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("binary-leb128.wast"), &source).unwrap();
    }
    // An environment variable would name the suite: leave it unset.
    let run = |d: &PathBuf| {
        heddle()
            .env_remove("HEDDLE_TESTSUITE")
            .args(["wast", d.join("binary-leb128.wast").to_str().unwrap()])
            .output()
            .unwrap()
    };
    let ok = run(&in_suite);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let wasm3 = run(&elsewhere);
    assert_eq!(
        wasm3.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&wasm3.stdout)
    );
    assert!(String::from_utf8_lossy(&wasm3.stdout).contains("2 failed"));
    let _ = std::fs::remove_dir_all(&dir);
}
