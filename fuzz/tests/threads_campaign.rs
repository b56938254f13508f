//! `heddle fuzz --threads`: the data-race-free generator keeps its promises (its programs
//! are race-free and never block), the harness reads unmodelled programs from their
//! binaries, a fixed-seed campaign against wasmtime finds nothing, and a planted fault is
//! found, shrunk and saved.

use heddle_explore::{explore, ExploreOptions, MemoryMode, Plan};
use heddle_fuzz::diff::threads::{run_threads_campaign, ThreadedProgram, ThreadsCampaign};
use heddle_fuzz::diff::Bound;
use heddle_fuzz::generate::drf::{Block, DrfProgram, Fault, EXTENT};
use heddle_fuzz::LitmusTest;
use heddle_model::InvokeResult;
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("heddle-threads-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn sc(wast: &str, max: u64) -> heddle_explore::Exploration {
    let plan = Plan::from_text(wast).expect("generated programs set up");
    explore(
        &plan,
        &ExploreOptions {
            max_executions: max,
            ..ExploreOptions::default()
        },
    )
    .expect("exploration")
}

/// SC-DRF in the small: on data-race-free programs the relaxed backend, whose reads may
/// return any value the model allows, reaches no outcome that SC exploration does not.
/// A racy program would (its relaxed reads see stale values).
#[test]
fn drf_programs_have_only_sc_outcomes_under_the_relaxed_backend() {
    let mut compared = 0;
    for seed in 0..40 {
        let w = DrfProgram::generate(seed).to_wast(None);
        let s = sc(&w, 5_000);
        if !s.complete {
            continue;
        }
        let plan = Plan::from_text(&w).unwrap();
        let r = explore(
            &plan,
            &ExploreOptions {
                memory: MemoryMode::Relaxed,
                max_executions: 400,
                ..ExploreOptions::default()
            },
        )
        .unwrap();
        for o in r.reachable.keys() {
            assert!(
                s.reachable.contains_key(o),
                "seed {seed}: relaxed outcome {o} is not SC-reachable\n{w}"
            );
        }
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} programs compared");
}

/// The planted racy program this test's check must catch, so that it can fail: a
/// message sent without its flag being awaited.
#[test]
fn the_relaxed_comparison_catches_a_racy_program() {
    let racy = r#"
(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem)) (register "mem" $Mem)
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (i32.store (i32.const 0) (i32.const 1)) (i32.store (i32.const 4) (i32.const 1))))
  (invoke "run"))
(thread $T1 (shared (module $Mem)) (register "mem" $Mem)
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32 i32) (i32.load (i32.const 4)) (i32.load (i32.const 0))))
  (invoke "run"))
(wait $T0)
(wait $T1)
"#;
    let s = sc(racy, 5_000);
    let plan = Plan::from_text(racy).unwrap();
    let r = explore(
        &plan,
        &ExploreOptions {
            memory: MemoryMode::Relaxed,
            ..ExploreOptions::default()
        },
    )
    .unwrap();
    assert!(r.reachable.keys().any(|o| !s.reachable.contains_key(o)));
}

/// Deadlock freedom by construction: every complete SC exploration ends every thread.
#[test]
fn drf_programs_never_block() {
    let mut explored = 0;
    for seed in 100..140 {
        let p = DrfProgram::generate(seed);
        let s = sc(&p.to_wast(None), 5_000);
        if !s.complete {
            continue;
        }
        explored += 1;
        for o in s.reachable.keys() {
            for (t, results) in &o.threads {
                assert!(
                    results.iter().all(|r| matches!(r, InvokeResult::Values(_))),
                    "seed {seed}: {t} did not return: {o}"
                );
            }
        }
    }
    assert!(explored >= 30, "only {explored} explored completely");
}

