//! Heddle's side of a differential campaign, alone: what `heddle_seconds` measures in
//! `heddle fuzz`, without an engine, split by phase.
//!
//! Generates `N` modules of campaign seed `S` (as for wasmtime: threads on; generation is
//! not timed), then does for each what `diff::compare::check_module` does on Heddle's side:
//! decode, validate and instantiate (`Oracle::new`), list the exports, read every exported
//! global, memory and table, and call every exported function three rounds, reading the
//! state again after every call; then free it. Prints the time of each phase and modules per second.
//!
//! ```sh
//! HEDDLE_SIDE_CACHE=/tmp/modules cargo run --release -p heddle-fuzz --example heddle_side -- [N] [S] [REPEATS] [--side-only]
//! ```

use heddle_fuzz::diff::generate::{arguments, module, module_seed, Rng, TERMINATION_FUEL};
use heddle_fuzz::oracle::{ExportKind, Oracle, OracleOptions, Outcome};
use heddle_interp::Module;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The allocator of the `heddle` command (src/main.rs), so that this measures what a
/// campaign's Heddle's side costs: with glibc's malloc it takes about 1.6 times as long.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `--side-only`: skip the decode-alone and validation-alone passes (for instruction
    // counts of Heddle's side, e.g. under `valgrind --tool=cachegrind`).
    let side_only = std::env::args().any(|a| a == "--side-only");
    let mut args = std::env::args().skip(1).filter(|a| a != "--side-only");
    let n: u64 = args.next().map_or(2_000, |a| a.parse().expect("N"));
    let seed: u64 = args.next().map_or(1, |a| a.parse().expect("S"));
    let repeats: u32 = args.next().map_or(3, |a| a.parse().expect("REPEATS"));
    let modules: Vec<(Vec<u8>, u64)> = (0..n)
        .map(|i| (generated(seed, i), module_seed(seed, i)))
        .collect();
    let bytes: usize = modules.iter().map(|(w, _)| w.len()).sum();
    println!("{n} modules of seed {seed}, {bytes} bytes");
    for _ in 0..repeats {
        let t = Instant::now();
        for (wasm, _) in modules.iter().filter(|_| !side_only) {
            let _ = black_box(Module::decode(wasm));
        }
        let decode = t.elapsed();
        // wasmparser's validation alone (what `Module::decode` does besides lowering).
        let features = heddle_interp::decode::Features::default().wasm_features();
        let t = Instant::now();
        for (wasm, _) in modules.iter().filter(|_| !side_only) {
            let _ =
                black_box(wasmparser::Validator::new_with_features(features).validate_all(wasm));
        }
        let validate = t.elapsed();
        let mut new = Duration::ZERO;
        let mut reads = Duration::ZERO;
        let mut calls = Duration::ZERO;
        let mut call_count = 0u64;
        let cpu = on_cpu_ns();
        for (wasm, arg_seed) in &modules {
            let t = Instant::now();
            let Ok(mut oracle) = Oracle::new(wasm, OracleOptions::default()) else {
                new += t.elapsed();
                continue;
            };
            let exports = oracle.exports();
            new += t.elapsed();
            reads += read_state(&mut oracle, &exports);
            let mut rng = Rng::new(*arg_seed);
            'module: for _ in 0..3 {
                for (name, kind) in &exports {
                    let ExportKind::Func(ty) = kind else { continue };
                    let args = arguments(&mut rng, &ty.params);
                    let t = Instant::now();
                    let outcome = black_box(oracle.call(name, &args));
                    calls += t.elapsed();
                    call_count += 1;
                    reads += read_state(&mut oracle, &exports);
                    if matches!(outcome, Outcome::FuelExhausted | Outcome::Deadlock) {
                        break 'module;
                    }
                }
            }
            let t = Instant::now();
            drop(oracle);
            new += t.elapsed();
        }
        let cpu = on_cpu_ns().zip(cpu).map(|(b, a)| (b - a) as f64 / 1e9);
        let total = new + reads + calls;
        println!(
            "wasmparser's validation alone {:.3} s, decode alone {:.3} s; Heddle's side {:.3} s = new (decode, validate, instantiate, exports; and free) {:.3} + calls {:.3} ({call_count}) + reads {:.3}: {:.0} modules/s; on CPU {:.3} s (the loop, this thread)",
            validate.as_secs_f64(),
            decode.as_secs_f64(),
            total.as_secs_f64(),
            new.as_secs_f64(),
            calls.as_secs_f64(),
            reads.as_secs_f64(),
            n as f64 / total.as_secs_f64(),
            cpu.unwrap_or(f64::NAN)
        );
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`): less
/// disturbed than wall time by other processes on a busy machine.
fn on_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Module `index` of campaign `seed`, kept in a cache directory when the environment
/// variable `HEDDLE_SIDE_CACHE` names one (so that a profile of this example is not mostly
/// wasm-smith).
fn generated(seed: u64, index: u64) -> Vec<u8> {
    let Some(dir) = std::env::var_os("HEDDLE_SIDE_CACHE") else {
        return module(seed, index, true, TERMINATION_FUEL);
    };
    let path = std::path::Path::new(&dir).join(format!("{seed}-{index}.wasm"));
    std::fs::read(&path).unwrap_or_else(|_| {
        let wasm = module(seed, index, true, TERMINATION_FUEL);
        std::fs::create_dir_all(&dir).expect("cache directory");
        std::fs::write(&path, &wasm).expect("cache file");
        wasm
    })
}

/// Read every exported global, memory and table, as a comparison does: globals and
/// tables at once ([`Oracle::export_states`]), memories borrowed one by one.
fn read_state(oracle: &mut Oracle, exports: &[(String, ExportKind)]) -> Duration {
    let t = Instant::now();
    black_box(oracle.export_states());
    for (name, kind) in exports {
        if let ExportKind::Memory = kind {
            black_box(oracle.memory(name).map(|m| m.len()));
        }
    }
    t.elapsed()
}
