//! The [`Engine`] trait: anything that can run a litmus test many times and return a
//! [`Histogram`] of the outcomes it observed, in the outcome format of `heddle litmus`
//! (docs/model.md).

use crate::litmus::LitmusTest;
use heddle_interp::rng::{SplitMix64, GOLDEN_GAMMA};
use heddle_model::Outcome;
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How to run a litmus test on an engine.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Iterations of the test (each one: reset the memory, meet at a barrier, run every
    /// script thread once, record the outcome).
    pub iterations: u64,
    /// Seed of the per-thread random delays before each thread's body (litmus7 style). The
    /// same seed gives the same delays; what the hardware does with them is not repeatable.
    pub seed: u64,
    /// The floor of the per-iteration hang bound ([`HangBound`]): an engine is reported as
    /// hung ([`EngineFailure::Hang`]) when one iteration (the first one's set-up included)
    /// makes no progress for this long, or for longer when the engine has shown that it
    /// needs more. There is no bound on the whole test: a slow engine is not a hung one.
    pub timeout: Duration,
}

/// How long one iteration may make no progress before the engine is called hung: the
/// larger of the floor ([`RunOptions::timeout`]) and [`HangBound::FACTOR`] times the
/// slowest of the first [`HangBound::CALIBRATION`] iterations (on a loaded machine, tests
/// whose threads block take milliseconds per iteration, and one iteration now and then
/// much longer). Every harness (wasmtime, the JavaScript one) computes the same bound.
#[derive(Clone, Debug)]
pub struct HangBound {
    floor: Duration,
    slowest: Duration,
    calibrated: u64,
}

impl HangBound {
    /// How many times the slowest calibration iteration one iteration may take.
    pub const FACTOR: u32 = 100;
    /// Iterations whose durations calibrate the bound.
    pub const CALIBRATION: u64 = 100;

    /// The bound before any iteration completed: the floor.
    pub fn new(floor: Duration) -> HangBound {
        HangBound {
            floor,
            slowest: Duration::ZERO,
            calibrated: 0,
        }
    }

    /// Notes that `n` more iterations completed within `took` (each took at most that;
    /// harnesses that poll see several complete between two polls). Only the first
    /// [`Self::CALIBRATION`] iterations count.
    pub fn observe(&mut self, n: u64, took: Duration) {
        if n > 0 && self.calibrated < Self::CALIBRATION {
            self.calibrated = self.calibrated.saturating_add(n);
            self.slowest = self.slowest.max(took);
        }
    }

    /// The current bound.
    pub fn bound(&self) -> Duration {
        self.floor.max(self.slowest.saturating_mul(Self::FACTOR))
    }

    /// The message of a hang: iteration `completed + 1` made no progress for `stalled`,
    /// with the bound and how it was made.
    pub fn hang_message(&self, completed: u64, stalled: Duration) -> String {
        format!(
            "iteration {} made no progress for {:.1} s (bound {:.1} s: {})",
            completed + 1,
            stalled.as_secs_f64(),
            self.bound().as_secs_f64(),
            self.explain()
        )
    }

    /// How the bound was made, for the message of a hang.
    pub fn explain(&self) -> String {
        format!(
            "the larger of the floor {:.1} s and {} x the slowest of the first {} iterations, {:.1} ms",
            self.floor.as_secs_f64(),
            Self::FACTOR,
            self.calibrated.min(Self::CALIBRATION),
            self.slowest.as_secs_f64() * 1000.0
        )
    }
}

/// Why a harness threw an iteration away instead of counting its outcome (docs/xcheck.md,
/// "Blocked threads"). A discard can only hide an outcome, never invent one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscardReason {
    /// The watchdog woke a waiter while another thread still ran (and might have woken
    /// it), or a woken thread may have waited again and been counted twice.
    AmbiguousWake,
    /// The watchdog had to wake a thread whose waits all have finite timeouts: the timeout
    /// had passed but the thread had not run yet (a busy machine), so its result is the
    /// watchdog's doing. Such a thread is never called blocked.
    FiniteWaitWoken,
    /// A recorded histogram gives a discard count without reasons.
    Unrecorded,
}

impl DiscardReason {
    /// Every reason, in report order.
    pub const ALL: [DiscardReason; 3] = [
        DiscardReason::AmbiguousWake,
        DiscardReason::FiniteWaitWoken,
        DiscardReason::Unrecorded,
    ];

    /// The key in JSON (`"discard_reasons"`) and in the JavaScript harness's results.
    pub fn key(self) -> &'static str {
        match self {
            DiscardReason::AmbiguousWake => "ambiguous_wake",
            DiscardReason::FiniteWaitWoken => "finite_wait_woken",
            DiscardReason::Unrecorded => "unrecorded",
        }
    }

    /// The reason with this key.
    pub fn from_key(key: &str) -> Option<DiscardReason> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }

    /// A few words for the human and HTML reports.
    pub fn describe(self) -> &'static str {
        match self {
            DiscardReason::AmbiguousWake => "the watchdog woke a thread another might have woken",
            DiscardReason::FiniteWaitWoken => {
                "the watchdog woke a wait with a finite timeout the OS had not yet run"
            }
            DiscardReason::Unrecorded => "reason not recorded",
        }
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            iterations: 10_000,
            seed: 0,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What an engine observed running one litmus test.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Outcome → number of iterations that ended with it, in the order first seen.
    pub counts: IndexMap<Outcome, u64>,
    /// Iterations run (counted ones plus discarded ones).
    pub iterations: u64,
    /// Iterations thrown away by the harness (docs/xcheck.md, "Blocked threads"): the sum
    /// of [`Self::discard_reasons`].
    pub discarded: u64,
    /// Discarded iterations by reason (reasons with none left out).
    pub discard_reasons: BTreeMap<DiscardReason, u64>,
    /// Wall-clock seconds the engine took for the iterations (set-up excluded where the
    /// engine can tell).
    pub seconds: f64,
}

