//! The native backend's parallel speed-up: the workload of `benches/workload/parallel.rs`
//! (a fixed amount of work split over 1 or 2 Wasm threads on OS threads, each on its own
//! region plus a shared atomic counter), wall time per run.
//!
//! Run: `cargo bench -p heddle-interp --bench parallel`. Target (issue 10): 2 threads at
//! least 1.7× faster than 1 on an idle 2-core machine.

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "workload/parallel.rs"]
mod workload;

fn bench(c: &mut Criterion) {
    let module = workload::module();
    let mut group = c.benchmark_group("parallel");
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("threads/{threads}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| workload::run(&module, threads).0).sum())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
