//! The JavaScript engines (node, bun, Chromium, Firefox) and their harness.
//!
//! These tests need the engines installed (node, bun, chromium, firefox-esr): a missing
//! engine fails the test, it is not skipped.

use heddle_fuzz::engines::browser::BrowserEngine;
use heddle_fuzz::engines::js::{group_alive, NodeEngine};
use heddle_fuzz::{Engine, EngineFailure, Histogram, LitmusTest, RunOptions};
use heddle_model::{InvokeResult, Outcome, Value};
use heddle_spec_tests::testsuite_dir;
use serde_json::json;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ has a parent")
        .to_path_buf()
}

fn load_path(p: &Path) -> LitmusTest {
    let src = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    LitmusTest::from_wast(&p.display().to_string(), &src)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn litmus(name: &str) -> LitmusTest {
    load_path(&repo().join("model/tests/litmus").join(name))
}

fn suite_mp() -> LitmusTest {
    load_path(&testsuite_dir().join("threads/threads/MP.wast"))
}

fn opts(iterations: u64) -> RunOptions {
    RunOptions {
        iterations,
        seed: 7,
        timeout: Duration::from_secs(120),
    }
}

fn allowed(test: &LitmusTest) -> HashSet<Outcome> {
    heddle_model::enumerate(
        test.program.as_ref().unwrap(),
        &heddle_model::Config::default(),
    )
    .expect("the model enumerates the test")
    .allowed
    .into_keys()
    .collect()
}

fn i32s(threads: &[(&str, u32)]) -> Outcome {
    Outcome {
        threads: threads
            .iter()
            .map(|&(t, v)| {
                (
                    t.to_string(),
                    vec![InvokeResult::Values(vec![Value::I32(v)])],
                )
            })
            .collect(),
    }
}

/// Every observed outcome is allowed, and the counts add up.
fn assert_sound(engine: &str, test: &LitmusTest, h: &Histogram, iterations: u64) {
    assert_eq!(h.iterations, iterations, "{engine}: iterations");
    let total: u64 = h.counts.values().sum();
    assert_eq!(
        total + h.discarded,
        iterations,
        "{engine}: counts + discarded"
    );
    let allowed = allowed(test);
    for (o, n) in &h.counts {
        assert!(
            allowed.contains(o),
            "{engine}: forbidden outcome {o:?} seen {n} times"
        );
    }
}

#[test]
fn harness_json_of_sb_has_the_expected_shape() {
    let t = litmus("SB.wast");
    let v = t.to_harness_json(&RunOptions {
        iterations: 1000,
        seed: 42,
        timeout: Duration::from_secs(3),
    });
    assert_eq!(v["iterations"], 1000);
    assert_eq!(v["seed"], 42);
    assert_eq!(v["timeout_ms"], 3000);
    assert_eq!(v["hang_factor"], heddle_fuzz::HangBound::FACTOR);
    assert_eq!(v["hang_calibration"], heddle_fuzz::HangBound::CALIBRATION);
    assert_eq!(
        v["memory"],
        json!({"initial": 1, "maximum": 1, "reset_len": 64, "init": [], "grows": false})
    );
    let addrs: Vec<u64> = (0..16).map(|i| i * 4).collect();
    assert_eq!(v["wait_addresses"], json!(addrs));
    let modules = v["modules"].as_array().unwrap();
    assert_eq!(modules.len(), 2);
    for m in modules {
        assert_eq!(
            m.as_array().unwrap()[..4],
            [json!(0), json!(97), json!(115), json!(109)]
        );
    }
    let t0 = json!({"invoke": {"instance": 0, "export": "run", "args": [], "results": ["i32"], "waits": 0, "untimed": true}});
    assert_eq!(
        v["threads"],
        json!([
            {"name": "main", "steps": [{"spawn": 1}, {"spawn": 2}, {"join": 1}, {"join": 2}]},
            {"name": "T0", "steps": [{"instantiate": 0}, t0.clone()]},
            {"name": "T1", "steps": [{"instantiate": 1}, t0]},
        ])
    );
}

/// mulberry32, as fuzz/js/core.js has it, and the delays derived from it.
fn delays(seed: u64, thread: u32, n: usize) -> Vec<u32> {
    let lo = (seed % (1 << 32)) as u32;
    let hi = (seed >> 32) as u32;
    let mut a = lo ^ hi.wrapping_mul(0x85eb_ca6b) ^ (thread + 1).wrapping_mul(0x9e37_79b9);
    (0..n)
        .map(|_| {
            a = a.wrapping_add(0x6d2b_79f5);
            let mut t = a;
            t = (t ^ (t >> 15)).wrapping_mul(t | 1);
            t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
            let r = t ^ (t >> 14);
            if r & 1 == 1 {
                0
            } else {
                (r >> 1) & 255
            }
        })
        .collect()
}

#[test]
fn delay_prng_of_the_js_harness_matches_its_definition() {
    let core = repo().join("fuzz/js/core.js");
    let script = format!(
        "const c = require({:?}); console.log(JSON.stringify([c.delays(12345, 0, 32), \
         c.delays(12345, 1, 32), c.delays(4294967296 * 3 + 5, 2, 32)]));",
        core.display().to_string()
    );
    let out = Command::new("node")
        .args(["-e", &script])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<Vec<u32>> = serde_json::from_slice(&out.stdout).expect("JSON");
    let want = vec![
        delays(12345, 0, 32),
        delays(12345, 1, 32),
        delays((3 << 32) + 5, 2, 32),
    ];
    assert_eq!(got, want);
    // Threads get different sequences, and about half the delays are 0.
    assert_ne!(got[0], got[1]);
    let zeros = delays(1, 0, 1000).iter().filter(|&&d| d == 0).count();
    assert!((400..600).contains(&zeros), "{zeros} zeros of 1000");
}

fn js_engine(name: &str) -> NodeEngine {
    let e = match name {
        "node" => NodeEngine::node(None),
        _ => NodeEngine::bun(None),
    };
    let v = e
        .version()
        .unwrap_or_else(|f| panic!("{name} must be installed: {f}"));
    eprintln!("{v}");
    e
}

/// Runs of 200,000 iterations (different seeds) [`sb_shows_store_buffering`] tries at most.
/// At load 15-19 on 2 cores the two workers overlapped in none of 5 runs now and then
/// (both engines, 2026-12-07); the loop stops at the first (0,0).
const SB_RUNS: u64 = 20;

/// SB with plain accesses shows (0,0) on x86. On a loaded machine the two threads rarely
/// overlap, so up to [`SB_RUNS`] runs of 200,000 iterations (different seeds) are tried.
fn sb_shows_store_buffering(engine: &dyn Engine) {
    let t = litmus("SB.wast");
    let sb = i32s(&[("T0", 0), ("T1", 0)]);
    let mut runs = Vec::new();
    for seed in 0..SB_RUNS {
        let o = RunOptions {
            seed,
            ..opts(200_000)
        };
        let h = engine.run(&t, &o).expect("SB runs");
        eprintln!(
            "{}: SB 200000 iterations in {:.3} s = {:.0} iterations/s: {:?}",
            engine.name(),
            h.seconds,
            h.iterations as f64 / h.seconds,
            h.sorted()
        );
        assert_sound(engine.name(), &t, &h, 200_000);
        if h.counts.get(&sb).copied().unwrap_or(0) > 0 {
            return;
        }
        runs.push(
            h.sorted()
                .iter()
                .map(|(o, n)| format!("{o:?}: {n}"))
                .collect::<Vec<_>>(),
        );
    }
    panic!(
        "{}: no store buffering (0,0) in {SB_RUNS} x 200000 iterations: {runs:?}",
        engine.name()
    );
}

/// The only allowed outcome of wait_notify_count0.wast: T0 blocked in its wait, T1's
/// notify (count 0) woke nobody.
fn t0_blocked() -> Outcome {
    Outcome {
        threads: vec![
            ("T0".into(), vec![InvokeResult::Blocked]),
            ("T1".into(), vec![InvokeResult::Values(vec![Value::I32(0)])]),
        ],
    }
}

fn wait_notify_count0_blocks(engine: &dyn Engine) {
    let t = litmus("wait_notify_count0.wast");
    let h = engine.run(&t, &opts(200)).expect("no hang");
    eprintln!(
        "{}: {:?} discarded {}",
        engine.name(),
        h.sorted(),
        h.discarded
    );
    assert_sound(engine.name(), &t, &h, 200);
    assert!(h.discarded < 200, "every iteration discarded");
    assert_eq!(
        h.counts.get(&t0_blocked()).copied(),
        Some(200 - h.discarded)
    );
}

fn mp_never_forbidden(engine: &dyn Engine) {
    let t = suite_mp();
    let h = engine.run(&t, &opts(100_000)).expect("MP runs");
    eprintln!("{}: {:?}", engine.name(), h.sorted());
    assert_sound(engine.name(), &t, &h, 100_000);
}

#[test]
fn node_sb_shows_store_buffering() {
    sb_shows_store_buffering(&js_engine("node"));
}

#[test]
fn bun_sb_shows_store_buffering() {
    sb_shows_store_buffering(&js_engine("bun"));
}

#[test]
fn node_wait_notify_count0_is_blocked() {
    wait_notify_count0_blocks(&js_engine("node"));
}

#[test]
fn bun_wait_notify_count0_is_blocked() {
    wait_notify_count0_blocks(&js_engine("bun"));
}

#[test]
fn node_mp_never_shows_forbidden_outcomes() {
    mp_never_forbidden(&js_engine("node"));
}

#[test]
fn bun_mp_never_shows_forbidden_outcomes() {
    mp_never_forbidden(&js_engine("bun"));
}

#[test]
fn node_batch_runs_every_test_in_order() {
    let e = js_engine("node");
    let tests = vec![
        litmus("SB.wast"),
        litmus("wait_notify_count0.wast"),
        litmus("MP.wast"),
    ];
    let mut seen = Vec::new();
    e.run_batch(&tests, &opts(2000), &mut |i, r| {
        let h = r.unwrap_or_else(|f| panic!("test {i}: {f}"));
        assert_sound("node", &tests[i], &h, 2000);
        seen.push(i);
    });
    assert_eq!(seen, vec![0, 1, 2]);
}

#[test]
fn a_dying_engine_fails_each_test_of_a_batch() {
    // `false` exits 1 at once: every test is a crash, each in a fresh process.
    let e = NodeEngine::node(Some(PathBuf::from("false")));
    let tests = vec![litmus("SB.wast"), litmus("MP.wast")];
    let mut seen = Vec::new();
    e.run_batch(&tests, &opts(10), &mut |i, r| {
        assert!(matches!(r, Err(EngineFailure::Crash(_))), "{i}: {r:?}");
        seen.push(i);
    });
    assert_eq!(seen, vec![0, 1]);
}

#[test]
fn a_missing_engine_is_unavailable_with_a_hint() {
    let e = NodeEngine::bun(Some(PathBuf::from("/nonexistent/bun")));
    match e.version() {
        Err(EngineFailure::Unavailable(m)) => assert!(m.contains("npm install -g bun"), "{m}"),
        other => panic!("{other:?}"),
    }
    let b = BrowserEngine::firefox(Some(PathBuf::from("/nonexistent/firefox")));
    let r = b.run(&litmus("SB.wast"), &opts(10));
    assert!(matches!(r, Err(EngineFailure::Unavailable(_))), "{r:?}");
}

fn browser_sb(engine: BrowserEngine) {
    let v = engine
        .version()
        .unwrap_or_else(|f| panic!("{} must be installed: {f}", engine.name()));
    eprintln!("{v}");
    let t = litmus("SB.wast");
    let tests = vec![t.clone(), litmus("wait_notify_count0.wast")];
    let mut results = Vec::new();
    engine.run_batch(&tests, &opts(10_000), &mut |i, r| results.push((i, r)));
    assert_eq!(results.len(), 2);
    let h = results[0].1.as_ref().expect("SB runs");
    eprintln!(
        "{}: SB 10000 iterations in {:.3} s: {:?}",
        engine.name(),
        h.seconds,
        h.sorted()
    );
    assert_sound(engine.name(), &t, h, 10_000);
    let w = results[1].1.as_ref().expect("wait_notify_count0 runs");
    eprintln!("{}: wait_notify_count0 {:?}", engine.name(), w.sorted());
    assert_sound(engine.name(), &tests[1], w, 10_000);
    // wasm waits and JS `Atomics.notify` share waiter lists: the watchdog saw T0 blocked.
    assert!(w.discarded < 10_000, "every iteration discarded");
    assert_eq!(
        w.counts.get(&t0_blocked()).copied(),
        Some(10_000 - w.discarded)
    );
    let launches = engine.launches();
    assert_eq!(launches.len(), 1, "one launch for the batch");
    for l in launches {
        assert!(
            !group_alive(l.pgid),
            "{}: processes of group {} remain",
            engine.name(),
            l.pgid
        );
        assert!(
            !l.profile.exists(),
            "profile {} remains",
            l.profile.display()
        );
    }
}

#[test]
fn chromium_runs_sb_and_leaves_nothing_behind() {
    browser_sb(BrowserEngine::chromium(None));
}

#[test]
fn firefox_runs_sb_and_leaves_nothing_behind() {
    browser_sb(BrowserEngine::firefox(None));
}

/// Whether a process whose command line contains `needle` is alive (reads `/proc`).
fn process_with_arg(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains(needle))
}

