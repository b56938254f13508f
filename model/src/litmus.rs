//! Litmus programs from `.wast` files in the style of the threads suite's `threads/*.wast`.
//!
//! Accepted: shared memories, 32- or 64-bit (defined by modules of the top-level script
//! before any thread, optionally with active data segments, exported and `register`ed
//! under names that other modules import them by); modules that import them and export
//! straight-line functions; a location is a memory and an address ([`crate::Location`]);
//! `(thread $T (shared (module $M)) …)` blocks, nested to any depth; `(wait $T)`;
//! `(invoke …)` anywhere, also inside `assert_return` / `assert_trap` / `assert_exhaustion`
//! (whose expectations are ignored); `register` (ignored); module assertions
//! (`assert_invalid`, `assert_malformed`, `assert_unlinkable`, ignored: they run nothing).
//! An imported memory is the one registered under the import's module and field names; when
//! there is none (e.g. `spectest`'s), and the script defines exactly one memory, that one.
//!
//! Function bodies may contain constants, locals, `drop`, `select`, `nop`, `return`,
//! `unreachable`, i32/i64 arithmetic and comparisons, wrap/extend/reinterpret
//! conversions, loads and stores of every width and type, atomic loads, stores, RMWs
//! and cmpxchg, `memory.atomic.wait32/64`, `memory.atomic.notify` and `atomic.fence`.
//! Anything else is a [`LitmusError`] naming the construct and its line.

use crate::event::{location, Location, MAX_MEMORIES, MEMORY_SPAN};
use crate::program::{
    Convert, Func, Instr, IntBinop, IntUnop, Memory, Program, RmwOp, ScriptStep, Thread, ValType,
    Value,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use wast::core::{
    DataKind, DataVal, ExportKind, FuncKind, ImportItems, InnerTypeKind, Instruction as I,
    ItemKind, MemArg, MemArgTarget, MemoryKind, MemoryType, Module, ModuleField, ModuleKind,
    WastArgCore,
};
use wast::parser::{self, ParseBuffer};
use wast::token::{Index, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, Wat};

/// A litmus file that cannot be used: a syntax error or an unsupported construct.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LitmusError {
    /// 1-based line of the construct (0 if the error is about the whole file).
    pub line: usize,
    /// 1-based column of a syntax error (0 if not known).
    pub column: usize,
    /// What is wrong, naming the construct.
    pub message: String,
}

impl fmt::Display for LitmusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.message),
            (l, 0) => write!(f, "line {l}: {}", self.message),
            (l, c) => write!(f, "line {l}, column {c}: {}", self.message),
        }
    }
}

/// What a module exports: functions, and memories (as indices into the program's
/// memories).
#[derive(Default, Clone)]
struct Exports {
    funcs: HashMap<String, Arc<Func>>,
    memories: HashMap<String, usize>,
}

#[derive(Default, Clone)]
struct Scope {
    modules: HashMap<String, Exports>,
    last: Option<Exports>,
    threads: HashMap<String, usize>,
    /// Modules registered by name (`register`), for imports.
    registry: HashMap<String, Exports>,
}

struct Front<'t> {
    text: &'t str,
    threads: Vec<Thread>,
    memories: Vec<Memory>,
    init: BTreeMap<Location, u8>,
    /// The memory index space of the module being lowered: program memory of each index.
    module_memories: Vec<usize>,
    /// The data segments of the module being lowered, as `memory.init` sees them: a
    /// passive segment's bytes; an active one is empty (dropped at instantiation).
    module_data: Vec<Arc<[u8]>>,
}

/// Parses a `.wast` litmus file into a [`Program`].
///
/// # Errors
/// A [`LitmusError`] with the line of a syntax error or of the first unsupported construct.
pub fn parse_litmus(text: &str) -> Result<Program, LitmusError> {
    let mut buf = ParseBuffer::new(text).map_err(|e| syntax(text, e))?;
    buf.track_instr_spans(true);
    let wast: Wast = parser::parse(&buf).map_err(|e| syntax(text, e))?;
    let mut f = Front {
        text,
        threads: vec![Thread {
            name: "main".into(),
            parent: None,
            steps: Vec::new(),
        }],
        memories: Vec::new(),
        init: BTreeMap::new(),
        module_memories: Vec::new(),
        module_data: Vec::new(),
    };
    let mut scope = Scope::default();
    f.directives(wast.directives, 0, &mut scope)?;
    if f.memories.is_empty() {
        return Err(LitmusError {
            line: 0,
            column: 0,
            message: "no shared memory is defined (a litmus test defines a shared memory)".into(),
        });
    }
    // A memory's length varies iff some function grows it (model/src/program.rs
    // `Memory::growable`).
    for th in &f.threads {
        for step in &th.steps {
            if let ScriptStep::Invoke { func, .. } = step {
                for (ins, _) in &func.body {
                    if let Instr::MemoryGrow { memory } = ins {
                        if let Some(m) = f.memories.get_mut(*memory) {
                            m.growable = true;
                        }
                    }
                }
            }
        }
    }
    Ok(Program {
        memories: f.memories.into(),
        init: f.init.into_iter().filter(|&(_, b)| b != 0).collect(),
        threads: f.threads,
    })
}

