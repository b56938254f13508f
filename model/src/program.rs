//! Litmus programs: script threads that invoke straight-line functions over one shared
//! memory, and a small thread-local machine that executes a function, stopping at every
//! shared-memory operation so that a caller decides what reads return (the operational
//! layer's "guessed" reads, MODEL.md §1, §5.2).

use crate::event::{location, memory_and_address, Location, MemOrder, MEMORY_SPAN};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// A WebAssembly value. Floats are kept as their bit patterns.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// `i32`, as unsigned bits.
    I32(u32),
    /// `i64`, as unsigned bits.
    I64(u64),
    /// `f32`, as bits.
    F32(u32),
    /// `f64`, as bits.
    F64(u64),
}

impl Value {
    /// The value's bits zero-extended to 64.
    pub fn bits(self) -> u64 {
        match self {
            Value::I32(v) | Value::F32(v) => v as u64,
            Value::I64(v) | Value::F64(v) => v,
        }
    }

    /// The zero value of a type.
    pub fn zero(t: ValType) -> Value {
        match t {
            ValType::I32 => Value::I32(0),
            ValType::I64 => Value::I64(0),
            ValType::F32 => Value::F32(0),
            ValType::F64 => Value::F64(0),
        }
    }

    /// The value's type.
    pub fn ty(self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
        }
    }

    /// A value of type `t` from the low bits of `bits`.
    pub fn from_bits(t: ValType, bits: u64) -> Value {
        match t {
            ValType::I32 => Value::I32(bits as u32),
            ValType::I64 => Value::I64(bits),
            ValType::F32 => Value::F32(bits as u32),
            ValType::F64 => Value::F64(bits),
        }
    }
}

/// Written `"i32:N"`, `"i64:N"` (N unsigned decimal), `"f32:N"`, `"f64:N"` (N the bits).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(v) => write!(f, "f32:{v}"),
            Value::F64(v) => write!(f, "f64:{v}"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A number type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ValType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
}

impl ValType {
    /// Whether the type is `i32` or `i64`.
    pub fn is_int(self) -> bool {
        matches!(self, ValType::I32 | ValType::I64)
    }
    /// Size in bytes.
    pub fn bytes(self) -> u8 {
        match self {
            ValType::I32 | ValType::F32 => 4,
            ValType::I64 | ValType::F64 => 8,
        }
    }
}

/// Integer unary operators (`iNN.clz`, …, `iNN.extendM_s`), and `eqz`.
#[allow(missing_docs)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntUnop {
    Clz,
    Ctz,
    Popcnt,
    Eqz,
    Extend8S,
    Extend16S,
    Extend32S,
}

/// Integer binary operators, including comparisons.
#[allow(missing_docs)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum IntBinop {
    Add,
    Sub,
    Mul,
    DivS,
    DivU,
    RemS,
    RemU,
    And,
    Or,
    Xor,
    Shl,
    ShrS,
    ShrU,
    Rotl,
    Rotr,
    Eq,
    Ne,
    LtS,
    LtU,
    GtS,
    GtU,
    LeS,
    LeU,
    GeS,
    GeU,
}

/// Conversions and reinterpretations between number types.
#[allow(missing_docs)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Convert {
    I32WrapI64,
    I64ExtendI32S,
    I64ExtendI32U,
    I32ReinterpretF32,
    I64ReinterpretF64,
    F32ReinterpretI32,
    F64ReinterpretI64,
}

/// Read-modify-write operators of `iNN.atomic.rmwM.op`.
#[allow(missing_docs)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RmwOp {
    Add,
    Sub,
    And,
    Or,
    Xor,
    Xchg,
}

impl RmwOp {
    /// The operation part of the instruction's name (`add`, …, `xchg`).
    pub fn name(self) -> &'static str {
        match self {
            RmwOp::Add => "add",
            RmwOp::Sub => "sub",
            RmwOp::And => "and",
            RmwOp::Or => "or",
            RmwOp::Xor => "xor",
            RmwOp::Xchg => "xchg",
        }
    }
}

