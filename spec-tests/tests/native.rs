//! The `.wast` runner on the native backend (`heddle wast --memory native`): script threads
//! on OS threads, wait/notify across them, deadlocks bounded, and what is not shared.

use heddle_interp::SharedBackend;
use heddle_spec_tests::{run_wast_source, RunOptions};
use std::time::Duration;

fn native(wait_limit_ms: u64) -> RunOptions {
    RunOptions {
        memory: SharedBackend::Native {
            wait_limit: Some(Duration::from_millis(wait_limit_ms)),
        },
        ..RunOptions::default()
    }
}

const MEM: &str = r#"(module $Mem (memory (export "shared") 1 1 shared))"#;

/// A thread waits; another stores and notifies until one is woken; main checks the
/// store after joining both.
#[test]
fn wait_and_notify_across_os_threads() {
    let src = format!(
        r#"{MEM}
(thread $W (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "run") (either (i32.const 0) (i32.const 1))))
(thread $N (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.atomic.store (i32.const 0) (i32.const 7))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))))
  (invoke "run"))
(wait $W)
(wait $N)
(module (memory (import "mem" "shared") 1 1 shared)
  (func (export "get") (result i32) (i32.atomic.load (i32.const 0))))
"#
    );
    // `register` in main too, for the last module.
    let src = src.replacen("\n(thread $W", "\n(register \"mem\" $Mem)\n(thread $W", 1);
    for _ in 0..50 {
        let r = run_wast_source("wn.wast", &src, &native(5_000));
        assert_eq!(r.failed, 0, "{:#?}", r.failures);
        assert_eq!(r.passed, 13, "main 7, $W 3, $N 3");
    }
    let with_check = format!("{src}(assert_return (invoke \"get\") (i32.const 7))\n");
    let r = run_wast_source("wn.wast", &with_check, &native(5_000));
    assert_eq!(r.failed, 0, "{:#?}", r.failures);
}

/// A wait nobody notifies traps with "deadlock" after the wait limit, and the file goes
/// on.
#[test]
fn a_deadlock_is_bounded_by_the_wait_limit() {
    let src = format!(
        r#"{MEM}
(thread $W (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))))
  (assert_return (invoke "run") (i32.const 0)))
(wait $W)
(module (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 1))
"#
    );
    let r = run_wast_source("dl.wast", &src, &native(50));
    assert_eq!(r.failed, 1, "{:#?}", r.failures);
    assert_eq!(r.failures[0].thread, "$W");
    assert!(
        r.failures[0].message.contains("deadlock"),
        "{}",
        r.failures[0].message
    );
    assert_eq!(r.passed, 7, "main: 5 directives; $W: register, module");
}

/// Only shared memories cross OS threads: a function of a shared module is not
/// invocable from another script thread, and the failure says why.
#[test]
fn functions_of_shared_modules_are_not_shared() {
    let src = r#"
(module $M (memory (export "shared") 1 1 shared)
  (func (export "f") (result i32) (i32.const 1)))
(thread $T (shared (module $M))
  (assert_return (invoke $M "f") (i32.const 1)))
(wait $T)
"#;
    let r = run_wast_source("f.wast", src, &native(1_000));
    assert_eq!(r.failed, 1, "{:#?}", r.failures);
    assert!(
        r.failures[0]
            .message
            .contains("only shared memories are shared"),
        "{}",
        r.failures[0].message
    );
    // The same script passes on the default backend, which shares whole instances.
    assert_eq!(
        run_wast_source("f.wast", src, &RunOptions::default()).failed,
        0
    );
}
