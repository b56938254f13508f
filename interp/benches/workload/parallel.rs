//! The parallel workload of the native backend, shared by `benches/parallel.rs` (criterion)
//! and `examples/parallel.rs` (wall and CPU time): a fixed amount of work split over 1 or 2
//! Wasm threads, each on its own OS thread with its own configuration, over one shared
//! memory of the native backend (docs/native.md). Each thread works on its own region (a
//! linear-congruential generator whose values it adds into 1024 words of its own page,
//! non-atomic loads and stores) and every 64 iterations adds 1 to a shared counter
//! (`i32.atomic.rmw.add`); the counter is checked after each run.

use heddle_interp::types::{Limits, MemType};
use heddle_interp::{
    Configuration, ExternVal, FuncAddr, Module, NativeMemory, SharedBackend, Value,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Iterations of the loop in total, over all threads.
pub const TOTAL: u32 = 4_000_000;

/// The workload's module (`benches/parallel.wat`), decoded.
pub fn module() -> Arc<Module> {
    let wat = include_str!("../parallel.wat");
    Arc::new(Module::decode(&wat::parse_str(wat).expect("parses")).expect("decodes"))
}

/// A configuration on the native backend with the workload instantiated over `memory`.
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

/// One run of `TOTAL` iterations split over `threads` OS threads: the wall time, and the
/// sum of the threads' CPU times (`None` where the platform does not tell). Panics if the
/// shared counter is not what the threads added.
pub fn run(module: &Arc<Module>, threads: u32) -> (Duration, Option<Duration>) {
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
