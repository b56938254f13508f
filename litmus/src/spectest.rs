//! The `spectest` host module that the official scripts import from (reference interpreter
//! `host/spectest.ml`), plus a `shared_memory` export for threads tests.

use heddle_interp::{
    AddrType, Configuration, ExternVal, FuncType, GlobalType, Limits, MemType, RefType, TableType,
    ValType, Value,
};
use indexmap::IndexMap;
use std::sync::Arc;

/// Exports of a registered module, by field name, in export order.
pub type Exports = IndexMap<String, ExternVal>;

/// Allocate the `spectest` entities in `config` and return its exports:
///
/// | field | entity |
/// | --- | --- |
/// | `print`, `print_i32`, `print_i64`, `print_f32`, `print_f64`, `print_i32_f32`, `print_f64_f64` | functions that do nothing |
/// | `global_i32`, `global_i64` | immutable globals, 666 |
/// | `global_f32`, `global_f64` | immutable globals, 666.6 |
/// | `table` | table 10..20 funcref |
/// | `memory` | memory 1..2 |
/// | `shared_memory` | memory 1..1 shared |
pub fn install(config: &mut Configuration) -> Exports {
    use ValType::*;
    let mut exports = Exports::new();
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType {
            params: params.to_vec(),
            results: vec![],
        };
        let f = config.alloc_host_func(ty, Arc::new(|_args: &[Value]| Ok(vec![])));
        exports.insert(name.into(), ExternVal::Func(f));
    }
    let globals = [
        ("global_i32", I32, Value::I32(666)),
        ("global_i64", I64, Value::I64(666)),
        ("global_f32", F32, Value::F32(666.6f32.to_bits())),
        ("global_f64", F64, Value::F64(666.6f64.to_bits())),
    ];
    for (name, content, value) in globals {
        let g = config.alloc_global(
            GlobalType {
                content,
                mutable: false,
            },
            value,
        );
        exports.insert(name.into(), ExternVal::Global(g));
    }
    // `table`, and Wasm 3.0's `table64`: the same table with 64-bit indices (memory64
    // proposal).
    for (name, addr) in [("table", AddrType::I32), ("table64", AddrType::I64)] {
        let table = config.alloc_table(
            TableType {
                limits: Limits {
                    min: 10,
                    max: Some(20),
                },
                elem: RefType::FUNCREF,
                addr,
            },
            Value::FuncRef(None),
        );
        exports.insert(name.into(), ExternVal::Table(table));
    }
    for (name, max, shared) in [("memory", 2, false), ("shared_memory", 1, true)] {
        let memory = config.alloc_memory(MemType::new(
            Limits {
                min: 1,
                max: Some(max),
            },
            shared,
        ));
        exports.insert(name.into(), ExternVal::Memory(memory));
    }
    exports
}

/// The exports of an instance, as a registry entry.
pub fn instance_exports(config: &Configuration, inst: heddle_interp::InstanceAddr) -> Exports {
    config.store.instances[inst.0 as usize]
        .exports
        .iter()
        .cloned()
        .collect()
}

/// Resolve the imports of `module` by (module name, field) in `registry`. A missing one is
/// a link failure, worded like the reference interpreter, `unknown import "m" "f"`, then
/// what is wrong: no module is registered as `m` (with the names that are, and how a
/// `thread` block, whose registry starts with only `spectest`, registers one), or the
/// module registered as `m` exports no `f` (with what it exports).
pub fn resolve_imports(
    module: &heddle_interp::Module,
    registry: &IndexMap<String, Arc<Exports>>,
) -> Result<Vec<ExternVal>, String> {
    module
        .imports
        .iter()
        .map(|imp| {
            let unknown = format!("unknown import {:?} {:?}", imp.module, imp.name);
            match registry.get(&imp.module) {
                None => Err(format!(
                    "{unknown}: no module is registered as {:?} (registered: {}); a thread \
                     block has its own registry: register the module inside the thread: \
                     (register {:?} $M) (docs/harness.md, Script threads)",
                    imp.module,
                    quoted_list(registry.keys()),
                    imp.module
                )),
                Some(exports) => exports.get(&imp.name).copied().ok_or_else(|| {
                    format!(
                        "{unknown}: the module registered as {:?} exports no {:?} (its \
                         exports: {})",
                        imp.module,
                        imp.name,
                        quoted_list(exports.keys())
                    )
                }),
            }
        })
        .collect()
}

/// `"a", "b", "c"`: at most ten names, then how many more; `none` for no name.
fn quoted_list<'a>(names: impl ExactSizeIterator<Item = &'a String>) -> String {
    const SHOWN: usize = 10;
    let total = names.len();
    if total == 0 {
        return "none".into();
    }
    let mut list: Vec<String> = names.take(SHOWN).map(|n| format!("{n:?}")).collect();
    if total > SHOWN {
        list.push(format!("and {} more", total - SHOWN));
    }
    list.join(", ")
}
