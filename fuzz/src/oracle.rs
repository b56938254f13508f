//! The oracle API: Heddle as a spec oracle that an engine fuzzer links as a Rust crate.
//!
//! A thin layer over [`heddle_interp`] in the shape differential fuzzers expect (wasmtime's
//! `DiffEngine`/`DiffInstance`, wasmtime#4852): instantiate a module once ([`Oracle::new`],
//! imports optional through [`Oracle::with_imports`]), then evaluate any export by name
//! ([`Oracle::call`]) and read any exported global ([`Oracle::global`]), memory
//! ([`Oracle::memory`], the bytes) or table ([`Oracle::table`], size and null entries);
//! [`Oracle::export_states`] reads every global and table at once.
//! Every call runs under fuel ([`OracleOptions::fuel`], small steps of the interpreter),
//! and traps come back as the stable enum [`TrapKind`] carrying the spec's message
//! ([`Trap::message`]).
//!
//! ```
//! use heddle_fuzz::oracle::{Oracle, OracleOptions, Outcome};
//! use heddle_interp::Value;
//! let wasm = wat::parse_str(r#"(module
//!     (memory (export "m") 1 1 shared)
//!     (global (export "g") (mut i32) (i32.const 7))
//!     (func (export "div") (param i32 i32) (result i32)
//!         (i32.div_u (local.get 0) (local.get 1))))"#).unwrap();
//! let mut oracle = Oracle::new(&wasm, OracleOptions::default()).unwrap();
//! assert_eq!(oracle.call("div", &[Value::I32(7), Value::I32(2)]),
//!            Outcome::Returned(vec![Value::I32(3)]));
//! let Outcome::Trapped(trap) = oracle.call("div", &[Value::I32(1), Value::I32(0)]) else {
//!     panic!()
//! };
//! assert_eq!(trap.message(), "integer divide by zero");
//! assert_eq!(oracle.global("g"), Some(Value::I32(7)));
//! assert_eq!(oracle.memory("m").unwrap().len(), 65536);
//! ```
//!
//! docs/fuzz.md puts this next to wasmtime's `DiffEngine` trait.

use heddle_interp::syntax::Instr;
use heddle_interp::{
    Configuration, ExecLimits, ExternVal, FuncType, InstanceAddr, InstantiationError, Module,
    ModuleError, TableAddr, Trap, Value,
};
use std::borrow::Cow;
use std::sync::Arc;

pub use heddle_interp::ModuleErrorKind;

/// Options of an [`Oracle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OracleOptions {
    /// Fuel per call (and for the start function): the number of small steps (one per
    /// instruction executed) the interpreter may take before the call ends with
    /// [`Outcome::FuelExhausted`].
    pub fuel: u64,
    /// Maximum call depth; one more call traps with [`TrapKind::CallStackExhausted`].
    pub max_call_depth: usize,
    /// Test-only: make one instruction wrong (see [`PlantedFault`]). `None` in every normal
    /// use; it costs nothing then.
    pub planted_fault: Option<PlantedFault>,
}

impl Default for OracleOptions {
    fn default() -> Self {
        OracleOptions {
            fuel: 100_000,
            max_call_depth: 1_000,
            planted_fault: None,
        }
    }
}

/// A deliberately wrong instruction, for testing that a differential campaign finds,
/// shrinks and saves a fault. The fault is planted by rewriting the decoded module before
/// instantiation, so the interpreter itself is unchanged (and no slower) in normal use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedFault {
    /// `i32.rotl` computes `i32.rotr` instead.
    I32RotlIsRotr,
}

impl PlantedFault {
    fn plant(self, module: &mut Module) {
        match self {
            PlantedFault::I32RotlIsRotr => {
                for f in &mut module.funcs {
                    for i in &mut f.body {
                        if matches!(i, Instr::I32Rotl) {
                            *i = Instr::I32Rotr;
                        }
                    }
                }
            }
        }
    }
}

