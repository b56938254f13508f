//! The [`Engine`] trait: anything that can run a litmus test many times and return a
//! [`Histogram`] of the outcomes it observed, in the outcome format of `heddle litmus`
//! (docs/model.md).

use crate::litmus::LitmusTest;
use heddle_model::Outcome;
use indexmap::IndexMap;
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
    /// Bound on one test's wall-clock time on one engine (set-up included). An engine that
    /// has not finished by then is reported as hung ([`EngineFailure::Hang`]).
    pub timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            iterations: 10_000,
            seed: 0,
            timeout: Duration::from_secs(60),
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
    /// Iterations thrown away by the harness: a thread was found waiting while another was
    /// still running when the watchdog woke it, so its results say nothing about the test
    /// (docs/xcheck.md, "Blocked threads").
    pub discarded: u64,
    /// Wall-clock seconds the engine took for the iterations (set-up excluded where the
    /// engine can tell).
    pub seconds: f64,
}

impl Histogram {
    /// Adds `n` observations of `outcome`.
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        *self.counts.entry(outcome).or_insert(0) += n;
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
/// [`EngineFailure`] for the test at hand, and every run is bounded by
/// [`RunOptions::timeout`].
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
    let mut state = seed ^ (thread as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
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