/// Every generated program uses each kind of block somewhere, and every receive comes
/// after its channel's send in the global order (so some thread sends each channel).
#[test]
fn drf_generator_covers_every_block_and_pairs_receives_with_sends() {
    let (mut crit, mut send, mut recv_wait, mut recv_spin, mut count, mut looped) =
        (0, 0, 0, 0, 0, 0);
    for seed in 0..300 {
        let p = DrfProgram::generate(seed);
        assert!((2..=3).contains(&p.threads.len()));
        let sent: Vec<(usize, u8)> = p
            .threads
            .iter()
            .enumerate()
            .flat_map(|(t, bs)| {
                bs.iter().filter_map(move |b| match b {
                    Block::Send { channel, .. } => Some((t, *channel)),
                    _ => None,
                })
            })
            .collect();
        for (t, bs) in p.threads.iter().enumerate() {
            assert!(!bs.is_empty() && bs.len() <= 3);
            for b in bs {
                match b {
                    Block::Critical { times, .. } => {
                        crit += 1;
                        looped += (*times > 1) as u32;
                    }
                    Block::Send { .. } => send += 1,
                    Block::Receive {
                        channel, by_wait, ..
                    } => {
                        let sender = sent.iter().find(|(_, c)| c == channel);
                        assert!(
                            matches!(sender, Some((s, _)) if *s != t),
                            "seed {seed}: receive of an unsent channel"
                        );
                        if *by_wait {
                            recv_wait += 1
                        } else {
                            recv_spin += 1
                        }
                    }
                    Block::Count { .. } => count += 1,
                }
            }
        }
    }
    for (what, n) in [
        ("critical", crit),
        ("send", send),
        ("receive by wait", recv_wait),
        ("receive by spinning", recv_spin),
        ("count", count),
        ("looped critical", looped),
    ] {
        assert!(n >= 20, "{what}: only {n}");
    }
}

/// Shrink candidates stay well-formed: they set up, explore without blocking, and every
/// receive still has its send.
#[test]
fn drf_shrink_candidates_are_programs() {
    for seed in [3, 11, 15] {
        let p = DrfProgram::generate(seed);
        let cands = p.shrink_candidates();
        assert!(!cands.is_empty());
        for c in cands {
            assert!(c.threads.iter().all(|t| !t.is_empty()));
            let s = sc(&c.to_wast(None), 5_000);
            for o in s.reachable.keys() {
                assert!(
                    o.threads
                        .iter()
                        .all(|(_, r)| r.iter().all(|r| matches!(r, InvokeResult::Values(_)))),
                    "seed {seed}: a shrunk program blocks: {c:?}"
                );
            }
        }
    }
}

/// What the harness reads from the binaries of a program the model cannot read.
#[test]
fn unmodelled_tests_read_waits_results_and_timeouts_from_binaries() {
    let src = r#"
(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem)) (register "mem" $Mem)
  (module (memory (import "mem" "shared") 1 1 shared)
    (func (export "loop") (result i32)
      (loop $l (br_if $l (i32.eqz (i32.atomic.load (i32.const 0))))
        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
      (i32.const 7))
    (func (export "once") (result i64 f32)
      (drop (memory.atomic.wait64 (i32.const 8) (i64.const 0) (i64.const 5000)))
      (i64.const 1) (f32.const 0))
    (func (export "none")))
  (invoke "loop") (invoke "once") (invoke "none"))
