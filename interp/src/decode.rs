//! Decoding, validation and lowering (spec *Binary Format* and *Validation*), through
//! `wasmparser`, with one of two feature sets ([`Features`]): the threads proposal's (Wasm
//! 2.0 plus threads), or the Wasm 3.0 features Heddle implements (memory64, multi-memory,
//! extended constants, tail calls, relaxed SIMD, exception handling) with threads, custom
//! page sizes and wide arithmetic. `wasmparser` decodes and validates in one pass; each
//! function body is lowered while it is validated, so the validator's operand and control
//! stacks give the stack heights that resolve every branch (and every exception handler's
//! clause, see [`crate::exn`]) once, here, at load time.

use crate::error::{ModuleError, ModuleErrorKind};
use crate::syntax::*;
use crate::syntax::{Catch, Handler, HandlerKind, LegacyCatch};
use crate::types::{
    self, AddrType, CompositeType, ExternType, FieldType, FuncType, GlobalType, HeapType, Limits,
    MemType, StorageType, SubType, TableType, ValType,
};
use wasmparser::{
    BlockType, FrameKind, FuncValidator, FunctionBody, Operator, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

/// Which WebAssembly features a module may use (decoding and validation reject the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Features {
    /// Wasm 2.0 (SIMD included) and the threads proposal: what the threads proposal's own
    /// suite is written against (it expects multiple memories and extended constant
    /// expressions to be rejected).
    Threads,
    /// The threads proposal with the Wasm 3.0 features Heddle implements: memory64 (64-bit
    /// memories and tables), multi-memory, extended constant expressions, tail calls,
    /// relaxed SIMD, typed function references, GC, exception handling (with the legacy
    /// `try` instructions); and the custom-page-sizes and wide-arithmetic proposals.
    #[default]
    Wasm3,
}

impl Features {
    /// The `wasmparser` feature set.
    pub fn wasm_features(self) -> WasmFeatures {
        let threads = WasmFeatures::WASM2 | WasmFeatures::THREADS;
        match self {
            Features::Threads => threads,
            Features::Wasm3 => {
                threads
                    | WasmFeatures::MEMORY64
                    | WasmFeatures::MULTI_MEMORY
                    | WasmFeatures::EXTENDED_CONST
                    | WasmFeatures::TAIL_CALL
                    | WasmFeatures::RELAXED_SIMD
                    | WasmFeatures::CUSTOM_PAGE_SIZES
                    | WasmFeatures::WIDE_ARITHMETIC
                    | WasmFeatures::GC
                    | WasmFeatures::FUNCTION_REFERENCES
                    | WasmFeatures::EXCEPTIONS
                    | WasmFeatures::LEGACY_EXCEPTIONS
            }
        }
    }
}

fn invalid(e: wasmparser::BinaryReaderError) -> ModuleError {
    ModuleError {
        kind: ModuleErrorKind::Invalid,
        message: e.message().to_string(),
        offset: Some(e.offset()),
    }
}

fn unsupported(what: impl Into<String>) -> ModuleError {
    ModuleError {
        kind: ModuleErrorKind::Unsupported,
        message: what.into(),
        offset: None,
    }
}

impl Module {
    /// Decode, validate and lower a binary module, with every feature Heddle implements
    /// ([`Features::Wasm3`]).
    ///
    /// Errors: [`ModuleErrorKind::Invalid`] with wasmparser's message when the binary is
    /// malformed or invalid; [`ModuleErrorKind::Unsupported`] when it is valid but uses a
    /// feature Heddle does not implement.
    pub fn decode(bytes: &[u8]) -> Result<Module, ModuleError> {
        Self::decode_with(bytes, Features::default())
    }

    /// [`Module::decode`] with the given feature set.
    pub fn decode_with(bytes: &[u8], features: Features) -> Result<Module, ModuleError> {
        let features = features.wasm_features();
        match Self::decode_and_lower(bytes, features) {
            // Lowering stops at the first unsupported construct; a module that is also
            // invalid further on must be reported invalid, so validate the whole of it.
            Err(e) if e.kind == ModuleErrorKind::Unsupported => {
                Validator::new_with_features(features)
                    .validate_all(bytes)
                    .map_err(invalid)?;
                Err(e)
            }
            r => r,
        }
    }

    fn decode_and_lower(bytes: &[u8], features: WasmFeatures) -> Result<Module, ModuleError> {
        let mut validator = Validator::new_with_features(features);
        let mut m = Module::default();
        let mut pending_funcs = 0usize;
        // The reader must know the features too: with multi-memory off, the memory index
        // of `memory.size`/`memory.grow` is a single zero byte, not a LEB128.
        let mut parser = Parser::new(0);
        parser.set_features(features);
        for payload in parser.parse_all(bytes) {
            let payload = payload.map_err(invalid)?;
            if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
                let fv = func.into_validator(Default::default());
                let type_idx = m.func_types[m.imported_funcs() + pending_funcs];
                pending_funcs += 1;
                let f = lower_func(fv, &body, type_idx, &m)?;
                m.funcs.push(f);
                continue;
            }
            decode_section(&mut m, payload)?;
        }
        Ok(m)
    }
}

