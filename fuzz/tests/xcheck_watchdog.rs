//! The harnesses' watchdog and hang bound (issue 25), on wasmtime and node: a `wait` with
//! a finite timeout is never called blocked (the watchdog that has to wake it discards the
//! iteration, with its reason); a test whose threads block every iteration is slow, not
//! hung, whatever its length; an engine that really hangs is reported within its
//! per-iteration bound (`heddle-native` too). node must be installed (a missing engine
//! fails the test).

mod common;
use heddle_fuzz::engines::js::NodeEngine;
use heddle_fuzz::{DiscardReason, Engine, EngineFailure, Histogram, LitmusTest, RunOptions};
use heddle_model::InvokeResult;
use std::time::{Duration, Instant};

/// `$T0` waits on address 0 (which holds 0) with `timeout` ns; nothing notifies it.
fn lone_wait(timeout: i64) -> LitmusTest {
    LitmusTest::from_wast("lone_wait.wast", &common::lone_wait_source(timeout))
        .expect("a litmus test")
}

/// `$T0` adds 1 to a counter outside the reset region (so it counts iterations) and, from
/// the `after`-th iteration on, loops forever: an engine that really hangs, after some
/// quick iterations that calibrate the hang bound. On `heddle-native`, whose every iteration
/// starts on a fresh memory, the counter is 0 every time: `hangs_after(0)` hangs at once.
fn hangs_after(after: u32) -> LitmusTest {
    let src = common::one_thread(&format!(
        r#"(func (export "run") (result i32)
      (if (i32.ge_u (i32.atomic.rmw.add (i32.const 1024) (i32.const 1)) (i32.const {after}))
        (then (loop $spin (br $spin))))
      (i32.const 0))"#
    ));
    LitmusTest::unmodelled("hangs_after.wast", &src, 64).expect("a threaded script")
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

/// The engine hangs in iteration `after + 1`: reported as a hang once that iteration has
/// made no progress for the bound (the 2 s floor: the first iterations were quick), well
/// before any whole-test bound would have.
fn real_hang_is_reported_within_its_bound(engine: &dyn Engine, after: u32, slack: Duration) {
    let test = hangs_after(after);
    let floor = Duration::from_secs(2);
    let started = Instant::now();
    let r = engine.run(&test, &opts(1_000_000, floor));
    let took = started.elapsed();
    eprintln!("{}: {r:?} after {took:?}", engine.name());
    match r {
        Err(EngineFailure::Hang(m)) => {
            let iteration = format!("iteration {} made no progress", after + 1);
            assert!(m.contains(&iteration), "{m}");
            let completed = format!("{after} of 1000000 iterations completed");
            assert!(m.contains(&completed), "{m}");
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
    real_hang_is_reported_within_its_bound(&*wasmtime(), 5, Duration::from_secs(5));
}

#[test]
fn node_real_hang_is_reported_within_its_bound() {
    // node's start-up and the watchdog's own poll come on top.
    real_hang_is_reported_within_its_bound(&*node(), 5, Duration::from_secs(10));
}

/// heddle-native's first iteration spins forever (a fresh memory every iteration): a hang
/// within the floor (no iteration calibrated the bound).
#[test]
fn heddle_native_real_hang_is_reported_within_its_bound() {
    let engine = heddle_fuzz::engines::native::NativeEngine::new();
    real_hang_is_reported_within_its_bound(&engine, 0, Duration::from_secs(5));
}
