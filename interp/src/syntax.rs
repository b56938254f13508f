//! Heddle's internal form of a validated module (spec *Structure › Modules*), lowered from
//! the binary by [`crate::decode`].
//!
//! Instructions are flattened: structured control (`block`, `loop`, `if`, `else`, `end`) is
//! lowered to jumps whose targets and stack adjustments are resolved once, at load time, so
//! execution never scans for `end` and needs no run-time label stack. Everything else maps
//! one-to-one to the spec's instructions and keeps their names.

pub use crate::memarg::MemArg;
pub use crate::simd::SimdInstr;
use crate::types::{
    CompositeType, ExternType, FuncType, GlobalType, HeapType, MemType, RefType, SubType,
    TableType, ValType,
};

/// A validated, lowered module. Index spaces (functions, tables, memories, globals) begin
/// with the imports, in order, as in the spec.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// The type section (spec 3.0: sub types, with module type indices).
    pub types: Vec<SubType>,
    /// The sizes of the type section's recursion groups, in order (each type not in an
    /// explicit `rec` is a group of one).
    pub rec_groups: Vec<u32>,
    /// The imports, in order.
    pub imports: Vec<Import>,
    /// The type index of every function in the function index space (imports first).
    pub func_types: Vec<u32>,
    /// The functions defined by this module (index `imported_funcs + i`).
    pub funcs: Vec<Func>,
    /// Defined tables.
    pub tables: Vec<TableType>,
    /// The initialiser of each defined table (spec 3.0 `table tabletype expr`), or `None`
    /// for `ref.null` of the element type.
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Defined memories.
    pub mems: Vec<MemType>,
    /// Defined globals.
    pub globals: Vec<Global>,
    /// Defined tags (exception handling): the index in [`Module::types`] of each one's
    /// type. The tag index space begins with the imported tags.
    pub tags: Vec<u32>,
    /// The exports.
    pub exports: Vec<Export>,
    /// The start function's index, if any.
    pub start: Option<u32>,
    /// The element segments.
    pub elems: Vec<ElemSegment>,
    /// The data segments.
    pub datas: Vec<DataSegment>,
    /// Function names from the name section (custom section `name`, spec *Appendix › Custom
    /// Sections › Name Section*), by index in the function index space; empty when the
    /// binary has none. Used in messages (call stacks) only.
    pub func_names: std::collections::BTreeMap<u32, String>,
}

impl Module {
    /// The name of function `idx` (function index space) from the name section, if any.
    pub fn func_name(&self, idx: u32) -> Option<&str> {
        self.func_names.get(&idx).map(String::as_str)
    }

    /// The function type with index `idx` (an empty one if that is not a function type,
    /// which validation excludes wherever a function type is required).
    pub fn func_type(&self, idx: u32) -> &FuncType {
        static EMPTY: FuncType = FuncType {
            params: Vec::new(),
            results: Vec::new(),
        };
        self.types
            .get(idx as usize)
            .and_then(SubType::as_func)
            .unwrap_or(&EMPTY)
    }

    /// The composite type with index `idx`, if there is one.
    pub fn composite(&self, idx: u32) -> Option<&CompositeType> {
        self.types.get(idx as usize).map(|t| &t.composite)
    }

    /// Number of imported functions (the first indices of the function index space).
    pub fn imported_funcs(&self) -> usize {
        self.imports
            .iter()
            .filter(|i| matches!(i.ty, ExternType::Func(_)))
            .count()
    }
}

/// An import (spec `import`): module name, field name, and the type it must match.
#[derive(Clone, Debug)]
pub struct Import {
    /// The module name of the import.
    pub module: String,
    /// The field name of the import.
    pub name: String,
    /// The type the import must match.
    pub ty: ExternType,
}

/// The kind of an exported entity, with its index in that kind's index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the spec's export kinds, each with its index
pub enum ExportDesc {
    Func(u32),
    Table(u32),
    Memory(u32),
    Global(u32),
    Tag(u32),
}

/// An export (spec `export`).
#[derive(Clone, Debug)]
pub struct Export {
    /// The export's name.
    pub name: String,
    /// What is exported.
    pub desc: ExportDesc,
}