fn decode_section(m: &mut Module, payload: Payload<'_>) -> Result<(), ModuleError> {
    match payload {
        Payload::TypeSection(r) => {
            for group in r {
                let group = group.map_err(invalid)?;
                let types: Vec<SubType> = group.types().map(sub_type).collect::<Result<_, _>>()?;
                m.rec_groups.push(types.len() as u32);
                m.types.extend(types);
            }
        }
        Payload::ImportSection(r) => {
            for import in r.into_imports() {
                let import = import.map_err(invalid)?;
                let ty = match import.ty {
                    TypeRef::Func(i) => {
                        m.func_types.push(i);
                        ExternType::Func(i)
                    }
                    TypeRef::FuncExact(_) => {
                        return Err(unsupported("exact function imports (custom descriptors)"))
                    }
                    TypeRef::Table(t) => ExternType::Table(table_type(t)?),
                    TypeRef::Memory(t) => ExternType::Memory(mem_type(t)),
                    TypeRef::Global(g) => ExternType::Global(global_type(g)?),
                    TypeRef::Tag(t) => ExternType::Tag(t.func_type_idx),
                };
                m.imports.push(Import {
                    module: import.module.to_string(),
                    name: import.name.to_string(),
                    ty,
                });
            }
        }
        Payload::FunctionSection(r) => {
            for t in r {
                m.func_types.push(t.map_err(invalid)?);
            }
        }
        Payload::TableSection(r) => {
            for t in r {
                let t = t.map_err(invalid)?;
                m.tables.push(table_type(t.ty)?);
                m.table_inits.push(match t.init {
                    wasmparser::TableInit::RefNull => None,
                    wasmparser::TableInit::Expr(e) => Some(const_expr(&e)?),
                });
            }
        }
        Payload::MemorySection(r) => {
            for t in r {
                m.mems.push(mem_type(t.map_err(invalid)?));
            }
        }
        Payload::GlobalSection(r) => {
            for g in r {
                let g = g.map_err(invalid)?;
                m.globals.push(Global {
                    ty: global_type(g.ty)?,
                    init: const_expr(&g.init_expr)?,
                });
            }
        }
        Payload::ExportSection(r) => {
            for e in r {
                let e = e.map_err(invalid)?;
                let desc = match e.kind {
                    wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                        ExportDesc::Func(e.index)
                    }
                    wasmparser::ExternalKind::Table => ExportDesc::Table(e.index),
                    wasmparser::ExternalKind::Memory => ExportDesc::Memory(e.index),
                    wasmparser::ExternalKind::Global => ExportDesc::Global(e.index),
                    wasmparser::ExternalKind::Tag => ExportDesc::Tag(e.index),
                };
                m.exports.push(Export {
                    name: e.name.to_string(),
                    desc,
                });
            }
        }
        Payload::StartSection { func, .. } => m.start = Some(func),
        Payload::ElementSection(r) => {
            for e in r {
                let e = e.map_err(invalid)?;
                let (ty, items) = match e.items {
                    wasmparser::ElementItems::Functions(fs) => (
                        types::RefType::FUNCREF,
                        fs.into_iter()
                            .map(|f| Ok(ConstExpr(vec![Instr::RefFunc(f.map_err(invalid)?)])))
                            .collect::<Result<Vec<_>, ModuleError>>()?,
                    ),
                    wasmparser::ElementItems::Expressions(rt, es) => (
                        ref_type(rt)?,
                        es.into_iter()
                            .map(|c| const_expr(&c.map_err(invalid)?))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                };
                let mode = match e.kind {
                    wasmparser::ElementKind::Passive => ElemMode::Passive,
                    wasmparser::ElementKind::Declared => ElemMode::Declarative,
                    wasmparser::ElementKind::Active {
                        table_index,
                        offset_expr,
                    } => ElemMode::Active {
                        table: table_index.unwrap_or(0),
                        offset: const_expr(&offset_expr)?,
                    },
                };
                m.elems.push(ElemSegment { ty, mode, items });
            }
        }
        Payload::DataSection(r) => {
            for d in r {
                let d = d.map_err(invalid)?;
                let mode = match d.kind {
                    wasmparser::DataKind::Passive => DataMode::Passive,
                    wasmparser::DataKind::Active {
                        memory_index,
                        offset_expr,
                    } => DataMode::Active {
                        memory: memory_index,
                        offset: const_expr(&offset_expr)?,
                    },
                };
                m.datas.push(DataSegment {
                    mode,
                    bytes: d.data.to_vec(),
                });
            }
        }
        Payload::TagSection(r) => {
            for t in r {
                m.tags.push(t.map_err(invalid)?.func_type_idx);
            }
        }
        Payload::CustomSection(c) => {
            if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                decode_func_names(m, names);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The function names of a name section (spec *Appendix › Custom Sections › Name
/// Section*, subsection 1). A custom section is not validated (spec: its contents are
/// ignored by validation), so a malformed name section only loses the names from the
/// point it breaks.
fn decode_func_names(m: &mut Module, names: wasmparser::NameSectionReader<'_>) {
    for subsection in names {
        let Ok(wasmparser::Name::Function(map)) = subsection else {
            continue;
        };
        for naming in map {
            let Ok(naming) = naming else { break };
            m.func_names.insert(naming.index, naming.name.to_string());
        }
    }
}

fn val_type(t: wasmparser::ValType) -> Result<ValType, ModuleError> {
    Ok(match t {
        wasmparser::ValType::I32 => ValType::I32,
        wasmparser::ValType::I64 => ValType::I64,
        wasmparser::ValType::F32 => ValType::F32,
        wasmparser::ValType::F64 => ValType::F64,
        wasmparser::ValType::V128 => ValType::V128,
        wasmparser::ValType::Ref(r) => ref_type(r)?.into(),
    })
}

fn ref_type(r: wasmparser::RefType) -> Result<types::RefType, ModuleError> {
    Ok(types::RefType::new(
        r.is_nullable(),
        heap_type(r.heap_type())?,
    ))
}

/// Spec 3.0 *Binary Format › Types*: a sub type of the type section, with module type
/// indices. (Shared types, continuations and custom descriptors are other proposals.)
fn sub_type(t: &wasmparser::SubType) -> Result<SubType, ModuleError> {
    let ct = &t.composite_type;
    if ct.shared || ct.descriptor_idx.is_some() || ct.describes_idx.is_some() {
        return Err(unsupported("shared types and custom descriptors"));
    }
    let field = |f: &wasmparser::FieldType| -> Result<FieldType, ModuleError> {
        Ok(FieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => StorageType::I8,
                wasmparser::StorageType::I16 => StorageType::I16,
                wasmparser::StorageType::Val(v) => StorageType::Val(val_type(v)?),
            },
            mutable: f.mutable,
        })
    };
    let composite = match &ct.inner {
        wasmparser::CompositeInnerType::Func(f) => CompositeType::Func(FuncType {
            params: f
                .params()
                .iter()
                .map(|t| val_type(*t))
                .collect::<Result<_, _>>()?,
            results: f
                .results()
                .iter()
                .map(|t| val_type(*t))
                .collect::<Result<_, _>>()?,
        }),
        wasmparser::CompositeInnerType::Struct(s) => {
            CompositeType::Struct(s.fields.iter().map(field).collect::<Result<_, _>>()?)
        }
        wasmparser::CompositeInnerType::Array(a) => CompositeType::Array(field(&a.0)?),
        wasmparser::CompositeInnerType::Cont(_) => {
            return Err(unsupported("continuation types (stack switching)"))
        }
    };
    Ok(SubType {
        is_final: t.is_final,
        supertype: match t.supertype_idxs.first() {
            None => None,
            Some(i) => Some(
                i.as_module_index()
                    .ok_or_else(|| unsupported("a supertype that is not a module type index"))?,
            ),
        },
        composite,
    })
}

fn table_type(t: wasmparser::TableType) -> Result<TableType, ModuleError> {
    Ok(TableType {
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        elem: ref_type(t.element_type)?,
        addr: if t.table64 {
            AddrType::I64
        } else {
            AddrType::I32
        },
    })
}

fn mem_type(t: wasmparser::MemoryType) -> MemType {
    MemType {
        limits: Limits {
            min: t.initial,
            max: t.maximum,
        },
        shared: t.shared,
        addr: if t.memory64 {
            AddrType::I64
        } else {
            AddrType::I32
        },
        // Validated: 0 or 16.
        page_size_log2: t
            .page_size_log2
            .map_or(types::DEFAULT_PAGE_SIZE_LOG2, |l| l as u8),
    }
}

fn global_type(g: wasmparser::GlobalType) -> Result<GlobalType, ModuleError> {
    Ok(GlobalType {
        content: val_type(g.content_type)?,
        mutable: g.mutable,
    })
}

/// Lower a (validated) constant expression.
fn const_expr(c: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, ModuleError> {
    let mut out = Vec::new();
    let mut r = c.get_operators_reader();
    while !r.eof() {
        let op = r.read().map_err(invalid)?;
        if let Operator::V128Const { value } = op {
            // Two i64 halves, joined (see `SimdInstr::JoinHalves`).
            let c = u128::from(value);
            out.push(Instr::I64Const(c as u64 as i64));
            out.push(Instr::I64Const((c >> 64) as u64 as i64));
            out.push(Instr::Simd(crate::simd::SimdInstr::JoinHalves));
            continue;
        }
        out.push(match op {
            Operator::End => break,
            Operator::I32Const { value } => Instr::I32Const(value),
            Operator::I64Const { value } => Instr::I64Const(value),
            Operator::F32Const { value } => Instr::F32Const(value.bits()),
            Operator::F64Const { value } => Instr::F64Const(value.bits()),
            Operator::RefNull { hty } => Instr::RefNull(heap_type(hty)?),
            Operator::RefFunc { function_index } => Instr::RefFunc(function_index),
            Operator::GlobalGet { global_index } => Instr::GlobalGet(global_index),
            Operator::I32Add => Instr::I32Add,
            Operator::I32Sub => Instr::I32Sub,
            Operator::I32Mul => Instr::I32Mul,
            Operator::I64Add => Instr::I64Add,
            Operator::I64Sub => Instr::I64Sub,
            Operator::I64Mul => Instr::I64Mul,
            Operator::RefI31 => Instr::RefI31,
            Operator::AnyConvertExtern => Instr::AnyConvertExtern,
            Operator::ExternConvertAny => Instr::ExternConvertAny,
            Operator::StructNew { struct_type_index } => Instr::StructNew(struct_type_index),
            Operator::StructNewDefault { struct_type_index } => {
                Instr::StructNewDefault(struct_type_index)
            }
            Operator::ArrayNew { array_type_index } => Instr::ArrayNew(array_type_index),
            Operator::ArrayNewDefault { array_type_index } => {
                Instr::ArrayNewDefault(array_type_index)
            }
            Operator::ArrayNewFixed {
                array_type_index,
                array_size,
            } => Instr::ArrayNewFixed {
                ty: array_type_index,
                len: array_size,
            },
            other => return Err(unsupported(format!("constant instruction {other:?}"))),
        });
    }
    Ok(ConstExpr(out))
}

fn heap_type(h: wasmparser::HeapType) -> Result<HeapType, ModuleError> {
    use wasmparser::AbstractHeapType as A;
    Ok(match h {
        wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            other => return Err(unsupported(format!("heap type {other:?}"))),
        },
        wasmparser::HeapType::Concrete(i) => HeapType::Concrete(
            i.as_module_index()
                .ok_or_else(|| unsupported("a heap type that is not a module type index"))?,
        ),
        other => return Err(unsupported(format!("heap type {other:?}"))),
    })
}

/// A structured-control construct being lowered.
struct Control {
    kind: FrameKind,
    /// For `loop`: the pc of its first instruction (the branch target).
    start: u32,
    /// Branches (and the `if`'s conditional jump) waiting for this construct's `end` pc.
    pending: Vec<Patch>,
    /// For `if`: the index of its `BrUnless`, to patch to the `else` (or `end`).
    else_jump: Option<usize>,
    /// The handler in force for the instructions directly inside (see [`crate::exn`]).
    handler: Option<u32>,
    /// For `try_table` and legacy `try`: its own handler.
    own_handler: Option<u32>,
    /// For a legacy `try`: the hidden local its `catch` bodies keep the exception in.
    exn_local: Option<u32>,
}

impl Control {
    fn new(kind: FrameKind, start: u32, handler: Option<u32>) -> Control {
        Control {
            kind,
            start,
            pending: Vec::new(),
            else_jump: None,
            handler,
            own_handler: None,
            exn_local: None,
        }
    }
}

/// A forward jump to fill in: a plain instruction, or entry `entry` of a `br_table`.
#[derive(Clone, Copy)]
enum Patch {
    Instr(usize),
    Table(u32, usize),
    /// Catch clause `catch` of `try_table` handler `handler`.
    Catch {
        handler: u32,
        catch: usize,
    },
    Cast(u32),
}

/// Spec *Validation › Instructions* and *Binary Format › Instructions*: validate one
/// function body with `wasmparser` and lower it to Heddle's flat form.
fn lower_func(
    mut fv: FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
    type_idx: u32,
    m: &Module,
) -> Result<Func, ModuleError> {
    let mut locals = Vec::new();
    let mut lr = body.get_locals_reader().map_err(invalid)?;
    for _ in 0..lr.get_count() {
        let offset = lr.original_position();
        let (count, ty) = lr.read().map_err(invalid)?;
        fv.define_locals(offset, count, ty).map_err(invalid)?;
        let ty = val_type(ty)?;
        locals.extend(std::iter::repeat_n(ty, count as usize));
    }

    // An operator takes at least one byte and is lowered to at most one instruction per
    // byte (`rethrow`, two bytes, to two): reserved once rather than grown while lowering,
    // and shrunk to fit at the end.
    let mut code: Vec<Instr> = Vec::with_capacity(body.as_bytes().len());
    let mut br_tables: Vec<Vec<BrTarget>> = Vec::new();
    let mut v128s: Vec<u128> = Vec::new();
    let mut br_casts: Vec<BrCast> = Vec::new();
    let mut handlers: Vec<Handler> = Vec::new();
    let nparams = m.func_type(type_idx).params.len();
    let mut ctl: Vec<Control> = vec![Control::new(FrameKind::Block, 0, None)];
    let mut ops = body.get_operators_reader().map_err(invalid)?;
    while !ops.eof() {
        // Most operators are not structured control: each lowers to at most one
        // instruction with no reference to the control stack, so the reader hands it
        // straight to [`Simple`], which validates and lowers it at once. Structured
        // control comes back here as an operator.
        let offset = ops.original_position();
        let mut simple = Simple {
            fv: &mut fv,
            offset,
            m,
            code: &mut code,
            v128s: &mut v128s,
            control: None,
            error: None,
        };
        ops.visit_operator(&mut simple).map_err(invalid)?;
        if let Some(e) = simple.error {
            return Err(e);
        }
        let Some(op) = simple.control else { continue };
        let op = &op;
        // Branches are resolved with the stack heights *before* the operator; a depth the
        // validator does not know is left as a placeholder for `fv.op` to reject.
        let target = |ctl: &mut [Control], depth: u32, popped: u32, patch: Patch| -> BrTarget {
            let Some(frame) = fv.get_control_frame(depth as usize) else {
                return BrTarget {
                    pc: 0,
                    drop: 0,
                    keep: 0,
                };
            };
            let (params, results) = block_arity(m, frame.block_type);
            let keep = if frame.kind == FrameKind::Loop {
                params
            } else {
                results
            };
            let height = fv.operand_stack_height().saturating_sub(popped);
            let drop = height.saturating_sub(frame.height as u32 + keep);
            let c = &mut ctl[ctl.len() - 1 - depth as usize];
            if c.kind == FrameKind::Loop {
                BrTarget {
                    pc: c.start,
                    drop,
                    keep,
                }
            } else {
                c.pending.push(patch);
                BrTarget {
                    pc: u32::MAX,
                    drop,
                    keep,
                }
            }
        };
        let branch: Option<Instr> = match op {
            Operator::Br { relative_depth } => Some(Instr::Br(target(
                &mut ctl,
                *relative_depth,
                0,
                Patch::Instr(code.len()),
            ))),
            Operator::BrIf { relative_depth } => Some(Instr::BrIf(target(
                &mut ctl,
                *relative_depth,
                1,
                Patch::Instr(code.len()),
            ))),
            Operator::BrTable { targets } => {
                let idx = br_tables.len() as u32;
                let depths: Vec<u32> = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())))
                    .collect::<Result<_, _>>()
                    .map_err(invalid)?;
                let list = depths
                    .iter()
                    .enumerate()
                    .map(|(i, d)| target(&mut ctl, *d, 1, Patch::Table(idx, i)))
                    .collect();
                br_tables.push(list);
                Some(Instr::BrTable(idx))
            }
            // Spec 3.0: `br_on_null` pops the reference before branching; the others
            // branch with it as the label's last operand.
            Operator::BrOnNull { relative_depth } => Some(Instr::BrOnNull(target(
                &mut ctl,
                *relative_depth,
                1,
                Patch::Instr(code.len()),
            ))),
            Operator::BrOnNonNull { relative_depth } => Some(Instr::BrOnNonNull(target(
                &mut ctl,
                *relative_depth,
                0,
                Patch::Instr(code.len()),
            ))),
            Operator::BrOnCast {
                relative_depth,
                to_ref_type,
                ..
            }
            | Operator::BrOnCastFail {
                relative_depth,
                to_ref_type,
                ..
            } => {
                let idx = br_casts.len() as u32;
                let t = target(&mut ctl, *relative_depth, 0, Patch::Cast(idx));
                br_casts.push(BrCast {
                    target: t,
                    to: ref_type(*to_ref_type)?,
                    fail: matches!(op, Operator::BrOnCastFail { .. }),
                });
                Some(Instr::BrOnCast(idx))
            }
            _ => None,
        };
        // A `try_table`'s catch clauses name labels outside it: resolve them before the
        // operator, as branches.
        let catches: Vec<Catch> = match op {
            Operator::TryTable { try_table } => try_table
                .catches
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (tag, with_ref, label) = match *c {
                        wasmparser::Catch::One { tag, label } => (Some(tag), false, label),
                        wasmparser::Catch::OneRef { tag, label } => (Some(tag), true, label),
                        wasmparser::Catch::All { label } => (None, false, label),
                        wasmparser::Catch::AllRef { label } => (None, true, label),
                    };
                    let patch = Patch::Catch {
                        handler: handlers.len() as u32,
                        catch: i,
                    };
                    let t = target(&mut ctl, label, 0, patch);
                    let height = fv
                        .get_control_frame(label as usize)
                        .map_or(0, |f| f.height as u32);
                    Catch {
                        tag,
                        with_ref,
                        pc: t.pc,
                        height,
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        let pc = code.len() as u32;
        fv.op(offset, op).map_err(invalid)?;
        let handler = ctl.last().and_then(|c| c.handler);
        let height = fv.get_control_frame(0).map_or(0, |f| f.height as u32);
        // Structure, after validation of the operator.
        match op {
            Operator::Block { .. } => ctl.push(Control::new(FrameKind::Block, pc, handler)),
            Operator::Loop { .. } => ctl.push(Control::new(FrameKind::Loop, pc, handler)),
            Operator::If { .. } => {
                ctl.push(Control {
                    else_jump: Some(code.len()),
                    ..Control::new(FrameKind::If, pc, handler)
                });
                code.push(Instr::BrUnless(BrTarget {
                    pc: u32::MAX,
                    drop: 0,
                    keep: 0,
                }));
            }
            Operator::Else => {
                let c = ctl.last_mut().expect("validated");
                c.pending.push(Patch::Instr(code.len()));
                code.push(Instr::Br(BrTarget {
                    pc: u32::MAX,
                    drop: 0,
                    keep: 0,
                }));
                if let Some(j) = c.else_jump.take() {
                    let else_pc = code.len() as u32;
                    set_target(
                        &mut code,
                        &mut br_tables,
                        &mut br_casts,
                        &mut handlers,
                        Patch::Instr(j),
                        else_pc,
                    );
                }
                c.kind = FrameKind::Else;
            }
            // Exception handling: the handlers of `try_table` and legacy `try` (crate::exn).
            Operator::TryTable { .. } | Operator::Try { .. } => {
                let h = handlers.len() as u32;
                let mut c = Control::new(fv_kind(op), pc, Some(h));
                c.own_handler = Some(h);
                let kind = if let Operator::Try { .. } = op {
                    let exn_local = (nparams + locals.len()) as u32;
                    locals.push(ValType::EXNREF);
                    c.exn_local = Some(exn_local);
                    HandlerKind::Legacy {
                        catches: Vec::new(),
                        exn_local,
                    }
                } else {
                    HandlerKind::TryTable(catches)
                };
                handlers.push(Handler {
                    start: pc,
                    end: u32::MAX,
                    height,
                    parent: handler,
                    kind,
                });
                ctl.push(c);
            }
            Operator::Catch { .. } | Operator::CatchAll => {
                let c = ctl.last_mut().expect("validated");
                // The end of the `try` body or of the previous `catch` body: to the `end`.
                c.pending.push(Patch::Instr(code.len()));
                let h = c.own_handler.expect("validated: in a legacy try") as usize;
                c.handler = handlers[h].parent;
                c.kind = fv_kind(op);
                let handler = &mut handlers[h];
                handler.end = handler.end.min(code.len() as u32);
                code.push(Instr::Br(BrTarget {
                    pc: u32::MAX,
                    drop: 0,
                    keep: 0,
                }));
                let tag = match op {
                    Operator::Catch { tag_index } => Some(*tag_index),
                    _ => None,
                };
                if let HandlerKind::Legacy { catches, .. } = &mut handler.kind {
                    catches.push(LegacyCatch {
                        tag,
                        pc: code.len() as u32,
                    });
                }
            }
            Operator::Rethrow { relative_depth } => {
                let local = ctl
                    .len()
                    .checked_sub(1 + *relative_depth as usize)
                    .and_then(|i| ctl[i].exn_local)
                    .expect("validated: the label of a catch");
                code.push(Instr::LocalGet(local));
                code.push(Instr::ThrowRef);
            }
            Operator::Delegate { relative_depth } => {
                let c = ctl.pop().expect("validated");
                let end = code.len() as u32;
                let next = ctl
                    .len()
                    .checked_sub(1 + *relative_depth as usize)
                    .and_then(|i| ctl[i].handler);
                if let Some(h) = c.own_handler {
                    let handler = &mut handlers[h as usize];
                    handler.end = handler.end.min(end);
                    handler.kind = HandlerKind::Delegate(next);
                }
                for p in c.pending {
                    set_target(
                        &mut code,
                        &mut br_tables,
                        &mut br_casts,
                        &mut handlers,
                        p,
                        end,
                    );
                }
            }
            Operator::End => {
                let c = ctl.pop().expect("validated");
                let end = code.len() as u32;
                if let Some(h) = c.own_handler {
                    let handler = &mut handlers[h as usize];
                    handler.end = handler.end.min(end);
                }
                if let Some(j) = c.else_jump {
                    set_target(
                        &mut code,
                        &mut br_tables,
                        &mut br_casts,
                        &mut handlers,
                        Patch::Instr(j),
                        end,
                    );
                }
                for p in c.pending {
                    set_target(
                        &mut code,
                        &mut br_tables,
                        &mut br_casts,
                        &mut handlers,
                        p,
                        end,
                    );
                }
                if ctl.is_empty() {
                    code.push(Instr::Return);
                }
            }
            _ => {}
        }
        code.extend(branch);
    }
    ops.finish().map_err(invalid)?;
    code.shrink_to_fit();
    let ft = m.func_type(type_idx);
    Ok(Func {
        type_idx,
        arity: (ft.params.len() as u32, ft.results.len() as u32),
        locals,
        body: code,
        br_tables,
        v128s,
        br_casts,
        handlers,
    })
}

/// The visitor [`lower_func`] gives wasmparser's operator reader: each operator that is
/// not structured control ([`is_control`]) is validated (by the function validator's
/// method for that operator, called directly) and lowered ([`lower_simple`]) as it is
/// read, with one dispatch on the opcode instead of three (read into an [`Operator`],
/// validate it, lower it). Structured control is kept in `control` for [`lower_func`].
///
/// The visitor's output is `()`, and what it has to say is left in its fields: a large
/// output (an operator, or an error) would be copied out of every visit, which costs
/// more than the visit.
struct Simple<'v, 'm, 'a> {
    fv: &'v mut FuncValidator<ValidatorResources>,
    /// Byte offset of the operator in the module (for the validator's errors).
    offset: u64,
    m: &'m Module,
    code: &'v mut Vec<Instr>,
    v128s: &'v mut Vec<u128>,
    /// The operator, if it is structured control: neither validated nor lowered.
    control: Option<Operator<'a>>,
    /// Why the operator is invalid, or unsupported by Heddle.
    error: Option<ModuleError>,
}