(wait $T0)
"#;
    let t = LitmusTest::unmodelled("t", src, 100).unwrap();
    assert!(t.program.is_none());
    assert_eq!(t.waits_per_invoke(), vec![vec![], vec![2, 1, 0]]);
    let results: Vec<Vec<&str>> = t.threads[1]
        .steps
        .iter()
        .filter_map(|s| match s {
            heddle_fuzz::Step::Invoke { results, .. } => Some(results.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(results, vec![vec!["i32"], vec!["i64", "f32"], vec![]]);
    assert_eq!(t.memory.reset_len, 128);
    // A finite timeout of 5 µs: 10 ms plus twice the timeout.
    assert_eq!(
        t.watchdog,
        std::time::Duration::from_millis(10) + std::time::Duration::from_nanos(10_000)
    );
    // The model's front end rejects the loop; from_wast says so.
    assert!(LitmusTest::from_wast("t", src).is_err());
    // Initial contents are the model's business.
    let with_data = src.replace(
        "(memory (export \"shared\") 1 1 shared))",
        "(memory (export \"shared\") 1 1 shared) (data (i32.const 0) \"\\01\"))",
    );
    let e = LitmusTest::unmodelled("t", &with_data, 100).unwrap_err();
    assert!(e.contains("data segments"), "{e}");
    let missing = src.replace("(invoke \"none\")", "(invoke \"nothing\")");
    assert!(LitmusTest::unmodelled("t", &missing, 100).is_err());
}

/// Generated threaded programs of both kinds are ready for the engines.
#[test]
fn both_kinds_make_harness_tests() {
    for i in 0..20 {
        let p = ThreadedProgram::generate(9, i);
        assert_eq!(p.kind(), if i % 2 == 0 { "drf" } else { "racy" });
        let t = p.test("p").unwrap();
        assert_eq!(t.program.is_some(), i % 2 == 1);
        assert!(t.memory.reset_len <= EXTENT.max(64) || i % 2 == 1);
    }
}

#[cfg(feature = "wasmtime")]
fn wasmtime() -> Box<dyn heddle_fuzz::Engine> {
    heddle_fuzz::engines::create(&heddle_fuzz::engines::EngineSpec {
        name: "wasmtime".into(),
        path: None,
        memory: MemoryMode::Sc,
    })
    .unwrap()
}

/// The CI campaign: a fixed seed, bounded by programs (so the programs are always the
/// same; about a minute on two cores).
#[cfg(feature = "wasmtime")]
#[test]
fn fixed_seed_threads_campaign_against_wasmtime_finds_nothing() {
    let c = ThreadsCampaign {
        seed: 3,
        bound: Bound::Iterations(50),
        out_dir: scratch("clean"),
        ..ThreadsCampaign::default()
    };
    let r = run_threads_campaign(&c, wasmtime().as_ref(), &mut |_, _| {}).unwrap();
    assert!(r.findings.is_empty(), "findings: {:#?}", r.findings);
    assert_eq!(r.heddle_panics, 0);
    assert_eq!(r.modules, 50);
    let skipped: u64 = r.skips.values().sum();
    assert!(skipped <= 10, "too many skips: {:?}", r.skips);
    assert_eq!(r.instantiated + skipped, 50);
    assert_eq!(r.calls, r.instantiated * c.runs);
}

#[cfg(feature = "wasmtime")]
#[test]
fn planted_fault_in_the_threads_oracle_is_found_shrunk_and_saved() {
    let out = scratch("planted");
    let c = ThreadsCampaign {
        seed: 5,
        bound: Bound::Iterations(40),
        out_dir: out.clone(),
        max_findings: 1,
        runs: 200,
        planted_fault: Some(Fault::CountSubtracts),
        ..ThreadsCampaign::default()
    };
    let engine = wasmtime();
    let r = run_threads_campaign(&c, engine.as_ref(), &mut |_, _| {}).unwrap();
    assert_eq!(r.findings.len(), 1, "not found: {r:?}");
    let f = &r.findings[0];
    assert_eq!(f.kind, "forbidden-outcome");
    assert!(f.sizes.1 < f.sizes.0, "not shrunk: {:?}", f.sizes);
    let wast_path = PathBuf::from(&f.path);
    let saved = std::fs::read_to_string(&wast_path).unwrap();
    assert!(saved.contains("FORBIDDEN"), "{saved}");
    assert!(saved.contains("Heddle allows"), "{saved}");
    let stem = wast_path.file_stem().unwrap().to_string_lossy().to_string();
    assert!(out.join(format!("{stem}-0.wasm")).exists());
    assert!(out.join(format!("{stem}-0.wat")).exists());
    // The saved program is the correct one: without the fault, Heddle allows what the
    // engine showed.
    let s = sc(&saved, 5_000);
    assert!(s.complete);
    let t = LitmusTest::unmodelled("saved", &saved, EXTENT).unwrap();
    let h = engine
        .run(
            &t,
            &heddle_fuzz::RunOptions {
                iterations: 100,
                ..Default::default()
            },
        )
        .unwrap();
    for o in h.counts.keys() {
        assert!(s.reachable.contains_key(o), "{o} not SC-reachable");
    }
    let _ = std::fs::remove_dir_all(&out);
}
