//! `heddle explore` at scale: `--shard K/N` with `--merge` (the merged result of all shards
//! is the whole exploration's), the refusal of programs far too large, `--timeout`, and
//! their exit statuses (README, *Exit statuses*: 3 for an incomplete result); `--reduction`
//! and `--jobs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn heddle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heddle"))
        .args(args)
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("heddle-explore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// The `reachable` lists of JSON lines, sorted, per file.
fn reachable(stdout: &[u8]) -> Vec<(String, Vec<String>)> {
    let mut v: Vec<(String, Vec<String>)> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let o: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut r: Vec<String> = o["reachable"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.to_string())
                .collect();
            r.sort();
            (o["file"].as_str().unwrap().to_string(), r)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn merged_shards_equal_the_whole_exploration() {
    let dir = scratch("shards");
    let files = [
        repo("model/tests/litmus/SB.wast"),
        repo("model/tests/litmus/IRIW.wast"),
        repo("model/tests/litmus/wait_timeout.wast"),
    ];
    let mut args = vec!["explore", "--format", "json", "--memory", "relaxed"];
    args.extend(files.iter().map(String::as_str));
    let whole = heddle(&args);
    assert_eq!(whole.status.code(), Some(0));
    let mut shard_files = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let mut a = args.clone();
        a.extend(["--shard", &shard]);
        let out = heddle(&a);
        assert_eq!(out.status.code(), Some(0), "shard {shard}");
        let f = dir.join(format!("shard{k}.json"));
        std::fs::write(&f, &out.stdout).unwrap();
        shard_files.push(f.display().to_string());
    }
    let mut m = vec!["explore", "--merge", "--format", "json"];
    m.extend(shard_files.iter().map(String::as_str));
    let merged = heddle(&m);
    assert_eq!(
        merged.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert_eq!(reachable(&merged.stdout), reachable(&whole.stdout));
    // Without the last shard the merge is incomplete: status 3, and it names the shard.
    let mut m = vec!["explore", "--merge"];
    m.extend(shard_files[..2].iter().map(String::as_str));
    let partial = heddle(&m);
    assert_eq!(partial.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&partial.stdout).contains("missing shards [\"3\"]"));
    // A file that is not a result is a usage error.
    let merged_bad = heddle(&["explore", "--merge", &files[0]]);
    assert_eq!(merged_bad.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn far_too_large_programs_are_refused_and_timeouts_are_incomplete() {
    let dir = scratch("large");
    let big = dir.join("sb_6x6.wast");
    std::fs::write(&big, heddle_explore::rings::sb_ring(6, 6)).unwrap();
    let big = big.display().to_string();
    let out = heddle(&["explore", &big]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("too large to explore"), "{err}");
    assert!(err.contains("--force") && err.contains("--shard"), "{err}");
    let out = heddle(&["explore", &big, "--format", "json"]);
    assert_eq!(out.status.code(), Some(3));
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["complete"], serde_json::json!(false));
    assert!(o["refused"].is_string());
    // --force explores it, and --timeout stops it (after about a second): incomplete.
    let started = std::time::Instant::now();
    let out = heddle(&[
        "explore",
        &big,
        "--force",
        "--timeout",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["complete"], serde_json::json!(false));
    assert_eq!(o["stopped"], serde_json::json!("--timeout"));
    assert!(o["executions"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rings DPOR finishes within the default timeout are not refused (one run, to be
/// quick: the bound then stops it, where a refused file reports `refused`).
#[test]
fn rings_dpor_finishes_are_accepted_without_force() {
    use heddle_explore::rings::{mp_chain, sb_ring};
    let dir = scratch("accepted");
    for (name, text) in [
        ("MP_N4_K6.wast", mp_chain(4, 6)),
        ("SB_N4_K6.wast", sb_ring(4, 6)),
        ("SB_N3_K6.wast", sb_ring(3, 6)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let path = path.display().to_string();
        let out = heddle(&[
            "explore",
            &path,
            "--memory",
            "sc",
            "--max-executions",
            "1",
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(3), "{name}");
        let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(o.get("refused").is_none(), "{name}: {o}");
        assert_eq!(
            o["stopped"],
            serde_json::json!("--max-executions"),
            "{name}"
        );
    }
    // Relaxed SB 4×6 is refused, and the refusal points to --memory sc.
    let path = dir.join("SB_N4_K6.wast").display().to_string();
    let out = heddle(&["explore", &path, "--memory", "relaxed"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--memory sc"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dpor_and_caching_agree_and_jobs_do_not_change_the_json() {
    let file = repo("model/tests/litmus/SB.wast");
    let run = |extra: &[&str]| {
        let mut args = vec!["explore", "--format", "json", file.as_str()];
        args.extend_from_slice(extra);
        let out = heddle(&args);
        assert_eq!(out.status.code(), Some(0), "{extra:?}");
        out.stdout
    };
    let dpor1 = run(&["--jobs", "1"]);
    let dpor2 = run(&["--jobs", "2"]);
    assert_eq!(dpor1, dpor2);
    let caching = run(&["--reduction", "caching"]);
    assert_eq!(reachable(&dpor1), reachable(&caching));
    let line: serde_json::Value = serde_json::from_slice(&dpor1).unwrap();
    assert_eq!(line["reduction"], "dpor");
    // A DPOR schedule replays.
    let schedule = line["found"][0]["schedule"].as_str().unwrap().to_string();
    let out = heddle(&["explore", "--format", "json", &file, "--replay", &schedule]);
    assert_eq!(out.status.code(), Some(0));
    let replayed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(replayed["outcome"], line["found"][0]["outcome"]);
    assert_eq!(
        heddle(&["explore", &file, "--jobs", "0"]).status.code(),
        Some(2)
    );
}

/// `--memory relaxed --check` on load buffering: the exploration reaches (1,1) through
/// promises, so no allowed outcome is left unreached and the status is 0; the JSON says how
/// many value rounds it took, and a relaxed schedule replays its outcome.
#[test]
fn relaxed_check_reaches_load_buffering_and_replays_it() {
    let lb = repo("model/tests/litmus/LB.wast");
    let out = heddle(&[
        "explore", "--memory", "relaxed", "--check", "--format", "json", &lb,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let o: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(o["complete"], true);
    assert_eq!(o["allowed_not_reachable"], serde_json::json!([]));
    assert_eq!(o["reachable"].as_array().unwrap().len(), 4);
    assert!(o["rounds"].as_u64().unwrap() >= 2, "{o}");
    let found = o["found"].as_array().unwrap();
    let one_one = found
        .iter()
        .find(|f| f["outcome"].to_string().matches("i32:1").count() == 2)
        .expect("LB (1,1) found");
    let schedule = one_one["schedule"].as_str().unwrap();
    let out = heddle(&[
        "explore", "--memory", "relaxed", "--format", "json", "--replay", schedule, &lb,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["outcome"], one_one["outcome"]);
}