impl<'a> Simple<'_, '_, 'a> {
    /// Lower `op` once it is `validated`; keep the error if either failed.
    fn lower(&mut self, op: &Operator<'a>, validated: Lowering<()>) {
        let lowered = validated.and_then(|()| lower_simple(op, self.m, self.v128s, self.code));
        if let Err(e) = lowered {
            self.error = Some(*e);
        }
    }
}

/// One method per operator for [`Simple`]: structured control is kept for
/// [`lower_func`]; anything else is validated, then lowered. (`plain` or `simd`: how the
/// validator is reached; SIMD operators go through its SIMD visitor.)
macro_rules! visit_simple {
    ($visit_in:ident; $( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            fn $visit(&mut self $($(, $arg: $argty)*)?) {
                let op = Operator::$op $({ $($arg: $arg.clone()),* })?;
                if is_control(&op) {
                    self.control = Some(op);
                    return;
                }
                let offset = self.offset;
                let validated = visit_simple!(@validate $visit_in self.fv.visitor(offset), offset, $visit ($($($arg),*)?));
                self.lower(&op, validated);
            }
        )*
    };
    (@validate plain $v:expr, $offset:expr, $visit:ident ($($arg:expr),*)) => {
        $v.$visit($($arg),*).map_err(|e| invalid(e).into())
    };
    (@validate simd $v:expr, $offset:expr, $visit:ident ($($arg:expr),*)) => {{
        let mut v = $v;
        match wasmparser::VisitOperator::simd_visitor(&mut v) {
            Some(s) => s.$visit($($arg),*).map_err(|e| invalid(e).into()),
            None => Err(ModuleError {
                kind: ModuleErrorKind::Invalid,
                message: "SIMD support is not enabled".into(),
                offset: Some($offset),
            }
            .into()),
        }
    }};
}

