//! The harnesses' watchdog and hang bound (issue 25), on wasmtime and node: a `wait` with
//! a finite timeout is never called blocked (the watchdog that has to wake it discards the
//! iteration, with its reason); a test whose threads block every iteration is slow, not
//! hung, whatever its length; an engine that really hangs is reported within its
//! per-iteration bound (`heddle-native` too). node must be installed (a missing engine
//! fails the test).

use heddle_fuzz::engines::js::NodeEngine;
use heddle_fuzz::{DiscardReason, Engine, EngineFailure, Histogram, LitmusTest, RunOptions};
use heddle_model::InvokeResult;
use std::time::{Duration, Instant};

/// `$T0` waits on address 0 (which holds 0) with `timeout` ns; nothing notifies it.
fn lone_wait(timeout: i64) -> LitmusTest {
    let src = format!(
        r#"(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const {timeout}))))
  (invoke "run"))
(wait $T0)
"#
    );
    LitmusTest::from_wast("lone_wait.wast", &src).expect("a litmus test")
}

/// `$T0` adds 1 to a counter outside the reset region (so it counts iterations) and, from
/// the `after`-th iteration on, loops forever: an engine that really hangs, after some
/// quick iterations that calibrate the hang bound.
fn hangs_after(after: u32) -> LitmusTest {
    let src = format!(
        r#"(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (if (i32.ge_u (i32.atomic.rmw.add (i32.const 1024) (i32.const 1)) (i32.const {after}))
        (then (loop $spin (br $spin))))
      (i32.const 0)))
  (invoke "run"))
(wait $T0)
"#
    );
    LitmusTest::unmodelled("hangs_after.wast", &src, 64).expect("a threaded script")
}

/// `$T0` loops forever from the first iteration on (for `heddle-native`, whose every
/// iteration starts on a fresh memory, so no counter can survive from one to the next).
fn hangs_at_once() -> LitmusTest {
    let src = r#"(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (loop $spin (br $spin))
      (i32.const 0)))
  (invoke "run"))
(wait $T0)
"#;
    LitmusTest::unmodelled("hangs_at_once.wast", src, 64).expect("a threaded script")
}

#[cfg(feature = "wasmtime")]
fn wasmtime() -> Box<dyn Engine> {
    Box::new(heddle_fuzz::engines::wasmtime::WasmtimeEngine::new())
}

fn node() -> Box<dyn Engine> {
    let e = NodeEngine::node(None);
    e.version()
        .unwrap_or_else(|f| panic!("node must be installed: {f}"));
    Box::new(e)
}

fn opts(iterations: u64, floor: Duration) -> RunOptions {
    RunOptions {
        iterations,
        seed: 1,
        timeout: floor,
    }
}

fn any_blocked(h: &Histogram) -> bool {
    h.counts.keys().any(|o| {
        o.threads
            .iter()
            .any(|(_, rs)| rs.contains(&InvokeResult::Blocked))
    })
}

/// A 5 s timeout outlasts the watchdog's period (10 ms + twice the timeout, capped at
/// 1.01 s), so the watchdog always finds T0 still queued, as it found the 1 µs waiter of
/// issue 25 that the OS had not run yet: it must discard, never call it blocked.
fn finite_wait_is_never_blocked(engine: &dyn Engine) {
    let test = lone_wait(5_000_000_000);
    let h = engine
        .run(&test, &opts(3, Duration::from_secs(20)))
        .expect("runs");
    eprintln!(
        "{}: {:?}, discarded {} ({})",
        engine.name(),
        h.sorted(),
        h.discarded,
        h.discard_summary()
    );
    assert!(
        !any_blocked(&h),
        "{}: a finite wait called blocked",
        engine.name()
    );
    let counted: u64 = h.counts.values().sum();
    assert_eq!(counted + h.discarded, 3);
    assert!(
        h.discard_reasons.get(&DiscardReason::FiniteWaitWoken) > Some(&0),
        "{}: the watchdog never had to wake the waiter: {:?}",
        engine.name(),
        h.discard_reasons
    );
}

/// A `wait` without timeout that nothing notifies is still blocked, and counted.
fn untimed_wait_is_blocked(engine: &dyn Engine) {
    let test = lone_wait(-1);
    let h = engine
        .run(&test, &opts(200, Duration::from_secs(20)))
        .expect("runs");
    assert!(any_blocked(&h), "{}: {:?}", engine.name(), h.sorted());
    assert_eq!(h.discarded, 0, "{}: {}", engine.name(), h.discard_summary());
}