/// A trap, as a stable enum: one variant per trap reason the spec's test suite names,
/// plus the two resource limits. [`TrapKind::message`] is the spec's (test suite's) wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TrapKind {
    /// `unreachable` executed.
    Unreachable,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Signed division overflow (`INT_MIN / -1`).
    IntegerOverflow,
    /// `trunc` of NaN, infinity or an out-of-range float.
    InvalidConversionToInteger,
    /// A memory access (or bulk operation, or atomic) out of bounds.
    OutOfBoundsMemoryAccess,
    /// A table access out of bounds, including `call_indirect` past the table's end
    /// (the suite's "undefined element").
    OutOfBoundsTableAccess,
    /// `call_indirect` through a null entry.
    UninitializedElement,
    /// `call_indirect` to a function of another type.
    IndirectCallTypeMismatch,
    /// An atomic access, `wait` or `notify` at an unaligned effective address.
    UnalignedAtomic,
    /// `memory.atomic.wait32/64` on an unshared memory.
    ExpectedSharedMemory,
    /// Call depth (or stack) exhausted: resource exhaustion, not a spec trap.
    CallStackExhausted,
    /// Anything else (host errors, deadlocks).
    Other,
}

impl TrapKind {
    /// The kind of one of Heddle's traps.
    pub fn of(trap: &Trap) -> TrapKind {
        match trap {
            Trap::Unreachable => TrapKind::Unreachable,
            Trap::IntegerDivideByZero => TrapKind::IntegerDivideByZero,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::InvalidConversionToInteger => TrapKind::InvalidConversionToInteger,
            Trap::OutOfBoundsMemoryAccess => TrapKind::OutOfBoundsMemoryAccess,
            Trap::OutOfBoundsTableAccess | Trap::UndefinedElement => {
                TrapKind::OutOfBoundsTableAccess
            }
            Trap::UninitializedElement(_) => TrapKind::UninitializedElement,
            Trap::IndirectCallTypeMismatch => TrapKind::IndirectCallTypeMismatch,
            Trap::UnalignedAtomic => TrapKind::UnalignedAtomic,
            Trap::ExpectedSharedMemory => TrapKind::ExpectedSharedMemory,
            Trap::CallStackExhausted => TrapKind::CallStackExhausted,
            Trap::FuelExhausted | Trap::Deadlock(_) | Trap::Host(_) => TrapKind::Other,
            // Wasm 3.0 (GC, typed function references): not generated by the fuzzers.
            Trap::NullFunctionReference
            | Trap::NullReference
            | Trap::NullStructureReference
            | Trap::NullArrayReference
            | Trap::NullI31Reference
            | Trap::OutOfBoundsArrayAccess
            | Trap::CastFailure => TrapKind::Other,
            // Exceptions: not generated by the fuzzers either.
            Trap::NullExceptionReference | Trap::Exception(_) => TrapKind::Other,
            // Program exit: only WASI host functions end a program.
            Trap::Exit(_) => TrapKind::Other,
        }
    }

    /// The test suite's wording of this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::IntegerDivideByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::InvalidConversionToInteger => "invalid conversion to integer",
            TrapKind::OutOfBoundsMemoryAccess => "out of bounds memory access",
            TrapKind::OutOfBoundsTableAccess => "out of bounds table access",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::UnalignedAtomic => "unaligned atomic",
            TrapKind::ExpectedSharedMemory => "expected shared memory",
            TrapKind::CallStackExhausted => "call stack exhausted",
            TrapKind::Other => "trap",
        }
    }
}

/// What one call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned these values.
    Returned(Vec<Value>),
    /// It trapped (Heddle's trap; [`TrapKind::of`] classifies it).
    Trapped(Trap),
    /// The call's fuel ran out.
    FuelExhausted,
    /// Every thread blocked in `memory.atomic.wait` with no timeout that can fire: on a
    /// lone thread, a `wait` with an infinite timeout on a shared memory (a real engine
    /// would block forever).
    Deadlock,
}