macro_rules! visit_simple_plain {
    ($($t:tt)*) => { visit_simple!(plain; $($t)*); };
}

macro_rules! visit_simple_simd {
    ($($t:tt)*) => { visit_simple!(simd; $($t)*); };
}

#[allow(clippy::clone_on_copy)] // the arguments go to the operator and to the validator
impl<'a> wasmparser::VisitOperator<'a> for Simple<'_, '_, 'a> {
    type Output = ();

    fn simd_visitor(
        &mut self,
    ) -> Option<&mut dyn wasmparser::VisitSimdOperator<'a, Output = Self::Output>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(visit_simple_plain);
}

#[allow(clippy::clone_on_copy)]
impl<'a> wasmparser::VisitSimdOperator<'a> for Simple<'_, '_, 'a> {
    wasmparser::for_each_visit_simd_operator!(visit_simple_simd);
}

/// Whether `op` is structured control (blocks, branches, exception handlers), which
/// [`lower_func`] lowers with the control stack; every other operator is
/// [`lower_simple`]'s.
fn is_control(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Else
            | Operator::End
            | Operator::Br { .. }
            | Operator::BrIf { .. }
            | Operator::BrTable { .. }
            | Operator::BrOnNull { .. }
            | Operator::BrOnNonNull { .. }
            | Operator::BrOnCast { .. }
            | Operator::BrOnCastFail { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. }
            | Operator::Catch { .. }
            | Operator::CatchAll
            | Operator::Rethrow { .. }
            | Operator::Delegate { .. }
    )
}

/// The validator's frame kind of a block-starting operator.
fn fv_kind(op: &Operator<'_>) -> FrameKind {
    match op {
        Operator::TryTable { .. } => FrameKind::TryTable,
        Operator::Try { .. } => FrameKind::LegacyTry,
        Operator::Catch { .. } => FrameKind::LegacyCatch,
        Operator::CatchAll => FrameKind::LegacyCatchAll,
        _ => FrameKind::Block,
    }
}

