//! `heddle explore --wasi` (docs/wasi.md, *Exploring every schedule*): the outcomes of the
//! WAT programs of `wasi/tests/wat/`, complete or not, exit statuses, and the schedule of a
//! deadlock replayed by `heddle run --wasi --replay`.

mod common;
use common::{heddle, wat};

/// `heddle explore --wasi FILE --format json`: the exit status and the result.
fn explore_json(name: &str, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let file = wat(name);
    let mut args = vec!["explore", "--wasi", &file, "--format", "json"];
    args.extend(extra);
    let out = heddle(&args);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{name}: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

fn stdouts(v: &serde_json::Value) -> Vec<String> {
    let mut s: Vec<String> = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| format!("{} {}", o["ending"], o["stdout"]))
        .collect();
    s.sort();
    s
}

#[test]
fn the_racy_counter_has_three_outcomes_and_exits_0() {
    let (status, v) = explore_json("racy_counter.wat", &[]);
    assert_eq!(status, Some(0));
    assert_eq!(v["complete"], true);
    assert_eq!(
        stdouts(&v),
        [
            r#""exit" "counter = 2\n""#,
            r#""exit" "counter = 3\n""#,
            r#""exit" "counter = 4\n""#
        ]
    );
    let human = heddle(&["explore", "--wasi", &wat("racy_counter.wat")]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("3 outcome(s), complete"), "{text}");
}

#[test]
fn a_deadlock_is_a_finding_and_its_schedule_replays() {
    let (status, v) = explore_json("lock_order.wat", &[]);
    assert_eq!(status, Some(1), "a deadlock is a finding");
    assert_eq!(v["complete"], true);
    let deadlock = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["ending"] == "deadlock")
        .expect("a deadlock outcome");
    let schedule = deadlock["schedule"].as_str().unwrap();
    let file = wat("lock_order.wat");
    let out = heddle(&["run", "--wasi", &file, "--replay", schedule]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("deadlock"), "{stderr}");
    assert!(!stderr.contains("does not fit"), "{stderr}");
}

#[test]
fn a_bound_makes_it_incomplete_with_status_3() {
    let (status, v) = explore_json("racy_counter.wat", &["--max-executions", "2"]);
    assert_eq!(status, Some(3));
    assert_eq!(v["complete"], false);
    assert_eq!(v["runs"], 2);
}

#[test]
fn a_file_that_is_not_a_wasi_program_is_refused() {
    let out = heddle(&["explore", "--wasi", &wat("../programs.rs")]);
    assert_eq!(out.status.code(), Some(2));
    let out = heddle(&[
        "explore",
        "--wasi",
        &wat("racy_counter.wat"),
        "--memory",
        "relaxed",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
