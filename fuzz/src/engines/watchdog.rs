//! The watchdog's decision about an iteration that made no progress for a period
//! (docs/xcheck.md, "Blocked threads"), shared by the in-process harness (wasmtime); the
//! JavaScript harness (`fuzz/js/core.js`, `watchdogMain`) makes the same decision.

use crate::engine::DiscardReason;

/// What one sweep of the watchdog saw: it notified every waiter of the reset region after
/// noting which threads were running (in an invoke, not at a barrier, a spawn or a join).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// Threads that were running.
    pub running: u64,
    /// Waiters the notifications woke.
    pub woken: u64,
    /// No woken thread can have waited again during the sweep and been counted twice.
    pub counted_once: bool,
    /// No running thread's current invoke has a `wait` whose timeout can fire
    /// ([`crate::LitmusTest::untimed_per_invoke`]).
    pub untimed: bool,
}

/// The decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nobody was waiting: a thread is merely slow; keep watching.
    Slow,
    /// Every running thread was in a `wait` without timeout that nothing else could end:
    /// each is blocked at its current invoke.
    Blocked,
    /// The watchdog woke someone, and the iteration's results are no longer the engine's
    /// alone.
    Discard(DiscardReason),
}

/// Decides about a sweep. A thread is called blocked only when every running thread was
/// woken exactly once and none of them was in an invoke whose `wait`s may time out: a
/// `wait` with a finite timeout ends by itself, and finding it still queued only means the
/// OS has not run the thread yet (on a loaded machine, for longer than the watchdog's
/// period), so waking it makes the iteration the watchdog's doing: discarded.
pub fn verdict(s: Sweep) -> Verdict {
    if s.woken == 0 {
        Verdict::Slow
    } else if !s.untimed {
        Verdict::Discard(DiscardReason::FiniteWaitWoken)
    } else if s.woken == s.running && s.counted_once {
        Verdict::Blocked
    } else {
        Verdict::Discard(DiscardReason::AmbiguousWake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep(running: u64, woken: u64, untimed: bool) -> Sweep {
        Sweep {
            running,
            woken,
            counted_once: true,
            untimed,
        }
    }

    #[test]
    fn a_lone_waiter_without_timeout_is_blocked() {
        assert_eq!(verdict(sweep(1, 1, true)), Verdict::Blocked);
        assert_eq!(verdict(sweep(2, 2, true)), Verdict::Blocked);
    }

    /// Issue 25: `wait32 0 0 (i64.const 1000)` found still queued after the period (the OS
    /// had not run the thread) was called blocked, a forbidden outcome.
    #[test]
    fn a_waiter_with_a_finite_timeout_is_never_blocked() {
        assert_eq!(
            verdict(sweep(1, 1, false)),
            Verdict::Discard(DiscardReason::FiniteWaitWoken)
        );
    }

    #[test]
    fn waking_fewer_than_run_or_twice_is_ambiguous() {
        assert_eq!(
            verdict(sweep(2, 1, true)),
            Verdict::Discard(DiscardReason::AmbiguousWake)
        );
        let twice = Sweep {
            counted_once: false,
            ..sweep(1, 1, true)
        };
        assert_eq!(
            verdict(twice),
            Verdict::Discard(DiscardReason::AmbiguousWake)
        );
        assert_eq!(verdict(sweep(2, 0, false)), Verdict::Slow);
    }
}