/// The instructions a litmus function may contain: straight-line code only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Instr {
    /// `t.const c`
    Const(Value),
    /// `local.get i`
    LocalGet(u32),
    /// `local.set i`
    LocalSet(u32),
    /// `local.tee i`
    LocalTee(u32),
    /// `drop`
    Drop,
    /// `select`
    Select,
    /// `nop`
    Nop,
    /// `return`
    Return,
    /// `unreachable`
    Unreachable,
    /// Integer unary operator of the given type (`I32` or `I64`).
    IntUnop(ValType, IntUnop),
    /// Integer binary operator of the given type.
    IntBinop(ValType, IntBinop),
    /// Conversion.
    Convert(Convert),
    /// `t.load{N}{_s,_u}` / `t.atomic.load{N}_u`: `width` bytes, result type `ty`.
    Load {
        /// Result type.
        ty: ValType,
        /// Access width in bytes (1, 2, 4, 8).
        width: u8,
        /// Sign-extend (`_s`).
        signed: bool,
        /// The memory immediate.
        at: MemArg,
        /// Atomic (seq-cst) access.
        atomic: bool,
    },
    /// `t.store{N}` / `t.atomic.store{N}`.
    Store {
        /// Operand type.
        ty: ValType,
        /// Access width in bytes.
        width: u8,
        /// The memory immediate.
        at: MemArg,
        /// Atomic (seq-cst) access.
        atomic: bool,
    },
    /// `t.atomic.rmw{N}.op{_u}`.
    Rmw {
        /// Operand type.
        ty: ValType,
        /// Access width in bytes.
        width: u8,
        /// The memory immediate.
        at: MemArg,
        /// Operator.
        op: RmwOp,
    },
    /// `t.atomic.rmw{N}.cmpxchg{_u}`.
    Cmpxchg {
        /// Operand type.
        ty: ValType,
        /// Access width in bytes.
        width: u8,
        /// The memory immediate.
        at: MemArg,
    },
    /// `memory.atomic.wait32` (width 4) / `wait64` (width 8).
    Wait {
        /// Access width in bytes.
        width: u8,
        /// The memory immediate.
        at: MemArg,
    },
    /// `memory.atomic.notify`.
    Notify {
        /// The memory immediate.
        at: MemArg,
    },
    /// `atomic.fence`.
    Fence,
    /// `memory.size` of the program memory `memory` (instructions.rst *memory.size*).
    MemorySize {
        /// Index into [`Program::memories`].
        memory: usize,
    },
    /// `memory.grow` of the program memory `memory` (instructions.rst *memory.grow*).
    MemoryGrow {
        /// Index into [`Program::memories`].
        memory: usize,
    },
    /// `memory.fill` (instructions.rst *memory.fill*): reduced to one `i32.store8` per
    /// byte, from low to high, the bounds re-checked before each.
    MemoryFill {
        /// Index into [`Program::memories`].
        memory: usize,
    },
    /// `memory.copy` (instructions.rst *memory.copy*): one `i32.load8_u` and one
    /// `i32.store8` per byte, from the high end when `d > s`, the bounds re-checked before
    /// each.
    MemoryCopy {
        /// Destination memory (index into [`Program::memories`]).
        dst: usize,
        /// Source memory.
        src: usize,
    },
    /// `memory.init` from a passive data segment (instructions.rst *memory.init*): one
    /// `i32.store8` per byte of the segment, the bounds re-checked before each.
    MemoryInit {
        /// Index into [`Program::memories`].
        memory: usize,
        /// The segment's bytes.
        data: Arc<[u8]>,
    },
}

/// A memory immediate of a litmus instruction: which of the program's shared memories
/// ([`Program::memories`]) and the static offset (`memarg.offset`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemArg {
    /// Index into [`Program::memories`].
    pub memory: usize,
    /// `memarg.offset`.
    pub offset: u64,
}

/// A shared memory of a litmus program.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    /// Size in bytes (initial pages × page size), at most [`crate::event::MEMORY_SPAN`].
    pub size: u64,
    /// Whether addresses are `i64` (memory64) rather than `i32`.
    pub addr64: bool,
    /// Page size in bytes (64 Ki, or a custom page size).
    pub page_size: u64,
    /// Maximum size in bytes (maximum pages × page size), if the type has one.
    pub max: Option<u64>,
    /// Whether some function of the program grows this memory (`memory.grow`). If not, its
    /// length is constant and the model leaves its length location out (bounds checks and
    /// `memory.size` use [`Memory::size`]; `docs/model.md`, *The length location*, says why
    /// this is exact). The front end sets it; a program built by hand that grows a memory
    /// must set it too.
    pub growable: bool,
}

impl Memory {
    /// The largest length the memory can ever have: its maximum, at most
    /// [`MEMORY_SPAN`] (and 2^32 for a 32-bit memory).
    pub fn max_length(&self) -> u64 {
        let limit = if self.addr64 { MEMORY_SPAN } else { 1 << 32 };
        self.max.unwrap_or(limit).min(limit).max(self.size)
    }

    /// The value `memory.size` returns for a length of `len` bytes (`i32`, or `i64` for a
    /// 64-bit memory).
    pub fn pages(&self, len: u64) -> Value {
        let pages = len / self.page_size.max(1);
        if self.addr64 {
            Value::I64(pages)
        } else {
            Value::I32(pages as u32)
        }
    }

    /// The value `memory.grow` returns when it fails (`-1`).
    pub fn grow_failure(&self) -> Value {
        if self.addr64 {
            Value::I64(u64::MAX)
        } else {
            Value::I32(u32::MAX)
        }
    }
}

/// A function: parameter and local types, result types and a straight-line body with the
/// source line of every instruction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    /// Exported name (for display).
    pub name: String,
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Types of the declared locals (after the parameters).
    pub locals: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
    /// Body, with 1-based source lines.
    pub body: Vec<(Instr, usize)>,
}

