//! The engine side of a single-threaded differential campaign: one trait, [`DiffEngine`],
//! that an engine adapter implements (wasmtime and wasmi in process), in the shape of
//! wasmtime's own `DiffEngine`/`DiffInstance` (wasmtime#4852), with values, traps and views
//! expressed in Heddle's types so that they compare directly with the [`crate::oracle`].

use crate::oracle::{TableView, TrapKind};
use heddle_interp::{FuncType, Value};

/// What an engine did with one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineOutcome {
    /// It returned these values. References are reported only as null or not: a non-null
    /// `funcref` as `FuncRef(Some(FuncAddr(0)))`, a non-null `externref` as
    /// `ExternRef(Some(0))`.
    Returned(Vec<Value>),
    /// It trapped, for this reason (the engine's own message beside it).
    Trapped(TrapKind, String),
    /// Its fuel ran out.
    FuelExhausted,
    /// Any other failure (an error that is not a trap).
    Error(String),
}

/// How instantiation went in an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineInstantiation {
    /// The module is instantiated; calls and reads go to it.
    Ready,
    /// The engine rejected the module as invalid (or failed to compile it).
    Rejected(String),
    /// A segment was out of bounds or the start function trapped.
    Trapped(TrapKind, String),
    /// The start function ran out of fuel.
    FuelExhausted,
    /// A resource limit of the engine (not a spec trap), e.g. a memory it would not reserve.
    Resource(String),
}

/// A module an engine has compiled (or failed to compile), not yet instantiated: the
/// engine's own form, which only the [`DiffEngine::instantiate_compiled`] of an adapter of
/// the same engine understands. A campaign compiles a batch of modules this way before
/// Heddle's turn (docs/fuzz.md).
pub struct Compiled(Box<dyn std::any::Any + Send>);

impl Compiled {
    /// An adapter's compiled module `M`, or the engine's message rejecting it.
    pub(crate) fn new<M: Send + 'static>(module: Result<M, String>) -> Compiled {
        Compiled(Box::new(module))
    }

    /// The adapter's compiled module back, or why there is none: the engine's rejection,
    /// or that another adapter (another `M`) compiled it.
    pub(crate) fn take<M: Send + 'static>(self) -> Result<M, String> {
        match self.0.downcast::<Result<M, String>>() {
            Ok(module) => *module,
            Err(_) => Err("a module compiled by another engine".into()),
        }
    }
}

/// Compiles modules for one engine, on any thread ([`DiffEngine::compiler`]).
pub trait Compiler: Send {
    /// Validate and compile `wasm`; a rejection is kept in the result and reported by
    /// [`DiffEngine::instantiate_compiled`] as [`EngineInstantiation::Rejected`].
    fn compile(&self, wasm: &[u8]) -> Compiled;
}

/// An engine under test. An adapter holds at most one instance at a time: the one of the
/// last successful [`DiffEngine::instantiate`] or [`DiffEngine::instantiate_compiled`].
pub trait DiffEngine {
    /// Short name, as on the command line (`wasmtime`, `wasmi`).
    fn name(&self) -> &'static str;
    /// Whether the engine implements the threads proposal (shared memories and atomics);
    /// generators leave threads out for those that do not.
    fn supports_threads(&self) -> bool;
    /// A compiler of this engine's modules that can run on another thread (it shares the
    /// engine's configuration).
    fn compiler(&self) -> Box<dyn Compiler>;
    /// Whether compiling a module costs the engine far more than generating it (an
    /// ahead-of-time compiler such as Cranelift): then a campaign gives Heddle its turn,
    /// pausing the generator while Heddle runs, and the generator still overlaps the
    /// compiler. An engine that compiles lazily (wasmi) says `false`: the generator is
    /// then the slowest part of the loop, and it never waits ([`super::run_campaign`]).
    fn compiles_ahead(&self) -> bool {
        true
    }
    /// Instantiate a module this engine's [`DiffEngine::compiler`] compiled, with no
    /// imports; the start function runs with `fuel`. A module compiled by another engine
    /// is [`EngineInstantiation::Rejected`].
    fn instantiate_compiled(&mut self, compiled: Compiled, fuel: u64) -> EngineInstantiation;
    /// Compile and instantiate `wasm` with no imports; the start function runs with `fuel`.
    fn instantiate(&mut self, wasm: &[u8], fuel: u64) -> EngineInstantiation {
        let compiled = self.compiler().compile(wasm);
        self.instantiate_compiled(compiled, fuel)
    }
    /// Call the exported function `name` (of type `ty`) with `args` under `fuel`.
    fn call(&mut self, name: &str, ty: &FuncType, args: &[Value], fuel: u64) -> EngineOutcome;
    /// The value of exported global `name`.
    fn global(&mut self, name: &str) -> Option<Value>;
    /// The bytes of exported memory `name`, borrowed (campaigns compare them after every
    /// call: a copy of up to 16 pages each time would cost more than the call).
    fn memory(&mut self, name: &str) -> Option<&[u8]>;
    /// The size and null entries of exported table `name`.
    fn table(&mut self, name: &str) -> Option<TableView>;
}

/// A reference value as engines report it: only its nullness is comparable across engines.
/// (Used by the in-process engine adapters, which are features.)
#[cfg(any(feature = "wasmtime", feature = "wasmi"))]
pub(crate) fn opaque_ref(func: bool, null: bool) -> Value {
    match (func, null) {
        (true, true) => Value::FuncRef(None),
        (true, false) => Value::FuncRef(Some(heddle_interp::FuncAddr(0))),
        (false, true) => Value::ExternRef(None),
        (false, false) => Value::ExternRef(Some(0)),
    }
}

/// Make one of the engines by its command-line name, or say why not.
pub fn engine_by_name(name: &str) -> Result<Box<dyn DiffEngine>, String> {
    match name {
        "wasmtime" => wasmtime_engine(),
        "wasmi" => wasmi_engine(),
        other => Err(format!(
            "unknown engine {other:?} (expected wasmtime or wasmi)"
        )),
    }
}

#[cfg(feature = "wasmtime")]
fn wasmtime_engine() -> Result<Box<dyn DiffEngine>, String> {
    Ok(Box::new(super::wasmtime::Wasmtime::new()?))
}

#[cfg(not(feature = "wasmtime"))]
fn wasmtime_engine() -> Result<Box<dyn DiffEngine>, String> {
    Err("engine wasmtime is not built in (build heddle-fuzz with feature \"wasmtime\")".into())
}

#[cfg(feature = "wasmi")]
fn wasmi_engine() -> Result<Box<dyn DiffEngine>, String> {
    Ok(Box::new(super::wasmi::Wasmi::new()))
}

#[cfg(not(feature = "wasmi"))]
fn wasmi_engine() -> Result<Box<dyn DiffEngine>, String> {
    Err("engine wasmi is not built in (build heddle-fuzz with feature \"wasmi\")".into())
}