fn syntax(text: &str, mut e: wast::Error) -> LitmusError {
    e.set_text(text);
    let (line, column) = e.span().linecol_in(text);
    LitmusError {
        line: line + 1,
        column: column + 1,
        message: format!("syntax error: {}", e.message()),
    }
}

impl<'t> Front<'t> {
    fn line(&self, span: Span) -> usize {
        span.linecol_in(self.text).0 + 1
    }

    fn err<T>(&self, span: Span, message: impl Into<String>) -> Result<T, LitmusError> {
        Err(LitmusError {
            line: self.line(span),
            column: 0,
            message: message.into(),
        })
    }

    fn directives(
        &mut self,
        ds: Vec<WastDirective<'_>>,
        t: usize,
        scope: &mut Scope,
    ) -> Result<(), LitmusError> {
        for d in ds {
            let span = d.span();
            match d {
                WastDirective::Module(QuoteWat::Wat(Wat::Module(m))) => {
                    let is_main = t == 0 && self.threads.len() == 1;
                    let id = m.id.map(|i| i.name().to_string());
                    let exports = self.module(m, is_main, scope)?;
                    scope.last = Some(exports.clone());
                    if let Some(id) = id {
                        scope.modules.insert(id, exports);
                    }
                }
                WastDirective::Module(_) => {
                    return self.err(
                        span,
                        "unsupported construct: quoted or binary module or component",
                    )
                }
                WastDirective::ModuleDefinition(_) | WastDirective::ModuleInstance { .. } => {
                    return self.err(
                        span,
                        "unsupported construct: module definition / module instance",
                    )
                }
                WastDirective::Register { name, module, .. } => {
                    let exports = match module {
                        Some(id) => scope.modules.get(id.name()).cloned(),
                        None => scope.last.clone(),
                    };
                    if let Some(e) = exports {
                        scope.registry.insert(name.to_string(), e);
                    }
                }
                WastDirective::Invoke(inv) => self.invoke(inv, t, scope)?,
                WastDirective::AssertReturn { exec, .. }
                | WastDirective::AssertTrap { exec, .. } => match exec {
                    WastExecute::Invoke(inv) => self.invoke(inv, t, scope)?,
                    WastExecute::Wat(_) => {}
                    WastExecute::Get { .. } => {
                        return self.err(span, "unsupported construct: (get …)")
                    }
                },
                WastDirective::AssertExhaustion { call, .. } => self.invoke(call, t, scope)?,
                WastDirective::AssertMalformed { .. }
                | WastDirective::AssertInvalid { .. }
                | WastDirective::AssertInvalidCustom { .. }
                | WastDirective::AssertMalformedCustom { .. }
                | WastDirective::AssertUnlinkable { .. } => {}
                WastDirective::Thread(th) => {
                    let id = self.threads.len();
                    let name = th.name.name().to_string();
                    self.threads.push(Thread {
                        name: name.clone(),
                        parent: Some(t),
                        steps: Vec::new(),
                    });
                    self.threads[t].steps.push(ScriptStep::Spawn(id));
                    scope.threads.insert(name, id);
                    let mut inner = Scope::default();
                    if let Some(m) = th.shared_module {
                        match scope.modules.get(m.name()) {
                            Some(e) => {
                                inner.modules.insert(m.name().to_string(), e.clone());
                            }
                            None => {
                                return self.err(
                                    span,
                                    format!("unknown module ${} in (shared (module …))", m.name()),
                                )
                            }
                        }
                    }
                    self.directives(th.directives, id, &mut inner)?;
                }
                WastDirective::Wait { thread, .. } => match scope.threads.get(thread.name()) {
                    Some(&c) => self.threads[t].steps.push(ScriptStep::Join(c)),
                    None => {
                        return self.err(span, format!("(wait ${}): unknown thread", thread.name()))
                    }
                },
                other => {
                    let name = format!("{other:?}");
                    let name = name
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or("directive")
                        .to_string();
                    return self.err(span, format!("unsupported construct: {name}"));
                }
            }
        }
        Ok(())
    }