/// Every iteration blocks (the watchdog decides each, 0.2 ms at least, a few ms under
/// load): 8,000 of them take longer than the 1 s floor, which one bound for the whole test
/// called a hang.
fn blocking_test_is_slow_not_hung(engine: &dyn Engine) {
    let test = lone_wait(-1);
    let floor = Duration::from_secs(1);
    let started = Instant::now();
    let r = engine.run(&test, &opts(8_000, floor));
    let took = started.elapsed();
    eprintln!("{}: 8000 blocking iterations in {took:?}", engine.name());
    let h = r.unwrap_or_else(|f| panic!("{}: {f}", engine.name()));
    assert!(any_blocked(&h));
    assert!(
        took > floor,
        "{}: too quick to tell ({took:?})",
        engine.name()
    );
}

/// The engine hangs in its 6th iteration: reported as a hang once that iteration has made
/// no progress for the bound (the 2 s floor: the first iterations were quick), well before
/// any whole-test bound would have.
fn real_hang_is_reported_within_its_bound(engine: &dyn Engine, slack: Duration) {
    let test = hangs_after(5);
    let floor = Duration::from_secs(2);
    let started = Instant::now();
    let r = engine.run(&test, &opts(1_000_000, floor));
    let took = started.elapsed();
    eprintln!("{}: {r:?} after {took:?}", engine.name());
    match r {
        Err(EngineFailure::Hang(m)) => {
            assert!(m.contains("iteration 6 made no progress"), "{m}");
            assert!(m.contains("5 of 1000000 iterations completed"), "{m}");
        }
        other => panic!("{}: expected a hang, got {other:?}", engine.name()),
    }
    assert!(took >= floor, "{took:?}");
    assert!(took < floor + slack, "{}: {took:?}", engine.name());
}

#[test]
#[cfg(feature = "wasmtime")]
fn wasmtime_never_calls_a_finite_wait_blocked() {
    finite_wait_is_never_blocked(&*wasmtime());
}

#[test]
fn node_never_calls_a_finite_wait_blocked() {
    finite_wait_is_never_blocked(&*node());
}

#[test]
#[cfg(feature = "wasmtime")]
fn wasmtime_still_finds_an_untimed_wait_blocked() {
    untimed_wait_is_blocked(&*wasmtime());
}

#[test]
fn node_still_finds_an_untimed_wait_blocked() {
    untimed_wait_is_blocked(&*node());
}

#[test]
#[cfg(feature = "wasmtime")]
fn wasmtime_blocking_test_is_not_a_hang() {
    blocking_test_is_slow_not_hung(&*wasmtime());
}

#[test]
fn node_blocking_test_is_not_a_hang() {
    blocking_test_is_slow_not_hung(&*node());
}

#[test]
#[cfg(feature = "wasmtime")]
fn wasmtime_real_hang_is_reported_within_its_bound() {
    real_hang_is_reported_within_its_bound(&*wasmtime(), Duration::from_secs(5));
}

#[test]
fn node_real_hang_is_reported_within_its_bound() {
    // node's start-up and the watchdog's own poll come on top.
    real_hang_is_reported_within_its_bound(&*node(), Duration::from_secs(10));
}

/// heddle-native's first iteration spins forever: reported as a hang once it has made no
/// progress for the 2 s floor (no iteration calibrated the bound), not never.
#[test]
fn heddle_native_real_hang_is_reported_within_its_bound() {
    let engine = heddle_fuzz::engines::native::NativeEngine::new();
    let floor = Duration::from_secs(2);
    let started = Instant::now();
    let r = engine.run(&hangs_at_once(), &opts(1_000_000, floor));
    let took = started.elapsed();
    eprintln!("heddle-native: {r:?} after {took:?}");
    match r {
        Err(EngineFailure::Hang(m)) => {
            assert!(m.contains("iteration 1 made no progress"), "{m}");
            assert!(m.contains("0 of 1000000 iterations completed"), "{m}");
        }
        other => panic!("heddle-native: expected a hang, got {other:?}"),
    }
    assert!(took >= floor, "{took:?}");
    assert!(took < floor + Duration::from_secs(5), "{took:?}");
}
