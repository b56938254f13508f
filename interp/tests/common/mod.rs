//! Helpers shared by the interpreter's integration tests.

use heddle_interp::types::{Limits, MemType};
use heddle_interp::{Configuration, ExternVal, FuncAddr, InstanceAddr, Module, NativeMemory};
use std::sync::Arc;

/// Parse, decode and validate a test module given as text.
pub fn module(wat: &str) -> Arc<Module> {
    Arc::new(Module::decode(&wat::parse_str(wat).expect("test module parses")).expect("decodes"))
}

/// The exported function `name` of instance `inst`.
pub fn func(config: &Configuration, inst: InstanceAddr, name: &str) -> FuncAddr {
    match config.export(inst, name) {
        Some(ExternVal::Func(f)) => f,
        other => panic!("export {name}: {other:?}"),
    }
}

/// A shared memory of the native backend, `min` pages (at most `max`): the memory of the
/// native backend's tests (on OS threads, and under loom). Not every test file uses it.
#[allow(dead_code)]
pub fn native_memory(min: u64, max: u64) -> NativeMemory {
    NativeMemory::new(MemType::new(
        Limits {
            min,
            max: Some(max),
        },
        true,
    ))
    .expect("small memory")
}

/// [`native_memory`], shared between OS threads.
#[allow(dead_code)]
pub fn shared(min: u64, max: u64) -> Arc<NativeMemory> {
    Arc::new(native_memory(min, max))
}