/// One step of a script thread.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScriptStep {
    /// `(invoke "f" args…)` (also inside an assertion, whose expectation is ignored).
    Invoke {
        /// The function.
        func: Arc<Func>,
        /// Arguments.
        args: Vec<Value>,
        /// Source line.
        line: usize,
    },
    /// `(thread $T …)`: spawn the given thread.
    Spawn(usize),
    /// `(wait $T)`: block until the given thread has finished.
    Join(usize),
}

/// A script thread.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Thread {
    /// Name without `$`; `main` for the top-level script.
    pub name: String,
    /// The spawning thread (`None` for `main`).
    pub parent: Option<usize>,
    /// The steps, in order.
    pub steps: Vec<ScriptStep>,
}

/// A litmus program: shared memories and a tree of script threads (index 0 is `main`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    /// The shared memories, in the order the script defines them (at least one).
    pub memories: Arc<[Memory]>,
    /// Non-zero initial bytes (from data segments), `(location, byte)`, sorted by location.
    pub init: Vec<(Location, u8)>,
    /// Threads; `threads[0]` is `main`.
    pub threads: Vec<Thread>,
}

impl Program {
    /// The initial byte at location `k` (the init write's content).
    pub fn init_byte(&self, k: Location) -> u8 {
        match self.init.binary_search_by_key(&k, |&(a, _)| a) {
            Ok(i) => self.init[i].1,
            Err(_) => 0,
        }
    }
}

/// A shared-memory operation requested by a [`Machine`]. Addresses are effective addresses
/// (operand + `memarg.offset`), already bounds- and alignment-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemRequest {
    /// A load: the caller supplies `width` bytes and resumes with [`MemRequest::loaded`].
    Load {
        /// Ordering.
        ord: MemOrder,
        /// Location of the effective address.
        addr: Location,
        /// Width in bytes.
        width: u8,
        /// The `noTear` flag (integer, width ≤ 4, aligned; runtime.rst l.740–747).
        no_tear: bool,
        /// Result type.
        ty: ValType,
        /// Sign extension.
        signed: bool,
    },
    /// A store of `bytes`; resume with `None`.
    Store {
        /// Ordering.
        ord: MemOrder,
        /// Location of the effective address.
        addr: Location,
        /// Bytes (little-endian).
        bytes: Vec<u8>,
        /// The `noTear` flag.
        no_tear: bool,
    },
    /// An RMW or cmpxchg: the caller supplies the bytes read, computes
    /// [`MemRequest::rmw_outcome`] and resumes with its value.
    Rmw {
        /// Location of the effective address.
        addr: Location,
        /// Width in bytes.
        width: u8,
        /// Operand type.
        ty: ValType,
        /// `Some(op)` for rmw, `None` for cmpxchg.
        op: Option<RmwOp>,
        /// Operand (rmw) or replacement (cmpxchg), truncated to `width`.
        operand: u64,
        /// Expected value (cmpxchg), truncated to `width`.
        expected: u64,
    },
    /// A wait: the caller supplies the bytes read; if [`MemRequest::wait_equal`] the thread
    /// suspends and the caller decides: woken (0), timed out (2) or blocked forever.
    /// Otherwise resume with `i32:1`.
    Wait {
        /// Location of the effective address.
        addr: Location,
        /// Width in bytes (4 or 8).
        width: u8,
        /// Expected value.
        expected: u64,
        /// Timeout in ns (negative: infinite).
        timeout: i64,
    },
    /// A notify of at most `count` waiters: resume with `i32:j`, `j ≤ count` the number woken.
    Notify {
        /// Location of the effective address.
        addr: Location,
        /// Maximum number to wake.
        count: u32,
    },
    /// `atomic.fence`; resume with `None`.
    Fence,
    /// A bounds check of a bulk memory instruction on a memory whose length varies: the
    /// caller reads the length `l` (an unord read of the length location) and traps if
    /// `end > l`; otherwise resume with `None`.
    Bounds {
        /// Index into [`Program::memories`].
        memory: usize,
        /// The end of the checked range (`d + n`), saturated at `u64::MAX`.
        end: u64,
    },
    /// `memory.size` of a memory whose length varies: the caller reads the length `l`
    /// (seq-cst) and resumes with [`Memory::pages`]`(l)`.
    Size {
        /// Index into [`Program::memories`].
        memory: usize,
    },
    /// `memory.grow` by `delta` bytes: the caller either grows (an RMW of the length
    /// location from `l` to `l + delta`, and a write of zeros to the new bytes) and resumes
    /// with [`Memory::pages`]`(l)`, or fails (a seq-cst read of the length) and resumes with
    /// [`Memory::grow_failure`].
    Grow {
        /// Index into [`Program::memories`].
        memory: usize,
        /// Bytes to add (pages × page size), saturated at `u64::MAX`.
        delta: u64,
    },
}

/// The little-endian number of `bytes` (at most 8).
pub fn le_bits(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0u64, |acc, &b| acc << 8 | b as u64)
}

