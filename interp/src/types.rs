//! Types, as in spec *Structure › Types* (`syntax/types.rst`) and their matching rules
//! (`valid/types.rst`, *Import Subtyping*).

use std::fmt;

/// A value type (spec `valtype`). A `V128` value is 128 bits, see [`crate::simd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec's value types of the same name (`I32` is `i32`)
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// `exnref` (exception handling): a reference to an exception, see [`crate::exn`].
    ExnRef,
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::ExnRef => "exnref",
        })
    }
}

/// A reference type (spec `reftype`): the element type of tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec's reference types `funcref`, `externref`, `exnref`
pub enum RefType {
    FuncRef,
    ExternRef,
    ExnRef,
}

impl From<RefType> for ValType {
    fn from(r: RefType) -> ValType {
        match r {
            RefType::FuncRef => ValType::FuncRef,
            RefType::ExternRef => ValType::ExternRef,
            RefType::ExnRef => ValType::ExnRef,
        }
    }
}

/// A function type (spec `functype`): parameter and result types.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<ValType>,
    /// Result types.
    pub results: Vec<ValType>,
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, p) in self.params.iter().enumerate() {
            write!(f, "{}{p}", if i > 0 { " " } else { "" })?;
        }
        write!(f, "] -> [")?;
        for (i, r) in self.results.iter().enumerate() {
            write!(f, "{}{r}", if i > 0 { " " } else { "" })?;
        }
        write!(f, "]")
    }
}

/// Limits (spec `limits`): a minimum and an optional maximum, in pages for memories and in
/// elements for tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Minimum size (pages or elements); for a live instance, its current size.
    pub min: u64,
    /// Maximum size, if any.
    pub max: Option<u64>,
}

impl Limits {
    /// Spec *Import Subtyping › Limits*: `{min n1, max m1?}` matches `{min n2, max m2?}` iff
    /// `n1 >= n2` and, if `m2` is present, `m1` is present and `m1 <= m2`.
    pub fn matches(&self, expected: &Limits) -> bool {
        self.min >= expected.min
            && match (self.max, expected.max) {
                (_, None) => true,
                (Some(m1), Some(m2)) => m1 <= m2,
                (None, Some(_)) => false,
            }
    }
}

/// An address type (spec 3.0 `addrtype`, *Structure › Types › Address Types*): the type of
/// the addresses of a memory, or of the indices of a table. `i64` is the memory64 proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum AddrType {
    /// 32-bit addresses (every memory and table of Wasm 2.0).
    #[default]
    I32,
    /// 64-bit addresses (memory64 proposal).
    I64,
}

impl AddrType {
    /// The value type of an address operand (`i32` or `i64`).
    pub fn val_type(self) -> ValType {
        match self {
            AddrType::I32 => ValType::I32,
            AddrType::I64 => ValType::I64,
        }
    }

    /// The number of bits of an address (32 or 64).
    pub fn bits(self) -> u32 {
        match self {
            AddrType::I32 => 32,
            AddrType::I64 => 64,
        }
    }

    /// The most units of `2^unit_log2` bytes an address space of this type holds, and at
    /// most `2^bits - 1` (the largest limit that can be written down): the bound on a
    /// memory's size in pages (spec 3.0 *Memory Types*: `2^|addrtype| / pagesize`; the
    /// custom-page-sizes proposal), or on a table's size in elements (`unit_log2` 0).
    pub fn max_units(self, unit_log2: u8) -> u64 {
        let space = 1u128 << self.bits();
        let units = (space >> unit_log2).min(space - 1);
        u64::try_from(units).unwrap_or(u64::MAX)
    }
}

/// The page size of memories without a custom page size: 64 KiB, as `log2` (16).
pub const DEFAULT_PAGE_SIZE_LOG2: u8 = 16;

/// A memory type (spec 3.0 `memtype`, with the threads proposal's `shared` flag and the
/// custom-page-sizes proposal's page size): address type, limits in pages, sharedness.
/// Validation requires a maximum for shared memories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemType {
    /// Size limits, in pages.
    pub limits: Limits,
    /// Whether the memory is shared between threads (threads proposal).
    pub shared: bool,
    /// `i32` or `i64` addresses (memory64 proposal).
    pub addr: AddrType,
    /// `log2` of the page size in bytes: 16 (64 KiB) unless the custom-page-sizes proposal
    /// chose 0 (one byte).
    pub page_size_log2: u8,
}

impl MemType {
    /// A memory type with 32-bit addresses and 64 KiB pages (Wasm 2.0 with threads).
    pub fn new(limits: Limits, shared: bool) -> Self {
        MemType {
            limits,
            shared,
            addr: AddrType::I32,
            page_size_log2: DEFAULT_PAGE_SIZE_LOG2,
        }
    }

    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1u64 << self.page_size_log2
    }
}

/// A table type (spec 3.0 `tabletype`): address type, limits in elements and the element
/// reference type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Size limits, in elements.
    pub limits: Limits,
    /// Element type.
    pub elem: RefType,
    /// `i32` or `i64` indices (memory64 proposal's 64-bit tables).
    pub addr: AddrType,
}

/// A global type (spec `globaltype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// An external type (spec `externtype`): the type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the spec's external type kinds
pub enum ExternType {
    Func(FuncType),
    Table(TableType),
    Memory(MemType),
    Global(GlobalType),
    /// A tag (exception handling, spec 3.0 `tagtype`): the function type `[t*] -> []` of
    /// its payload.
    Tag(FuncType),
}

impl ExternType {
    /// Spec *Import Subtyping* (`valid/types.rst`; in 3.0 also equal address types, and
    /// with custom-page-sizes equal page sizes), with the threads proposal's rule that a
    /// memory's sharedness must be equal on both sides (spec erratum MODEL.md §7.3 (13): the
    /// prose omits it; the proposal overview and the test suite require it).
    pub fn matches(&self, expected: &ExternType) -> bool {
        match (self, expected) {
            (ExternType::Func(a), ExternType::Func(b)) => a == b,
            (ExternType::Table(a), ExternType::Table(b)) => {
                a.elem == b.elem && a.addr == b.addr && a.limits.matches(&b.limits)
            }
            (ExternType::Memory(a), ExternType::Memory(b)) => {
                a.shared == b.shared
                    && a.addr == b.addr
                    && a.page_size_log2 == b.page_size_log2
                    && a.limits.matches(&b.limits)
            }
            (ExternType::Global(a), ExternType::Global(b)) => a == b,
            (ExternType::Tag(a), ExternType::Tag(b)) => a == b,
            _ => false,
        }
    }
}
