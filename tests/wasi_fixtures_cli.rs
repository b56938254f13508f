//! `heddle run --wasi` on the wasi-threads fixtures (`fixtures/wasi/`, issue 27): the
//! expected line and exit 0, on SC and native memory; the lock-order deadlock reported with
//! both threads' stacks and exit 134; a racy counter's lost updates, whose schedule
//! (`--print-schedule`) replays to the same total; bad binaries of the fixtures' kind refused
//! with exit 2.

mod common;
use common::{fixture, heddle, printed_schedule, text};
use std::process::Output;

#[test]
fn data_race_free_fixtures_print_their_line_on_sc_and_native_memory() {
    for (name, line) in [
        ("mutex_counter", "counter = 4000\n"),
        ("c11_atomics", "atomic = 4000 relaxed = 4000 msg = 42\n"),
        ("condvar", "consumed 1000 items, sum = 250500\n"),
        (
            "rust_threads",
            "mutex = 4000 atomic = 4000 channel = 2002000 ids = 6\n",
        ),
    ] {
        for extra in [
            &["--seed", "5"][..],
            &["--schedule", "pct"],
            &["--memory", "native"],
        ] {
            let mut args = vec!["run", "--wasi"];
            args.extend_from_slice(extra);
            let path = fixture(name);
            args.push(&path);
            let out = heddle(&args);
            assert_eq!(
                (
                    out.status.code(),
                    text(&out.stdout).as_str(),
                    text(&out.stderr).as_str()
                ),
                (Some(0), line, ""),
                "{name} {extra:?}"
            );
        }
    }
}

#[test]
fn the_lock_order_deadlock_is_reported_and_its_schedule_replays() {
    let path = fixture("deadlock");
    let (seed, out) = (0..20)
        .map(|seed| {
            let s = seed.to_string();
            (seed, heddle(&["run", "--wasi", "--seed", &s, &path]))
        })
        .find(|(_, out)| out.status.code() == Some(134))
        .expect("a deadlock among seeds 0..20");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("deadlock: every live thread waits forever"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("$take_in_order").count(),
        2,
        "seed {seed}: {stderr}"
    );
    let again = heddle(&[
        "run",
        "--wasi",
        "--replay",
        &printed_schedule(&stderr),
        &path,
    ]);
    assert_eq!(again.status.code(), Some(134));
    assert_eq!(text(&again.stderr), stderr, "seed {seed}");
}

#[test]
fn a_racy_counter_loses_updates_and_its_printed_schedule_replays_the_total() {
    let path = fixture("racy_counter");
    let total = |out: &Output| -> u32 {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
            .trim_end()
            .strip_prefix("counter = ")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}", text(&out.stdout)))
    };
    let (seed, out) = (0..20)
        .map(|seed| {
            let s = seed.to_string();
            let out = heddle(&["run", "--wasi", "--print-schedule", "--seed", &s, &path]);
            (seed, out)
        })
        .find(|(_, out)| total(out) < 4000)
        .expect("lost updates among seeds 0..20");
    let schedule = printed_schedule(&text(&out.stderr));
    let again = heddle(&["run", "--wasi", "--replay", &schedule, &path]);
    assert_eq!(total(&again), total(&out), "seed {seed}");
    // Without --print-schedule, a run that exits 0 prints nothing on stderr.
    let quiet = heddle(&["run", "--wasi", "--replay", &schedule, &path]);
    assert_eq!(text(&quiet.stderr), "");
}

#[test]
fn bad_binaries_of_the_fixtures_kind_are_refused_with_status_2() {
    let dir = std::env::temp_dir().join(format!("heddle-wasi-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "no_thread_start.wat",
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                 (func (export "_start")))"#
                .as_bytes()
                .to_vec(),
            "exports no function \"wasi_thread_start\"",
        ),
        (
            "unshared.wat",
            r#"(module (import "env" "memory" (memory 1 1)) (func (export "_start")))"#
                .as_bytes()
                .to_vec(),
            "the imported env.memory is not shared",
        ),
        (
            "truncated.wasm",
            std::fs::read(fixture("mutex_counter")).unwrap()[..1000].to_vec(),
            "",
        ),
    ];
    for (file, bytes, message) in cases {
        let path = dir.join(file);
        std::fs::write(&path, bytes).unwrap();
        let out = heddle(&["run", "--wasi", &path.display().to_string()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(message) && !stderr.is_empty(),
            "{file}: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `heddle run --wasi --races` on the racy fixture (docs/races.md): on the first run with
/// the default seed, whatever total it prints, exit 1 and the data race on the counter
/// with both accesses, named by function (`$worker`) on stderr; the JSON report has the
/// keys of `heddle explore --races` and the run's schedule, which `--replay` takes.
#[test]
fn the_racy_counter_reports_its_data_race_on_the_first_run() {
    let path = fixture("racy_counter");
    let out = heddle(&["run", "--wasi", "--races", &path]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(text(&out.stdout).starts_with("counter = "));
    let line = stderr
        .lines()
        .find(|l| l.contains("data race: ") && l.contains("non-atomic write of 4 bytes"))
        .unwrap_or_else(|| panic!("no data race reported: {stderr}"));
    assert_eq!(line.matches("$worker @").count(), 2, "{line}");
    let json = heddle(&["run", "--wasi", "--races", "--format", "json", &path]);
    let stderr = text(&json.stderr);
    let object = stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON report: {stderr}"));
    let v: serde_json::Value = serde_json::from_str(object).unwrap();
    let races = v["races"].as_array().unwrap();
    assert!(!races.is_empty(), "{object}");
    for r in races {
        assert_eq!(r["kind"], "data race");
        for a in [&r["first"], &r["second"]] {
            for key in [
                "thread", "function", "offset", "location", "address", "size", "atomic", "access",
            ] {
                assert!(!a[key].is_null(), "{key} missing in {a}");
            }
            assert_eq!(a["function"], "$worker");
        }
    }
    let schedule = v["schedule"].as_str().unwrap();
    assert!(!schedule.is_empty());
    // The schedule replays the run, and with it the race.
    let replayed = heddle(&["run", "--wasi", "--races", "--replay", schedule, &path]);
    assert_eq!(replayed.status.code(), Some(1));
    assert_eq!(text(&replayed.stdout), text(&out.stdout));
}