    fn invoke(&mut self, inv: WastInvoke<'_>, t: usize, scope: &Scope) -> Result<(), LitmusError> {
        let exports = match inv.module {
            Some(id) => scope.modules.get(id.name()),
            None => scope.last.as_ref(),
        };
        let Some(exports) = exports else {
            return self.err(
                inv.span,
                format!("invoke \"{}\": no such module in this thread", inv.name),
            );
        };
        let Some(func) = exports.funcs.get(inv.name).cloned() else {
            return self.err(
                inv.span,
                format!("invoke \"{}\": no such exported function", inv.name),
            );
        };
        let mut args = Vec::new();
        for a in &inv.args {
            args.push(match a {
                WastArg::Core(WastArgCore::I32(v)) => Value::I32(*v as u32),
                WastArg::Core(WastArgCore::I64(v)) => Value::I64(*v as u64),
                WastArg::Core(WastArgCore::F32(v)) => Value::F32(v.bits),
                WastArg::Core(WastArgCore::F64(v)) => Value::F64(v.bits),
                _ => {
                    return self.err(
                        inv.span,
                        "unsupported construct: non-numeric invoke argument",
                    )
                }
            });
        }
        if args.len() != func.params.len()
            || args.iter().zip(&func.params).any(|(a, p)| a.ty() != *p)
        {
            return self.err(
                inv.span,
                format!(
                    "invoke \"{}\": arguments do not match the parameters",
                    inv.name
                ),
            );
        }
        let line = self.line(inv.span);
        self.threads[t]
            .steps
            .push(ScriptStep::Invoke { func, args, line });
        Ok(())
    }

