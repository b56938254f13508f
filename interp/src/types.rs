//! Types, as in spec *Structure › Types* (`syntax/types.rst`) and their matching rules
//! (`valid/types.rst`, *Import Subtyping*).
//!
//! Spec 3.0 (typed function references, GC) adds reference types over heap types, and
//! defined types: sub types of function, structure and array types, in recursion groups.
//! Validation is wasmparser's; what Heddle needs at run time is type *equivalence* and
//! *subtyping* across modules, for `call_indirect`, `ref.test`/`ref.cast`/`br_on_cast` and
//! import matching. Decision: a store-wide [`TypeRegistry`] canonicalises each module's
//! recursion groups when the module is instantiated (iso-recursive: structurally equal
//! groups are the same types), and everything at run time compares canonical ids
//! ([`TypeId`]); see [`TypeRegistry`] for the key.

use std::fmt;

/// Implementation limit on the size of one memory, in bytes: 8 GiB. The spec lets
/// `memory.grow` fail at any size (it returns -1 past this), and a module whose memory
/// starts larger fails to instantiate. Memory is allocated zeroed by the operating system,
/// so only pages actually touched cost physical memory: a 64-bit memory just above 4 GiB
/// is cheap.
pub const MAX_MEMORY_BYTES: u64 = 1 << 33;

/// A value type (spec `valtype`). A `V128` value is 128 bits, see [`crate::simd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec's value types of the same name (`I32` is `i32`)
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    /// A reference type (spec 3.0 `reftype`, typed function references and GC).
    Ref(RefType),
}

impl ValType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`, i.e. `(ref null exn)` (exception handling).
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);

    /// Spec 3.0 *Defaultable types*: numbers, vectors and nullable references have a
    /// default value; non-nullable references have none.
    pub fn is_defaultable(self) -> bool {
        !matches!(self, ValType::Ref(r) if !r.nullable)
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => write!(f, "{r}"),
        }
    }
}

/// A heap type (spec 3.0 `heaptype`): an abstract heap type, or a concrete type given by
/// its index. In a [`crate::Module`] a `Concrete` index is a module type index; in the
/// store's [`TypeRegistry`] it is a canonical type id ([`TypeId`]). `Rec` only occurs in
/// the keys by which the registry canonicalises recursion groups: the index of a type
/// within its own group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec's abstract heap types of the same name
pub enum HeapType {
    Func,
    NoFunc,
    Extern,
    NoExtern,
    Any,
    Eq,
    I31,
    Struct,
    Array,
    None,
    Exn,
    NoExn,
    /// A defined type: module type index, or canonical [`TypeId`] in the store.
    Concrete(u32),
    /// A type of the same recursion group, by its position in the group (registry keys
    /// only).
    Rec(u32),
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Concrete(i) => write!(f, "{i}"),
            HeapType::Rec(i) => write!(f, "rec.{i}"),
        }
    }
}

/// A reference type (spec 3.0 `reftype` = `ref null? heaptype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether `ref.null` is a value of the type.
    pub nullable: bool,
    /// The heap type.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `externref`.
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };
    /// `exnref` (exception handling).
    pub const EXNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Exn,
    };

    /// `(ref null? heap)`.
    pub fn new(nullable: bool, heap: HeapType) -> RefType {
        RefType { nullable, heap }
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::Exn) => f.write_str("exnref"),
            (true, h) => write!(f, "(ref null {h})"),
            (false, h) => write!(f, "(ref {h})"),
        }
    }
}

impl From<RefType> for ValType {
    fn from(r: RefType) -> ValType {
        ValType::Ref(r)
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

/// A storage type (spec 3.0 `storagetype`): a value type or a packed type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// A packed 8-bit integer (read as `i32`).
    I8,
    /// A packed 16-bit integer (read as `i32`).
    I16,
    /// A value type.
    Val(ValType),
}

impl StorageType {
    /// The type of the operand of a field of this storage type (`unpack`): `i32` for
    /// packed types.
    pub fn unpacked(self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(t) => t,
        }
    }
}

/// A field type (spec 3.0 `fieldtype`): storage type and mutability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// What the field holds.
    pub storage: StorageType,
    /// Whether `struct.set` / `array.set` may change it.
    pub mutable: bool,
}

/// A composite type (spec 3.0 `comptype`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CompositeType {
    /// `func`.
    Func(FuncType),
    /// `struct` with its fields.
    Struct(Vec<FieldType>),
    /// `array` with its element field.
    Array(FieldType),
}