fn set_target(
    code: &mut [Instr],
    tables: &mut [Vec<BrTarget>],
    casts: &mut [BrCast],
    handlers: &mut [Handler],
    p: Patch,
    pc: u32,
) {
    match p {
        Patch::Catch { handler, catch } => {
            if let HandlerKind::TryTable(cs) = &mut handlers[handler as usize].kind {
                cs[catch].pc = pc;
            }
        }
        Patch::Instr(i) => match &mut code[i] {
            Instr::Br(t)
            | Instr::BrIf(t)
            | Instr::BrUnless(t)
            | Instr::BrOnNull(t)
            | Instr::BrOnNonNull(t) => t.pc = pc,
            other => unreachable!("not a branch: {other:?}"),
        },
        Patch::Table(t, e) => tables[t as usize][e].pc = pc,
        Patch::Cast(c) => casts[c as usize].target.pc = pc,
    }
}

/// `(params, results)` of a block type.
fn block_arity(m: &Module, bt: BlockType) -> (u32, u32) {
    match bt {
        BlockType::Empty => (0, 0),
        BlockType::Type(_) => (0, 1),
        BlockType::FuncType(i) => {
            let t = m.func_type(i);
            (t.params.len() as u32, t.results.len() as u32)
        }
    }
}

/// How field `field` of struct type `ty` (or, with `None`, the elements of array type
/// `ty`) is stored. Validation has checked the indices.
fn field_packing(m: &Module, ty: u32, field: Option<u32>) -> Packed {
    let storage = match (m.composite(ty), field) {
        (Some(CompositeType::Struct(fs)), Some(i)) => fs.get(i as usize).map(|f| f.storage),
        (Some(CompositeType::Array(f)), None) => Some(f.storage),
        _ => None,
    };
    match storage {
        Some(StorageType::I8) => Packed::I8,
        Some(StorageType::I16) => Packed::I16,
        _ => Packed::No,
    }
}

pub(crate) fn memarg(m: &wasmparser::MemArg) -> Lowering<MemArg> {
    match (m.target, m.ordering) {
        (wasmparser::MemArgTarget::Memory(memory), None) => u16::try_from(memory)
            .map(|memory| MemArg::new(m.offset, memory))
            .map_err(|_| unsupported("a memory index above 65535").into()),
        _ => Err(unsupported("memory immediates of the shared-everything-threads proposal").into()),
    }
}

/// The result of lowering one operator: its error boxed, so that the result is one
/// machine word wide (a wide result goes through memory at every operator).
pub(crate) type Lowering<T> = Result<T, Box<ModuleError>>;

