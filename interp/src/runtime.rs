//! Runtime structure shared by the execution layers (spec *Runtime Structure*, and the
//! threads proposal's *Configurations*): thread identities, the slot a value occupies on a
//! thread's stack (and its encoding of values), and effective addresses.
//!
//! It sits below [`crate::syntax`], [`crate::memory`], [`crate::store`], [`crate::exn`],
//! [`crate::simd`] and [`crate::exec`], which name these; its items are re-exported at
//! their former paths in [`crate::exec`]. Activation frames are in [`crate::frame`].

use crate::addr::{ExnAddr, FuncAddr};
use crate::types::{RefType, ValType};
use crate::values::{AnyRef, Value};
use std::fmt;

/// One operand-stack or local slot. Every value occupies one slot: integers zero-extended
/// (an `i32` slot never has a bit set above bit 31, which lets 32- and 64-bit addresses be
/// read alike), floats as their bits, references encoded by [`value_to_slot`], v128 as all
/// 128 bits.
pub type Slot = u128;

/// Slot encoding of a null reference (of every type).
pub(crate) const NULL_REF: Slot = u128::MAX;

// Slot encoding of non-null references (spec 3.0 reference values): a kind tag in bits
// 64..72 and the address (or i31 bits) below; `extern.convert_any` sets bit 72. A function
// reference is its address alone (tag 0).
pub(crate) const TAG_MASK: Slot = 0xff << 64;
const TAG_HOST: Slot = 1 << 64;
pub(crate) const TAG_I31: Slot = 2 << 64;
pub(crate) const TAG_STRUCT: Slot = 3 << 64;
pub(crate) const TAG_ARRAY: Slot = 4 << 64;
/// An exception reference (`ref.exn a`, exception handling).
pub(crate) const TAG_EXN: Slot = 5 << 64;
/// Set on an `externref` that holds a reference of the `any` hierarchy (`ref.extern r`).
pub(crate) const EXTERN_FLAG: Slot = 1 << 72;

/// Identifies a thread of a [`Configuration`](crate::Configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(pub u32);

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread {}", self.0)
    }
}

// ---- Slot encoding ----

/// Encode a value into a slot.
pub fn value_to_slot(v: &Value) -> Slot {
    match *v {
        Value::I32(x) => x as u32 as Slot,
        Value::I64(x) => x as u64 as Slot,
        Value::F32(b) => b as Slot,
        Value::F64(b) => b as Slot,
        Value::V128(x) => x,
        Value::FuncRef(r) => r.map_or(NULL_REF, |a| a.0 as Slot),
        Value::ExternRef(r) => r.map_or(NULL_REF, |n| EXTERN_FLAG | TAG_HOST | n as Slot),
        Value::AnyRef(r) => r.map_or(NULL_REF, any_to_slot),
        Value::ExternAny(r) => EXTERN_FLAG | any_to_slot(r),
        Value::ExnRef(r) => r.map_or(NULL_REF, |a| TAG_EXN | a.0 as Slot),
    }
}

fn any_to_slot(r: AnyRef) -> Slot {
    match r {
        AnyRef::I31(i) => TAG_I31 | (i & 0x7fff_ffff) as Slot,
        AnyRef::Struct(a) => TAG_STRUCT | a as Slot,
        AnyRef::Array(a) => TAG_ARRAY | a as Slot,
        AnyRef::Host(n) => TAG_HOST | n as Slot,
    }
}

/// Decode a slot holding a value of type `ty`. A non-null reference is decoded from its
/// slot alone; a null one gets the hierarchy of `ty`'s heap type (a concrete heap type
/// gives `any`'s: see [`Store::slot_value`](crate::store::Store::slot_value) for the precise one).
///
/// Numbers and vectors are decoded inline (`global.set` and every call's results decode
/// slots); references out of line, by `slot_to_ref`.
#[inline]
pub fn slot_to_value(s: Slot, ty: ValType) -> Value {
    match ty {
        ValType::I32 => Value::I32(s as u32 as i32),
        ValType::I64 => Value::I64(s as u64 as i64),
        ValType::F32 => Value::F32(s as u32),
        ValType::F64 => Value::F64(s as u64),
        ValType::V128 => Value::V128(s),
        ValType::Ref(r) => slot_to_ref(s, r),
    }
}

/// [`slot_to_value`] for a slot holding a reference of type `r`.
#[inline(never)]
fn slot_to_ref(s: Slot, r: RefType) -> Value {
    let any = |s: Slot| match s & TAG_MASK {
        TAG_I31 => AnyRef::I31(s as u32),
        TAG_STRUCT => AnyRef::Struct(s as u32),
        TAG_ARRAY => AnyRef::Array(s as u32),
        _ => AnyRef::Host(s as u32),
    };
    if s == NULL_REF {
        Value::null_of(r.heap)
    } else if s & TAG_MASK == TAG_EXN {
        Value::ExnRef(Some(ExnAddr(s as u32)))
    } else if s & EXTERN_FLAG != 0 {
        match any(s & !EXTERN_FLAG) {
            AnyRef::Host(n) => Value::ExternRef(Some(n)),
            r => Value::ExternAny(r),
        }
    } else if s & TAG_MASK == 0 {
        Value::FuncRef(Some(FuncAddr(s as u32)))
    } else {
        Value::AnyRef(Some(any(s)))
    }
}

/// The effective address (spec: `ea = i + memarg.offset`, computed without wrap-around).
/// The address operand is an `i32` or, for a 64-bit memory, an `i64`; either way its slot
/// holds it zero-extended (see [`Slot`]), so it is read as a `u64`. A sum past `2^64 - 1`
/// (possible only with 64-bit memories) saturates to `2^64 - 1`, which is out of bounds of
/// every memory for every access width, as the true sum is.
#[inline(always)]
pub(crate) fn effective_address(operand: Slot, offset: u64) -> u64 {
    (operand as u64).saturating_add(offset)
}