/// A sub type (spec 3.0 `subtype`): a composite type with its declared supertype (at most
/// one) and whether it is final. The supertype is a module type index in a module and a
/// [`TypeId`] in the registry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubType {
    /// `final` (no subtypes may be declared).
    pub is_final: bool,
    /// The declared supertype, if any.
    pub supertype: Option<u32>,
    /// The composite type.
    pub composite: CompositeType,
}

impl SubType {
    /// A final function type without supertype (what Wasm 2.0's type section declares).
    pub fn func(ty: FuncType) -> SubType {
        SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Func(ty),
        }
    }

    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.composite {
            CompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The same sub type with every type index (`Concrete` heap types and the supertype)
    /// replaced by `f(index)`.
    pub fn map_indices(&self, f: &impl Fn(u32) -> HeapType) -> SubType {
        SubType {
            is_final: self.is_final,
            supertype: self.supertype.map(|s| match f(s) {
                HeapType::Concrete(i) => i,
                // Within the group: kept as `u32::MAX - i` in registry keys only.
                HeapType::Rec(i) => u32::MAX - i,
                _ => unreachable!("type indices map to type references"),
            }),
            composite: self.composite.map_heap(&|h| match h {
                HeapType::Concrete(i) => f(i),
                other => other,
            }),
        }
    }
}

impl CompositeType {
    /// The same composite type with every heap type `h` of its reference types replaced by
    /// `heap(h)`.
    pub fn map_heap(&self, heap: &impl Fn(HeapType) -> HeapType) -> CompositeType {
        let val = |t: ValType| match t {
            ValType::Ref(r) => ValType::Ref(RefType::new(r.nullable, heap(r.heap))),
            other => other,
        };
        let field = |ft: FieldType| FieldType {
            storage: match ft.storage {
                StorageType::Val(t) => StorageType::Val(val(t)),
                packed => packed,
            },
            mutable: ft.mutable,
        };
        match self {
            CompositeType::Func(ft) => CompositeType::Func(FuncType {
                params: ft.params.iter().map(|t| val(*t)).collect(),
                results: ft.results.iter().map(|t| val(*t)).collect(),
            }),
            CompositeType::Struct(fs) => {
                CompositeType::Struct(fs.iter().map(|f| field(*f)).collect())
            }
            CompositeType::Array(ft) => CompositeType::Array(field(*ft)),
        }
    }
}

/// A canonical type id: the index of a type in the store's [`TypeRegistry`]. Two types
/// (of any modules instantiated in one store) are equivalent iff their ids are equal.
pub type TypeId = u32;

/// The store's table of canonical types (spec 3.0 *Validation › Types › Type
/// equivalence*, *Recursive types*): iso-recursive canonicalisation of recursion groups.
///
/// Decision: canonicalisation happens at instantiation, store-wide. A module keeps its
/// types with module indices ([`crate::Module::types`], grouped by
/// [`crate::Module::rec_groups`]); instantiation interns each group in order
/// ([`TypeRegistry::intern_group`]): the group's types, with references to earlier types
/// replaced by their canonical ids and references within the group by their position in
/// it (`HeapType::Rec`), form the group's key; structurally equal groups (from any
/// modules) get the same ids. So type equality at run time (`call_indirect`,
/// `ref.test`/`ref.cast`, import matching) is equality of ids, and subtyping walks the
/// declared supertypes (spec 3.0 *Matching › Defined types*). Types are never removed (the
/// spec has no collector); the registry lives as long as the store.
#[derive(Clone, Debug, Default)]
pub struct TypeRegistry {
    types: Vec<SubType>,
    groups: rustc_hash::FxHashMap<Vec<SubType>, TypeId>,
}

impl TypeRegistry {
    /// Intern the recursion group `group` (module types with module indices) whose first
    /// type has module index `start`, given the canonical ids `ids` of the module's types
    /// before it. Returns the ids of the group's types.
    pub fn intern_group(&mut self, group: &[SubType], start: u32, ids: &[TypeId]) -> Vec<TypeId> {
        let len = group.len() as u32;
        let key: Vec<SubType> = group
            .iter()
            .map(|t| {
                t.map_indices(&|i| {
                    if i >= start && i < start + len {
                        HeapType::Rec(i - start)
                    } else {
                        HeapType::Concrete(ids.get(i as usize).copied().unwrap_or(u32::MAX))
                    }
                })
            })
            .collect();
        if let Some(&first) = self.groups.get(&key) {
            return (first..first + len).collect();
        }
        let first = self.types.len() as TypeId;
        for t in &key {
            // Supertypes within the group were encoded as `u32::MAX - i`.
            let supertype = t.supertype.map(|s| {
                if s > u32::MAX - len {
                    first + (u32::MAX - s)
                } else {
                    s
                }
            });
            self.types.push(SubType {
                is_final: t.is_final,
                supertype,
                composite: resolve_rec(&t.composite, first),
            });
        }
        self.groups.insert(key, first);
        (first..first + len).collect()
    }

