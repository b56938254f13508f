//! Values, as in spec *Runtime Structure › Values* (`exec/runtime.rst`; spec 3.0 adds the
//! references of typed function references and GC).

use crate::addr::{ExnAddr, FuncAddr};
use crate::types::{HeapType, RefType, ValType};
use std::fmt;

/// A non-null reference of the `any` hierarchy (spec 3.0 `ref.i31`, `ref.struct`,
/// `ref.array`, and `ref.host`, a host reference converted by `any.convert_extern`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnyRef {
    /// `ref.i31 i`: the 31 low bits.
    I31(u32),
    /// `ref.struct a`: index into [`crate::Store::structs`].
    Struct(u32),
    /// `ref.array a`: index into [`crate::Store::arrays`].
    Array(u32),
    /// `ref.host n`: the host reference `n` (`any.convert_extern` of `ref.extern n`).
    Host(u32),
}

impl fmt::Display for AnyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnyRef::I31(i) => write!(f, "ref.i31 {i}"),
            AnyRef::Struct(a) => write!(f, "ref.struct {a}"),
            AnyRef::Array(a) => write!(f, "ref.array {a}"),
            AnyRef::Host(n) => write!(f, "ref.host {n}"),
        }
    }
}

/// A WebAssembly value. Floats are kept as their bit patterns so that NaN payloads survive
/// unchanged (Wasm 2.0 spec *Numerics* distinguishes canonical and arithmetic NaNs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// Bit pattern of an `f32`.
    F32(u32),
    /// Bit pattern of an `f64`.
    F64(u64),
    /// A 128-bit vector, little-endian lanes.
    V128(u128),
    /// A null of the `func` hierarchy (`None`) or `ref.func a`.
    FuncRef(Option<FuncAddr>),
    /// A null of the `extern` hierarchy (`None`) or `ref.extern n`, an opaque host
    /// reference.
    ExternRef(Option<u32>),
    /// A null of the `any` hierarchy (`None`) or a reference of it.
    AnyRef(Option<AnyRef>),
    /// `ref.extern r`: a non-host reference of the `any` hierarchy converted by
    /// `extern.convert_any` (an `externref`).
    ExternAny(AnyRef),
    /// `ref.null exn` (`None`) or `ref.exn a`, an exception instance in the store
    /// (exception handling, spec 3.0 *Runtime Structure › Exception Instances*).
    ExnRef(Option<ExnAddr>),
}

impl Value {
    /// The (least precise) type of this value: its number or vector type, or the nullable
    /// top type of its reference hierarchy (`funcref`, `externref`, `anyref`). Whether a
    /// reference matches a concrete type depends on the store
    /// ([`crate::Store::value_matches`]).
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::FuncRef(_) => ValType::FUNCREF,
            Value::ExternRef(_) | Value::ExternAny(_) => ValType::EXTERNREF,
            Value::AnyRef(_) => ValType::Ref(RefType::new(true, HeapType::Any)),
            Value::ExnRef(_) => ValType::EXNREF,
        }
    }

    /// The default value of a type (spec `default_t`): zero, or a null reference. (A
    /// non-nullable reference type has no default; this gives its null, which validation
    /// keeps from being observed.) A concrete heap type gives the `any` hierarchy's null;
    /// see [`crate::Store::null_of`] for the precise one.
    pub fn default_of(ty: ValType) -> Value {
        match ty {
            ValType::I32 => Value::I32(0),
            ValType::I64 => Value::I64(0),
            ValType::F32 => Value::F32(0),
            ValType::F64 => Value::F64(0),
            ValType::V128 => Value::V128(0),
            ValType::Ref(r) => Value::null_of(r.heap),
        }
    }

    /// The null reference of the hierarchy of abstract heap type `h` (concrete types: the
    /// `any` hierarchy's).
    pub fn null_of(h: HeapType) -> Value {
        match h {
            HeapType::Func | HeapType::NoFunc => Value::FuncRef(None),
            HeapType::Extern | HeapType::NoExtern => Value::ExternRef(None),
            HeapType::Exn | HeapType::NoExn => Value::ExnRef(None),
            _ => Value::AnyRef(None),
        }
    }

    /// The top heap type of this reference's hierarchy (`func`, `extern` or `any`);
    /// `None` for numbers and vectors.
    pub(crate) fn ty_heap(&self) -> HeapType {
        match self.ty() {
            ValType::Ref(r) => r.heap,
            _ => HeapType::None,
        }
    }

    /// Whether this is a null reference.
    pub fn is_null(&self) -> bool {
        matches!(
            self,
            Value::FuncRef(None)
                | Value::ExternRef(None)
                | Value::AnyRef(None)
                | Value::ExnRef(None)
        )
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{}", *v as u32),
            Value::I64(v) => write!(f, "i64:{}", *v as u64),
            Value::F32(b) => write!(f, "f32:{} (0x{b:08x})", f32::from_bits(*b)),
            Value::F64(b) => write!(f, "f64:{} (0x{b:016x})", f64::from_bits(*b)),
            Value::V128(v) => write!(f, "v128:0x{v:032x}"),
            Value::FuncRef(None) => write!(f, "ref.null func"),
            Value::FuncRef(Some(a)) => write!(f, "ref.func {}", a.0),
            Value::ExternRef(None) => write!(f, "ref.null extern"),
            Value::ExternRef(Some(n)) => write!(f, "ref.extern {n}"),
            Value::AnyRef(None) => write!(f, "ref.null any"),
            Value::AnyRef(Some(r)) => write!(f, "{r}"),
            Value::ExternAny(r) => write!(f, "ref.extern ({r})"),
            Value::ExnRef(None) => write!(f, "ref.null exn"),
            Value::ExnRef(Some(a)) => write!(f, "ref.exn {}", a.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_32_bytes() {
        // The GC references fit beside the v128 payload: no value grew with them.
        assert_eq!(std::mem::size_of::<Value>(), 32);
        assert_eq!(std::mem::size_of::<AnyRef>(), 8);
    }
}
