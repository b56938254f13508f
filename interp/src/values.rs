//! Values, as in spec *Runtime Structure › Values* (`exec/runtime.rst`).

use crate::store::{ExnAddr, FuncAddr};
use crate::types::ValType;
use std::fmt;

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
    /// `ref.null func` (`None`) or `ref.func a`.
    FuncRef(Option<FuncAddr>),
    /// `ref.null extern` (`None`) or `ref.extern n`, an opaque host reference.
    ExternRef(Option<u32>),
    /// `ref.null exn` (`None`) or `ref.exn a`, an exception instance in the store
    /// (exception handling, spec 3.0 *Runtime Structure › Exception Instances*).
    ExnRef(Option<ExnAddr>),
}

impl Value {
    /// The type of this value.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
            Value::ExnRef(_) => ValType::ExnRef,
        }
    }

    /// The default value of a type (spec `default_t`): zero, or a null reference.
    pub fn default_of(ty: ValType) -> Value {
        match ty {
            ValType::I32 => Value::I32(0),
            ValType::I64 => Value::I64(0),
            ValType::F32 => Value::F32(0),
            ValType::F64 => Value::F64(0),
            ValType::V128 => Value::V128(0),
            ValType::FuncRef => Value::FuncRef(None),
            ValType::ExternRef => Value::ExternRef(None),
            ValType::ExnRef => Value::ExnRef(None),
        }
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
            Value::ExnRef(None) => write!(f, "ref.null exn"),
            Value::ExnRef(Some(a)) => write!(f, "ref.exn {}", a.0),
        }
    }
}