/// Lower an operator that maps to one instruction (everything but structured control,
/// see [`is_control`]; vector operators through [`crate::simd::lower`], their 16-byte
/// immediates appended to `v128s`), pushing it onto `code`; `nop` pushes nothing. An
/// operator Heddle does not implement is an `Unsupported` error.
fn lower_simple(
    op: &Operator<'_>,
    m: &Module,
    v128s: &mut Vec<u128>,
    code: &mut Vec<Instr>,
) -> Lowering<()> {
    use AtomicType::{I32 as A32, I64 as A64};
    use Operator as O;
    let atomic_load = |ty, width, m| -> Lowering<_> {
        Ok(Instr::AtomicLoad {
            ty,
            width,
            memarg: memarg(m)?,
        })
    };
    let atomic_store = |ty, width, m| -> Lowering<_> {
        Ok(Instr::AtomicStore {
            ty,
            width,
            memarg: memarg(m)?,
        })
    };
    let rmw = |op, ty, width, m| -> Lowering<_> {
        Ok(Instr::AtomicRmw {
            op,
            ty,
            width,
            memarg: memarg(m)?,
        })
    };
    let cmpxchg = |ty, width, m| -> Lowering<_> {
        Ok(Instr::AtomicCmpxchg {
            ty,
            width,
            memarg: memarg(m)?,
        })
    };
    code.push(match op {
        O::Throw { tag_index } => Instr::Throw(*tag_index),
        O::ThrowRef => Instr::ThrowRef,
        O::Unreachable => Instr::Unreachable,
        O::Nop => return Ok(()),
        O::Return => Instr::Return,
        O::Call { function_index } => Instr::Call(*function_index),
        O::CallIndirect {
            type_index,
            table_index,
        } => Instr::CallIndirect {
            type_idx: *type_index,
            table: *table_index,
        },
        O::ReturnCall { function_index } => Instr::ReturnCall(*function_index),
        O::ReturnCallIndirect {
            type_index,
            table_index,
        } => Instr::ReturnCallIndirect {
            type_idx: *type_index,
            table: *table_index,
        },
        O::Drop => Instr::Drop,
        O::Select => Instr::Select,
        O::TypedSelect { ty } => {
            val_type(*ty)?;
            Instr::Select
        }
        O::LocalGet { local_index } => Instr::LocalGet(*local_index),
        O::LocalSet { local_index } => Instr::LocalSet(*local_index),
        O::LocalTee { local_index } => Instr::LocalTee(*local_index),
        O::GlobalGet { global_index } => Instr::GlobalGet(*global_index),
        O::GlobalSet { global_index } => Instr::GlobalSet(*global_index),
        O::TableGet { table } => Instr::TableGet(*table),
        O::TableSet { table } => Instr::TableSet(*table),
        O::TableSize { table } => Instr::TableSize(*table),
        O::TableGrow { table } => Instr::TableGrow(*table),
        O::TableFill { table } => Instr::TableFill(*table),
        O::TableCopy {
            dst_table,
            src_table,
        } => Instr::TableCopy {
            dst: *dst_table,
            src: *src_table,
        },
        O::TableInit { elem_index, table } => Instr::TableInit {
            table: *table,
            elem: *elem_index,
        },
        O::ElemDrop { elem_index } => Instr::ElemDrop(*elem_index),
        O::RefNull { hty } => Instr::RefNull(heap_type(*hty)?),
        O::RefIsNull => Instr::RefIsNull,
        O::RefFunc { function_index } => Instr::RefFunc(*function_index),

        O::CallRef { type_index } => Instr::CallRef(*type_index),
        O::ReturnCallRef { type_index } => Instr::ReturnCallRef(*type_index),
        O::RefAsNonNull => Instr::RefAsNonNull,
        O::RefEq => Instr::RefEq,
        O::RefTestNonNull { hty } => Instr::RefTest(types::RefType::new(false, heap_type(*hty)?)),
        O::RefTestNullable { hty } => Instr::RefTest(types::RefType::new(true, heap_type(*hty)?)),
        O::RefCastNonNull { hty } => Instr::RefCast(types::RefType::new(false, heap_type(*hty)?)),
        O::RefCastNullable { hty } => Instr::RefCast(types::RefType::new(true, heap_type(*hty)?)),
        O::RefI31 => Instr::RefI31,
        O::I31GetS => Instr::I31Get { signed: true },
        O::I31GetU => Instr::I31Get { signed: false },
        O::AnyConvertExtern => Instr::AnyConvertExtern,
        O::ExternConvertAny => Instr::ExternConvertAny,
        O::StructNew { struct_type_index } => Instr::StructNew(*struct_type_index),
        O::StructNewDefault { struct_type_index } => Instr::StructNewDefault(*struct_type_index),
        O::StructGet {
            struct_type_index,
            field_index,
        }
        | O::StructGetS {
            struct_type_index,
            field_index,
        }
        | O::StructGetU {
            struct_type_index,
            field_index,
        } => Instr::StructGet {
            ty: *struct_type_index,
            field: *field_index,
            packed: field_packing(m, *struct_type_index, Some(*field_index)),
            signed: matches!(op, O::StructGetS { .. }),
        },
        O::StructSet {
            struct_type_index,
            field_index,
        } => Instr::StructSet {
            ty: *struct_type_index,
            field: *field_index,
            packed: field_packing(m, *struct_type_index, Some(*field_index)),
        },
        O::ArrayNew { array_type_index } => Instr::ArrayNew(*array_type_index),
        O::ArrayNewDefault { array_type_index } => Instr::ArrayNewDefault(*array_type_index),
        O::ArrayNewFixed {
            array_type_index,
            array_size,
        } => Instr::ArrayNewFixed {
            ty: *array_type_index,
            len: *array_size,
        },
        O::ArrayNewData {
            array_type_index,
            array_data_index,
        } => Instr::ArrayNewData {
            ty: *array_type_index,
            data: *array_data_index,
        },
        O::ArrayNewElem {
            array_type_index,
            array_elem_index,
        } => Instr::ArrayNewElem {
            ty: *array_type_index,
            elem: *array_elem_index,
        },
        O::ArrayGet { array_type_index }
        | O::ArrayGetS { array_type_index }
        | O::ArrayGetU { array_type_index } => Instr::ArrayGet {
            packed: field_packing(m, *array_type_index, None),
            signed: matches!(op, O::ArrayGetS { .. }),
        },
        O::ArraySet { array_type_index } => {
            Instr::ArraySet(field_packing(m, *array_type_index, None))
        }
        O::ArrayLen => Instr::ArrayLen,
        O::ArrayFill { array_type_index } => {
            Instr::ArrayFill(field_packing(m, *array_type_index, None))
        }
        O::ArrayCopy { .. } => Instr::ArrayCopy,
        O::ArrayInitData {
            array_type_index,
            array_data_index,
        } => Instr::ArrayInitData {
            ty: *array_type_index,
            data: *array_data_index,
        },
        O::ArrayInitElem {
            array_elem_index, ..
        } => Instr::ArrayInitElem(*array_elem_index),

        O::I32Load { memarg: m } => Instr::I32Load(memarg(m)?),
        O::I64Load { memarg: m } => Instr::I64Load(memarg(m)?),
        O::F32Load { memarg: m } => Instr::F32Load(memarg(m)?),
        O::F64Load { memarg: m } => Instr::F64Load(memarg(m)?),
        O::I32Load8S { memarg: m } => Instr::I32Load8S(memarg(m)?),
        O::I32Load8U { memarg: m } => Instr::I32Load8U(memarg(m)?),
        O::I32Load16S { memarg: m } => Instr::I32Load16S(memarg(m)?),
        O::I32Load16U { memarg: m } => Instr::I32Load16U(memarg(m)?),
        O::I64Load8S { memarg: m } => Instr::I64Load8S(memarg(m)?),
        O::I64Load8U { memarg: m } => Instr::I64Load8U(memarg(m)?),
        O::I64Load16S { memarg: m } => Instr::I64Load16S(memarg(m)?),
        O::I64Load16U { memarg: m } => Instr::I64Load16U(memarg(m)?),
        O::I64Load32S { memarg: m } => Instr::I64Load32S(memarg(m)?),
        O::I64Load32U { memarg: m } => Instr::I64Load32U(memarg(m)?),
        O::I32Store { memarg: m } => Instr::I32Store(memarg(m)?),
        O::I64Store { memarg: m } => Instr::I64Store(memarg(m)?),
        O::F32Store { memarg: m } => Instr::F32Store(memarg(m)?),
        O::F64Store { memarg: m } => Instr::F64Store(memarg(m)?),
        O::I32Store8 { memarg: m } => Instr::I32Store8(memarg(m)?),
        O::I32Store16 { memarg: m } => Instr::I32Store16(memarg(m)?),
        O::I64Store8 { memarg: m } => Instr::I64Store8(memarg(m)?),
        O::I64Store16 { memarg: m } => Instr::I64Store16(memarg(m)?),
        O::I64Store32 { memarg: m } => Instr::I64Store32(memarg(m)?),
        O::MemorySize { mem } => Instr::MemorySize(*mem),
        O::MemoryGrow { mem } => Instr::MemoryGrow(*mem),
        O::MemoryFill { mem } => Instr::MemoryFill(*mem),
        O::MemoryCopy { dst_mem, src_mem } => Instr::MemoryCopy {
            dst: *dst_mem,
            src: *src_mem,
        },
        O::MemoryInit { data_index, mem } => Instr::MemoryInit {
            memory: *mem,
            data: *data_index,
        },
        O::DataDrop { data_index } => Instr::DataDrop(*data_index),

        O::MemoryAtomicNotify { memarg: m } => Instr::AtomicNotify(memarg(m)?),
        O::MemoryAtomicWait32 { memarg: m } => Instr::AtomicWait {
            ty: A32,
            memarg: memarg(m)?,
        },
        O::MemoryAtomicWait64 { memarg: m } => Instr::AtomicWait {
            ty: A64,
            memarg: memarg(m)?,
        },
        O::AtomicFence { .. } => Instr::AtomicFence,
        O::I32AtomicLoad { memarg: m } => atomic_load(A32, 4, m)?,
        O::I64AtomicLoad { memarg: m } => atomic_load(A64, 8, m)?,
        O::I32AtomicLoad8U { memarg: m } => atomic_load(A32, 1, m)?,
        O::I32AtomicLoad16U { memarg: m } => atomic_load(A32, 2, m)?,
        O::I64AtomicLoad8U { memarg: m } => atomic_load(A64, 1, m)?,
        O::I64AtomicLoad16U { memarg: m } => atomic_load(A64, 2, m)?,
        O::I64AtomicLoad32U { memarg: m } => atomic_load(A64, 4, m)?,
        O::I32AtomicStore { memarg: m } => atomic_store(A32, 4, m)?,
        O::I64AtomicStore { memarg: m } => atomic_store(A64, 8, m)?,
        O::I32AtomicStore8 { memarg: m } => atomic_store(A32, 1, m)?,
        O::I32AtomicStore16 { memarg: m } => atomic_store(A32, 2, m)?,
        O::I64AtomicStore8 { memarg: m } => atomic_store(A64, 1, m)?,
        O::I64AtomicStore16 { memarg: m } => atomic_store(A64, 2, m)?,
        O::I64AtomicStore32 { memarg: m } => atomic_store(A64, 4, m)?,

        O::I32AtomicRmwAdd { memarg: m } => rmw(RmwOp::Add, A32, 4, m)?,
        O::I64AtomicRmwAdd { memarg: m } => rmw(RmwOp::Add, A64, 8, m)?,
        O::I32AtomicRmw8AddU { memarg: m } => rmw(RmwOp::Add, A32, 1, m)?,
        O::I32AtomicRmw16AddU { memarg: m } => rmw(RmwOp::Add, A32, 2, m)?,
        O::I64AtomicRmw8AddU { memarg: m } => rmw(RmwOp::Add, A64, 1, m)?,
        O::I64AtomicRmw16AddU { memarg: m } => rmw(RmwOp::Add, A64, 2, m)?,
        O::I64AtomicRmw32AddU { memarg: m } => rmw(RmwOp::Add, A64, 4, m)?,
        O::I32AtomicRmwSub { memarg: m } => rmw(RmwOp::Sub, A32, 4, m)?,
        O::I64AtomicRmwSub { memarg: m } => rmw(RmwOp::Sub, A64, 8, m)?,
        O::I32AtomicRmw8SubU { memarg: m } => rmw(RmwOp::Sub, A32, 1, m)?,
        O::I32AtomicRmw16SubU { memarg: m } => rmw(RmwOp::Sub, A32, 2, m)?,
        O::I64AtomicRmw8SubU { memarg: m } => rmw(RmwOp::Sub, A64, 1, m)?,
        O::I64AtomicRmw16SubU { memarg: m } => rmw(RmwOp::Sub, A64, 2, m)?,
        O::I64AtomicRmw32SubU { memarg: m } => rmw(RmwOp::Sub, A64, 4, m)?,
        O::I32AtomicRmwAnd { memarg: m } => rmw(RmwOp::And, A32, 4, m)?,
        O::I64AtomicRmwAnd { memarg: m } => rmw(RmwOp::And, A64, 8, m)?,
        O::I32AtomicRmw8AndU { memarg: m } => rmw(RmwOp::And, A32, 1, m)?,
        O::I32AtomicRmw16AndU { memarg: m } => rmw(RmwOp::And, A32, 2, m)?,
        O::I64AtomicRmw8AndU { memarg: m } => rmw(RmwOp::And, A64, 1, m)?,
        O::I64AtomicRmw16AndU { memarg: m } => rmw(RmwOp::And, A64, 2, m)?,
        O::I64AtomicRmw32AndU { memarg: m } => rmw(RmwOp::And, A64, 4, m)?,
        O::I32AtomicRmwOr { memarg: m } => rmw(RmwOp::Or, A32, 4, m)?,
        O::I64AtomicRmwOr { memarg: m } => rmw(RmwOp::Or, A64, 8, m)?,
        O::I32AtomicRmw8OrU { memarg: m } => rmw(RmwOp::Or, A32, 1, m)?,
        O::I32AtomicRmw16OrU { memarg: m } => rmw(RmwOp::Or, A32, 2, m)?,
        O::I64AtomicRmw8OrU { memarg: m } => rmw(RmwOp::Or, A64, 1, m)?,
        O::I64AtomicRmw16OrU { memarg: m } => rmw(RmwOp::Or, A64, 2, m)?,
        O::I64AtomicRmw32OrU { memarg: m } => rmw(RmwOp::Or, A64, 4, m)?,
        O::I32AtomicRmwXor { memarg: m } => rmw(RmwOp::Xor, A32, 4, m)?,
        O::I64AtomicRmwXor { memarg: m } => rmw(RmwOp::Xor, A64, 8, m)?,
        O::I32AtomicRmw8XorU { memarg: m } => rmw(RmwOp::Xor, A32, 1, m)?,
        O::I32AtomicRmw16XorU { memarg: m } => rmw(RmwOp::Xor, A32, 2, m)?,
        O::I64AtomicRmw8XorU { memarg: m } => rmw(RmwOp::Xor, A64, 1, m)?,
        O::I64AtomicRmw16XorU { memarg: m } => rmw(RmwOp::Xor, A64, 2, m)?,
        O::I64AtomicRmw32XorU { memarg: m } => rmw(RmwOp::Xor, A64, 4, m)?,
        O::I32AtomicRmwXchg { memarg: m } => rmw(RmwOp::Xchg, A32, 4, m)?,
        O::I64AtomicRmwXchg { memarg: m } => rmw(RmwOp::Xchg, A64, 8, m)?,
        O::I32AtomicRmw8XchgU { memarg: m } => rmw(RmwOp::Xchg, A32, 1, m)?,
        O::I32AtomicRmw16XchgU { memarg: m } => rmw(RmwOp::Xchg, A32, 2, m)?,
        O::I64AtomicRmw8XchgU { memarg: m } => rmw(RmwOp::Xchg, A64, 1, m)?,
        O::I64AtomicRmw16XchgU { memarg: m } => rmw(RmwOp::Xchg, A64, 2, m)?,
        O::I64AtomicRmw32XchgU { memarg: m } => rmw(RmwOp::Xchg, A64, 4, m)?,
        O::I32AtomicRmwCmpxchg { memarg: m } => cmpxchg(A32, 4, m)?,
        O::I64AtomicRmwCmpxchg { memarg: m } => cmpxchg(A64, 8, m)?,
        O::I32AtomicRmw8CmpxchgU { memarg: m } => cmpxchg(A32, 1, m)?,
        O::I32AtomicRmw16CmpxchgU { memarg: m } => cmpxchg(A32, 2, m)?,
        O::I64AtomicRmw8CmpxchgU { memarg: m } => cmpxchg(A64, 1, m)?,
        O::I64AtomicRmw16CmpxchgU { memarg: m } => cmpxchg(A64, 2, m)?,
        O::I64AtomicRmw32CmpxchgU { memarg: m } => cmpxchg(A64, 4, m)?,

        O::I32Const { value } => Instr::I32Const(*value),
        O::I64Const { value } => Instr::I64Const(*value),
        O::F32Const { value } => Instr::F32Const(value.bits()),
        O::F64Const { value } => Instr::F64Const(value.bits()),

        O::I32Eqz => Instr::I32Eqz,
        O::I32Eq => Instr::I32Eq,
        O::I32Ne => Instr::I32Ne,
        O::I32LtS => Instr::I32LtS,
        O::I32LtU => Instr::I32LtU,
        O::I32GtS => Instr::I32GtS,
        O::I32GtU => Instr::I32GtU,
        O::I32LeS => Instr::I32LeS,
        O::I32LeU => Instr::I32LeU,
        O::I32GeS => Instr::I32GeS,
        O::I32GeU => Instr::I32GeU,
        O::I32Clz => Instr::I32Clz,
        O::I32Ctz => Instr::I32Ctz,
        O::I32Popcnt => Instr::I32Popcnt,
        O::I32Add => Instr::I32Add,
        O::I32Sub => Instr::I32Sub,
        O::I32Mul => Instr::I32Mul,
        O::I32DivS => Instr::I32DivS,
        O::I32DivU => Instr::I32DivU,
        O::I32RemS => Instr::I32RemS,
        O::I32RemU => Instr::I32RemU,
        O::I32And => Instr::I32And,
        O::I32Or => Instr::I32Or,
        O::I32Xor => Instr::I32Xor,
        O::I32Shl => Instr::I32Shl,
        O::I32ShrS => Instr::I32ShrS,
        O::I32ShrU => Instr::I32ShrU,
        O::I32Rotl => Instr::I32Rotl,
        O::I32Rotr => Instr::I32Rotr,
        O::I64Eqz => Instr::I64Eqz,
        O::I64Eq => Instr::I64Eq,
        O::I64Ne => Instr::I64Ne,
        O::I64LtS => Instr::I64LtS,
        O::I64LtU => Instr::I64LtU,
        O::I64GtS => Instr::I64GtS,
        O::I64GtU => Instr::I64GtU,
        O::I64LeS => Instr::I64LeS,
        O::I64LeU => Instr::I64LeU,
        O::I64GeS => Instr::I64GeS,
        O::I64GeU => Instr::I64GeU,
        O::I64Clz => Instr::I64Clz,
        O::I64Ctz => Instr::I64Ctz,
        O::I64Popcnt => Instr::I64Popcnt,
        O::I64Add => Instr::I64Add,
        O::I64Sub => Instr::I64Sub,
        O::I64Mul => Instr::I64Mul,
        O::I64DivS => Instr::I64DivS,
        O::I64DivU => Instr::I64DivU,
        O::I64RemS => Instr::I64RemS,
        O::I64RemU => Instr::I64RemU,
        O::I64And => Instr::I64And,
        O::I64Or => Instr::I64Or,
        O::I64Xor => Instr::I64Xor,
        O::I64Shl => Instr::I64Shl,
        O::I64ShrS => Instr::I64ShrS,
        O::I64ShrU => Instr::I64ShrU,
        O::I64Rotl => Instr::I64Rotl,
        O::I64Rotr => Instr::I64Rotr,
        O::I64Add128 => Instr::I64Add128,
        O::I64Sub128 => Instr::I64Sub128,
        O::I64MulWideS => Instr::I64MulWideS,
        O::I64MulWideU => Instr::I64MulWideU,
        O::F32Eq => Instr::F32Eq,
        O::F32Ne => Instr::F32Ne,
        O::F32Lt => Instr::F32Lt,
        O::F32Gt => Instr::F32Gt,
        O::F32Le => Instr::F32Le,
        O::F32Ge => Instr::F32Ge,
        O::F32Abs => Instr::F32Abs,
        O::F32Neg => Instr::F32Neg,
        O::F32Ceil => Instr::F32Ceil,
        O::F32Floor => Instr::F32Floor,
        O::F32Trunc => Instr::F32Trunc,
        O::F32Nearest => Instr::F32Nearest,
        O::F32Sqrt => Instr::F32Sqrt,
        O::F32Add => Instr::F32Add,
        O::F32Sub => Instr::F32Sub,
        O::F32Mul => Instr::F32Mul,
        O::F32Div => Instr::F32Div,
        O::F32Min => Instr::F32Min,
        O::F32Max => Instr::F32Max,
        O::F32Copysign => Instr::F32Copysign,
        O::F64Eq => Instr::F64Eq,
        O::F64Ne => Instr::F64Ne,
        O::F64Lt => Instr::F64Lt,
        O::F64Gt => Instr::F64Gt,
        O::F64Le => Instr::F64Le,
        O::F64Ge => Instr::F64Ge,
        O::F64Abs => Instr::F64Abs,
        O::F64Neg => Instr::F64Neg,
        O::F64Ceil => Instr::F64Ceil,
        O::F64Floor => Instr::F64Floor,
        O::F64Trunc => Instr::F64Trunc,
        O::F64Nearest => Instr::F64Nearest,
        O::F64Sqrt => Instr::F64Sqrt,
        O::F64Add => Instr::F64Add,
        O::F64Sub => Instr::F64Sub,
        O::F64Mul => Instr::F64Mul,
        O::F64Div => Instr::F64Div,
        O::F64Min => Instr::F64Min,
        O::F64Max => Instr::F64Max,
        O::F64Copysign => Instr::F64Copysign,
        O::I32WrapI64 => Instr::I32WrapI64,
        O::I32TruncF32S => Instr::I32TruncF32S,
        O::I32TruncF32U => Instr::I32TruncF32U,
        O::I32TruncF64S => Instr::I32TruncF64S,
        O::I32TruncF64U => Instr::I32TruncF64U,
        O::I64ExtendI32S => Instr::I64ExtendI32S,
        O::I64ExtendI32U => Instr::I64ExtendI32U,
        O::I64TruncF32S => Instr::I64TruncF32S,
        O::I64TruncF32U => Instr::I64TruncF32U,
        O::I64TruncF64S => Instr::I64TruncF64S,
        O::I64TruncF64U => Instr::I64TruncF64U,
        O::F32ConvertI32S => Instr::F32ConvertI32S,
        O::F32ConvertI32U => Instr::F32ConvertI32U,
        O::F32ConvertI64S => Instr::F32ConvertI64S,
        O::F32ConvertI64U => Instr::F32ConvertI64U,
        O::F32DemoteF64 => Instr::F32DemoteF64,
        O::F64ConvertI32S => Instr::F64ConvertI32S,
        O::F64ConvertI32U => Instr::F64ConvertI32U,
        O::F64ConvertI64S => Instr::F64ConvertI64S,
        O::F64ConvertI64U => Instr::F64ConvertI64U,
        O::F64PromoteF32 => Instr::F64PromoteF32,
        O::I32ReinterpretF32 => Instr::I32ReinterpretF32,
        O::I64ReinterpretF64 => Instr::I64ReinterpretF64,
        O::F32ReinterpretI32 => Instr::F32ReinterpretI32,
        O::F64ReinterpretI64 => Instr::F64ReinterpretI64,
        O::I32Extend8S => Instr::I32Extend8S,
        O::I32Extend16S => Instr::I32Extend16S,
        O::I64Extend8S => Instr::I64Extend8S,
        O::I64Extend16S => Instr::I64Extend16S,
        O::I64Extend32S => Instr::I64Extend32S,
        O::I32TruncSatF32S => Instr::I32TruncSatF32S,
        O::I32TruncSatF32U => Instr::I32TruncSatF32U,
        O::I32TruncSatF64S => Instr::I32TruncSatF64S,
        O::I32TruncSatF64U => Instr::I32TruncSatF64U,
        O::I64TruncSatF32S => Instr::I64TruncSatF32S,
        O::I64TruncSatF32U => Instr::I64TruncSatF32U,
        O::I64TruncSatF64S => Instr::I64TruncSatF64S,
        O::I64TruncSatF64U => Instr::I64TruncSatF64U,
        other => {
            if let Some(simd) = lower(other, v128s)? {
                Instr::Simd(simd)
            } else {
                let name = format!("{other:?}");
                return Err(unsupported(format!(
                    "instruction {}",
                    name.split([' ', '{']).next().unwrap_or(&name)
                ))
                .into());
            }
        }
    });
    Ok(())
}

