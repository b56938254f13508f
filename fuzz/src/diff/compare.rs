//! Comparison of one module in Heddle and an engine: calls, traps (under the trap
//! equivalence policy), exported state; and the skip reasons where a comparison would not
//! be meaningful. docs/fuzz.md states the policy.

use super::engine::{Compiled, Compiler, DiffEngine, EngineInstantiation, EngineOutcome};
use super::generate::{arguments, Rng};
use crate::oracle::{
    ExportKind, ExportState, ModuleErrorKind, Oracle, OracleError, OracleOptions, Outcome, TrapKind,
};
use heddle_interp::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Settings of one module's comparison.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// The oracle's options (its fuel per call, call depth, planted fault).
    pub oracle: OracleOptions,
    /// Fuel an engine gets per call: generous next to Heddle's (engines charge differently,
    /// e.g. nothing for `nop` or `block`), so that an engine running out of fuel where
    /// Heddle finished is rare; when it happens it is the skip `fuel-model`.
    pub engine_fuel: u64,
    /// Total virtual time (ns) a module's calls may spend waiting in timed-out `wait`s
    /// before the module is skipped (`long-wait`): a real engine sleeps that long.
    pub wait_budget_ns: u64,
    /// How many times every exported function is called (in export order, round after
    /// round, each call with fresh arguments): compiling a module costs an engine far more
    /// than a call, so a few rounds compare more per module and reach state that earlier
    /// calls left behind.
    pub rounds: u32,
}

impl Default for CheckOptions {
    fn default() -> Self {
        let oracle = OracleOptions::default();
        CheckOptions {
            oracle,
            engine_fuel: oracle.fuel * 4 + 10_000,
            wait_budget_ns: 1_000_000,
            rounds: 3,
        }
    }
}

/// Why (part of) a module was not compared. A skip ends the module's comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// Heddle rejected the module as invalid, and so did the engine: nothing to run.
    Invalid,
    /// Heddle does not implement a feature the module uses.
    HeddleUnsupported,
    /// Heddle's fuel ran out (in the start function or a call): the engine is not run,
    /// since where it stops would differ.
    Fuel,
    /// Heddle finished but the engine's (larger) fuel ran out: the fuel models differ.
    FuelModel,
    /// Either side exhausted its call stack: the depth limits differ.
    CallDepth,
    /// A `wait` with no timeout on a lone thread: an engine would block forever.
    WaitForever,
    /// Timed-out waits would make the engine sleep longer than the wait budget.
    LongWait,
    /// The engine hit one of its resource limits (not a spec trap).
    EngineResource,
}

impl Skip {
    /// The reason's name in reports (`skips` in JSON).
    pub fn name(self) -> &'static str {
        match self {
            Skip::Invalid => "invalid",
            Skip::HeddleUnsupported => "heddle-unsupported",
            Skip::Fuel => "fuel",
            Skip::FuelModel => "fuel-model",
            Skip::CallDepth => "call-depth",
            Skip::WaitForever => "wait-forever",
            Skip::LongWait => "long-wait",
            Skip::EngineResource => "engine-resource",
        }
    }
}

/// A difference between Heddle and the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// `validate`, `instantiate`, `result`, `trap`, `global`, `memory`, `table`,
    /// `engine-error`, `engine-panic` or `heddle-panic`.
    pub kind: &'static str,
    /// One line saying what differed.
    pub summary: String,
}

/// What checking one module found.
#[derive(Clone, Debug, Default)]
pub struct ModuleCheck {
    /// Calls compared.
    pub calls: u64,
    /// Whether the module instantiated in both.
    pub instantiated: bool,
    /// Why the comparison stopped early, if it did.
    pub skip: Option<Skip>,
    /// The first difference, if any.
    pub difference: Option<Difference>,
    /// Whether Heddle panicked (also reported as a `heddle-panic` difference).
    pub heddle_panicked: bool,
    /// Time spent in Heddle (decode, validate, instantiate, calls, reads, freeing the
    /// instance), in seconds.
    pub heddle_seconds: f64,
}

