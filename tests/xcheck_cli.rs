//! `heddle xcheck` on the command line: a deliberately wrong engine (histograms replayed
//! from a file, one of them forbidden) is caught with exit status 1 and the rule named; the
//! JSON format; usage errors exit 2.

use std::path::PathBuf;
use std::process::Command;

fn heddle() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heddle"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heddle-xcheck-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn catalogue(name: &str) -> String {
    format!("{}/model/tests/litmus/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A recorded run of store buffering with seq-cst accesses that claims (0, 0), which the
/// model forbids.
fn wrong_engine(dir: &std::path::Path, file: &str) -> PathBuf {
    let line = serde_json::json!({
        "file": file, "engine": "liar", "version": "liar 1.0", "iterations": 10,
        "histogram": [
            {"outcome": {"T0": [["i32:0"]], "T1": [["i32:0"]]}, "count": 3},
            {"outcome": {"T0": [["i32:1"]], "T1": [["i32:1"]]}, "count": 7},
        ],
    });
    let path = dir.join("liar.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    path
}

#[test]
fn a_wrong_engine_is_caught_with_the_rule() {
    let dir = scratch("liar");
    let file = catalogue("SB_sc.wast");
    let liar = wrong_engine(&dir, &file);
    let out = heddle()
        .args(["xcheck", &file, "--iterations", "10", "--engine"])
        .arg(format!("file:{}", liar.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FORBIDDEN by C7(†) sc-last-visible"),
        "{stdout}"
    );
    assert!(stdout.contains("FORBIDDEN outcome observed"), "{stdout}");

    let out = heddle()
        .args(["xcheck", &file, "--format", "json", "--engine"])
        .arg(format!("file:{}", liar.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "file",
            "engine",
            "version",
            "iterations",
            "discarded",
            "discard_reasons",
            "histogram",
            "forbidden_observed",
            "allowed_unobserved",
            "seconds"
        ]
    );
    assert_eq!(lines[0]["forbidden_observed"], 3);
    let forbidden = &lines[0]["histogram"][0];
    assert_eq!(forbidden["allowed"], false);
    assert_eq!(forbidden["rule"], "C7(†) sc-last-visible");
    assert_eq!(lines[0]["histogram"][1]["rule"], serde_json::Value::Null);
    assert_eq!(lines[0]["allowed_unobserved"].as_array().unwrap().len(), 2);
    assert_eq!(lines[1]["summary"]["forbidden_observed"][0]["count"], 3);
}

#[test]
fn an_honest_recording_passes() {
    let dir = scratch("honest");
    let file = catalogue("SB_sc.wast");
    let line = serde_json::json!({"file": file, "histogram": [
        {"outcome": {"T0": [["i32:1"]], "T1": [["i32:0"]]}, "count": 5}]});
    let path = dir.join("honest.jsonl");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = heddle()
        .args(["xcheck", &file, "--engine"])
        .arg(format!("file:{}", path.display()))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn usage_errors_exit_2() {
    let file = catalogue("SB.wast");
    for args in [
        vec!["xcheck", file.as_str(), "--engine", "no-such-engine"],
        vec!["xcheck", "/no/such/file.wast", "--engine", "heddle"],
        vec!["xcheck", "--engine", "heddle"],
        vec![
            "xcheck",
            file.as_str(),
            "--engine",
            "heddle",
            "--iterations",
            "0",
        ],
    ] {
        let out = heddle().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: says why");
    }
}

#[test]
fn skipped_files_say_why() {
    let dir = scratch("skip");
    let path = dir.join("loop.wast");
    std::fs::write(
        &path,
        r#"(module $Mem (memory (export "shared") 1 1 shared))
(thread $T0 (shared (module $Mem))
  (module (memory (import "mem" "shared") 1 1 shared) (func (export "run") (loop)))
  (invoke "run"))
(wait $T0)
"#,
    )
    .unwrap();
    let out = heddle()
        .args(["xcheck", "--engine", "heddle", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(
        first["skipped"].as_str().unwrap().contains("loop"),
        "{stdout}"
    );
}
