//! The wasi-threads fixtures (fixtures/wasi/) on wasmtime, through the cross-check runner
//! `heddle_fuzz::engines::wasi_threads`: each data-race-free fixture prints its one expected
//! line and exits 0; the racy counter runs and prints a total of at most 4000; the deadlock
//! fixture either finishes or is reported as a hang; and the fixtures import and export
//! exactly what the wasi-threads ABI allows.
#![cfg(feature = "wasmtime")]

use heddle_fuzz::engines::wasi_threads::{
    run_wasi_threads, WasiExit, WasiRunError, WasiRunOptions,
};
use std::path::PathBuf;
use std::time::Duration;

/// The committed fixture `name` (without `.wasm`).
fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/wasi")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs fixture `name` with the default options (60 s bound) and returns its stdout; fails
/// unless it exits 0 with nothing on stderr.
fn run_ok(name: &str) -> String {
    let run = run_wasi_threads(&fixture(name), &WasiRunOptions::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(
        run.exit,
        WasiExit::Exited(0),
        "{name}: stdout {stdout:?} stderr {stderr:?}"
    );
    assert_eq!(stderr, "", "{name}");
    assert_eq!(run.abandoned_threads, 0, "{name}");
    stdout
}

#[test]
fn data_race_free_c_fixtures_print_their_expected_line() {
    for (name, expected, threads) in [
        ("mutex_counter", "counter = 4000\n", 4),
        ("mutex_counter_2x2", "counter = 4\n", 2),
        ("c11_atomics", "atomic = 4000 relaxed = 4000 msg = 42\n", 4),
        ("condvar", "consumed 1000 items, sum = 250500\n", 1),
    ] {
        let run = run_wasi_threads(&fixture(name), &WasiRunOptions::default()).unwrap();
        assert_eq!(run.exit, WasiExit::Exited(0), "{name}");
        assert_eq!(String::from_utf8_lossy(&run.stdout), expected, "{name}");
        assert_eq!(run.spawned_threads, threads, "{name}: threads spawned");
    }
}

#[test]
fn data_race_free_rust_fixture_prints_its_expected_line() {
    assert_eq!(
        run_ok("rust_threads"),
        "mutex = 4000 atomic = 4000 channel = 2002000 ids = 6\n"
    );
}

/// The total printed by a racy counter: `counter = N` with 2 <= N <= 4000 (lost updates
/// may make it less than 4000, nothing can make it more; 2 is the least any interleaving of
/// unsynchronised load/store increments by several threads can leave).
fn racy_total(name: &str) -> u32 {
    let stdout = run_ok(name);
    let total = stdout
        .strip_prefix("counter = ")
        .and_then(|s| s.strip_suffix('\n'))
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("{name}: unexpected output {stdout:?}"));
    assert!(total <= 4000, "{name}: {total} > 4000");
    assert!(total >= 2, "{name}: {total} < 2");
    println!("{name}: counter = {total}");
    total
}

#[test]
fn racy_counters_run_and_print_a_total_of_at_most_4000() {
    racy_total("racy_counter");
    racy_total("rust_racy");
}

#[test]
fn deadlock_fixture_finishes_or_is_reported_as_a_hang() {
    let options = WasiRunOptions {
        bound: Duration::from_secs(10),
        ..WasiRunOptions::default()
    };
    let run = run_wasi_threads(&fixture("deadlock"), &options).unwrap();
    match run.exit {
        WasiExit::Hang => {
            println!("deadlock: reported as a hang (bound 10 s)");
            assert_eq!(run.stdout, b"", "a hung run printed nothing yet");
        }
        WasiExit::Exited(0) => {
            println!("deadlock: this run finished");
            assert_eq!(
                String::from_utf8_lossy(&run.stdout),
                "finished: shared = 40\n"
            );
        }
        other => panic!("deadlock: {other:?}"),
    }
    assert_eq!(
        run.abandoned_threads, 0,
        "the clean-up stops the deadlocked threads"
    );
}

