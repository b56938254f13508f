//! Wall-clock time of one wasi-threads program (e.g. `fixtures/wasi/mutex_counter.wasm`,
//! 4 x 1,000 increments under a pthread mutex) on Heddle's SC runner (random schedule,
//! seeds 0, 1, ...), on Heddle's native memory, and on wasmtime 48 (the cross-check runner
//! `heddle_fuzz::engines::wasi_threads`), all in this process: best and median of `N` runs
//! each, in milliseconds, from decoding (Heddle) or compiling (wasmtime) to the end. Every
//! run must print what wasmtime's first run printed, with exit 0. BENCHMARKS.md, "WASI
//! programs".
//!
//! ```sh
//! cargo run --release -p heddle-fuzz --example wasi_fixture_time -- fixtures/wasi/mutex_counter.wasm [N]
//! ```

use heddle_fuzz::engines::wasi_threads::{run_wasi_threads, WasiExit, WasiRunOptions};
use heddle_interp::Module;
use heddle_wasi::{Backend, Ending, Program, RunOptions, SchedulePolicy, Sink, WasiCtx};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One way to run the program: run `seed` (SC's schedule seed; the others ignore it) to its
/// stdout, or why it did not exit 0.
type Runner<'a> = dyn Fn(u64) -> Result<Vec<u8>, String> + 'a;

/// Heddle's run of `wasm` with `options`: its stdout, or why it did not exit 0.
fn heddle(wasm: &[u8], options: &RunOptions) -> Result<Vec<u8>, String> {
    let module = Module::decode(wasm).map_err(|e| e.to_string())?;
    let program = Program::check(Arc::new(module)).map_err(|e| e.to_string())?;
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let ctx = Arc::new(WasiCtx::new(
        vec!["main.wasm".into()],
        Vec::new(),
        Vec::new(),
        0,
        out.clone() as Sink,
        Arc::new(Mutex::new(std::io::sink())) as Sink,
    ));
    let report = heddle_wasi::run(&program, ctx, options).map_err(|e| e.to_string())?;
    match report.ending {
        Ending::Exit(0) => Ok(out.lock().unwrap_or_else(|e| e.into_inner()).clone()),
        other => Err(format!("{other:?}")),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: wasi_fixture_time FILE.wasm [N]");
        std::process::exit(2);
    };
    let n: u64 = match args.next().map(|s| s.parse()) {
        None => 10,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("N: a positive number");
            std::process::exit(2);
        }
    };
    let wasm = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2)
    });
    let wasmtime = |_seed: u64| -> Result<Vec<u8>, String> {
        let run = run_wasi_threads(&wasm, &WasiRunOptions::default()).map_err(|e| e.to_string())?;
        match run.exit {
            WasiExit::Exited(0) => Ok(run.stdout),
            other => Err(format!("{other:?}")),
        }
    };
    let expected = match wasmtime(0) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("{path} on wasmtime: {e}");
            std::process::exit(1);
        }
    };
    let sc = |seed| {
        heddle(
            &wasm,
            &RunOptions {
                policy: SchedulePolicy::Random { seed },
                ..RunOptions::default()
            },
        )
    };
    let native = |_seed| {
        heddle(
            &wasm,
            &RunOptions {
                backend: Backend::Native {
                    wait_poll: Duration::from_millis(50),
                },
                ..RunOptions::default()
            },
        )
    };
    let runners: [(&str, &Runner); 3] = [
        ("heddle --memory sc (random, seeds 0..N)", &sc),
        ("heddle --memory native", &native),
        ("wasmtime 48", &wasmtime),
    ];
    print!("{path}: {}", String::from_utf8_lossy(&expected));
    for (name, runner) in runners {
        let mut times = Vec::new();
        for seed in 0..n {
            let start = Instant::now();
            let out = runner(seed);
            times.push(start.elapsed());
            if out.as_ref() != Ok(&expected) {
                eprintln!("{name}, run {seed}: {out:?}");
                std::process::exit(1);
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name}: best {:.1} ms, median {:.1} ms (of {n})",
            ms(times[0]),
            ms(times[times.len() / 2])
        );
    }
}