/// Why an [`Oracle`] could not be created.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    /// The binary does not decode or validate, or uses a feature Heddle does not implement.
    #[error("module rejected: {0}")]
    Module(ModuleError),
    /// The imports do not match (spec *Instantiation*, `assert_unlinkable`).
    #[error("link error: {0}")]
    Link(String),
    /// A segment was out of bounds or the start function trapped (`assert_uninstantiable`).
    #[error("instantiation trapped: {0}")]
    Trap(Trap),
    /// The start function ran out of fuel.
    #[error("start function ran out of fuel")]
    FuelExhausted,
    /// The start function blocked forever in `memory.atomic.wait` (no timeout, lone
    /// thread).
    #[error("start function waits forever")]
    Deadlock,
    /// The start function trapped after spending this many virtual nanoseconds in
    /// timed-out waits (a real engine sleeps that long first).
    #[error("instantiation trapped after {waited_ns} ns of waiting: {trap}")]
    TrapAfterWait {
        /// The trap.
        trap: Trap,
        /// Virtual time spent in timed-out waits.
        waited_ns: u64,
    },
}

/// The view of a table an oracle gives: its size and which entries are null.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableView {
    /// `null[i]` is whether entry `i` is a null reference; `null.len()` is the table's size.
    pub null: Vec<bool>,
}

/// What [`Oracle::export_states`] reads of one export.
#[derive(Clone, Debug, PartialEq)]
pub enum ExportState {
    /// An exported global's current value.
    Global(Value),
    /// An exported table's size and null entries.
    Table(TableView),
    /// A function, memory or tag: nothing is read (memories through [`Oracle::memory`]).
    Other,
}

/// The kind of an export, with a function's type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// A function of this type.
    Func(FuncType),
    /// A global.
    Global,
    /// A memory.
    Memory,
    /// A table.
    Table,
    /// A tag (exception handling).
    Tag,
}

/// One instantiated module in Heddle, ready to be called export by export.
pub struct Oracle {
    config: Configuration,
    instance: InstanceAddr,
    options: OracleOptions,
    waited_ns: u64,
}

impl Oracle {
    /// Decode, validate and instantiate `wasm` (a binary module) with no imports.
    pub fn new(wasm: &[u8], options: OracleOptions) -> Result<Oracle, OracleError> {
        Self::with_imports(wasm, options, |_, _| Ok(Vec::new()))
    }

    /// Decode, validate and instantiate `wasm`; `imports` is given a configuration to
    /// allocate host functions, tables, memories and globals in, and the decoded module,
    /// and returns the external values for the module's imports in order.
    pub fn with_imports(
        wasm: &[u8],
        options: OracleOptions,
        imports: impl FnOnce(&mut Configuration, &Module) -> Result<Vec<ExternVal>, OracleError>,
    ) -> Result<Oracle, OracleError> {
        let mut module = Module::decode(wasm).map_err(OracleError::Module)?;
        if let Some(fault) = options.planted_fault {
            fault.plant(&mut module);
        }
        let mut config = Configuration::with_limits(limits(&options));
        let imports = imports(&mut config, &module)?;
        let result = config.instantiate(Arc::new(module), &imports);
        // The start function's steps count against the limits set above; the clock
        // advanced by those steps plus any time jumped over in timed-out waits.
        let waited_ns = config.now().saturating_sub(config.steps());
        let instance = match result {
            Ok(i) => i,
            Err(InstantiationError::Link(m)) => return Err(OracleError::Link(m)),
            Err(InstantiationError::Trap(Trap::FuelExhausted)) => {
                return Err(OracleError::FuelExhausted)
            }
            Err(InstantiationError::Trap(Trap::Deadlock(_))) => return Err(OracleError::Deadlock),
            Err(InstantiationError::Trap(trap)) if waited_ns > 0 => {
                return Err(OracleError::TrapAfterWait { trap, waited_ns })
            }
            Err(InstantiationError::Trap(t)) => return Err(OracleError::Trap(t)),
        };
        Ok(Oracle {
            config,
            instance,
            options,
            waited_ns,
        })
    }

    /// The module's exports, in order, with their kinds.
    pub fn exports(&self) -> Vec<(String, ExportKind)> {
        let inst = &self.config.store.instances[self.instance.0 as usize];
        inst.exports
            .iter()
            .map(|(name, ev)| {
                let kind = match ev {
                    ExternVal::Func(f) => {
                        ExportKind::Func(self.config.store.funcs[f.0 as usize].ty().clone())
                    }
                    ExternVal::Global(_) => ExportKind::Global,
                    ExternVal::Memory(_) => ExportKind::Memory,
                    ExternVal::Table(_) => ExportKind::Table,
                    ExternVal::Tag(_) => ExportKind::Tag,
                };
                (name.clone(), kind)
            })
            .collect()
    }