/// A defined function: its type, its declared locals (after the parameters) and its
/// lowered body. The body always ends with [`Instr::Return`].
#[derive(Clone, Debug)]
pub struct Func {
    /// Index of the function's type in [`Module::types`].
    pub type_idx: u32,
    /// Declared locals (after the parameters).
    pub locals: Vec<ValType>,
    /// The number of parameters and results of its type (kept here for calls and returns).
    pub arity: (u32, u32),
    /// The lowered body.
    pub body: Vec<Instr>,
    /// Targets of every `br_table` in the body; [`Instr::BrTable`] holds an index here.
    /// The last target of each list is the default.
    pub br_tables: Vec<Vec<BrTarget>>,
    /// 16-byte immediates of the body (`v128.const` values and `i8x16.shuffle` lane
    /// indices), kept here so that [`Instr`] stays small; [`SimdInstr`] holds an index.
    pub v128s: Vec<u128>,
    /// Operands of every `br_on_cast`/`br_on_cast_fail` in the body; [`Instr::BrOnCast`]
    /// holds an index here.
    pub br_casts: Vec<BrCast>,
    /// The exception handlers of the body (`try_table` and legacy `try` blocks), in the
    /// order their blocks begin; see [`crate::exn`].
    pub handlers: Vec<Handler>,
}

/// The operands of `br_on_cast l rt1 rt2` (`fail: false`) or `br_on_cast_fail` (`fail:
/// true`): branch to `target` if the operand matches `to` (resp. does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrCast {
    /// The resolved branch.
    pub target: BrTarget,
    /// The target type `rt2` (module type indices).
    pub to: RefType,
    /// `br_on_cast_fail`.
    pub fail: bool,
}

/// How a field of a structure or an array is stored (spec 3.0 `packedtype`), for the
/// instructions that read or write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packed {
    /// A value type: stored as is.
    No,
    /// `i8`: the low 8 bits of an `i32`.
    I8,
    /// `i16`: the low 16 bits of an `i32`.
    I16,
}

/// A defined global: its type and its constant initialiser.
#[derive(Clone, Debug)]
pub struct Global {
    /// The global's type.
    pub ty: GlobalType,
    /// Its initialiser.
    pub init: ConstExpr,
}

/// A constant expression (spec *Validation › Constant Expressions*), in lowered form.
/// Contains only constants, `ref.null`, `ref.func`, `global.get` and (extended constants)
/// integer `add`/`sub`/`mul`.
#[derive(Clone, Debug, Default)]
pub struct ConstExpr(pub Vec<Instr>);

/// An element segment (spec `elem`).
#[derive(Clone, Debug)]
pub struct ElemSegment {
    /// The type of the references.
    pub ty: RefType,
    /// Passive, declarative or active.
    pub mode: ElemMode,
    /// One constant expression per element.
    pub items: Vec<ConstExpr>,
}

/// Element segment modes (spec `elemmode`).
#[derive(Clone, Debug)]
pub enum ElemMode {
    /// Used by `table.init`; dropped with `elem.drop`.
    Passive,
    /// Declares functions for `ref.func`; dropped at instantiation.
    Declarative,
    #[allow(missing_docs)] // `table` and `offset` as in the spec's `active` mode
    Active { table: u32, offset: ConstExpr },
}

/// A data segment (spec `data`).
#[derive(Clone, Debug)]
pub struct DataSegment {
    /// Passive or active.
    pub mode: DataMode,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Data segment modes (spec `datamode`).
#[derive(Clone, Debug)]
pub enum DataMode {
    /// Used by `memory.init`; dropped with `data.drop`.
    Passive,
    #[allow(missing_docs)] // `memory` and `offset` as in the spec's `active` mode
    Active { memory: u32, offset: ConstExpr },
}

/// A resolved branch: jump to `pc`, keeping the top `keep` operands and discarding the
/// `drop` operands beneath them (the operands the target label does not see).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrTarget {
    /// Index in the function body to jump to.
    pub pc: u32,
    /// Operand slots to drop below the kept ones.
    pub drop: u32,
    /// Operand slots the branch keeps (its label's arity).
    pub keep: u32,
}

/// The value type an atomic access produces or consumes (`i32` or `i64`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the operand types `i32` and `i64`
pub enum AtomicType {
    I32,
    I64,
}

/// The operator of an atomic read-modify-write (spec `atomicop`, threads proposal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the spec's `atomicop`s (`add`, `sub`, `and`, `or`, `xor`, `xchg`)
pub enum RmwOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