/// Two values are equal under the campaign's policy: bit-equal, except that any two NaNs
/// of the same type are equal (the spec leaves NaN payloads nondeterministic), v128 values
/// are equal if they are lane-wise equal in that sense as `f32x4` or as `f64x2`, and
/// references compare by nullness only.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    fn nan32(x: u32) -> bool {
        f32::from_bits(x).is_nan()
    }
    fn nan64(x: u64) -> bool {
        f64::from_bits(x).is_nan()
    }
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x == y || (nan32(*x) && nan32(*y)),
        (Value::F64(x), Value::F64(y)) => x == y || (nan64(*x) && nan64(*y)),
        (Value::V128(x), Value::V128(y)) => {
            let f32x4 = (0..4).all(|i| {
                let (p, q) = ((x >> (32 * i)) as u32, (y >> (32 * i)) as u32);
                p == q || (nan32(p) && nan32(q))
            });
            let f64x2 = (0..2).all(|i| {
                let (p, q) = ((x >> (64 * i)) as u64, (y >> (64 * i)) as u64);
                p == q || (nan64(p) && nan64(q))
            });
            x == y || f32x4 || f64x2
        }
        (Value::FuncRef(x), Value::FuncRef(y)) => x.is_none() == y.is_none(),
        (Value::ExternRef(x), Value::ExternRef(y)) => x.is_none() == y.is_none(),
        _ => a == b,
    }
}

/// The trap equivalence policy. The spec has a single trap: which check fails first is not
/// observable to a program. Reasons are still compared, as equal [`TrapKind`]s, except for
/// these pairs (Heddle's reason first), where engines order their checks differently from
/// the spec and Heddle (docs/fuzz.md):
///
/// * `unaligned atomic` / `out of bounds memory access`: `wait`/`notify` (or an atomic
///   access) whose effective address is both unaligned and out of bounds (wasmtime checks
///   bounds first when `address + offset` passes 2^32);
/// * `expected shared memory` / `out of bounds memory access`: `wait` on an unshared
///   memory at an out-of-bounds address (wasmtime checks bounds first).
pub fn traps_equivalent(heddle: TrapKind, engine: TrapKind) -> bool {
    heddle == engine
        || matches!(
            (heddle, engine),
            (TrapKind::UnalignedAtomic, TrapKind::OutOfBoundsMemoryAccess)
                | (
                    TrapKind::ExpectedSharedMemory,
                    TrapKind::OutOfBoundsMemoryAccess
                )
        )
}

fn show(vals: &[Value]) -> String {
    let v: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
    format!("[{}]", v.join(", "))
}

/// A module's compilation by the engine, made ahead of its comparison
/// ([`compile_ahead`]): what the engine's [`Compiler`] made, or its panic as an
/// `engine-panic` difference.
pub struct Ahead(Result<Compiled, Difference>);

/// Compile `wasm` with `compiler` (of the engine named `engine`), a panic caught. A
/// campaign compiles a batch of modules with this before Heddle prepares the batch and
/// each module is compared ([`super::run_campaign`]).
pub fn compile_ahead(compiler: &dyn Compiler, engine: &str, wasm: &[u8]) -> Ahead {
    Ahead(
        catch_unwind(AssertUnwindSafe(|| compiler.compile(wasm))).map_err(|p| Difference {
            kind: "engine-panic",
            summary: format!("{engine} panicked: {}", panic_message(&*p)),
        }),
    )
}

/// Heddle's side of a module made ahead of its comparison ([`prepare`]): the oracle
/// (decoded, validated, instantiated), or why there is none, and the time that took.
pub struct Prepared {
    /// The instantiated oracle, Heddle's error, or (outer `Err`) Heddle's panic as a
    /// `heddle-panic` difference.
    oracle: Result<Result<Oracle, OracleError>, Difference>,
    /// Wall time of the preparation.
    time: std::time::Duration,
}

/// Decode, validate and instantiate `wasm` in Heddle with `options.oracle`, timed, a panic
/// caught: the first step of [`check_module`], made ahead for [`check_compiled`].
pub fn prepare(wasm: &[u8], options: &CheckOptions) -> Prepared {
    let mut time = std::time::Duration::ZERO;
    let oracle = timed_catch(&mut time, || Oracle::new(wasm, options.oracle));
    Prepared { oracle, time }
}

/// Check one module: instantiate it in Heddle and in `engine`, call every exported
/// function ([`CheckOptions::rounds`] times) with arguments from `arg_seed`, and compare
/// results, traps and the exported globals, memories and tables after instantiation and
/// after every call. Panics of either side are caught and reported as differences.
pub fn check_module(
    wasm: &[u8],
    engine: &mut dyn DiffEngine,
    options: &CheckOptions,
    arg_seed: u64,
) -> ModuleCheck {
    check(wasm, None, engine, options, arg_seed)
}

