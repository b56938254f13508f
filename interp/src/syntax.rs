//! Heddle's internal form of a validated module (spec *Structure › Modules*), lowered from
//! the binary by [`crate::decode`].
//!
//! Instructions are flattened: structured control (`block`, `loop`, `if`, `else`, `end`) is
//! lowered to jumps whose targets and stack adjustments are resolved once, at load time, so
//! execution never scans for `end` and needs no run-time label stack. Everything else maps
//! one-to-one to the spec's instructions and keeps their names.

use crate::simd::SimdInstr;
use crate::types::{ExternType, FuncType, GlobalType, MemType, RefType, TableType, ValType};

/// A validated, lowered module. Index spaces (functions, tables, memories, globals) begin
/// with the imports, in order, as in the spec.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// The type section.
    pub types: Vec<FuncType>,
    /// The imports, in order.
    pub imports: Vec<Import>,
    /// The type index of every function in the function index space (imports first).
    pub func_types: Vec<u32>,
    /// The functions defined by this module (index `imported_funcs + i`).
    pub funcs: Vec<Func>,
    /// Defined tables.
    pub tables: Vec<TableType>,
    /// Defined memories.
    pub mems: Vec<MemType>,
    /// Defined globals.
    pub globals: Vec<Global>,
    /// The exports.
    pub exports: Vec<Export>,
    /// The start function's index, if any.
    pub start: Option<u32>,
    /// The element segments.
    pub elems: Vec<ElemSegment>,
    /// The data segments.
    pub datas: Vec<DataSegment>,
}

impl Module {
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
    /// The lowered body.
    pub body: Vec<Instr>,
    /// Targets of every `br_table` in the body; [`Instr::BrTable`] holds an index here.
    /// The last target of each list is the default.
    pub br_tables: Vec<Vec<BrTarget>>,
    /// 16-byte immediates of the body (`v128.const` values and `i8x16.shuffle` lane
    /// indices), kept here so that [`Instr`] stays small; [`SimdInstr`] holds an index.
    pub v128s: Vec<u128>,
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

/// A memory immediate (spec `memarg`): the static offset added to the operand to form the
/// effective address. (The alignment hint has no run-time meaning; atomic accesses are
/// checked against their natural alignment.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemArg {
    /// The static offset added to the address operand.
    pub offset: u32,
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
    /// Whether executing this instruction reads or writes linear memory (or its size), or
    /// is a fence: the instructions whose steps emit events on a shared memory (spec
    /// runtime.rst, *Events*).
    pub fn accesses_memory(&self) -> bool {
        use Instr::*;
        matches!(
            self,
            I32Load(_)
                | I64Load(_)
                | F32Load(_)
                | F64Load(_)
                | I32Load8S(_)
                | I32Load8U(_)
                | I32Load16S(_)
                | I32Load16U(_)
                | I64Load8S(_)
                | I64Load8U(_)
                | I64Load16S(_)
                | I64Load16U(_)
                | I64Load32S(_)
                | I64Load32U(_)
                | I32Store(_)
                | I64Store(_)
                | F32Store(_)
                | F64Store(_)
                | I32Store8(_)
                | I32Store16(_)
                | I64Store8(_)
                | I64Store16(_)
                | I64Store32(_)
                | MemorySize
                | MemoryGrow
                | MemoryFill
                | MemoryCopy
                | MemoryInit(_)
                | AtomicLoad { .. }
                | AtomicStore { .. }
                | AtomicRmw { .. }
                | AtomicCmpxchg { .. }
                | AtomicWait { .. }
                | AtomicNotify(_)
                | AtomicFence
        ) || matches!(self, Simd(s) if s.memarg().is_some())
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
    RefNull(RefType),
    RefIsNull,
    RefFunc(u32),

    // ---- Memory (memory index 0; multi-memory is not part of the threads proposal) ----
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
    MemorySize,
    MemoryGrow,
    MemoryFill,
    MemoryCopy,
    MemoryInit(u32),
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
}
