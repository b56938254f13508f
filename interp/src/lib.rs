#![forbid(unsafe_code)]
#![deny(missing_docs)]
//! # heddle-interp
//!
//! Heddle's interpreter for WebAssembly with the threads proposal: decode and validate
//! binaries ([`Module::decode`], via `wasmparser`), instantiate them into a [`Store`]
//! ([`Configuration::instantiate`]), and execute threads one small step at a time
//! ([`Configuration::step`], driven by a [`Scheduler`]).
//!
//! The modules follow the spec's structure (WebAssembly threads proposal, `document/core`):
//!
//! | module | spec |
//! | --- | --- |
//! | [`types`] | *Structure › Types*, *Validation › Import Subtyping*, 3.0 *Type equivalence* (canonical rec groups) |
//! | [`values`] | *Runtime Structure › Values* |
//! | [`syntax`] | *Structure › Modules / Instructions* (lowered form) |
//! | [`decode`] | *Binary Format* and *Validation* (through `wasmparser`) |
//! | [`store`] | *Runtime Structure › Store, Addresses, Instances* |
//! | [`memory`] | *Memory Instances*, shared memory and the memory-model interface |
//! | [`native`] | shared memory of atomic words for Wasm threads on OS threads |
//! | [`race`] | *Relaxed Memory Model*: races and data races of a run (vector clocks) |
//! | [`relaxed`] | *Relaxed Memory Model*: a shared memory whose reads return any allowed value |
//! | [`instantiate`] | *Modules › Allocation, Instantiation* |
//! | [`exec`] | *Instructions*, *Configurations* (threads), wait/notify |
//! | [`host`] | *Embedding*: what host functions see of their caller (memory, clock, spawn, exit) |
//! | [`exn`] | 3.0 *Control Instructions* `throw`, `throw_ref`, `try_table` (exception handling; and the legacy `try`) |
//! | [`numerics`] | *Numerics* |
//! | [`simd`] | *Vector Instructions*, *Numerics › Vector Operations* |
//! | [`scheduler`] | who steps next (the spec's nondeterministic choice of thread) |
//! | [`rng`] | not the spec: the one seeded generator (SplitMix64) of schedulers, harnesses and generators |
//!
//! The modules are layered as the spec is (syntax, then validation, then execution): none
//! names a module above it, so their graph has no cycle (`scripts/check-module-cycles.sh`
//! checks it). What several layers name lives below them, in private modules whose items
//! are re-exported at their public paths: the store's addresses (`addr`, in [`store`]),
//! the memory immediate (`memarg`, in [`syntax`]), thread ids and slots (`runtime`, in
//! [`exec`]) and activation frames (`frame`).
//!
//! Wasm 3.0's typed function references and GC ([`Features::Wasm3`]): reference types are
//! [`RefType`]s over [`types::HeapType`]s; a module's types are recursion groups of
//! [`types::SubType`]s, canonicalised store-wide at instantiation
//! ([`types::TypeRegistry`]), so that structurally equal groups of different modules are
//! the same types (for `call_indirect`, casts and linking). Structures and arrays live in
//! the [`Store`] ([`store::StructInst`], [`store::ArrayInst`]) as long as the store does:
//! the spec has no collector, and Heddle has none either.
//!
//! Example: run an exported function.
//!
//! ```
//! use heddle_interp::{Configuration, Module, Value, ExternVal};
//! use std::sync::Arc;
//! let wasm = [0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1,
//!     3, 105, 110, 99, 0, 0, 10, 9, 1, 7, 0, 32, 0, 65, 1, 106, 11];
//! let module = Arc::new(Module::decode(&wasm).unwrap());
//! let mut config = Configuration::new();
//! let inst = config.instantiate(module, &[]).unwrap();
//! let Some(ExternVal::Func(inc)) = config.export(inst, "inc") else { panic!() };
//! assert_eq!(config.invoke(inc, &[Value::I32(41)]), Ok(vec![Value::I32(42)]));
//! ```

mod addr;
pub mod content_hash;
pub mod decode;
pub mod error;
pub mod exec;
pub mod exn;
mod frame;
pub mod host;
pub mod instantiate;
mod memarg;
pub mod memory;
pub mod native;
pub mod numerics;
pub mod race;
pub mod relaxed;
pub mod rng;
mod runtime;
pub mod scheduler;
pub mod simd;
pub mod store;
pub mod syntax;
pub mod trace;
pub mod types;
pub mod values;

pub use decode::Features;
pub use error::{InstantiationError, ModuleError, ModuleErrorKind, Trap};
pub use exec::{Configuration, ExecLimits, Footprint, ThreadId, ThreadStatus};
pub use exn::UncaughtException;
pub use host::{Caller, SpawnHandler, SpawnRequest};
pub use memory::SharedBackend;
pub use native::{NativeHandle, NativeMemory};
pub use relaxed::{Promises, RelaxedMemory, ValueDomain};
pub use scheduler::{Choice, ChoiceLog, Pct, RoundRobin, Scheduler, SeededRandom};
pub use store::{
    ExnAddr, ExternVal, FuncAddr, GlobalAddr, HostCallFunc, HostFunc, InstanceAddr, MemAddr, Store,
    TableAddr, TagAddr,
};
pub use syntax::Module;
pub use types::{
    AddrType, ExternType, FuncType, GlobalType, Limits, MemType, RefType, TableType, ValType,
};
pub use values::Value;