/// [`check_module`] with the engine's compilation of `wasm` made ahead by
/// [`compile_ahead`] with `engine`'s [`DiffEngine::compiler`], and Heddle's instantiation
/// by [`prepare`] (with the same `options`). The result is the same.
pub fn check_compiled(
    wasm: &[u8],
    compiled: Ahead,
    prepared: Prepared,
    engine: &mut dyn DiffEngine,
    options: &CheckOptions,
    arg_seed: u64,
) -> ModuleCheck {
    check(wasm, Some((compiled, prepared)), engine, options, arg_seed)
}

/// [`check_module`], with both sides' first steps made `ahead` or not.
fn check(
    wasm: &[u8],
    ahead: Option<(Ahead, Prepared)>,
    engine: &mut dyn DiffEngine,
    options: &CheckOptions,
    arg_seed: u64,
) -> ModuleCheck {
    let mut check = ModuleCheck::default();
    let mut heddle_time = std::time::Duration::ZERO;
    let mut oracle = None;
    let result = run(
        wasm,
        ahead,
        engine,
        options,
        arg_seed,
        &mut check,
        &mut heddle_time,
        &mut oracle,
    );
    // Freeing the instance (its store and module) is Heddle's work too.
    let freed = heddle(&mut heddle_time, move || drop(oracle));
    check.heddle_seconds = heddle_time.as_secs_f64();
    match result.and(freed) {
        Ok(()) => {}
        Err(Stop::Skip(s)) => check.skip = Some(s),
        Err(Stop::Differ(d)) => {
            check.heddle_panicked = d.kind == "heddle-panic";
            check.difference = Some(d);
        }
    }
    check
}

enum Stop {
    Skip(Skip),
    Differ(Difference),
}

fn differ(kind: &'static str, summary: String) -> Stop {
    Stop::Differ(Difference { kind, summary })
}

/// The message of a caught panic (`&str` or `String` payloads), else "panic".
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Run `f` on Heddle's side: timed, and a panic becomes a `heddle-panic` difference.
fn heddle<T>(time: &mut std::time::Duration, f: impl FnOnce() -> T) -> Result<T, Stop> {
    timed_catch(time, f).map_err(Stop::Differ)
}

/// [`heddle`], with the panic as a bare [`Difference`].
fn timed_catch<T>(time: &mut std::time::Duration, f: impl FnOnce() -> T) -> Result<T, Difference> {
    let t = std::time::Instant::now();
    let r = catch_unwind(AssertUnwindSafe(f));
    *time += t.elapsed();
    r.map_err(|p| Difference {
        kind: "heddle-panic",
        summary: format!("Heddle panicked: {}", panic_message(&*p)),
    })
}

/// Run `f` on the engine's side: a panic becomes an `engine-panic` difference.
fn engine_side<T>(name: &str, f: impl FnOnce() -> T) -> Result<T, Stop> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        differ(
            "engine-panic",
            format!("{name} panicked: {}", panic_message(&*p)),
        )
    })
}

