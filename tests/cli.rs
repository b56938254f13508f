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
        stdout.contains("summary: 1 files (1 passed, 0 failed); 2 directives (2 passed, 0 failed)"),
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
