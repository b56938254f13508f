//! `heddle fuzz --threads` on the command line: the JSON report's keys in the issue's
//! order, the planted fault's exit status 1, and usage errors' exit status 2.

use std::process::Command;

fn heddle() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heddle"))
}

#[cfg(feature = "wasmtime")]
#[test]
fn threads_json_report_and_exit_statuses() {
    let out = std::env::temp_dir().join(format!("heddle-fuzz-cli-{}", std::process::id()));
    let run = |extra: &[&str]| {
        heddle()
            .args(["fuzz", "--threads", "--iterations", "4", "--runs", "100"])
            .args(["--format", "json", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        &keys[..8],
        [
            "engine",
            "seconds",
            "modules",
            "instantiated",
            "calls",
            "execs_per_sec",
            "skips",
            "findings"
        ]
    );
    assert_eq!(v["modules"], 4);
    assert_eq!(v["heddle_panics"], 0);
    let o = run(&["--planted-fault", "--max-findings", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"][0]["kind"], "forbidden-outcome");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn threads_needs_an_engine_with_threads() {
    let o = heddle()
        .args([
            "fuzz",
            "--threads",
            "--engine",
            "wasmi",
            "--iterations",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("engine with threads"));
    let o = heddle()
        .args(["fuzz", "--threads", "--mutate"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}