#[test]
fn a_hanging_engine_is_a_hang_and_is_killed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join("fake-node");
    // A child that outlives its parent's kill unless the whole process group is killed.
    std::fs::write(&fake, "#!/bin/sh\nsleep 987654 &\nexec sleep 987655\n").expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let e = NodeEngine::node(Some(fake));
    let o = RunOptions {
        iterations: 10,
        seed: 0,
        timeout: Duration::from_millis(500),
    };
    let tests = vec![litmus("SB.wast"), litmus("MP.wast")];
    let mut seen = Vec::new();
    let started = std::time::Instant::now();
    e.run_batch(&tests, &o, &mut |i, r| {
        assert!(matches!(r, Err(EngineFailure::Hang(_))), "{i}: {r:?}");
        seen.push(i);
    });
    assert_eq!(seen, vec![0, 1]);
    // Silent from the start: each session waits the floor, the start grace and the
    // backstop's grace (0.5 + 10 + 5 s), and not much more.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2 * 16 + 10), "{took:?}");
    assert!(
        !process_with_arg("987654"),
        "the hung engine's child survived"
    );
    assert!(!process_with_arg("987655"), "the hung engine survived");
}

#[test]
fn garbage_output_is_a_crash_with_stderr() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let fake = dir.path().join("fake-node");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'not json'\necho 'boom on stderr' >&2\n",
    )
    .expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let r = NodeEngine::node(Some(fake)).run(&litmus("SB.wast"), &opts(10));
    match r {
        Err(EngineFailure::Crash(m)) => {
            assert!(m.contains("garbage output"), "{m}");
            assert!(m.contains("not json"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn versions_name_the_js_engine() {
    let node = js_engine("node").version().expect("node");
    assert!(
        node.starts_with("node v") && node.contains("(V8 "),
        "{node}"
    );
    let bun = js_engine("bun").version().expect("bun");
    assert!(
        bun.starts_with("bun 1.") && bun.ends_with("(JavaScriptCore)"),
        "{bun}"
    );
    let chromium = BrowserEngine::chromium(None).version().expect("chromium");
    assert!(chromium.contains("Chromium"), "{chromium}");
    let firefox = BrowserEngine::firefox(None).version().expect("firefox");
    assert!(firefox.contains("Firefox"), "{firefox}");
}