impl Instr {
    /// For a non-atomic scalar load or store (`i32.load`, `f64.store`, `i64.store8`, …):
    /// `Some(false)` for a load, `Some(true)` for a store; `None` for every other
    /// instruction.
    pub fn plain_scalar_access(&self) -> Option<bool> {
        use Instr::*;
        match self {
            I32Load(_) | I64Load(_) | F32Load(_) | F64Load(_) | I32Load8S(_) | I32Load8U(_)
            | I32Load16S(_) | I32Load16U(_) | I64Load8S(_) | I64Load8U(_) | I64Load16S(_)
            | I64Load16U(_) | I64Load32S(_) | I64Load32U(_) => Some(false),
            I32Store(_) | I64Store(_) | F32Store(_) | F64Store(_) | I32Store8(_)
            | I32Store16(_) | I64Store8(_) | I64Store16(_) | I64Store32(_) => Some(true),
            _ => None,
        }
    }

    /// The memories (by index) whose state executing this instruction reads or writes
    /// (contents, size or wait queues): the instructions whose steps emit events on a
    /// shared memory (spec runtime.rst, *Events*). One index twice for one memory;
    /// `memory.copy` names its destination and source. `atomic.fence` names memory 0, where
    /// its event is recorded. `None` for every other instruction.
    pub fn accessed_memories(&self) -> Option<[u32; 2]> {
        use Instr::*;
        let one = |m: u32| Some([m, m]);
        match *self {
            I32Load(m) | I64Load(m) | F32Load(m) | F64Load(m) | I32Load8S(m) | I32Load8U(m)
            | I32Load16S(m) | I32Load16U(m) | I64Load8S(m) | I64Load8U(m) | I64Load16S(m)
            | I64Load16U(m) | I64Load32S(m) | I64Load32U(m) | I32Store(m) | I64Store(m)
            | F32Store(m) | F64Store(m) | I32Store8(m) | I32Store16(m) | I64Store8(m)
            | I64Store16(m) | I64Store32(m) | AtomicNotify(m) => one(m.memory.into()),
            AtomicLoad { memarg, .. }
            | AtomicStore { memarg, .. }
            | AtomicRmw { memarg, .. }
            | AtomicCmpxchg { memarg, .. }
            | AtomicWait { memarg, .. } => one(memarg.memory.into()),
            MemorySize(m) | MemoryGrow(m) | MemoryFill(m) | MemoryInit { memory: m, .. } => one(m),
            MemoryCopy { dst, src } => Some([dst, src]),
            AtomicFence => one(0),
            Simd(s) => s.memarg().and_then(|m| one(m.memory.into())),
            _ => None,
        }
    }
}

/// A lowered instruction. Variant names follow the spec's instruction names.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(missing_docs)] // variants are the spec instructions of the same name, see above
pub enum Instr {
    // ---- Control (spec *Control Instructions*), lowered to jumps ----
    Unreachable,
    Nop,
    /// `br l`, resolved.
    Br(BrTarget),
    /// `br_if l`: branch if the popped i32 is non-zero.
    BrIf(BrTarget),
    /// Branch if the popped i32 is zero: the lowered `if` (jumps to `else` or `end`).
    BrUnless(BrTarget),
    /// `br_table`: index into [`Func::br_tables`].
    BrTable(u32),
    Return,
    Call(u32),
    CallIndirect {
        type_idx: u32,
        table: u32,
    },
    /// `return_call x` (tail calls): the callee replaces the caller's frame.
    ReturnCall(u32),
    /// `return_call_indirect x y` (tail calls).
    ReturnCallIndirect {
        type_idx: u32,
        table: u32,
    },
    /// `throw x` (exception handling): tag index `x`. (`try_table` and the legacy `try`
    /// emit no instruction: their handlers are in [`Func::handlers`].)
    Throw(u32),
    /// `throw_ref` (exception handling; also the lowered legacy `rethrow`, after a
    /// `local.get` of the caught exception's hidden local).
    ThrowRef,

    // ---- Parametric ----
    Drop,
    Select,

    // ---- Variable ----
    LocalGet(u32),
    LocalSet(u32),
    LocalTee(u32),
    GlobalGet(u32),
    GlobalSet(u32),