    /// The type with canonical id `id`.
    pub fn get(&self, id: TypeId) -> &SubType {
        &self.types[id as usize]
    }

    /// The number of canonical types.
    pub fn len(&self) -> usize {
        self.types.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Spec 3.0 *Matching › Defined types*: `a` matches `b` iff `b` is `a` or one of its
    /// declared supertypes, transitively.
    pub fn is_subtype(&self, a: TypeId, b: TypeId) -> bool {
        let mut t = Some(a);
        while let Some(x) = t {
            if x == b {
                return true;
            }
            t = self.types.get(x as usize).and_then(|s| s.supertype);
        }
        false
    }

    fn kind(&self, id: TypeId) -> HeapType {
        match self.types.get(id as usize).map(|t| &t.composite) {
            Some(CompositeType::Func(_)) => HeapType::Func,
            Some(CompositeType::Struct(_)) => HeapType::Struct,
            Some(CompositeType::Array(_)) => HeapType::Array,
            None => HeapType::None,
        }
    }

    /// Spec 3.0 *Matching › Heap types* on canonical heap types: `a` ≤ `b`.
    pub fn heap_matches(&self, a: HeapType, b: HeapType) -> bool {
        use HeapType as H;
        if a == b {
            return true;
        }
        let a_kind = match a {
            H::Concrete(t) => self.kind(t),
            other => other,
        };
        match b {
            H::Any => matches!(
                a_kind,
                H::Eq | H::I31 | H::Struct | H::Array | H::None | H::Any
            ),
            H::Eq => matches!(a_kind, H::I31 | H::Struct | H::Array | H::None | H::Eq),
            H::I31 | H::Struct | H::Array => a == H::None || (a_kind == b && a != a_kind),
            H::Func => matches!(a_kind, H::Func | H::NoFunc),
            H::Extern => a == H::NoExtern,
            H::Exn => a == H::NoExn,
            H::Concrete(t) => match a {
                H::Concrete(s) => self.is_subtype(s, t),
                H::None => matches!(self.kind(t), H::Struct | H::Array),
                H::NoFunc => self.kind(t) == H::Func,
                _ => false,
            },
            _ => false,
        }
    }

    /// Spec 3.0 *Matching › Reference types*.
    pub fn ref_matches(&self, a: RefType, b: RefType) -> bool {
        (!a.nullable || b.nullable) && self.heap_matches(a.heap, b.heap)
    }

    /// Spec 3.0 *Matching › Value types*.
    pub fn val_matches(&self, a: ValType, b: ValType) -> bool {
        match (a, b) {
            (ValType::Ref(a), ValType::Ref(b)) => self.ref_matches(a, b),
            _ => a == b,
        }
    }

    /// Spec 3.0 *Import Subtyping* on canonical external types: functions by declared
    /// subtyping of their type ids, globals (immutable: covariant, mutable: equal), tables
    /// (equal element types), memories ([`ExternType::matches`]).
    pub fn extern_matches(&self, actual: &ExternType, expected: &ExternType) -> bool {
        match (actual, expected) {
            (ExternType::Func(a), ExternType::Func(b)) => self.is_subtype(*a, *b),
            (ExternType::Global(a), ExternType::Global(b)) => {
                a.mutable == b.mutable
                    && if a.mutable {
                        a.content == b.content
                    } else {
                        self.val_matches(a.content, b.content)
                    }
            }
            (ExternType::Table(a), ExternType::Table(b)) => {
                a.elem == b.elem && a.addr == b.addr && a.limits.matches(&b.limits)
            }
            _ => actual.matches(expected),
        }
    }
}

/// Replace the `Rec(i)` heap types of a composite type by `Concrete(first + i)`.
fn resolve_rec(c: &CompositeType, first: TypeId) -> CompositeType {
    c.map_heap(&|h| match h {
        HeapType::Rec(i) => HeapType::Concrete(first + i),
        other => other,
    })
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
    /// A function of the given type: a module type index in a module's imports, a
    /// canonical [`TypeId`] in the store (see [`TypeRegistry`]).
    Func(u32),
    Table(TableType),
    Memory(MemType),
    Global(GlobalType),
    /// A tag (exception handling, spec 3.0 `tagtype`): the function type `[t*] -> []` of
    /// its payload, as [`ExternType::Func`] gives it (a module type index in imports, a
    /// canonical [`TypeId`] in the store). Tag types match only when equivalent (spec 3.0
    /// *Import Subtyping*: tags are invariant).
    Tag(u32),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strukt(fields: Vec<ValType>, supertype: Option<u32>, is_final: bool) -> SubType {
        SubType {
            is_final,
            supertype,
            composite: CompositeType::Struct(
                fields
                    .into_iter()
                    .map(|t| FieldType {
                        storage: StorageType::Val(t),
                        mutable: false,
                    })
                    .collect(),
            ),
        }
    }

    fn reference(nullable: bool, idx: u32) -> ValType {
        ValType::Ref(RefType::new(nullable, HeapType::Concrete(idx)))
    }

    #[test]
    fn equal_rec_groups_of_different_modules_canonicalise_to_the_same_ids() {
        let mut reg = TypeRegistry::default();
        // Module A: (rec (type $a (struct (field (ref null $b)))) (type $b (struct (field i32))))
        let group = vec![
            strukt(vec![reference(true, 1)], None, true),
            strukt(vec![ValType::I32], None, true),
        ];
        let a = reg.intern_group(&group, 0, &[]);
        // Module B: one unrelated type first, then the same group at indices 1 and 2.
        let b0 = reg.intern_group(&[strukt(vec![ValType::I64], None, true)], 0, &[]);
        let shifted = vec![
            strukt(vec![reference(true, 2)], None, true),
            strukt(vec![ValType::I32], None, true),
        ];
        let b = reg.intern_group(&shifted, 1, &b0);
        assert_eq!(a, b);
        assert_ne!(a[0], b0[0]);
        // The same types as two separate groups are different types.
        let lone = reg.intern_group(&[strukt(vec![ValType::I32], None, true)], 0, &[]);
        assert_ne!(lone[0], a[1]);
        // A group of the same shape with a different field is different.
        let other = vec![
            strukt(vec![reference(true, 1)], None, true),
            strukt(vec![ValType::I64], None, true),
        ];
        assert_ne!(reg.intern_group(&other, 0, &[]), a);
        // References within the group resolve to the group's canonical ids.
        let CompositeType::Struct(fs) = &reg.get(a[0]).composite else {
            panic!()
        };
        assert_eq!(fs[0].storage, StorageType::Val(reference(true, a[1])));
    }

    #[test]
    fn subtyping_follows_declared_supertypes_and_the_abstract_lattice() {
        let mut reg = TypeRegistry::default();
        let base = reg.intern_group(&[strukt(vec![], None, false)], 0, &[]);
        let sub = reg.intern_group(&[strukt(vec![ValType::I32], Some(0), true)], 1, &base);
        let func = reg.intern_group(&[SubType::func(FuncType::default())], 0, &[]);
        let (base, sub, func) = (base[0], sub[0], func[0]);
        assert!(reg.is_subtype(sub, base));
        assert!(!reg.is_subtype(base, sub));
        use HeapType as H;
        for h in [H::Struct, H::Eq, H::Any] {
            assert!(reg.heap_matches(H::Concrete(sub), h), "{h}");
            assert!(!reg.heap_matches(H::Concrete(func), h), "{h}");
        }
        assert!(reg.heap_matches(H::Concrete(func), H::Func));
        assert!(reg.heap_matches(H::None, H::Concrete(sub)));
        assert!(!reg.heap_matches(H::None, H::Concrete(func)));
        assert!(reg.heap_matches(H::NoFunc, H::Concrete(func)));
        assert!(reg.heap_matches(H::I31, H::Eq));
        assert!(!reg.heap_matches(H::I31, H::Struct));
        assert!(!reg.heap_matches(H::Any, H::Eq));
        assert!(reg.heap_matches(H::NoExtern, H::Extern));
        assert!(!reg.heap_matches(H::Extern, H::Any));
        let r = |nullable, h| RefType::new(nullable, h);
        assert!(reg.ref_matches(r(false, H::Concrete(sub)), r(true, H::Concrete(base))));
        assert!(!reg.ref_matches(r(true, H::Concrete(sub)), r(false, H::Concrete(base))));
    }
}