    /// Processes one module: its memories (defined or imported), data segments, functions
    /// and function and memory exports.
    fn module(
        &mut self,
        mut m: Module<'_>,
        may_define_memory: bool,
        scope: &Scope,
    ) -> Result<Exports, LitmusError> {
        let mspan = m.span;
        let ModuleKind::Text(fields) = &m.kind else {
            return self.err(mspan, "unsupported construct: binary module");
        };
        self.module_memories.clear();
        self.module_data.clear();
        let mut memory_exports: Vec<(String, usize)> = Vec::new();
        for f in fields {
            match f {
                ModuleField::Memory(mem) => match &mem.kind {
                    MemoryKind::Normal(ty) => {
                        if !ty.shared {
                            return self.err(mem.span, "unsupported construct: unshared memory");
                        }
                        if !may_define_memory {
                            return self.err(mem.span, "unsupported construct: a memory definition in a thread or after one (a litmus test defines its shared memories before any thread)");
                        }
                        let id = self.define_memory(mem.span, ty)?;
                        for n in &mem.exports.names {
                            memory_exports.push((n.to_string(), self.module_memories.len()));
                        }
                        self.module_memories.push(id);
                    }
                    MemoryKind::Import { import, ty } => {
                        if !ty.shared {
                            return self.err(
                                mem.span,
                                "unsupported construct: import of an unshared memory",
                            );
                        }
                        let id =
                            self.import_memory(mem.span, scope, import.module, import.field)?;
                        for n in &mem.exports.names {
                            memory_exports.push((n.to_string(), self.module_memories.len()));
                        }
                        self.module_memories.push(id);
                    }
                    MemoryKind::Inline { .. } => {
                        return self.err(mem.span, "unsupported construct: memory with inline data")
                    }
                },
                ModuleField::Import(imp) => match &imp.items {
                    ImportItems::Single { module, name, sig } => match &sig.kind {
                        ItemKind::Memory(ty) if ty.shared => {
                            let id = self.import_memory(sig.span, scope, module, name)?;
                            self.module_memories.push(id);
                        }
                        ItemKind::Memory(_) => {
                            return self.err(
                                sig.span,
                                "unsupported construct: import of an unshared memory",
                            )
                        }
                        _ => {
                            return self.err(
                                sig.span,
                                "unsupported construct: import of a non-memory item",
                            )
                        }
                    },
                    _ => return self.err(imp.span, "unsupported construct: grouped import"),
                },
                ModuleField::Data(d) => {
                    let DataKind::Active { offset, memory } = &d.kind else {
                        let bytes: Vec<u8> = d
                            .data
                            .iter()
                            .flat_map(|v| match v {
                                DataVal::String(s) => s.to_vec(),
                                DataVal::Integral(b) => b.clone(),
                            })
                            .collect();
                        self.module_data.push(bytes.into());
                        continue;
                    };
                    self.module_data.push(Arc::from(Vec::new()));
                    if !may_define_memory {
                        return self.err(
                            d.span,
                            "unsupported construct: data segment of a module in a thread",
                        );
                    }
                    let index = match memory {
                        wast::token::Index::Num(i, _) => *i as usize,
                        wast::token::Index::Id(_) => return self.err(
                            d.span,
                            "unsupported construct: data segment naming its memory by identifier",
                        ),
                    };
                    let Some(&id) = self.module_memories.get(index) else {
                        return self.err(d.span, "data segment of an unknown memory");
                    };
                    let base =
                        match &offset.instrs[..] {
                            [I::i32_const(v)] => u64::from(*v as u32),
                            [I::i64_const(v)] => *v as u64,
                            _ => return self.err(
                                d.span,
                                "unsupported construct: data segment offset other than a constant",
                            ),
                        };
                    let size = self.memories[id].size;
                    let mut k = base;
                    for v in &d.data {
                        let bytes: &[u8] = match v {
                            DataVal::String(s) => s,
                            DataVal::Integral(b) => b,
                        };
                        for &b in bytes {
                            if k >= size {
                                return self.err(d.span, "data segment out of bounds");
                            }
                            self.init.insert(location(id, k), b);
                            k += 1;
                        }
                    }
                }
                ModuleField::Func(_)
                | ModuleField::Export(_)
                | ModuleField::Type(_)
                | ModuleField::Custom(_) => {}
                ModuleField::Global(g) => return self.err(g.span, "unsupported construct: global"),
                ModuleField::Table(tb) => return self.err(tb.span, "unsupported construct: table"),
                ModuleField::Start(_) => {
                    return self.err(mspan, "unsupported construct: start function")
                }
                ModuleField::Elem(e) => {
                    return self.err(e.span, "unsupported construct: element segment")
                }
                ModuleField::Tag(tg) => return self.err(tg.span, "unsupported construct: tag"),
                ModuleField::Rec(r) => {
                    return self.err(r.span, "unsupported construct: rec type group")
                }
            }
        }
        if let Err(e) = m.resolve() {
            let mut e = e;
            e.set_text(self.text);
            let (line, column) = e.span().linecol_in(self.text);
            return Err(LitmusError {
                line: line + 1,
                column: column + 1,
                message: format!("name resolution: {}", e.message()),
            });
        }
        let ModuleKind::Text(fields) = &m.kind else {
            return self.err(mspan, "unsupported construct: binary module");
        };
        let mut types: Vec<Option<(Vec<ValType>, Vec<ValType>)>> = Vec::new();
        for f in fields {
            if let ModuleField::Type(ty) = f {
                types.push(match &ty.def.kind {
                    InnerTypeKind::Func(ft) => self.sig(ty.span, ft).ok(),
                    _ => None,
                });
            }
        }
        let mut funcs: Vec<Arc<Func>> = Vec::new();
        let mut inline_exports: Vec<(String, usize)> = Vec::new();
        for f in fields {
            let ModuleField::Func(func) = f else { continue };
            let FuncKind::Inline { locals, expression } = &func.kind else {
                return self.err(func.span, "unsupported construct: imported function");
            };
            let (params, results) = match (&func.ty.inline, &func.ty.index) {
                (Some(ft), _) => self.sig(func.span, ft)?,
                (None, Some(Index::Num(i, _))) => match types.get(*i as usize) {
                    Some(Some(s)) => s.clone(),
                    _ => return self.err(func.span, "unsupported construct: function type"),
                },
                _ => return self.err(func.span, "unsupported construct: function type"),
            };
            let mut ltys = Vec::new();
            for l in locals.iter() {
                ltys.push(self.valtype(func.span, &l.ty)?);
            }
            let spans = expression.instr_spans.as_deref();
            let mut body = Vec::new();
            for (i, ins) in expression.instrs.iter().enumerate() {
                let sp = spans.and_then(|s| s.get(i)).copied().unwrap_or(func.span);
                let line = self.line(sp);
                body.push((self.instr(ins, sp)?, line));
            }
            for n in &func.exports.names {
                inline_exports.push((n.to_string(), funcs.len()));
            }
            funcs.push(Arc::new(Func {
                name: String::new(),
                params,
                locals: ltys,
                results,
                body,
            }));
        }
        let mut exports = Exports::default();
        for (name, i) in memory_exports {
            exports.memories.insert(name, self.module_memories[i]);
        }
        let mut add = |name: &str, i: usize| {
            if let Some(f) = funcs.get(i) {
                let mut g = (**f).clone();
                g.name = name.to_string();
                exports.funcs.insert(name.to_string(), Arc::new(g));
            }
        };
        for (n, i) in &inline_exports {
            add(n, *i);
        }
        for f in fields {
            if let ModuleField::Export(e) = f {
                match (&e.kind, &e.item) {
                    (ExportKind::Func, Index::Num(i, _)) => add(e.name, *i as usize),
                    (ExportKind::Memory, Index::Num(i, _)) => {
                        if let Some(&id) = self.module_memories.get(*i as usize) {
                            exports.memories.insert(e.name.to_string(), id);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(exports)
    }

    fn sig(
        &self,
        span: Span,
        ft: &wast::core::FunctionType<'_>,
    ) -> Result<(Vec<ValType>, Vec<ValType>), LitmusError> {
        let mut p = Vec::new();
        for (_, _, t) in ft.params.iter() {
            p.push(self.valtype(span, t)?);
        }
        let mut r = Vec::new();
        for t in ft.results.iter() {
            r.push(self.valtype(span, t)?);
        }
        Ok((p, r))
    }

    fn valtype(&self, span: Span, t: &wast::core::ValType<'_>) -> Result<ValType, LitmusError> {
        Ok(match t {
            wast::core::ValType::I32 => ValType::I32,
            wast::core::ValType::I64 => ValType::I64,
            wast::core::ValType::F32 => ValType::F32,
            wast::core::ValType::F64 => ValType::F64,
            _ => return self.err(span, "unsupported construct: vector or reference type"),
        })
    }

    /// Define a shared memory of type `ty`: its index in the program's memories.
    fn define_memory(&mut self, span: Span, ty: &MemoryType) -> Result<usize, LitmusError> {
        if self.memories.len() >= MAX_MEMORIES {
            return self.err(
                span,
                format!("unsupported construct: more than {MAX_MEMORIES} shared memories"),
            );
        }
        let page_size = 1u64 << ty.page_size_log2.unwrap_or(16).min(16);
        let size = ty
            .limits
            .min
            .checked_mul(page_size)
            .filter(|s| *s <= MEMORY_SPAN);
        let Some(size) = size else {
            return self.err(
                span,
                "unsupported construct: a memory of more than 2^48 bytes",
            );
        };
        let max = ty
            .limits
            .max
            .map(|m| m.saturating_mul(page_size).min(MEMORY_SPAN));
        self.memories.push(Memory {
            size,
            addr64: ty.limits.is64,
            page_size,
            max,
            growable: false,
        });
        Ok(self.memories.len() - 1)
    }

    /// The program memory an import `module`.`field` names: the one registered under those
    /// names, or, if none is and the script defines exactly one memory, that one.
    fn import_memory(
        &self,
        span: Span,
        scope: &Scope,
        module: &str,
        field: &str,
    ) -> Result<usize, LitmusError> {
        if let Some(&id) = scope
            .registry
            .get(module)
            .and_then(|e| e.memories.get(field))
        {
            return Ok(id);
        }
        match self.memories.len() {
            1 => Ok(0),
            0 => self.err(span, "import of a memory before any shared memory is defined"),
            _ => self.err(
                span,
                format!("import of memory \"{module}\" \"{field}\": no registered module exports it (with several memories, imports must name a registered one)"),
            ),
        }
    }

    /// The program memory of a memory index of the module being lowered.
    fn memory_index(&self, index: &Index<'_>, span: Span) -> Result<usize, LitmusError> {
        match index {
            Index::Num(i, _) => match self.module_memories.get(*i as usize) {
                Some(&memory) => Ok(memory),
                None => self.err(span, "access to a memory the module does not have"),
            },
            Index::Id(_) => self.err(span, "unsupported construct: memory immediate"),
        }
    }

    fn memarg(&self, m: &MemArg<'_>, span: Span) -> Result<crate::program::MemArg, LitmusError> {
        if m.ordering.is_some() {
            return self.err(span, "unsupported construct: memory ordering annotation");
        }
        let index = match m.target {
            MemArgTarget::Memory(Index::Num(i, _)) => i as usize,
            _ => return self.err(span, "unsupported construct: memory immediate"),
        };
        match self.module_memories.get(index) {
            Some(&memory) => Ok(crate::program::MemArg {
                memory,
                offset: m.offset,
            }),
            None => self.err(span, "access to a memory the module does not have"),
        }
    }

    fn instr(&self, ins: &I<'_>, span: Span) -> Result<Instr, LitmusError> {
        use ValType::{F32, F64, I32 as T32, I64 as T64};
        let ld = |ty, width, signed, m: &MemArg<'_>, atomic| -> Result<Instr, LitmusError> {
            Ok(Instr::Load {
                ty,
                width,
                signed,
                at: self.memarg(m, span)?,
                atomic,
            })
        };
        let st = |ty, width, m: &MemArg<'_>, atomic| -> Result<Instr, LitmusError> {
            Ok(Instr::Store {
                ty,
                width,
                at: self.memarg(m, span)?,
                atomic,
            })
        };
        let rmw = |ty, width, m: &MemArg<'_>, op| -> Result<Instr, LitmusError> {
            Ok(Instr::Rmw {
                ty,
                width,
                at: self.memarg(m, span)?,
                op,
            })
        };
        let cx = |ty, width, m: &MemArg<'_>| -> Result<Instr, LitmusError> {
            Ok(Instr::Cmpxchg {
                ty,
                width,
                at: self.memarg(m, span)?,
            })
        };
        let u = |t, op| Ok(Instr::IntUnop(t, op));
        let b = |t, op| Ok(Instr::IntBinop(t, op));
        use IntBinop as B;
        use IntUnop as U;
        use RmwOp as R;
        match ins {
            I::i32_const(v) => Ok(Instr::Const(Value::I32(*v as u32))),
            I::i64_const(v) => Ok(Instr::Const(Value::I64(*v as u64))),
            I::f32_const(v) => Ok(Instr::Const(Value::F32(v.bits))),
            I::f64_const(v) => Ok(Instr::Const(Value::F64(v.bits))),
            I::local_get(Index::Num(i, _)) => Ok(Instr::LocalGet(*i)),
            I::local_set(Index::Num(i, _)) => Ok(Instr::LocalSet(*i)),
            I::local_tee(Index::Num(i, _)) => Ok(Instr::LocalTee(*i)),
            I::drop => Ok(Instr::Drop),
            I::select(s) if s.tys.is_none() => Ok(Instr::Select),
            I::nop => Ok(Instr::Nop),
            I::return_ => Ok(Instr::Return),
            I::unreachable => Ok(Instr::Unreachable),
            I::i32_clz => u(T32, U::Clz),
            I::i32_ctz => u(T32, U::Ctz),
            I::i32_popcnt => u(T32, U::Popcnt),
            I::i32_eqz => u(T32, U::Eqz),
            I::i32_extend8_s => u(T32, U::Extend8S),
            I::i32_extend16_s => u(T32, U::Extend16S),
            I::i64_clz => u(T64, U::Clz),
            I::i64_ctz => u(T64, U::Ctz),
            I::i64_popcnt => u(T64, U::Popcnt),
            I::i64_eqz => u(T64, U::Eqz),
            I::i64_extend8_s => u(T64, U::Extend8S),
            I::i64_extend16_s => u(T64, U::Extend16S),
            I::i64_extend32_s => u(T64, U::Extend32S),
            I::i32_add => b(T32, B::Add),
            I::i32_sub => b(T32, B::Sub),
            I::i32_mul => b(T32, B::Mul),
            I::i32_div_s => b(T32, B::DivS),
            I::i32_div_u => b(T32, B::DivU),
            I::i32_rem_s => b(T32, B::RemS),
            I::i32_rem_u => b(T32, B::RemU),
            I::i32_and => b(T32, B::And),
            I::i32_or => b(T32, B::Or),
            I::i32_xor => b(T32, B::Xor),
            I::i32_shl => b(T32, B::Shl),
            I::i32_shr_s => b(T32, B::ShrS),
            I::i32_shr_u => b(T32, B::ShrU),
            I::i32_rotl => b(T32, B::Rotl),
            I::i32_rotr => b(T32, B::Rotr),
            I::i32_eq => b(T32, B::Eq),
            I::i32_ne => b(T32, B::Ne),
            I::i32_lt_s => b(T32, B::LtS),
            I::i32_lt_u => b(T32, B::LtU),
            I::i32_gt_s => b(T32, B::GtS),
            I::i32_gt_u => b(T32, B::GtU),
            I::i32_le_s => b(T32, B::LeS),
            I::i32_le_u => b(T32, B::LeU),
            I::i32_ge_s => b(T32, B::GeS),
            I::i32_ge_u => b(T32, B::GeU),
            I::i64_add => b(T64, B::Add),
            I::i64_sub => b(T64, B::Sub),
            I::i64_mul => b(T64, B::Mul),
            I::i64_div_s => b(T64, B::DivS),
            I::i64_div_u => b(T64, B::DivU),
            I::i64_rem_s => b(T64, B::RemS),
            I::i64_rem_u => b(T64, B::RemU),
            I::i64_and => b(T64, B::And),
            I::i64_or => b(T64, B::Or),
            I::i64_xor => b(T64, B::Xor),
            I::i64_shl => b(T64, B::Shl),
            I::i64_shr_s => b(T64, B::ShrS),
            I::i64_shr_u => b(T64, B::ShrU),
            I::i64_rotl => b(T64, B::Rotl),
            I::i64_rotr => b(T64, B::Rotr),
            I::i64_eq => b(T64, B::Eq),
            I::i64_ne => b(T64, B::Ne),
            I::i64_lt_s => b(T64, B::LtS),
            I::i64_lt_u => b(T64, B::LtU),
            I::i64_gt_s => b(T64, B::GtS),
            I::i64_gt_u => b(T64, B::GtU),
            I::i64_le_s => b(T64, B::LeS),
            I::i64_le_u => b(T64, B::LeU),
            I::i64_ge_s => b(T64, B::GeS),
            I::i64_ge_u => b(T64, B::GeU),
            I::i32_wrap_i64 => Ok(Instr::Convert(Convert::I32WrapI64)),
            I::i64_extend_i32_s => Ok(Instr::Convert(Convert::I64ExtendI32S)),
            I::i64_extend_i32_u => Ok(Instr::Convert(Convert::I64ExtendI32U)),
            I::i32_reinterpret_f32 => Ok(Instr::Convert(Convert::I32ReinterpretF32)),
            I::i64_reinterpret_f64 => Ok(Instr::Convert(Convert::I64ReinterpretF64)),
            I::f32_reinterpret_i32 => Ok(Instr::Convert(Convert::F32ReinterpretI32)),
            I::f64_reinterpret_i64 => Ok(Instr::Convert(Convert::F64ReinterpretI64)),
            I::i32_load(m) => ld(T32, 4, false, m, false),
            I::i64_load(m) => ld(T64, 8, false, m, false),
            I::f32_load(m) => ld(F32, 4, false, m, false),
            I::f64_load(m) => ld(F64, 8, false, m, false),
            I::i32_load8_s(m) => ld(T32, 1, true, m, false),
            I::i32_load8_u(m) => ld(T32, 1, false, m, false),
            I::i32_load16_s(m) => ld(T32, 2, true, m, false),
            I::i32_load16_u(m) => ld(T32, 2, false, m, false),
            I::i64_load8_s(m) => ld(T64, 1, true, m, false),
            I::i64_load8_u(m) => ld(T64, 1, false, m, false),
            I::i64_load16_s(m) => ld(T64, 2, true, m, false),
            I::i64_load16_u(m) => ld(T64, 2, false, m, false),
            I::i64_load32_s(m) => ld(T64, 4, true, m, false),
            I::i64_load32_u(m) => ld(T64, 4, false, m, false),
            I::i32_store(m) => st(T32, 4, m, false),
            I::i64_store(m) => st(T64, 8, m, false),
            I::f32_store(m) => st(F32, 4, m, false),
            I::f64_store(m) => st(F64, 8, m, false),
            I::i32_store8(m) => st(T32, 1, m, false),
            I::i32_store16(m) => st(T32, 2, m, false),
            I::i64_store8(m) => st(T64, 1, m, false),
            I::i64_store16(m) => st(T64, 2, m, false),
            I::i64_store32(m) => st(T64, 4, m, false),
            I::i32_atomic_load(m) => ld(T32, 4, false, m, true),
            I::i64_atomic_load(m) => ld(T64, 8, false, m, true),
            I::i32_atomic_load8_u(m) => ld(T32, 1, false, m, true),
            I::i32_atomic_load16_u(m) => ld(T32, 2, false, m, true),
            I::i64_atomic_load8_u(m) => ld(T64, 1, false, m, true),
            I::i64_atomic_load16_u(m) => ld(T64, 2, false, m, true),
            I::i64_atomic_load32_u(m) => ld(T64, 4, false, m, true),
            I::i32_atomic_store(m) => st(T32, 4, m, true),
            I::i64_atomic_store(m) => st(T64, 8, m, true),
            I::i32_atomic_store8(m) => st(T32, 1, m, true),
            I::i32_atomic_store16(m) => st(T32, 2, m, true),
            I::i64_atomic_store8(m) => st(T64, 1, m, true),
            I::i64_atomic_store16(m) => st(T64, 2, m, true),
            I::i64_atomic_store32(m) => st(T64, 4, m, true),
            I::i32_atomic_rmw_add(m) => rmw(T32, 4, m, R::Add),
            I::i64_atomic_rmw_add(m) => rmw(T64, 8, m, R::Add),
            I::i32_atomic_rmw8_add_u(m) => rmw(T32, 1, m, R::Add),
            I::i32_atomic_rmw16_add_u(m) => rmw(T32, 2, m, R::Add),
            I::i64_atomic_rmw8_add_u(m) => rmw(T64, 1, m, R::Add),
            I::i64_atomic_rmw16_add_u(m) => rmw(T64, 2, m, R::Add),
            I::i64_atomic_rmw32_add_u(m) => rmw(T64, 4, m, R::Add),
            I::i32_atomic_rmw_sub(m) => rmw(T32, 4, m, R::Sub),
            I::i64_atomic_rmw_sub(m) => rmw(T64, 8, m, R::Sub),
            I::i32_atomic_rmw8_sub_u(m) => rmw(T32, 1, m, R::Sub),
            I::i32_atomic_rmw16_sub_u(m) => rmw(T32, 2, m, R::Sub),
            I::i64_atomic_rmw8_sub_u(m) => rmw(T64, 1, m, R::Sub),
            I::i64_atomic_rmw16_sub_u(m) => rmw(T64, 2, m, R::Sub),
            I::i64_atomic_rmw32_sub_u(m) => rmw(T64, 4, m, R::Sub),
            I::i32_atomic_rmw_and(m) => rmw(T32, 4, m, R::And),
            I::i64_atomic_rmw_and(m) => rmw(T64, 8, m, R::And),
            I::i32_atomic_rmw8_and_u(m) => rmw(T32, 1, m, R::And),
            I::i32_atomic_rmw16_and_u(m) => rmw(T32, 2, m, R::And),
            I::i64_atomic_rmw8_and_u(m) => rmw(T64, 1, m, R::And),
            I::i64_atomic_rmw16_and_u(m) => rmw(T64, 2, m, R::And),
            I::i64_atomic_rmw32_and_u(m) => rmw(T64, 4, m, R::And),
            I::i32_atomic_rmw_or(m) => rmw(T32, 4, m, R::Or),
            I::i64_atomic_rmw_or(m) => rmw(T64, 8, m, R::Or),
            I::i32_atomic_rmw8_or_u(m) => rmw(T32, 1, m, R::Or),
            I::i32_atomic_rmw16_or_u(m) => rmw(T32, 2, m, R::Or),
            I::i64_atomic_rmw8_or_u(m) => rmw(T64, 1, m, R::Or),
            I::i64_atomic_rmw16_or_u(m) => rmw(T64, 2, m, R::Or),
            I::i64_atomic_rmw32_or_u(m) => rmw(T64, 4, m, R::Or),
            I::i32_atomic_rmw_xor(m) => rmw(T32, 4, m, R::Xor),
            I::i64_atomic_rmw_xor(m) => rmw(T64, 8, m, R::Xor),
            I::i32_atomic_rmw8_xor_u(m) => rmw(T32, 1, m, R::Xor),
            I::i32_atomic_rmw16_xor_u(m) => rmw(T32, 2, m, R::Xor),
            I::i64_atomic_rmw8_xor_u(m) => rmw(T64, 1, m, R::Xor),
            I::i64_atomic_rmw16_xor_u(m) => rmw(T64, 2, m, R::Xor),
            I::i64_atomic_rmw32_xor_u(m) => rmw(T64, 4, m, R::Xor),
            I::i32_atomic_rmw_xchg(m) => rmw(T32, 4, m, R::Xchg),
            I::i64_atomic_rmw_xchg(m) => rmw(T64, 8, m, R::Xchg),
            I::i32_atomic_rmw8_xchg_u(m) => rmw(T32, 1, m, R::Xchg),
            I::i32_atomic_rmw16_xchg_u(m) => rmw(T32, 2, m, R::Xchg),
            I::i64_atomic_rmw8_xchg_u(m) => rmw(T64, 1, m, R::Xchg),
            I::i64_atomic_rmw16_xchg_u(m) => rmw(T64, 2, m, R::Xchg),
            I::i64_atomic_rmw32_xchg_u(m) => rmw(T64, 4, m, R::Xchg),
            I::i32_atomic_rmw_cmpxchg(m) => cx(T32, 4, m),
            I::i64_atomic_rmw_cmpxchg(m) => cx(T64, 8, m),
            I::i32_atomic_rmw8_cmpxchg_u(m) => cx(T32, 1, m),
            I::i32_atomic_rmw16_cmpxchg_u(m) => cx(T32, 2, m),
            I::i64_atomic_rmw8_cmpxchg_u(m) => cx(T64, 1, m),
            I::i64_atomic_rmw16_cmpxchg_u(m) => cx(T64, 2, m),
            I::i64_atomic_rmw32_cmpxchg_u(m) => cx(T64, 4, m),
            I::memory_atomic_wait32(m) => Ok(Instr::Wait {
                width: 4,
                at: self.memarg(m, span)?,
            }),
            I::memory_atomic_wait64(m) => Ok(Instr::Wait {
                width: 8,
                at: self.memarg(m, span)?,
            }),
            I::memory_atomic_notify(m) => Ok(Instr::Notify {
                at: self.memarg(m, span)?,
            }),
            I::atomic_fence(None) => Ok(Instr::Fence),
            I::memory_size(a) => Ok(Instr::MemorySize {
                memory: self.memory_index(&a.mem, span)?,
            }),
            I::memory_grow(a) => Ok(Instr::MemoryGrow {
                memory: self.memory_index(&a.mem, span)?,
            }),
            I::memory_fill(a) => Ok(Instr::MemoryFill {
                memory: self.memory_index(&a.mem, span)?,
            }),
            I::memory_copy(c) => Ok(Instr::MemoryCopy {
                dst: self.memory_index(&c.dst, span)?,
                src: self.memory_index(&c.src, span)?,
            }),
            I::memory_init(i) => {
                let data = match i.data {
                    Index::Num(x, _) => self.module_data.get(x as usize).cloned(),
                    Index::Id(_) => None,
                };
                let Some(data) = data else {
                    return self.err(span, "memory.init of an unknown data segment");
                };
                Ok(Instr::MemoryInit {
                    memory: self.memory_index(&i.mem, span)?,
                    data,
                })
            }
            other => {
                let dbg = format!("{other:?}");
                let name: String = dbg
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("?")
                    .trim_end_matches('_')
                    .to_string();
                self.err(span, format!("unsupported construct: instruction `{name}`"))
            }
        }
    }
}