    // ---- Table ----
    TableGet(u32),
    TableSet(u32),
    TableSize(u32),
    TableGrow(u32),
    TableFill(u32),
    TableCopy {
        dst: u32,
        src: u32,
    },
    TableInit {
        table: u32,
        elem: u32,
    },
    ElemDrop(u32),

    // ---- Reference ----
    RefNull(HeapType),
    RefIsNull,
    RefFunc(u32),

    // ---- Memory (spec 3.0: a memory index on every memory instruction) ----
    I32Load(MemArg),
    I64Load(MemArg),
    F32Load(MemArg),
    F64Load(MemArg),
    I32Load8S(MemArg),
    I32Load8U(MemArg),
    I32Load16S(MemArg),
    I32Load16U(MemArg),
    I64Load8S(MemArg),
    I64Load8U(MemArg),
    I64Load16S(MemArg),
    I64Load16U(MemArg),
    I64Load32S(MemArg),
    I64Load32U(MemArg),
    I32Store(MemArg),
    I64Store(MemArg),
    F32Store(MemArg),
    F64Store(MemArg),
    I32Store8(MemArg),
    I32Store16(MemArg),
    I64Store8(MemArg),
    I64Store16(MemArg),
    I64Store32(MemArg),
    /// `memory.size x`.
    MemorySize(u32),
    /// `memory.grow x`.
    MemoryGrow(u32),
    /// `memory.fill x`.
    MemoryFill(u32),
    /// `memory.copy x y`: from memory `src` to memory `dst`.
    MemoryCopy {
        dst: u32,
        src: u32,
    },
    /// `memory.init x y`: data segment `data` into memory `memory`.
    MemoryInit {
        memory: u32,
        data: u32,
    },
    DataDrop(u32),

    // ---- Atomic memory (threads proposal, spec *Atomic Memory Instructions*) ----
    /// `t.atomic.load{N}_u`: `width` in bytes (1, 2, 4 or 8), zero-extended to `ty`.
    AtomicLoad {
        ty: AtomicType,
        width: u8,
        memarg: MemArg,
    },
    /// `t.atomic.store{N}`.
    AtomicStore {
        ty: AtomicType,
        width: u8,
        memarg: MemArg,
    },
    /// `t.atomic.rmw{N}.op_u`.
    AtomicRmw {
        op: RmwOp,
        ty: AtomicType,
        width: u8,
        memarg: MemArg,
    },
    /// `t.atomic.rmw{N}.cmpxchg_u`.
    AtomicCmpxchg {
        ty: AtomicType,
        width: u8,
        memarg: MemArg,
    },
    /// `memory.atomic.wait32` / `memory.atomic.wait64` (`ty` is the expected value's type).
    AtomicWait {
        ty: AtomicType,
        memarg: MemArg,
    },
    /// `memory.atomic.notify`.
    AtomicNotify(MemArg),
    /// `atomic.fence`.
    AtomicFence,

    // ---- Numeric constants ----
    I32Const(i32),
    I64Const(i64),
    F32Const(u32),
    F64Const(u64),

    // ---- i32 ----
    I32Eqz,
    I32Eq,
    I32Ne,
    I32LtS,
    I32LtU,
    I32GtS,
    I32GtU,
    I32LeS,
    I32LeU,
    I32GeS,
    I32GeU,
    I32Clz,
    I32Ctz,
    I32Popcnt,
    I32Add,
    I32Sub,
    I32Mul,
    I32DivS,
    I32DivU,
    I32RemS,
    I32RemU,
    I32And,
    I32Or,
    I32Xor,
    I32Shl,
    I32ShrS,
    I32ShrU,
    I32Rotl,
    I32Rotr,

    // ---- i64 ----
    I64Eqz,
    I64Eq,
    I64Ne,
    I64LtS,
    I64LtU,
    I64GtS,
    I64GtU,
    I64LeS,
    I64LeU,
    I64GeS,
    I64GeU,
    I64Clz,
    I64Ctz,
    I64Popcnt,
    I64Add,
    I64Sub,
    I64Mul,
    I64DivS,
    I64DivU,
    I64RemS,
    I64RemU,
    I64And,
    I64Or,
    I64Xor,
    I64Shl,
    I64ShrS,
    I64ShrU,
    I64Rotl,
    I64Rotr,
    /// `i64.add128` (wide-arithmetic proposal): 128-bit sum of two (low, high) pairs.
    I64Add128,
    /// `i64.sub128` (wide-arithmetic proposal).
    I64Sub128,
    /// `i64.mul_wide_s` (wide-arithmetic proposal): the 128-bit signed product, as
    /// (low, high).
    I64MulWideS,
    /// `i64.mul_wide_u` (wide-arithmetic proposal).
    I64MulWideU,