/// The ordering and the `noTear` flag of a load or store (runtime.rst, *Events*): seq-cst
/// if atomic, else unord; `noTear` iff the type is an integer type, the access is at most
/// 32 bits wide and the address is aligned to its width.
fn access_flags(ty: ValType, width: u8, atomic: bool, addr: Location) -> (MemOrder, bool) {
    let ord = if atomic {
        MemOrder::SeqCst
    } else {
        MemOrder::Unord
    };
    (
        ord,
        ty.is_int() && width <= 4 && addr.is_multiple_of(width as u64),
    )
}

/// Little-endian bytes of the low `width` bytes of `v`.
pub fn to_le(v: u64, width: u8) -> Vec<u8> {
    (0..width).map(|i| (v >> (8 * i)) as u8).collect()
}

fn mask(width: u8) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    }
}

impl MemRequest {
    /// The value a load produces from the bytes read (little-endian, extended).
    pub fn loaded(&self, bytes: &[u8]) -> Value {
        match *self {
            MemRequest::Load {
                ty, width, signed, ..
            } => {
                let mut v = le_bits(bytes);
                if signed && width < 8 {
                    let sh = 64 - 8 * width as u32;
                    v = (((v << sh) as i64) >> sh) as u64;
                }
                Value::from_bits(ty, v)
            }
            _ => Value::I32(0),
        }
    }

    /// For an RMW: the result value and the bytes written (`None`: a failed cmpxchg,
    /// which is a plain seq-cst read, instr l.3313).
    pub fn rmw_outcome(&self, read: &[u8]) -> (Value, Option<Vec<u8>>) {
        match *self {
            MemRequest::Rmw {
                width,
                ty,
                op,
                operand,
                expected,
                ..
            } => {
                let old = le_bits(read);
                let new = match op {
                    Some(RmwOp::Add) => old.wrapping_add(operand),
                    Some(RmwOp::Sub) => old.wrapping_sub(operand),
                    Some(RmwOp::And) => old & operand,
                    Some(RmwOp::Or) => old | operand,
                    Some(RmwOp::Xor) => old ^ operand,
                    Some(RmwOp::Xchg) => operand,
                    None if old == expected => operand,
                    None => return (Value::from_bits(ty, old), None),
                };
                (
                    Value::from_bits(ty, old),
                    Some(to_le(new & mask(width), width)),
                )
            }
            _ => (Value::I32(0), None),
        }
    }

    /// For a wait: whether the bytes read equal the expected value (the thread suspends).
    pub fn wait_equal(&self, read: &[u8]) -> bool {
        match *self {
            MemRequest::Wait {
                expected, width, ..
            } => le_bits(read) == expected & mask(width),
            _ => false,
        }
    }

    /// For an access to memory data (load, store, RMW, wait, notify): the memory and the
    /// end of the accessed range, which its bounds check compares with the length.
    pub fn bounds_checked(&self) -> Option<(usize, u64)> {
        let (addr, width) = match *self {
            MemRequest::Load { addr, width, .. }
            | MemRequest::Rmw { addr, width, .. }
            | MemRequest::Wait { addr, width, .. } => (addr, width),
            MemRequest::Store {
                addr, ref bytes, ..
            } => (addr, bytes.len() as u8),
            MemRequest::Notify { addr, .. } => (addr, 4),
            _ => return None,
        };
        let (memory, address) = memory_and_address(addr);
        Some((memory, address + width as u64))
    }

    /// The byte range `(addr, width)` the request accesses (`None` for notify and fence).
    pub fn access_range(&self) -> Option<(Location, u8)> {
        match *self {
            MemRequest::Load { addr, width, .. }
            | MemRequest::Rmw { addr, width, .. }
            | MemRequest::Wait { addr, width, .. } => Some((addr, width)),
            MemRequest::Store {
                addr, ref bytes, ..
            } => Some((addr, bytes.len() as u8)),
            _ => None,
        }
    }
}

/// What a [`Machine`] did when run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// It stopped at a shared-memory operation (with the instruction's source line).
    Mem(MemRequest, usize),
    /// The function returned these values.
    Done(Vec<Value>),
    /// It trapped (message, line).
    Trap(String, usize),
}

/// A bulk memory instruction in progress, reduced per byte as instructions.rst does
/// (*memory.fill*, *memory.copy*, *memory.init*): each step of the recursion first checks
/// the bounds of what remains (`d + n`, and `s + n` for a copy), returns when `n = 0`, and
/// otherwise moves one byte with `i32.store8` (after an `i32.load8_u` for a copy).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Bulk {
    op: BulkOp,
    /// Destination memory.
    dst: usize,
    /// Destination address of the remaining bytes.
    d: u64,
    /// Source address of the remaining bytes (copy, init).
    s: u64,
    /// Bytes remaining.
    n: u64,
    /// Where the recursion is.
    phase: BulkPhase,
    /// Source line of the instruction.
    line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum BulkOp {
    Fill(u8),
    Copy { src: usize },
    Init(Arc<[u8]>),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum BulkPhase {
    /// The bounds check at the start of a step of the recursion.
    Check,
    /// The same check's second half: the source memory of a copy between two memories.
    CheckSource,
    /// Move one byte (load it first, for a copy).
    Move,
    /// A copy's byte was loaded and is on the stack: store it.
    StoreLoaded,
}

/// Executes one invocation of a straight-line function (the thread-local part of the
/// operational semantics), stopping at every shared-memory operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Machine {
    func: Arc<Func>,
    pc: usize,
    stack: Vec<Value>,
    locals: Vec<Value>,
    memories: Arc<[Memory]>,
    bulk: Option<Bulk>,
}

