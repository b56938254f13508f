//! The native backend's parallel speed-up as one command that also reports CPU time: the
//! workload of `benches/parallel.rs` (a fixed amount of work split over 1 or 2 Wasm
//! threads on OS threads, each on its own region plus a shared atomic counter), best of
//! `ROUNDS` runs each, with the wall time and, on Linux, the threads' CPU time (from
//! `/proc/thread-self/schedstat`). On a loaded machine the wall-clock speed-up says little;
//! CPU time per iteration that does not grow with 2 threads shows that the threads do not
//! slow each other down.
//!
//! Run: `cargo run -p heddle-interp --release --example parallel`.

use heddle_interp::types::{Limits, MemType};
use heddle_interp::{
    Configuration, ExternVal, FuncAddr, Module, NativeMemory, SharedBackend, Value,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Iterations of the loop in total, over all threads.
const TOTAL: u32 = 4_000_000;
/// Runs per thread count; the best is reported.
const ROUNDS: usize = 5;

const WORK: &str = include_str!("../benches/parallel.wat");

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

/// CPU time of the calling thread so far (Linux; `None` elsewhere).
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// One run: the wall time, and the sum of the threads' CPU times.
fn run(module: &Arc<Module>, threads: u32) -> (Duration, Option<Duration>) {
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
    let cpu: Vec<Option<Duration>> = std::thread::scope(|s| {
        let handles: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(t, (mut c, f))| {
                s.spawn(move || {
                    let before = thread_cpu();
                    let base = (t as i32 + 1) * 65536;
                    let r = c.invoke(f, &[Value::I32(base), Value::I32(n as i32)]);
                    assert!(r.is_ok(), "{r:?}");
                    Some(thread_cpu()? - before?)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let wall = start.elapsed();
    let mut check = Configuration::new();
    let mem = check.import_native_memory(memory);
    let b = check.memory_bytes(mem);
    assert_eq!(
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        threads * n.div_ceil(64),
        "shared counter"
    );
    (wall, cpu.into_iter().sum())
}

fn main() {
    let module = Arc::new(Module::decode(&wat::parse_str(WORK).expect("parses")).expect("decodes"));
    let mut best = Vec::new();
    for threads in [1u32, 2] {
        let runs: Vec<_> = (0..ROUNDS).map(|_| run(&module, threads)).collect();
        let wall = runs.iter().map(|r| r.0).min().expect("runs");
        let cpu = runs.iter().filter_map(|r| r.1).min();
        println!(
            "{threads} thread(s): best wall {:.3} s; CPU {} ({TOTAL} iterations in total)",
            wall.as_secs_f64(),
            cpu.map_or("n/a".into(), |c| format!(
                "{:.3} s, {:.1} ns per iteration",
                c.as_secs_f64(),
                c.as_nanos() as f64 / f64::from(TOTAL)
            )),
        );
        best.push(wall);
    }
    println!(
        "speed-up (best wall, 1 thread / 2 threads): {:.2}x",
        best[0].as_secs_f64() / best[1].as_secs_f64()
    );
}
