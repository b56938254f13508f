//! The data-race-free wasi-threads fixtures (fixtures/wasi/) on Heddle and on wasmtime 48
//! (issue 27): the same stdout and the same exit status, on Heddle's SC runner under random
//! and PCT schedules and on its native memory. Heddle runs them through `heddle_wasi`,
//! wasmtime through the cross-check runner `heddle_fuzz::engines::wasi_threads`.
#![cfg(feature = "wasmtime")]

use heddle_fuzz::engines::wasi_threads::{run_wasi_threads, WasiExit, WasiRunOptions};
use heddle_interp::Module;
use heddle_wasi::{Backend, Ending, Program, RunOptions, SchedulePolicy, Sink, WasiCtx};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The committed fixture `name` (without `.wasm`).
fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/wasi")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Heddle's run of `wasm`: stdout, and the exit status as wasmtime's runner reports one.
fn heddle(name: &str, wasm: &[u8], options: &RunOptions) -> (String, WasiExit) {
    let module = Module::decode(wasm).unwrap_or_else(|e| panic!("{name}: {e}"));
    let program = Program::check(Arc::new(module)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let ctx = Arc::new(WasiCtx::new(
        vec!["main.wasm".into()],
        Vec::new(),
        Vec::new(),
        0,
        out.clone() as Sink,
        Arc::new(Mutex::new(std::io::sink())) as Sink,
    ));
    let report = heddle_wasi::run(&program, ctx, options).unwrap_or_else(|e| panic!("{name}: {e}"));
    let exit = match report.ending {
        Ending::Exit(code) => WasiExit::Exited(code),
        other => panic!("{name}: {other:?}"),
    };
    let stdout = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    (stdout, exit)
}

#[test]
fn data_race_free_fixtures_print_the_same_on_heddle_and_wasmtime() {
    let heddle_options = [
        RunOptions::default(),
        RunOptions {
            policy: SchedulePolicy::Pct {
                seed: 1,
                depth: 3,
                steps: None,
            },
            ..RunOptions::default()
        },
        RunOptions {
            backend: Backend::Native {
                wait_poll: Duration::from_millis(50),
            },
            ..RunOptions::default()
        },
    ];
    for name in [
        "mutex_counter",
        "mutex_counter_2x2",
        "c11_atomics",
        "condvar",
        "rust_threads",
    ] {
        let wasm = fixture(name);
        let wasmtime = run_wasi_threads(&wasm, &WasiRunOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let wasmtime = (String::from_utf8(wasmtime.stdout).unwrap(), wasmtime.exit);
        assert_eq!(wasmtime.1, WasiExit::Exited(0), "{name}");
        for options in &heddle_options {
            assert_eq!(
                heddle(name, &wasm, options),
                wasmtime,
                "{name}: {:?} {:?}",
                options.backend,
                options.policy
            );
        }
    }
}