/// A hand-written wasi-threads program: `_start` spawns a thread that stores 1 and
/// notifies, and then waits for it; the thread calls `proc_exit(7)` (when `exit_in_thread`)
/// or traps (`unreachable`), and `_start` would wait forever: the thread ends the program.
fn thread_ends_program(exit_in_thread: bool) -> Vec<u8> {
    let ending = if exit_in_thread {
        "(call $proc_exit (i32.const 7))"
    } else {
        "unreachable"
    };
    wat::parse_str(format!(
        r#"(module
             (import "env" "memory" (memory 1 1 shared))
             (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
             (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
             (export "memory" (memory 0)) ;; preview 1 functions need it
             (func (export "_start")
               (if (i32.le_s (call $spawn (i32.const 0)) (i32.const 0)) (then unreachable))
               ;; wait forever on address 0 (value 0): only the end of the program stops it
               (loop $forever
                 (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
                 (br $forever)))
             (func (export "wasi_thread_start") (param i32 i32)
               {ending}))"#
    ))
    .unwrap()
}

#[test]
fn proc_exit_or_trap_in_a_spawned_thread_ends_the_program() {
    let exit = run_wasi_threads(&thread_ends_program(true), &WasiRunOptions::default()).unwrap();
    assert_eq!(exit.exit, WasiExit::Exited(7));
    assert_eq!(
        exit.abandoned_threads, 0,
        "the waiting _start thread is stopped"
    );
    let trap = run_wasi_threads(&thread_ends_program(false), &WasiRunOptions::default()).unwrap();
    match &trap.exit {
        WasiExit::Trap(message) => assert!(message.contains("unreachable"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(trap.abandoned_threads, 0);
}

#[test]
fn a_spinning_program_is_a_hang_at_the_bound() {
    let spin = wat::parse_str(
        r#"(module
             (import "env" "memory" (memory 1 1 shared))
             (import "wasi" "thread-spawn" (func (param i32) (result i32)))
             (func (export "_start") (loop $l (br $l)))
             (func (export "wasi_thread_start") (param i32 i32)))"#,
    )
    .unwrap();
    let options = WasiRunOptions {
        bound: Duration::from_millis(500),
        ..WasiRunOptions::default()
    };
    let run = run_wasi_threads(&spin, &options).unwrap();
    assert_eq!(run.exit, WasiExit::Hang);
    assert_eq!(
        run.abandoned_threads, 0,
        "epoch interruption stops the spinning thread"
    );
}

#[test]
fn a_module_that_is_not_a_wasi_threads_program_is_an_error() {
    let unshared = wat::parse_str(
        r#"(module (import "env" "memory" (memory 1 1))
             (func (export "_start")) (func (export "wasi_thread_start") (param i32 i32)))"#,
    )
    .unwrap();
    let no_thread_start = wat::parse_str(
        r#"(module (import "env" "memory" (memory 1 1 shared)) (func (export "_start")))"#,
    )
    .unwrap();
    let unknown_import = wat::parse_str(
        r#"(module (import "env" "memory" (memory 1 1 shared)) (import "env" "nope" (func))
             (func (export "_start")) (func (export "wasi_thread_start") (param i32 i32)))"#,
    )
    .unwrap();
    let options = WasiRunOptions::default();
    assert!(matches!(
        run_wasi_threads(&unshared, &options),
        Err(WasiRunError::NotWasiThreads(m)) if m.contains("not shared")
    ));
    assert!(matches!(
        run_wasi_threads(&no_thread_start, &options),
        Err(WasiRunError::NotWasiThreads(m)) if m.contains("wasi_thread_start")
    ));
    assert!(matches!(
        run_wasi_threads(&unknown_import, &options),
        Err(WasiRunError::Link(m)) if m.contains("nope")
    ));
    assert!(matches!(
        run_wasi_threads(b"\0asm\x01\0\0\0\xff", &options),
        Err(WasiRunError::Compile(_))
    ));
}

/// Every fixture imports exactly one shared memory `env.memory`, `wasi.thread-spawn` and
/// `wasi_snapshot_preview1` functions, and exports `_start`, `wasi_thread_start` and
/// `memory`, and for the Rust fixtures `__main_void` (the lists in fixtures/wasi/README.md).
#[test]
fn fixtures_import_and_export_the_wasi_threads_abi() {
    use wasmparser::{Parser, Payload, TypeRef};
    const C: &[&str] = &["_start", "memory", "wasi_thread_start"];
    const RUST: &[&str] = &["__main_void", "_start", "memory", "wasi_thread_start"];
    for (name, expected_exports) in [
        ("mutex_counter", C),
        ("mutex_counter_2x2", C),
        ("c11_atomics", C),
        ("condvar", C),
        ("racy_counter", C),
        ("deadlock", C),
        ("lost_wakeup", C),
        ("rust_threads", RUST),
        ("rust_racy", RUST),
    ] {
        let bytes = fixture(name);
        let (mut memories, mut spawn, mut exports) = (0, 0, Vec::new());
        for payload in Parser::new(0).parse_all(&bytes) {
            match payload.unwrap() {
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        let import = import.unwrap();
                        match (import.module, import.name, import.ty) {
                            ("env", "memory", TypeRef::Memory(m)) => {
                                assert!(m.shared, "{name}: env.memory is shared");
                                memories += 1;
                            }
                            ("wasi", "thread-spawn", TypeRef::Func(_)) => spawn += 1,
                            ("wasi_snapshot_preview1", _, TypeRef::Func(_)) => {}
                            other => panic!("{name}: unexpected import {other:?}"),
                        }
                    }
                }
                Payload::ExportSection(section) => {
                    for export in section {
                        exports.push(export.unwrap().name.to_string());
                    }
                }
                _ => {}
            }
        }
        assert_eq!((memories, spawn), (1, 1), "{name}");
        exports.sort();
        assert_eq!(exports, expected_exports, "{name}");
    }
}
