//! Exploration cost: exhaustive sequentially consistent exploration of every file of the
//! suite's `threads/` (`$HEDDLE_TESTSUITE/threads/threads`), and exploration of the
//! catalogue's store-buffering, message-passing and IRIW tests (`model/tests/litmus/`) with
//! each memory backend; and the generated store-buffering rings and message-passing chains
//! of issue 13 (`heddle_explore::rings`): one run of the 12-access SB ring 2 × 6
//! (the first schedule, `--max-executions 1`), whole SC explorations (DPOR), and whole
//! relaxed explorations (promises) of SB 2 × 6 and 4 × 4.
//!
//! Run: `cargo bench -p heddle-explore --bench explore`.

use criterion::{criterion_group, criterion_main, Criterion};
use heddle_explore::rings::{mp_chain, sb_ring};
use heddle_explore::{explore, ExploreOptions, MemoryMode, Plan};
use heddle_spec_tests::testsuite_dir;
use std::path::{Path, PathBuf};

fn plans(paths: &[PathBuf]) -> Vec<(String, Plan)> {
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let plan = Plan::from_text(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), plan)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = testsuite_dir().join("threads/threads");
    let mut suite: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (set HEDDLE_TESTSUITE)", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    suite.sort();
    assert_eq!(suite.len(), 13);
    let suite = plans(&suite);
    let mut group = c.benchmark_group("explore");
    group.sample_size(10);
    group.bench_function("sc: all 13 files of threads/", |b| {
        b.iter(|| {
            for (name, plan) in &suite {
                let ex = explore(plan, &ExploreOptions::default()).unwrap();
                assert!(ex.complete, "{name}");
            }
        })
    });
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/litmus");
    for name in [
        "SB.wast",
        "SB_sc.wast",
        "MP.wast",
        "IRIW.wast",
        "IRIW_sc.wast",
    ] {
        let (_, plan) = plans(&[catalogue.join(name)]).remove(0);
        for (mode, label) in [(MemoryMode::Sc, "sc"), (MemoryMode::Relaxed, "relaxed")] {
            let opts = ExploreOptions {
                memory: mode,
                ..ExploreOptions::default()
            };
            if explore(&plan, &opts).is_err() {
                eprintln!("{label} backend not available: skipping {name} with it");
                continue;
            }
            group.bench_function(format!("{label}: {name}"), |b| {
                b.iter(|| assert!(explore(&plan, &opts).unwrap().complete))
            });
        }
    }
    let one_run = ExploreOptions {
        max_executions: 1,
        ..ExploreOptions::default()
    };
    let sb26 = Plan::from_text(&sb_ring(2, 6)).expect("generated ring");
    group.bench_function("sc: one run of SB ring 2x6 (12 accesses)", |b| {
        b.iter(|| assert_eq!(explore(&sb26, &one_run).unwrap().executions, 1))
    });
    for (label, text) in [
        ("SB ring 2x6", sb_ring(2, 6)),
        ("MP chain 3x6", mp_chain(3, 6)),
        ("SB ring 4x4", sb_ring(4, 4)),
    ] {
        let plan = Plan::from_text(&text).expect("generated program");
        group.bench_function(format!("sc: {label}"), |b| {
            b.iter(|| assert!(explore(&plan, &ExploreOptions::default()).unwrap().complete))
        });
    }
    // Relaxed memory with promises: every allowed outcome of the rings.
    let relaxed = ExploreOptions {
        memory: MemoryMode::Relaxed,
        ..ExploreOptions::default()
    };
    for (label, text, outcomes) in [
        ("SB ring 2x6", sb_ring(2, 6), 4_096),
        ("SB ring 4x4", sb_ring(4, 4), 6_561),
    ] {
        let plan = Plan::from_text(&text).expect("generated program");
        group.bench_function(format!("relaxed: {label}"), |b| {
            b.iter(|| {
                let ex = explore(&plan, &relaxed).unwrap();
                assert!(ex.complete);
                assert_eq!(ex.reachable.len(), outcomes);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
