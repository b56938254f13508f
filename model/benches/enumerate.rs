//! Criterion benchmarks of the enumerator: every catalogue test, the whole catalogue, and
//! generated programs scaling threads × accesses × access width.
//!
//! Run: `cargo bench -p heddle-model --bench enumerate`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use heddle_model::{enumerate, parse_litmus, Config, Program};
use std::path::PathBuf;
use std::time::Duration;

fn catalogue() -> Vec<(String, Program)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/litmus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/litmus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wast"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            (name, parse_litmus(&text).expect("parse"))
        })
        .collect()
}

/// `threads` threads of `accesses` accesses each, alternating a store of the thread's
/// number and a load, to cells rotating with the thread (every cell is shared by every
/// thread); `width` bytes per access, seq-cst or not.
pub fn scaling_program(threads: usize, accesses: usize, width: u8, sc: bool) -> Program {
    let a = if sc { "atomic." } else { "" };
    let (ty, st, ld) = match width {
        1 => ("i32", "store8", "load8_u"),
        2 => ("i32", "store16", "load16_u"),
        4 => ("i32", "store", "load"),
        _ => ("i64", "store", "load"),
    };
    let mut s = String::from("(module $Mem (memory (export \"shared\") 1 1 shared))\n");
    for t in 0..threads {
        let mut ops = Vec::new();
        let mut n = 0;
        for i in 0..accesses {
            let loc = ((t + i) % threads) * 8;
            if i % 2 == 0 {
                ops.push(format!(
                    "({ty}.{a}{st} (i32.const {loc}) ({ty}.const {}))",
                    t + 1
                ));
            } else {
                ops.push(format!("({ty}.{a}{ld} (i32.const {loc}))"));
                n += 1;
            }
        }
        let res = if n > 0 {
            format!("(result{})", format!(" {ty}").repeat(n))
        } else {
            String::new()
        };
        s += &format!(
            "(thread $T{t} (shared (module $Mem)) (module (memory (import \"mem\" \"shared\") 1 1 shared) (func (export \"run\") {res} {})) (invoke \"run\"))\n",
            ops.join(" ")
        );
    }
    for t in 0..threads {
        s += &format!("(wait $T{t})\n");
    }
    parse_litmus(&s).expect("generated program parses")
}

fn bench(c: &mut Criterion) {
    let cfg = Config::default();
    let cat = catalogue();
    let mut g = c.benchmark_group("catalogue");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    g.bench_function("all", |b| {
        b.iter(|| {
            for (_, p) in &cat {
                enumerate(p, &cfg).expect("enumerates");
            }
        })
    });
    for (name, p) in &cat {
        g.bench_with_input(BenchmarkId::new("test", name), p, |b, p| {
            b.iter(|| enumerate(p, &cfg).expect("enumerates"))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("scaling");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for sc in [false, true] {
        for threads in 2..=4 {
            for accesses in 2..=4 {
                let p = scaling_program(threads, accesses, 4, sc);
                let id = format!("{}_{threads}x{accesses}_w4", if sc { "sc" } else { "na" });
                g.bench_function(id, |b| b.iter(|| enumerate(&p, &cfg).expect("enumerates")));
            }
        }
        for width in [1u8, 2, 4, 8] {
            let p = scaling_program(3, 4, width, sc);
            let id = format!("width_{}_3x4_w{width}", if sc { "sc" } else { "na" });
            g.bench_function(id, |b| b.iter(|| enumerate(&p, &cfg).expect("enumerates")));
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
