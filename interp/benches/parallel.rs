//! The native backend's parallel speed-up: a fixed amount of work split over 1 or 2 Wasm
//! threads, each on its own OS thread with its own configuration, over one shared memory
//! of the native backend (docs/native.md). Each thread works on its own region (a
//! linear-congruential generator whose values it adds into 1024 words of its own page,
//! non-atomic loads and stores) and every 64 iterations adds 1 to a shared counter
//! (`i32.atomic.rmw.add`); the counter is checked after each run.
//!
//! Run: `cargo bench -p heddle-interp --bench parallel`. Target (issue 10): 2 threads at
//! least 1.7× faster than 1 on an idle 2-core machine.

use criterion::{criterion_group, criterion_main, Criterion};
use heddle_interp::types::{Limits, MemType};
use heddle_interp::{
    Configuration, ExternVal, FuncAddr, Module, NativeMemory, SharedBackend, Value,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Iterations of the loop in total, over all threads.
const TOTAL: u32 = 4_000_000;

/// The workload (shared with `examples/parallel.rs`).
const WORK: &str = include_str!("parallel.wat");

/// A configuration on the native backend with `WORK` instantiated over `memory`.
fn worker(module: &Arc<Module>, memory: &Arc<NativeMemory>) -> (Configuration, FuncAddr) {
    let mut c = Configuration::new();
    c.set_shared_backend(SharedBackend::Native { wait_limit: None });
    let mem = c.import_native_memory(memory.clone());
    let inst = c
        .instantiate(module.clone(), &[ExternVal::Memory(mem)])
        .expect("instantiates");
    let Some(ExternVal::Func(f)) = c.export(inst, "work") else {
        panic!("no export work")
    };
    (c, f)
}

/// The shared counter (address 0), read through a fresh configuration.
fn counter(memory: &Arc<NativeMemory>) -> u32 {
    let mut c = Configuration::new();
    let mem = c.import_native_memory(memory.clone());
    let b = c.memory_bytes(mem);
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Run `TOTAL` iterations split over `threads` OS threads; the wall time of the run.
fn run(module: &Arc<Module>, threads: u32) -> Duration {
    let memory = Arc::new(
        NativeMemory::new(MemType::new(
            Limits {
                min: 4,
                max: Some(4),
            },
            true,
        ))
        .expect("4 pages"),
    );
    let workers: Vec<_> = (0..threads).map(|_| worker(module, &memory)).collect();
    let n = TOTAL / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for (t, (mut c, f)) in workers.into_iter().enumerate() {
            s.spawn(move || {
                let base = (t as i32 + 1) * 65536;
                let r = c.invoke(f, &[Value::I32(base), Value::I32(n as i32)]);
                assert!(r.is_ok(), "{r:?}");
            });
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(counter(&memory), threads * n.div_ceil(64));
    elapsed
}

fn bench(c: &mut Criterion) {
    let module = Arc::new(Module::decode(&wat::parse_str(WORK).expect("parses")).expect("decodes"));
    let mut group = c.benchmark_group("parallel");
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("threads/{threads}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| run(&module, threads)).sum())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