impl Histogram {
    /// Adds `n` observations of `outcome`.
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        *self.counts.entry(outcome).or_insert(0) += n;
    }

    /// Adds `n` iterations discarded for `reason`.
    pub fn discard(&mut self, reason: DiscardReason, n: u64) {
        if n > 0 {
            *self.discard_reasons.entry(reason).or_insert(0) += n;
            self.discarded += n;
        }
    }

    /// The discarded iterations by reason, as `"8: <reason>; 4: <reason>"`.
    pub fn discard_summary(&self) -> String {
        self.discard_reasons
            .iter()
            .map(|(r, n)| format!("{n}: {}", r.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Outcomes sorted (by thread, then results), with their counts.
    pub fn sorted(&self) -> Vec<(&Outcome, u64)> {
        let mut v: Vec<(&Outcome, u64)> = self.counts.iter().map(|(o, &n)| (o, n)).collect();
        v.sort();
        v
    }
}

/// Why an engine could not produce a histogram for a test. Each of these is reported for
/// that engine and test; the rest of the run goes on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineFailure {
    /// The engine is not installed or cannot start (the message says how to install it).
    #[error("not available: {0}")]
    Unavailable(String),
    /// The engine rejected a module of the test (compile, validation or link error).
    #[error("compile error: {0}")]
    Compile(String),
    /// The engine crashed (a signal, a panic, an uncaught exception, a non-zero exit).
    #[error("crash: {0}")]
    Crash(String),
    /// The engine did not finish within the time bound.
    #[error("hang: {0}")]
    Hang(String),
    /// The harness itself failed (I/O, a protocol error); not the engine's fault.
    #[error("harness error: {0}")]
    Harness(String),
}

impl EngineFailure {
    /// Whether this is a finding about the engine (crash, hang, compile error of a module
    /// Heddle accepts) rather than a missing engine or a harness problem.
    pub fn is_finding(&self) -> bool {
        matches!(
            self,
            EngineFailure::Compile(_) | EngineFailure::Crash(_) | EngineFailure::Hang(_)
        )
    }
}

/// Anything that runs litmus tests: an adapter for one engine.
///
/// Implementations must never panic or hang on a misbehaving engine: every failure is an
/// [`EngineFailure`] for the test at hand, and no iteration may make no progress for longer
/// than its [`HangBound`] (from [`RunOptions::timeout`]).
pub trait Engine: Send + Sync {
    /// Short name used on the command line (`wasmtime`, `node`, `bun`, `chromium`,
    /// `firefox`, `heddle`).
    fn name(&self) -> &str;

    /// The engine's version (e.g. `"wasmtime 48.0.8"`, `"node v20.20.2 (V8 11.3…)"`).
    ///
    /// # Errors
    /// [`EngineFailure::Unavailable`] when the engine is not installed, with a message that
    /// says how to install it or point Heddle at it (`--engine-path NAME=PATH`).
    fn version(&self) -> Result<String, EngineFailure>;

    /// Runs `test` `opts.iterations` times and returns the histogram of outcomes.
    ///
    /// # Errors
    /// An [`EngineFailure`] for this test (the engine's crash, hang or compile error, or
    /// its absence).
    fn run(&self, test: &LitmusTest, opts: &RunOptions) -> Result<Histogram, EngineFailure>;

    /// Runs several tests, calling `done(i, result)` for each `tests[i]` as it finishes.
    /// Engines with a costly start-up (browsers) override this to run a batch in one
    /// session; the default runs the tests one by one.
    fn run_batch(
        &self,
        tests: &[LitmusTest],
        opts: &RunOptions,
        done: &mut dyn FnMut(usize, Result<Histogram, EngineFailure>),
    ) {
        for (i, t) in tests.iter().enumerate() {
            done(i, self.run(t, opts));
        }
    }
}

/// The per-thread seeded delay of the in-process harnesses (wasmtime, heddle-native;
/// splitmix64): half of the iterations start at once, the others after 0–63 spin-loop
/// hints. The same seed and thread give the same sequence.
pub fn delay_sequence(seed: u64, thread: usize) -> impl FnMut() -> u32 {
    let mut rng = SplitMix64::new(seed ^ (thread as u64 + 1).wrapping_mul(GOLDEN_GAMMA));
    move || {
        let z = rng.next_u64();
        if z & 1 == 0 {
            0
        } else {
            ((z >> 1) % 64) as u32
        }
    }
}

/// [`Engine::run`] for engines whose real work is [`Engine::run_batch`] (a batch of one).
///
/// # Errors
/// The batch's failure for the test, or a harness error if the batch reported nothing.
pub fn run_as_batch<E: Engine + ?Sized>(
    engine: &E,
    test: &LitmusTest,
    opts: &RunOptions,
) -> Result<Histogram, EngineFailure> {
    let mut result = None;
    engine.run_batch(std::slice::from_ref(test), opts, &mut |_, r| {
        result = Some(r)
    });
    result.unwrap_or_else(|| {
        Err(EngineFailure::Harness(
            "the engine reported no result".into(),
        ))
    })
}

impl fmt::Debug for dyn Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Engine({})", self.name())
    }
}