impl Machine {
    /// A machine at the start of `func` called with `args` over the shared `memories`.
    pub fn new(func: Arc<Func>, args: &[Value], memories: Arc<[Memory]>) -> Machine {
        let mut locals: Vec<Value> = args.to_vec();
        locals.extend(func.locals.iter().map(|&t| Value::zero(t)));
        Machine {
            func,
            pc: 0,
            stack: Vec::new(),
            locals,
            memories,
            bulk: None,
        }
    }

    /// The exported name of the function being executed.
    pub fn func_name(&self) -> &str {
        &self.func.name
    }

    /// Resumes after a memory request, pushing the operation's result (if any).
    pub fn resume(&mut self, result: Option<Value>) {
        if let Some(v) = result {
            self.stack.push(v);
        }
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().unwrap_or(Value::I32(0))
    }

    fn pop_bits(&mut self) -> u64 {
        self.pop().bits()
    }

    /// An address operand of memory `mem` from the stack: `i32` zero-extended, or `i64`.
    fn pop_addr(&mut self, mem: &Memory) -> u64 {
        let operand = self.pop_bits();
        if mem.addr64 {
            operand
        } else {
            operand as u32 as u64
        }
    }

    /// The location of the effective address of an access of `width` bytes (spec:
    /// `ea = i + memarg.offset`, the operand an `i32`, or an `i64` for a 64-bit memory),
    /// after the alignment check of atomic accesses (on the effective address, first) and
    /// the bounds check. The bounds check is done here against the size of a memory whose
    /// length is constant; for a memory that grows it is left to the caller
    /// ([`MemRequest::bounds_checked`]), which reads the length location, unless the access
    /// ends beyond the largest length the memory can ever have.
    fn ea(&mut self, at: MemArg, width: u8, atomic: bool, line: usize) -> Result<Location, Step> {
        let Some(mem) = self.memories.get(at.memory).copied() else {
            return Err(Step::Trap("unknown memory".into(), line));
        };
        let i = self.pop_addr(&mem);
        let ea = u128::from(i) + u128::from(at.offset);
        if atomic && !ea.is_multiple_of(u128::from(width)) {
            return Err(Step::Trap("unaligned atomic".into(), line));
        }
        let limit = if mem.growable {
            mem.max_length()
        } else {
            mem.size
        };
        if ea + u128::from(width) > u128::from(limit) {
            return Err(Step::Trap("out of bounds memory access".into(), line));
        }
        Ok(location(at.memory, ea as u64))
    }

    /// A bounds check `end ≤ length` of memory `memory` in a bulk instruction: decided here
    /// if the memory's length is constant (`None`: in bounds), else a request.
    fn check_bounds(&self, memory: usize, end: u128, line: usize) -> Option<Step> {
        let mem = self.memories.get(memory)?;
        if end > u128::from(mem.max_length()) || (!mem.growable && end > u128::from(mem.size)) {
            return Some(Step::Trap("out of bounds memory access".into(), line));
        }
        if mem.growable {
            return Some(Step::Mem(
                MemRequest::Bounds {
                    memory,
                    end: end as u64,
                },
                line,
            ));
        }
        None
    }

