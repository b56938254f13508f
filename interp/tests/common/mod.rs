//! Helpers shared by the interpreter's integration tests.

use heddle_interp::{Configuration, ExternVal, FuncAddr, InstanceAddr, Module};
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