    /// Call the exported function `name` with `args`, under a fresh allowance of
    /// [`OracleOptions::fuel`]. A missing export or arguments of the wrong types give
    /// `Trapped(Trap::Host(..))`.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Outcome {
        let Some(ExternVal::Func(f)) = self.config.export(self.instance, name) else {
            return Outcome::Trapped(Trap::Host(format!("no exported function {name:?}")));
        };
        self.config.set_limits(limits(&self.options));
        let before = self.config.now();
        let result = self.config.invoke(f, args);
        let elapsed = self.config.now() - before;
        self.waited_ns += elapsed.saturating_sub(self.config.steps());
        match result {
            Ok(vals) => Outcome::Returned(vals),
            Err(Trap::FuelExhausted) => Outcome::FuelExhausted,
            Err(Trap::Deadlock(_)) => Outcome::Deadlock,
            Err(t) => Outcome::Trapped(t),
        }
    }

    /// Virtual nanoseconds spent so far (start function included) with every thread
    /// blocked in a `wait` whose timeout then fired (Heddle jumps its clock over them; a real engine sleeps that long).
    pub fn waited_ns(&self) -> u64 {
        self.waited_ns
    }

    /// Fuel (small steps) the last call consumed.
    pub fn fuel_consumed(&self) -> u64 {
        self.config.steps()
    }

    /// The value of the exported global `name`.
    pub fn global(&self, name: &str) -> Option<Value> {
        match self.config.export(self.instance, name)? {
            ExternVal::Global(g) => Some(self.config.global_value(g)),
            _ => None,
        }
    }

    /// The bytes of the exported memory `name` (its current length): borrowed when the
    /// memory holds plain bytes (always, unless [`Oracle::configuration`] was used to give
    /// shared memories another backend), else a copy read through its backend.
    pub fn memory(&mut self, name: &str) -> Option<Cow<'_, [u8]>> {
        let ExternVal::Memory(m) = self.config.export(self.instance, name)? else {
            return None;
        };
        if self.config.memory_plain_bytes(m).is_none() {
            return Some(Cow::Owned(self.config.memory_bytes(m)));
        }
        self.config.memory_plain_bytes(m).map(Cow::Borrowed)
    }

    /// The size and null entries of the exported table `name`.
    pub fn table(&self, name: &str) -> Option<TableView> {
        match self.config.export(self.instance, name)? {
            ExternVal::Table(t) => Some(self.table_view(t)),
            _ => None,
        }
    }

    fn table_view(&self, table: TableAddr) -> TableView {
        TableView {
            null: self
                .config
                .table_elements(table)
                .iter()
                .map(|v| matches!(v, Value::FuncRef(None) | Value::ExternRef(None)))
                .collect(),
        }
    }

    /// Every exported global's value and table's view at once, in the order of
    /// [`Oracle::exports`] (one entry per export, [`ExportState::Other`] for the other
    /// kinds): one pass over the instance's exports instead of a lookup by name for each,
    /// for a differential check that reads them all after every call.
    pub fn export_states(&self) -> Vec<ExportState> {
        let inst = &self.config.store.instances[self.instance.0 as usize];
        inst.exports
            .iter()
            .map(|(_, ev)| match *ev {
                ExternVal::Global(g) => ExportState::Global(self.config.global_value(g)),
                ExternVal::Table(t) => ExportState::Table(self.table_view(t)),
                _ => ExportState::Other,
            })
            .collect()
    }

    /// The configuration underneath, for anything this layer does not cover.
    pub fn configuration(&mut self) -> &mut Configuration {
        &mut self.config
    }
}

fn limits(options: &OracleOptions) -> ExecLimits {
    ExecLimits {
        fuel: Some(options.fuel),
        max_call_depth: options.max_call_depth,
        ..ExecLimits::default()
    }
}