    // ---- f32 ----
    F32Eq,
    F32Ne,
    F32Lt,
    F32Gt,
    F32Le,
    F32Ge,
    F32Abs,
    F32Neg,
    F32Ceil,
    F32Floor,
    F32Trunc,
    F32Nearest,
    F32Sqrt,
    F32Add,
    F32Sub,
    F32Mul,
    F32Div,
    F32Min,
    F32Max,
    F32Copysign,

    // ---- f64 ----
    F64Eq,
    F64Ne,
    F64Lt,
    F64Gt,
    F64Le,
    F64Ge,
    F64Abs,
    F64Neg,
    F64Ceil,
    F64Floor,
    F64Trunc,
    F64Nearest,
    F64Sqrt,
    F64Add,
    F64Sub,
    F64Mul,
    F64Div,
    F64Min,
    F64Max,
    F64Copysign,

    // ---- Conversions ----
    I32WrapI64,
    I32TruncF32S,
    I32TruncF32U,
    I32TruncF64S,
    I32TruncF64U,
    I64ExtendI32S,
    I64ExtendI32U,
    I64TruncF32S,
    I64TruncF32U,
    I64TruncF64S,
    I64TruncF64U,
    F32ConvertI32S,
    F32ConvertI32U,
    F32ConvertI64S,
    F32ConvertI64U,
    F32DemoteF64,
    F64ConvertI32S,
    F64ConvertI32U,
    F64ConvertI64S,
    F64ConvertI64U,
    F64PromoteF32,
    I32ReinterpretF32,
    I64ReinterpretF64,
    F32ReinterpretI32,
    F64ReinterpretI64,
    I32Extend8S,
    I32Extend16S,
    I64Extend8S,
    I64Extend16S,
    I64Extend32S,
    I32TruncSatF32S,
    I32TruncSatF32U,
    I32TruncSatF64S,
    I32TruncSatF64U,
    I64TruncSatF32S,
    I64TruncSatF32U,
    I64TruncSatF64S,
    I64TruncSatF64U,

    // ---- Vector (spec *Vector Instructions*), see [`crate::simd`] ----
    Simd(SimdInstr),

    // ---- Typed function references (spec 3.0 *Control / Reference Instructions*) ----
    /// `call_ref x`.
    CallRef(u32),
    /// `return_call_ref x`.
    ReturnCallRef(u32),
    RefAsNonNull,
    BrOnNull(BrTarget),
    BrOnNonNull(BrTarget),

    // ---- GC (spec 3.0 *Aggregate Reference Instructions*) ----
    RefEq,
    /// `ref.test rt` (module type indices).
    RefTest(RefType),
    /// `ref.cast rt`.
    RefCast(RefType),
    /// `br_on_cast` / `br_on_cast_fail`: index into [`Func::br_casts`].
    BrOnCast(u32),
    RefI31,
    /// `i31.get_s` (`signed`) / `i31.get_u`.
    I31Get {
        signed: bool,
    },
    StructNew(u32),
    StructNewDefault(u32),
    /// `struct.get`, `struct.get_s` (`signed`), `struct.get_u`.
    StructGet {
        ty: u32,
        field: u32,
        packed: Packed,
        signed: bool,
    },
    StructSet {
        ty: u32,
        field: u32,
        packed: Packed,
    },
    ArrayNew(u32),
    ArrayNewDefault(u32),
    ArrayNewFixed {
        ty: u32,
        len: u32,
    },
    ArrayNewData {
        ty: u32,
        data: u32,
    },
    ArrayNewElem {
        ty: u32,
        elem: u32,
    },
    /// `array.get`, `array.get_s` (`signed`), `array.get_u`.
    ArrayGet {
        packed: Packed,
        signed: bool,
    },
    ArraySet(Packed),
    ArrayLen,
    ArrayFill(Packed),
    ArrayCopy,
    ArrayInitData {
        ty: u32,
        data: u32,
    },
    ArrayInitElem(u32),
    AnyConvertExtern,
    ExternConvertAny,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{Shape, SimdOp};

