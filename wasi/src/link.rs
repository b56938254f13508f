//! Checking a WASI program and resolving its imports in a configuration.
//!
//! A WASI program exports a function `_start` and has a memory: imported as `env.memory`
//! (a wasi-threads program: that memory is shared, every thread's instance imports it) or
//! defined. It may import
//! * `env.memory`, a shared memory (wasi-threads, README *Design choices*: one shared memory
//!   imported by every instance);
//! * `wasi.thread-spawn : [i32] -> [i32]`, and then it must export
//!   `wasi_thread_start : [i32 i32] -> []` and import its memory;
//! * any function of `wasi_snapshot_preview1` (the ones [`crate::preview1`] does not
//!   implement trap with "unsupported WASI function NAME" when called).
//!
//! Anything else is an unknown import: the program is refused ([`ProgramError`]).

use crate::preview1::{self, WasiCtx};
use heddle_interp::syntax::ExportDesc;
use heddle_interp::{Configuration, ExternType, ExternVal, MemAddr, MemType, Module};
use std::sync::Arc;

/// Why a binary is not a WASI program Heddle can run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// It lacks something every WASI program has, or a wasi-threads program needs.
    #[error("not a WASI program: {0}")]
    NotWasi(String),
    /// It imports something that is neither WASI nor wasi-threads.
    #[error("unknown import {module:?} {name:?}: a WASI program imports only env.memory, wasi.thread-spawn and wasi_snapshot_preview1 functions")]
    #[allow(missing_docs)] // the import's module and field names
    UnknownImport { module: String, name: String },
    /// Instantiation failed (an import of the wrong type, a segment out of bounds, a start
    /// function that trapped).
    #[error("cannot instantiate: {0}")]
    Instantiation(String),
}

/// A checked WASI program.
#[derive(Clone, Debug)]
pub struct Program {
    /// The module.
    pub module: Arc<Module>,
    /// The type of its imported `env.memory`, if it imports one.
    pub imported_memory: Option<MemType>,
    /// Whether it imports `wasi.thread-spawn`.
    pub spawns_threads: bool,
}

fn exports_func(module: &Module, name: &str) -> Option<u32> {
    module.exports.iter().find_map(|e| match e.desc {
        ExportDesc::Func(i) if e.name == name => Some(i),
        _ => None,
    })
}

impl Program {
    /// Check that `module` is a WASI program (see the [module documentation](self)).
    pub fn check(module: Arc<Module>) -> Result<Program, ProgramError> {
        let mut imported_memory = None;
        let mut spawns_threads = false;
        for i in &module.imports {
            match (i.module.as_str(), i.name.as_str(), &i.ty) {
                ("env", "memory", ExternType::Memory(ty)) => {
                    if !ty.shared {
                        return Err(ProgramError::NotWasi(
                            "the imported env.memory is not shared (wasi-threads programs import a shared memory)".into(),
                        ));
                    }
                    imported_memory = Some(*ty);
                }
                ("wasi", "thread-spawn", ExternType::Func(_)) => spawns_threads = true,
                ("wasi_snapshot_preview1", _, ExternType::Func(_)) => {}
                (m, n, _) => {
                    return Err(ProgramError::UnknownImport {
                        module: m.into(),
                        name: n.into(),
                    })
                }
            }
        }
        if exports_func(&module, "_start").is_none() {
            return Err(ProgramError::NotWasi(
                "no exported function \"_start\"".into(),
            ));
        }
        if imported_memory.is_none() && module.mems.is_empty() {
            return Err(ProgramError::NotWasi(
                "no memory (neither an imported env.memory nor a memory of its own)".into(),
            ));
        }
        if spawns_threads {
            if imported_memory.is_none() {
                return Err(ProgramError::NotWasi(
                    "it imports wasi.thread-spawn but not the shared memory env.memory its threads share".into(),
                ));
            }
            if exports_func(&module, "wasi_thread_start").is_none() {
                return Err(ProgramError::NotWasi(
                    "it imports wasi.thread-spawn but exports no function \"wasi_thread_start\" for its threads to run".into(),
                ));
            }
        }
        Ok(Program {
            module,
            imported_memory,
            spawns_threads,
        })
    }
}

/// Resolve `program`'s imports in `config`: `memory` for `env.memory` (allocated in
/// `config` with the declared type when `None`), and a host function per WASI function,
/// calling `ctx`. Records the module and imports in `ctx` for `thread-spawn`. The imports
/// are in the module's import order, ready for [`Configuration::instantiate`]. An import
/// [`Program::check`] would refuse is [`ProgramError::UnknownImport`].
pub fn link(
    config: &mut Configuration,
    program: &Program,
    ctx: &Arc<WasiCtx>,
    memory: Option<MemAddr>,
) -> Result<Vec<ExternVal>, ProgramError> {
    let module = &program.module;
    let mut imports = Vec::with_capacity(module.imports.len());
    for i in &module.imports {
        let ev = match (i.module.as_str(), &i.ty) {
            ("env", ExternType::Memory(ty)) if i.name == "memory" => {
                ExternVal::Memory(memory.unwrap_or_else(|| config.alloc_memory(*ty)))
            }
            ("wasi", ExternType::Func(_)) if i.name == "thread-spawn" => {
                let ctx = ctx.clone();
                ExternVal::Func(config.alloc_host_call_func(
                    preview1::thread_spawn_type(),
                    Arc::new(move |caller, args| ctx.thread_spawn(caller, args)),
                ))
            }
            ("wasi_snapshot_preview1", ExternType::Func(type_idx)) => {
                let name = i.name.clone();
                let ty = match preview1::signature(&name) {
                    Some(ty) => ty,
                    // Not implemented: it links with the type the module declares, and
                    // traps when called.
                    None => module.func_type(*type_idx).clone(),
                };
                let ctx = ctx.clone();
                ExternVal::Func(config.alloc_host_call_func(
                    ty,
                    Arc::new(move |caller, args| ctx.call(&name, caller, args)),
                ))
            }
            (m, _) => {
                return Err(ProgramError::UnknownImport {
                    module: m.into(),
                    name: i.name.clone(),
                })
            }
        };
        imports.push(ev);
    }
    ctx.set_program(module.clone(), imports.clone());
    Ok(imports)
}