#[allow(clippy::too_many_arguments)] // the module, both sides, and where results go
fn run(
    wasm: &[u8],
    ahead: Option<(Ahead, Prepared)>,
    engine: &mut dyn DiffEngine,
    options: &CheckOptions,
    arg_seed: u64,
    check: &mut ModuleCheck,
    time: &mut std::time::Duration,
    slot: &mut Option<Oracle>,
) -> Result<(), Stop> {
    let name = engine.name();
    let (compiled, prepared) = ahead.unzip();
    let h = match prepared {
        Some(p) => {
            *time += p.time;
            p.oracle.map_err(Stop::Differ)?
        }
        None => heddle(time, || Oracle::new(wasm, options.oracle))?,
    };
    // The oracle lives in `slot`, so that the caller frees it on Heddle's clock.
    let h = h.map(|o| slot.insert(o));
    // A start function that would make the engine block forever or sleep long: the
    // engine is not run (see `Skip::WaitForever`, `Skip::LongWait`).
    let h = match h {
        Err(OracleError::Deadlock) => return Err(Stop::Skip(Skip::WaitForever)),
        Err(OracleError::TrapAfterWait { waited_ns, .. }) if waited_ns > options.wait_budget_ns => {
            return Err(Stop::Skip(Skip::LongWait))
        }
        Err(OracleError::TrapAfterWait { trap, .. }) => Err(OracleError::Trap(trap)),
        Ok(o) if o.waited_ns() > options.wait_budget_ns => return Err(Stop::Skip(Skip::LongWait)),
        other => other,
    };
    let e = match compiled {
        None => engine_side(name, || engine.instantiate(wasm, options.engine_fuel))?,
        Some(Ahead(Ok(c))) => {
            engine_side(name, || engine.instantiate_compiled(c, options.engine_fuel))?
        }
        Some(Ahead(Err(panic))) => return Err(Stop::Differ(panic)),
    };
    let oracle = match (h, e) {
        (Ok(o), EngineInstantiation::Ready) => o,
        (Err(OracleError::Module(m)), _) if m.kind == ModuleErrorKind::Unsupported => {
            return Err(Stop::Skip(Skip::HeddleUnsupported))
        }
        (Err(OracleError::FuelExhausted), _) => return Err(Stop::Skip(Skip::Fuel)),
        (_, EngineInstantiation::Resource(_)) => return Err(Stop::Skip(Skip::EngineResource)),
        (Err(OracleError::Module(_)), EngineInstantiation::Rejected(_)) => {
            return Err(Stop::Skip(Skip::Invalid))
        }
        // Heddle finished (or trapped) where the engine's larger fuel ran out: wasmtime
        // charges `table.fill`/`memory.fill` and friends per element, even when they then
        // trap out of bounds.
        (_, EngineInstantiation::FuelExhausted) => return Err(Stop::Skip(Skip::FuelModel)),
        (Err(OracleError::Trap(t)), EngineInstantiation::Trapped(k, msg)) => {
            let hk = TrapKind::of(&t);
            if hk == TrapKind::CallStackExhausted || k == TrapKind::CallStackExhausted {
                return Err(Stop::Skip(Skip::CallDepth));
            }
            return if traps_equivalent(hk, k) {
                Ok(())
            } else {
                Err(differ(
                    "instantiate",
                    format!(
                        "instantiation traps: Heddle {:?} ({t}), {name} {k:?} ({msg})",
                        hk
                    ),
                ))
            };
        }
        (Err(OracleError::Trap(t)), _) if TrapKind::of(&t) == TrapKind::CallStackExhausted => {
            return Err(Stop::Skip(Skip::CallDepth))
        }
        (_, EngineInstantiation::Trapped(TrapKind::CallStackExhausted, _)) => {
            return Err(Stop::Skip(Skip::CallDepth))
        }
        (h, e) => {
            let kind = match (&h, &e) {
                (Ok(_), EngineInstantiation::Rejected(_)) | (Err(OracleError::Module(_)), _) => {
                    "validate"
                }
                _ => "instantiate",
            };
            let hs = match &h {
                Ok(_) => "instantiated".to_string(),
                Err(err) => err.to_string(),
            };
            return Err(differ(kind, format!("Heddle: {hs}; {name}: {e:?}")));
        }
    };
    check.instantiated = true;
    let (exports, state) = heddle(time, || {
        let exports = oracle.exports();
        let state = oracle.export_states();
        (exports, state)
    })?;
    compare_state(
        oracle,
        &state,
        engine,
        &exports,
        time,
        "after instantiation",
    )?;
    let mut rng = Rng::new(arg_seed);
    let funcs = exports
        .iter()
        .filter(|(_, k)| matches!(k, ExportKind::Func(_)));
    let calls: Vec<&(String, ExportKind)> =
        (0..options.rounds).flat_map(|_| funcs.clone()).collect();
    for (export, kind) in calls {
        let ExportKind::Func(ty) = kind else { continue };
        let args = arguments(&mut rng, &ty.params);
        // The call and the reads of the state it left, in one timed region (a region
        // costs two clock reads, about 0.1 µs on the project's machine, and a module has
        // about seven globals and tables to read after each of its calls).
        let (h, state) = heddle(time, || {
            let outcome = oracle.call(export, &args);
            (outcome, oracle.export_states())
        })?;
        if oracle.waited_ns() > options.wait_budget_ns {
            return Err(Stop::Skip(Skip::LongWait));
        }
        let h = match h {
            Outcome::FuelExhausted => return Err(Stop::Skip(Skip::Fuel)),
            Outcome::Deadlock => return Err(Stop::Skip(Skip::WaitForever)),
            Outcome::Trapped(t) if TrapKind::of(&t) == TrapKind::CallStackExhausted => {
                return Err(Stop::Skip(Skip::CallDepth))
            }
            other => other,
        };
        let e = engine_side(name, || engine.call(export, ty, &args, options.engine_fuel))?;
        let call = format!("{export}{}", show(&args));
        match (&h, &e) {
            (_, EngineOutcome::FuelExhausted) => return Err(Stop::Skip(Skip::FuelModel)),
            (_, EngineOutcome::Trapped(TrapKind::CallStackExhausted, _)) => {
                return Err(Stop::Skip(Skip::CallDepth))
            }
            (Outcome::Returned(a), EngineOutcome::Returned(b)) => {
                if a.len() != b.len() || a.iter().zip(b).any(|(x, y)| !values_equal(x, y)) {
                    return Err(differ(
                        "result",
                        format!(
                            "{call}: Heddle returned {}, {name} returned {}",
                            show(a),
                            show(b)
                        ),
                    ));
                }
            }
            (Outcome::Trapped(t), EngineOutcome::Trapped(k, msg)) => {
                if !traps_equivalent(TrapKind::of(t), *k) {
                    return Err(differ(
                        "trap",
                        format!("{call}: Heddle trapped \"{t}\", {name} trapped {k:?} ({msg})"),
                    ));
                }
            }
            (_, EngineOutcome::Error(msg)) => {
                return Err(differ(
                    "engine-error",
                    format!("{call}: {name} failed: {msg}"),
                ))
            }
            (h, e) => {
                let hs = match h {
                    Outcome::Returned(v) => format!("returned {}", show(v)),
                    Outcome::Trapped(t) => format!("trapped \"{t}\""),
                    other => format!("{other:?}"),
                };
                let es = match e {
                    EngineOutcome::Returned(v) => format!("returned {}", show(v)),
                    EngineOutcome::Trapped(k, m) => format!("trapped {k:?} ({m})"),
                    other => format!("{other:?}"),
                };
                let kind = if matches!(h, Outcome::Returned(_)) {
                    "trap"
                } else {
                    "result"
                };
                return Err(differ(kind, format!("{call}: Heddle {hs}, {name} {es}")));
            }
        }
        check.calls += 1;
        compare_state(
            oracle,
            &state,
            engine,
            &exports,
            time,
            &format!("after {call}"),
        )?;
    }
    Ok(())
}