    /// Runs the bulk instruction in progress until its next shared-memory operation (or
    /// trap); `None` when it has finished.
    fn run_bulk(&mut self) -> Option<Step> {
        let mut b = self.bulk.take()?;
        let line = b.line;
        loop {
            match b.phase {
                BulkPhase::Check => {
                    let d_end = u128::from(b.d) + u128::from(b.n);
                    let s_end = u128::from(b.s) + u128::from(b.n);
                    let (end, next) = match &b.op {
                        BulkOp::Fill(_) => (d_end, BulkPhase::Move),
                        BulkOp::Copy { src } if *src == b.dst => {
                            (d_end.max(s_end), BulkPhase::Move)
                        }
                        BulkOp::Copy { .. } => (d_end, BulkPhase::CheckSource),
                        BulkOp::Init(data) => {
                            if s_end > data.len() as u128 {
                                return Some(Step::Trap(
                                    "out of bounds memory access".into(),
                                    line,
                                ));
                            }
                            (d_end, BulkPhase::Move)
                        }
                    };
                    b.phase = next;
                    if let Some(step) = self.check_bounds(b.dst, end, line) {
                        if matches!(step, Step::Mem(..)) {
                            self.bulk = Some(b);
                        }
                        return Some(step);
                    }
                }
                BulkPhase::CheckSource => {
                    b.phase = BulkPhase::Move;
                    if let BulkOp::Copy { src } = b.op {
                        let end = u128::from(b.s) + u128::from(b.n);
                        if let Some(step) = self.check_bounds(src, end, line) {
                            if matches!(step, Step::Mem(..)) {
                                self.bulk = Some(b);
                            }
                            return Some(step);
                        }
                    }
                }
                BulkPhase::Move => {
                    if b.n == 0 {
                        return None;
                    }
                    let store = |m: &mut Machine, at: u64, byte: Value, b: Bulk| {
                        let memarg = MemArg {
                            memory: b.dst,
                            offset: 0,
                        };
                        m.stack.push(Value::I64(at));
                        m.stack.push(byte);
                        m.bulk = Some(Bulk {
                            phase: BulkPhase::Check,
                            ..b
                        });
                        Some(m.store(ValType::I32, 1, memarg, false, line))
                    };
                    match b.op.clone() {
                        BulkOp::Fill(v) => {
                            let d = b.d;
                            b.d += 1;
                            b.n -= 1;
                            return store(self, d, Value::I32(v as u32), b);
                        }
                        BulkOp::Init(data) => {
                            let (d, byte) = (b.d, data.get(b.s as usize).copied().unwrap_or(0));
                            b.d += 1;
                            b.s += 1;
                            b.n -= 1;
                            return store(self, d, Value::I32(byte as u32), b);
                        }
                        BulkOp::Copy { src } => {
                            let s = if b.d <= b.s { b.s } else { b.s + b.n - 1 };
                            b.phase = BulkPhase::StoreLoaded;
                            self.stack.push(Value::I64(s));
                            self.bulk = Some(b);
                            let at = MemArg {
                                memory: src,
                                offset: 0,
                            };
                            return Some(self.load(ValType::I32, 1, false, at, false, line));
                        }
                    }
                }
                BulkPhase::StoreLoaded => {
                    let byte = self.pop();
                    let d = if b.d <= b.s {
                        let d = b.d;
                        b.d += 1;
                        b.s += 1;
                        d
                    } else {
                        b.d + b.n - 1
                    };
                    b.n -= 1;
                    self.stack.push(Value::I64(d));
                    self.stack.push(byte);
                    let at = MemArg {
                        memory: b.dst,
                        offset: 0,
                    };
                    b.phase = BulkPhase::Check;
                    self.bulk = Some(b);
                    return Some(self.store(ValType::I32, 1, at, false, line));
                }
            }
        }
    }

    /// A load: its request, or a trap.
    fn load(
        &mut self,
        ty: ValType,
        width: u8,
        signed: bool,
        at: MemArg,
        atomic: bool,
        line: usize,
    ) -> Step {
        self.request(at, width, atomic, line, |addr| {
            let (ord, no_tear) = access_flags(ty, width, atomic, addr);
            MemRequest::Load {
                ord,
                addr,
                width,
                no_tear,
                ty,
                signed,
            }
        })
    }

    /// The request of an access of `width` bytes whose address operand is on the stack:
    /// `make` applied to the location of the effective address ([`Self::ea`]), or the trap
    /// of that address.
    fn request(
        &mut self,
        at: MemArg,
        width: u8,
        atomic: bool,
        line: usize,
        make: impl FnOnce(Location) -> MemRequest,
    ) -> Step {
        match self.ea(at, width, atomic, line) {
            Ok(addr) => Step::Mem(make(addr), line),
            Err(trap) => trap,
        }
    }

    /// An atomic read-modify-write (`op` `Some`) or compare-exchange (`op` `None`, the
    /// operand the replacement) of `width` bytes, its operands already popped: its request,
    /// or a trap.
    #[allow(clippy::too_many_arguments)]
    fn rmw(
        &mut self,
        ty: ValType,
        width: u8,
        at: MemArg,
        op: Option<RmwOp>,
        operand: u64,
        expected: u64,
        line: usize,
    ) -> Step {
        self.request(at, width, true, line, |addr| MemRequest::Rmw {
            addr,
            width,
            ty,
            op,
            operand,
            expected,
        })
    }

    /// A store (operands on the stack): its request, or a trap.
    fn store(&mut self, ty: ValType, width: u8, at: MemArg, atomic: bool, line: usize) -> Step {
        let v = self.pop_bits();
        self.request(at, width, atomic, line, |addr| {
            let (ord, no_tear) = access_flags(ty, width, atomic, addr);
            MemRequest::Store {
                ord,
                addr,
                bytes: to_le(v, width),
                no_tear,
            }
        })
    }