// ---- Vector instructions (spec *Vector Instructions*), lowered; see [`crate::simd`] ----

use crate::simd::{Shape, SimdInstr, SimdOp};

/// Lower a vector operator (after `wasmparser` validated it), or `Ok(None)` if `op` is not
/// one. 16-byte immediates are appended to `v128s`, the function's side table.
pub(crate) fn lower(
    op: &Operator<'_>,
    v128s: &mut Vec<u128>,
) -> crate::decode::Lowering<Option<SimdInstr>> {
    use Operator as O;
    use Shape::*;
    use SimdInstr::*;
    let memarg = crate::decode::memarg;
    let load = |bytes, then, m| -> crate::decode::Lowering<SimdInstr> {
        Ok(Load {
            bytes,
            then,
            memarg: memarg(m)?,
        })
    };
    let mut side = |c: u128| -> crate::decode::Lowering<u32> {
        let i = u32::try_from(v128s.len()).map_err(|_| ModuleError {
            kind: ModuleErrorKind::Unsupported,
            message: "more than 2^32 v128 immediates in one function".into(),
            offset: None,
        })?;
        v128s.push(c);
        Ok(i)
    };
    Ok(Some(match op {
        O::V128Const { value } => Const(side(u128::from_le_bytes(*value.bytes()))?),
        O::I8x16Shuffle { lanes } => Shuffle(side(u128::from_le_bytes(*lanes))?),

        O::I8x16ExtractLaneS { lane } => extract(I8x16, *lane, true),
        O::I8x16ExtractLaneU { lane } => extract(I8x16, *lane, false),
        O::I16x8ExtractLaneS { lane } => extract(I16x8, *lane, true),
        O::I16x8ExtractLaneU { lane } => extract(I16x8, *lane, false),
        O::I32x4ExtractLane { lane } => extract(I32x4, *lane, false),
        O::I64x2ExtractLane { lane } => extract(I64x2, *lane, false),
        O::F32x4ExtractLane { lane } => extract(F32x4, *lane, false),
        O::F64x2ExtractLane { lane } => extract(F64x2, *lane, false),
        O::I8x16ReplaceLane { lane } => replace(I8x16, *lane),
        O::I16x8ReplaceLane { lane } => replace(I16x8, *lane),
        O::I32x4ReplaceLane { lane } => replace(I32x4, *lane),
        O::I64x2ReplaceLane { lane } => replace(I64x2, *lane),
        O::F32x4ReplaceLane { lane } => replace(F32x4, *lane),
        O::F64x2ReplaceLane { lane } => replace(F64x2, *lane),

        O::V128Load { memarg: m } => load(16, None, m)?,
        O::V128Load8x8S { memarg: m } => load(8, Some(SimdOp::I16x8ExtendLowI8x16S), m)?,
        O::V128Load8x8U { memarg: m } => load(8, Some(SimdOp::I16x8ExtendLowI8x16U), m)?,
        O::V128Load16x4S { memarg: m } => load(8, Some(SimdOp::I32x4ExtendLowI16x8S), m)?,
        O::V128Load16x4U { memarg: m } => load(8, Some(SimdOp::I32x4ExtendLowI16x8U), m)?,
        O::V128Load32x2S { memarg: m } => load(8, Some(SimdOp::I64x2ExtendLowI32x4S), m)?,
        O::V128Load32x2U { memarg: m } => load(8, Some(SimdOp::I64x2ExtendLowI32x4U), m)?,
        O::V128Load8Splat { memarg: m } => load(1, Some(SimdOp::I8x16Splat), m)?,
        O::V128Load16Splat { memarg: m } => load(2, Some(SimdOp::I16x8Splat), m)?,
        O::V128Load32Splat { memarg: m } => load(4, Some(SimdOp::I32x4Splat), m)?,
        O::V128Load64Splat { memarg: m } => load(8, Some(SimdOp::I64x2Splat), m)?,
        O::V128Load32Zero { memarg: m } => load(4, None, m)?,
        O::V128Load64Zero { memarg: m } => load(8, None, m)?,
        O::V128Store { memarg: m } => Store(memarg(m)?),
        O::V128Load8Lane { memarg: m, lane } => lane_access(true, 1, *lane, memarg(m)?),
        O::V128Load16Lane { memarg: m, lane } => lane_access(true, 2, *lane, memarg(m)?),
        O::V128Load32Lane { memarg: m, lane } => lane_access(true, 4, *lane, memarg(m)?),
        O::V128Load64Lane { memarg: m, lane } => lane_access(true, 8, *lane, memarg(m)?),
        O::V128Store8Lane { memarg: m, lane } => lane_access(false, 1, *lane, memarg(m)?),
        O::V128Store16Lane { memarg: m, lane } => lane_access(false, 2, *lane, memarg(m)?),
        O::V128Store32Lane { memarg: m, lane } => lane_access(false, 4, *lane, memarg(m)?),
        O::V128Store64Lane { memarg: m, lane } => lane_access(false, 8, *lane, memarg(m)?),

        other => match SimdOp::from_operator(other) {
            Some(op) => Op(op),
            None => return Ok(None),
        },
    }))
}

fn extract(shape: Shape, lane: u8, signed: bool) -> SimdInstr {
    SimdInstr::ExtractLane {
        shape,
        lane,
        signed,
    }
}

fn replace(shape: Shape, lane: u8) -> SimdInstr {
    SimdInstr::ReplaceLane { shape, lane }
}

fn lane_access(load: bool, bytes: u32, lane: u8, memarg: MemArg) -> SimdInstr {
    let shape = Shape::of_width(bytes);
    if load {
        SimdInstr::LoadLane {
            shape,
            lane,
            memarg,
        }
    } else {
        SimdInstr::StoreLane {
            shape,
            lane,
            memarg,
        }
    }
}
