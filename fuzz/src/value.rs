//! The one conversion between the values of litmus outcomes ([`heddle_model::Value`]: `i32`,
//! `i64`, `f32`, `f64`, integers as unsigned bits, floats as bit patterns) and the values
//! of the engines: the outcome text of `heddle litmus` (`"i32:N"`, what the JavaScript
//! harness and recorded histograms hold), the interpreter's [`heddle_interp::Value`]
//! (`heddle-native`) and `wasmtime::Val`. Every engine adapter converts here, so that they
//! agree on signedness and bit patterns.
//!
//! Arguments always convert (a litmus argument is a number). A result the outcome format
//! cannot express (a reference, a `v128`) is an [`Unexpressible`] error, which an adapter
//! reports as an [`EngineFailure`] naming the test, never as an outcome.

use crate::engine::EngineFailure;
use heddle_model::Value;
use wast::core::WastArgCore;
use wast::WastArg;

/// A result value that no litmus outcome can hold; the text names what it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unexpressible(pub String);

impl Unexpressible {
    /// The failure an adapter reports: a harness error naming the test, the thread and
    /// what the engine returned.
    pub fn failure(&self, test: &str, thread: &str) -> EngineFailure {
        EngineFailure::Harness(format!(
            "{test}: thread {thread} returned {}, which a litmus outcome cannot express",
            self.0
        ))
    }
}

/// Parses a value in the outcome format (`"i32:N"`, `"i64:N"`, N unsigned decimal;
/// `"f32:N"`, `"f64:N"`, N the bit pattern).
///
/// # Errors
/// A message naming the text when it is not such a value.
pub fn parse_value(s: &str) -> Result<Value, String> {
    let bad = || format!("not a value: {s:?}");
    let (ty, n) = s.split_once(':').ok_or_else(bad)?;
    let n: u64 = n.parse().map_err(|_| bad())?;
    let small = || u32::try_from(n).map_err(|_| bad());
    Ok(match ty {
        "i32" => Value::I32(small()?),
        "i64" => Value::I64(n),
        "f32" => Value::F32(small()?),
        "f64" => Value::F64(n),
        _ => return Err(bad()),
    })
}

/// A numeric argument of a `.wast` invoke.
///
/// # Errors
/// `None` for an argument that is not a number (a reference, a `v128`).
pub fn from_wast_arg(a: &WastArg<'_>) -> Option<Value> {
    Some(match a {
        WastArg::Core(WastArgCore::I32(v)) => Value::I32(*v as u32),
        WastArg::Core(WastArgCore::I64(v)) => Value::I64(*v as u64),
        WastArg::Core(WastArgCore::F32(v)) => Value::F32(v.bits),
        WastArg::Core(WastArgCore::F64(v)) => Value::F64(v.bits),
        _ => return None,
    })
}

/// A litmus value as an argument for Heddle's interpreter.
pub fn to_interp(v: &Value) -> heddle_interp::Value {
    match *v {
        Value::I32(x) => heddle_interp::Value::I32(x as i32),
        Value::I64(x) => heddle_interp::Value::I64(x as i64),
        Value::F32(b) => heddle_interp::Value::F32(b),
        Value::F64(b) => heddle_interp::Value::F64(b),
    }
}

/// A result of Heddle's interpreter as a litmus value.
///
/// # Errors
/// [`Unexpressible`] for a `v128` or a reference.
pub fn from_interp(v: &heddle_interp::Value) -> Result<Value, Unexpressible> {
    use heddle_interp::Value as I;
    match *v {
        I::I32(x) => Ok(Value::I32(x as u32)),
        I::I64(x) => Ok(Value::I64(x as u64)),
        I::F32(b) => Ok(Value::F32(b)),
        I::F64(b) => Ok(Value::F64(b)),
        I::V128(x) => Err(Unexpressible(format!("v128 {x:#034x}"))),
        I::FuncRef(_) | I::ExternRef(_) | I::AnyRef(_) | I::ExternAny(_) | I::ExnRef(_) => {
            Err(Unexpressible("a reference".into()))
        }
    }
}

/// A litmus value as a wasmtime argument.
#[cfg(feature = "wasmtime")]
pub fn to_wasmtime(v: &Value) -> wasmtime::Val {
    use wasmtime::Val;
    match *v {
        Value::I32(x) => Val::I32(x as i32),
        Value::I64(x) => Val::I64(x as i64),
        Value::F32(b) => Val::F32(b),
        Value::F64(b) => Val::F64(b),
    }
}

/// A slot for a wasmtime result of type `ty` (its contents are overwritten by the call).
///
/// # Errors
/// [`Unexpressible`] when results of that type cannot be expressed (checked before any
/// iteration runs).
#[cfg(feature = "wasmtime")]
pub fn wasmtime_slot(ty: &wasmtime::ValType) -> Result<wasmtime::Val, Unexpressible> {
    use wasmtime::{Val, ValType};
    match ty {
        ValType::I32 => Ok(Val::I32(0)),
        ValType::I64 => Ok(Val::I64(0)),
        ValType::F32 => Ok(Val::F32(0)),
        ValType::F64 => Ok(Val::F64(0)),
        other => Err(Unexpressible(format!("a result of type {other}"))),
    }
}

/// A wasmtime result as a litmus value.
///
/// # Errors
/// [`Unexpressible`] for a `v128` or a reference.
#[cfg(feature = "wasmtime")]
pub fn from_wasmtime(v: &wasmtime::Val) -> Result<Value, Unexpressible> {
    use wasmtime::Val;
    match *v {
        Val::I32(x) => Ok(Value::I32(x as u32)),
        Val::I64(x) => Ok(Value::I64(x as u64)),
        Val::F32(b) => Ok(Value::F32(b)),
        Val::F64(b) => Ok(Value::F64(b)),
        Val::V128(x) => Err(Unexpressible(format!("v128 {:#034x}", x.as_u128()))),
        _ => Err(Unexpressible("a reference".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_values_keep_their_bits() {
        for v in [
            Value::I32(u32::MAX),
            Value::I64(1 << 63),
            Value::F32(0x7fc0_0001),
            Value::F64(0x8000_0000_0000_0000),
        ] {
            assert_eq!(from_interp(&to_interp(&v)), Ok(v));
        }
    }

    #[test]
    fn a_v128_or_reference_result_is_not_an_outcome() {
        assert!(from_interp(&heddle_interp::Value::V128(0)).is_err());
        let e = Unexpressible("v128 0x0".into()).failure("t.wast", "T0");
        assert!(e.to_string().contains("t.wast") && e.to_string().contains("T0"));
    }

    #[cfg(feature = "wasmtime")]
    #[test]
    fn wasmtime_values_keep_their_bits() {
        for v in [
            Value::I32(0x8000_0000),
            Value::I64(u64::MAX),
            Value::F32(0xff80_0000),
            Value::F64(1),
        ] {
            assert_eq!(from_wasmtime(&to_wasmtime(&v)), Ok(v));
        }
        assert!(from_wasmtime(&wasmtime::Val::V128(0u128.into())).is_err());
        assert!(wasmtime_slot(&wasmtime::ValType::V128).is_err());
    }
}
