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
        })
    }
}

/// A reference type (spec `reftype`): the element type of tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec's reference types `funcref` and `externref`
pub enum RefType {
    FuncRef,
    ExternRef,
}

impl From<RefType> for ValType {
    fn from(r: RefType) -> ValType {
        match r {
            RefType::FuncRef => ValType::FuncRef,
            RefType::ExternRef => ValType::ExternRef,
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

/// A memory type (spec `memtype`, threads proposal): limits in 64 KiB pages and the `shared`
/// flag. Validation requires a maximum for shared memories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemType {
    /// Size limits, in pages.
    pub limits: Limits,
    /// Whether the memory is shared between threads (threads proposal).
    pub shared: bool,
}

/// A table type (spec `tabletype`): limits in elements and the element reference type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Size limits, in elements.
    pub limits: Limits,
    /// Element type.
    pub elem: RefType,
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
}

impl ExternType {
    /// Spec *Import Subtyping* (`valid/types.rst`), with the threads proposal's rule that a
    /// memory's sharedness must be equal on both sides (spec erratum MODEL.md §7.3 (13): the
    /// prose omits it; the proposal overview and the test suite require it).
    pub fn matches(&self, expected: &ExternType) -> bool {
        match (self, expected) {
            (ExternType::Func(a), ExternType::Func(b)) => a == b,
            (ExternType::Table(a), ExternType::Table(b)) => {
                a.elem == b.elem && a.limits.matches(&b.limits)
            }
            (ExternType::Memory(a), ExternType::Memory(b)) => {
                a.shared == b.shared && a.limits.matches(&b.limits)
            }
            (ExternType::Global(a), ExternType::Global(b)) => a == b,
            _ => false,
        }
    }
}