    /// Starts a bulk instruction on memory `dst` (operands `d`, then `s`/value, then `n`
    /// on the stack) and runs it to its first shared-memory operation.
    fn start_bulk(&mut self, dst: usize, op: BulkOp, line: usize) -> Option<Step> {
        let Some(dmem) = self.memories.get(dst).copied() else {
            return Some(Step::Trap("unknown memory".into(), line));
        };
        let smem = match &op {
            BulkOp::Copy { src } => match self.memories.get(*src).copied() {
                Some(m) => Some(m),
                None => return Some(Step::Trap("unknown memory".into(), line)),
            },
            _ => None,
        };
        // n is an address-typed operand when both memories are 64-bit (fill, copy), an
        // i32 for memory.init.
        let n = match &op {
            BulkOp::Init(_) => self.pop_bits() as u32 as u64,
            _ if dmem.addr64 && smem.is_none_or(|m| m.addr64) => self.pop_bits(),
            _ => self.pop_bits() as u32 as u64,
        };
        let (op, s) = match op {
            BulkOp::Fill(_) => (BulkOp::Fill(self.pop_bits() as u8), 0),
            BulkOp::Copy { src } => {
                let s = smem.map_or(0, |m| self.pop_addr(&m));
                (BulkOp::Copy { src }, s)
            }
            BulkOp::Init(data) => (BulkOp::Init(data), self.pop_bits() as u32 as u64),
        };
        let d = self.pop_addr(&dmem);
        self.bulk = Some(Bulk {
            op,
            dst,
            d,
            s,
            n,
            phase: BulkPhase::Check,
            line,
        });
        self.run_bulk()
    }

    /// Runs until the next shared-memory operation, the end of the function, or a trap.
    pub fn run(&mut self) -> Step {
        loop {
            if self.bulk.is_some() {
                if let Some(step) = self.run_bulk() {
                    return step;
                }
            }
            if self.pc >= self.func.body.len() {
                break;
            }
            let (ins, line) = self.func.body[self.pc].clone();
            self.pc += 1;
            match ins {
                Instr::Const(v) => self.stack.push(v),
                Instr::LocalGet(i) => {
                    let v = self
                        .locals
                        .get(i as usize)
                        .copied()
                        .unwrap_or(Value::I32(0));
                    self.stack.push(v)
                }
                Instr::LocalSet(i) => {
                    let v = self.pop();
                    if let Some(l) = self.locals.get_mut(i as usize) {
                        *l = v;
                    }
                }
                Instr::LocalTee(i) => {
                    let v = self.pop();
                    if let Some(l) = self.locals.get_mut(i as usize) {
                        *l = v;
                    }
                    self.stack.push(v);
                }
                Instr::Drop => {
                    self.pop();
                }
                Instr::Select => {
                    let c = self.pop_bits();
                    let b = self.pop();
                    let a = self.pop();
                    self.stack.push(if c as u32 != 0 { a } else { b });
                }
                Instr::Nop => {}
                Instr::Return => break,
                Instr::Unreachable => return Step::Trap("unreachable".into(), line),
                Instr::IntUnop(t, op) => {
                    let a = self.pop_bits();
                    self.stack.push(int_unop(t, op, a));
                }
                Instr::IntBinop(t, op) => {
                    let b = self.pop_bits();
                    let a = self.pop_bits();
                    match int_binop(t, op, a, b) {
                        Ok(v) => self.stack.push(v),
                        Err(m) => return Step::Trap(m.into(), line),
                    }
                }
                Instr::Convert(c) => {
                    let a = self.pop_bits();
                    self.stack.push(match c {
                        Convert::I32WrapI64 => Value::I32(a as u32),
                        Convert::I64ExtendI32S => Value::I64(a as u32 as i32 as i64 as u64),
                        Convert::I64ExtendI32U => Value::I64(a as u32 as u64),
                        Convert::I32ReinterpretF32 => Value::I32(a as u32),
                        Convert::I64ReinterpretF64 => Value::I64(a),
                        Convert::F32ReinterpretI32 => Value::F32(a as u32),
                        Convert::F64ReinterpretI64 => Value::F64(a),
                    });
                }
                Instr::Load {
                    ty,
                    width,
                    signed,
                    at,
                    atomic,
                } => return self.load(ty, width, signed, at, atomic, line),
                Instr::Store {
                    ty,
                    width,
                    at,
                    atomic,
                } => return self.store(ty, width, at, atomic, line),
                Instr::Rmw { ty, width, at, op } => {
                    let operand = self.pop_bits() & mask(width);
                    return self.rmw(ty, width, at, Some(op), operand, 0, line);
                }
                Instr::Cmpxchg { ty, width, at } => {
                    let replacement = self.pop_bits() & mask(width);
                    let expected = self.pop_bits() & mask(width);
                    return self.rmw(ty, width, at, None, replacement, expected, line);
                }
                Instr::Wait { width, at } => {
                    let timeout = self.pop_bits() as i64;
                    let expected = self.pop_bits() & mask(width);
                    return self.request(at, width, true, line, |addr| MemRequest::Wait {
                        addr,
                        width,
                        expected,
                        timeout,
                    });
                }
                Instr::Notify { at } => {
                    let count = self.pop_bits() as u32;
                    return self
                        .request(at, 4, true, line, |addr| MemRequest::Notify { addr, count });
                }
                Instr::Fence => return Step::Mem(MemRequest::Fence, line),
                Instr::MemorySize { memory } => {
                    let Some(mem) = self.memories.get(memory).copied() else {
                        return Step::Trap("unknown memory".into(), line);
                    };
                    if mem.growable {
                        return Step::Mem(MemRequest::Size { memory }, line);
                    }
                    self.stack.push(mem.pages(mem.size));
                }
                Instr::MemoryGrow { memory } => {
                    let Some(mem) = self.memories.get(memory).copied() else {
                        return Step::Trap("unknown memory".into(), line);
                    };
                    let pages = self.pop_addr(&mem);
                    let delta = pages.saturating_mul(mem.page_size);
                    return Step::Mem(MemRequest::Grow { memory, delta }, line);
                }
                Instr::MemoryFill { memory } => {
                    if let Some(step) = self.start_bulk(memory, BulkOp::Fill(0), line) {
                        return step;
                    }
                }
                Instr::MemoryCopy { dst, src } => {
                    if let Some(step) = self.start_bulk(dst, BulkOp::Copy { src }, line) {
                        return step;
                    }
                }
                Instr::MemoryInit { memory, data } => {
                    if let Some(step) = self.start_bulk(memory, BulkOp::Init(data), line) {
                        return step;
                    }
                }
            }
        }
        let n = self.func.results.len();
        let start = self.stack.len().saturating_sub(n);
        Step::Done(self.stack[start..].to_vec())
    }
}