    #[test]
    fn instructions_stay_small() {
        assert!(std::mem::size_of::<Instr>() <= 16);
        assert!(std::mem::size_of::<SimdInstr>() <= 12);
    }

    #[test]
    fn exactly_the_loads_and_stores_access_memory() {
        let m = MemArg::new(0, 0);
        let accesses = |s: SimdInstr| Instr::Simd(s).accessed_memories().is_some();
        assert!(accesses(SimdInstr::Store(m)));
        assert!(accesses(SimdInstr::Load {
            bytes: 16,
            then: None,
            memarg: m
        }));
        assert!(accesses(SimdInstr::StoreLane {
            shape: Shape::I8x16,
            lane: 0,
            memarg: m
        }));
        assert!(!accesses(SimdInstr::Op(SimdOp::I8x16Add)));
        assert!(!accesses(SimdInstr::Const(0)));
    }

    #[test]
    fn instructions_stay_16_bytes() {
        // The execution loop copies one `Instr` per step; memory64 offsets and memory
        // indices must not make it larger (see `MemArg`).
        assert_eq!(std::mem::size_of::<MemArg>(), 8);
        assert_eq!(std::mem::size_of::<Instr>(), 16);
    }

    #[test]
    fn large_offsets_keep_their_alignment_and_stay_out_of_bounds() {
        for offset in [0, 1, 0xffff_ffff, 0x1_0000_0000, MemArg::OFFSET_LIMIT - 1] {
            assert_eq!(MemArg::new(offset, 3).offset(), offset);
            assert_eq!(MemArg::new(offset, 3).memory, 3);
        }
        for offset in [MemArg::OFFSET_LIMIT, u64::MAX, u64::MAX - 3, 1 << 63] {
            let stored = MemArg::new(offset, 0).offset();
            assert_eq!(stored % 8, offset % 8);
            assert!(stored >= MemArg::OFFSET_LIMIT - 8);
            assert!(stored > crate::types::MAX_MEMORY_BYTES);
        }
    }
}

// ---- Exception handlers (spec 3.0 `try_table`, legacy `try`), see [`crate::exn`] ----

/// A handler of a function body: the code range `[start, end)` it covers, and what it does
/// with an exception thrown there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// First pc of the covered body.
    pub start: u32,
    /// The pc after the covered body (for a legacy `try`, its first `catch`).
    pub end: u32,
    /// Operand-stack height (above the locals) on entry to the block, below its parameters:
    /// where a legacy `catch` body's operands begin.
    pub height: u32,
    /// The enclosing handler, tried when this one does not catch the exception; `None`: the
    /// exception leaves the function.
    pub parent: Option<u32>,
    /// What the handler does.
    pub kind: HandlerKind,
}

/// The kinds of handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `try_table bt catch* instr* end`: the clauses, in order.
    TryTable(Vec<Catch>),
    /// Legacy `try bt instr* (catch x instr*)* (catch_all instr*)? end`: the clauses, and
    /// the hidden local the caught exception is stored in (for `rethrow`).
    Legacy {
        /// The `catch`/`catch_all` clauses, in order.
        catches: Vec<LegacyCatch>,
        /// Index of the hidden `exnref` local.
        exn_local: u32,
    },
    /// Legacy `try bt instr* delegate l`: the exception goes on to the handler in force at
    /// label `l` (`None`: out of the function).
    Delegate(Option<u32>),
}

/// A `try_table` catch clause (spec 3.0 `catch`): `catch x l`, `catch_ref x l`,
/// `catch_all l`, `catch_all_ref l`, with its label resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Catch {
    /// The tag index (`catch`, `catch_ref`), or `None` for `catch_all`, `catch_all_ref`.
    pub tag: Option<u32>,
    /// Whether the exception reference is pushed after the payload (`_ref` clauses).
    pub with_ref: bool,
    /// The label's continuation.
    pub pc: u32,
    /// The operand-stack height (above the locals) of the label, below the values the
    /// branch passes to it.
    pub height: u32,
}

/// A legacy `catch x` (`tag` is `Some(x)`) or `catch_all` clause and the pc of its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegacyCatch {
    /// The tag index, or `None` for `catch_all`.
    pub tag: Option<u32>,
    /// The first pc of the clause's body.
    pub pc: u32,
}