/// Compare every exported global and table (Heddle's side read into `state`, in the
/// order of `exports`, with the call before: [`Oracle::export_states`]) and memory (both
/// sides' bytes borrowed here) with the engine's.
fn compare_state(
    oracle: &mut Oracle,
    state: &[ExportState],
    engine: &mut dyn DiffEngine,
    exports: &[(String, ExportKind)],
    time: &mut std::time::Duration,
    when: &str,
) -> Result<(), Stop> {
    let name = engine.name();
    for (i, (export, kind)) in exports.iter().enumerate() {
        match kind {
            ExportKind::Func(_) => {}
            ExportKind::Global => {
                let h = match &state[i] {
                    ExportState::Global(v) => Some(*v),
                    _ => None,
                };
                let e = engine_side(name, || engine.global(export))?;
                let same = match (&h, &e) {
                    (Some(a), Some(b)) => values_equal(a, b),
                    (a, b) => a == b,
                };
                if !same {
                    return Err(differ(
                        "global",
                        format!("global {export} {when}: Heddle {h:?}, {name} {e:?}"),
                    ));
                }
            }
            ExportKind::Memory => {
                // Both sides lend their bytes (no copies): this runs after every call.
                let h = heddle(time, || oracle.memory(export))?;
                let e = engine_side(name, || engine.memory(export))?;
                let summary = match (h.as_deref(), e) {
                    (Some(a), Some(b)) if a == b => None,
                    (None, None) => None,
                    (Some(a), Some(b)) if a.len() != b.len() => Some(format!(
                        "Heddle {} bytes, {name} {} bytes",
                        a.len(),
                        b.len()
                    )),
                    (Some(a), Some(b)) => {
                        let i = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
                        Some(format!(
                            "first difference at byte {i}: Heddle {}, {name} {}",
                            a[i], b[i]
                        ))
                    }
                    _ => Some("exported by one side only".into()),
                };
                if let Some(summary) = summary {
                    return Err(differ(
                        "memory",
                        format!("memory {export} {when}: {summary}"),
                    ));
                }
            }
            ExportKind::Table => {
                let h = match &state[i] {
                    ExportState::Table(t) => Some(t),
                    _ => None,
                };
                let e = engine_side(name, || engine.table(export))?;
                let e = e.as_ref();
                if h != e {
                    let size = |t: Option<&crate::oracle::TableView>| t.map(|t| t.null.len());
                    return Err(differ(
                        "table",
                        format!(
                            "table {export} {when}: Heddle size {:?}, {name} size {:?} (or null entries differ)",
                            size(h),
                            size(e)
                        ),
                    ));
                }
            }
            // A tag has no state to compare.
            ExportKind::Tag => {}
        }
    }
    Ok(())
}