fn int_unop(t: ValType, op: IntUnop, a: u64) -> Value {
    if t == ValType::I32 {
        let a = a as u32;
        Value::I32(match op {
            IntUnop::Clz => a.leading_zeros(),
            IntUnop::Ctz => a.trailing_zeros(),
            IntUnop::Popcnt => a.count_ones(),
            IntUnop::Eqz => (a == 0) as u32,
            IntUnop::Extend8S => a as u8 as i8 as i32 as u32,
            IntUnop::Extend16S => a as u16 as i16 as i32 as u32,
            IntUnop::Extend32S => a,
        })
    } else {
        match op {
            IntUnop::Clz => Value::I64(a.leading_zeros() as u64),
            IntUnop::Ctz => Value::I64(a.trailing_zeros() as u64),
            IntUnop::Popcnt => Value::I64(a.count_ones() as u64),
            IntUnop::Eqz => Value::I32((a == 0) as u32),
            IntUnop::Extend8S => Value::I64(a as u8 as i8 as i64 as u64),
            IntUnop::Extend16S => Value::I64(a as u16 as i16 as i64 as u64),
            IntUnop::Extend32S => Value::I64(a as u32 as i32 as i64 as u64),
        }
    }
}

/// The binary integer operators (the spec's numerics, `iadd_N` to `ige_s_N`) at one width N:
/// `$u`/`$s` the unsigned and signed N-bit types, `$value` the result's constructor (a
/// comparison's result is an `i32` at either width), `$a`/`$b` the operands' bits (`u64`).
/// Evaluates to the result, or the trap's message.
macro_rules! int_binop_at {
    ($u:ty, $s:ty, $value:path, $op:expr, $a:expr, $b:expr) => {{
        use IntBinop::*;
        // Shifts and rotations count modulo N; `wrapping_shl` and `rotate_left` take a u32.
        let count = $b as u32;
        let (a, b) = ($a as $u, $b as $u);
        let (sa, sb) = (a as $s, b as $s);
        let cmp = |c: bool| Ok(Value::I32(c as u32));
        let v = match $op {
            Add => a.wrapping_add(b),
            Sub => a.wrapping_sub(b),
            Mul => a.wrapping_mul(b),
            DivS | RemS | DivU | RemU if b == 0 => return Err("integer divide by zero"),
            DivS if sa == <$s>::MIN && sb == -1 => return Err("integer overflow"),
            DivS => sa.wrapping_div(sb) as $u,
            DivU => a / b,
            RemS => sa.wrapping_rem(sb) as $u,
            RemU => a % b,
            And => a & b,
            Or => a | b,
            Xor => a ^ b,
            Shl => a.wrapping_shl(count),
            ShrS => sa.wrapping_shr(count) as $u,
            ShrU => a.wrapping_shr(count),
            Rotl => a.rotate_left(count % <$u>::BITS),
            Rotr => a.rotate_right(count % <$u>::BITS),
            Eq => return cmp(a == b),
            Ne => return cmp(a != b),
            LtS => return cmp(sa < sb),
            LtU => return cmp(a < b),
            GtS => return cmp(sa > sb),
            GtU => return cmp(a > b),
            LeS => return cmp(sa <= sb),
            LeU => return cmp(a <= b),
            GeS => return cmp(sa >= sb),
            GeU => return cmp(a >= b),
        };
        Ok($value(v))
    }};
}

fn int_binop(t: ValType, op: IntBinop, a: u64, b: u64) -> Result<Value, &'static str> {
    if t == ValType::I32 {
        int_binop_at!(u32, i32, Value::I32, op, a, b)
    } else {
        int_binop_at!(u64, i64, Value::I64, op, a, b)
    }
}
