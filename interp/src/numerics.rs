//! Numeric operations whose spec definition (Wasm 2.0 spec *Execution › Numerics*) is not a single
//! Rust operator: trapping integer division, float `min`/`max`, and trapping float-to-int
//! truncation. Everything else is written inline at its instruction in [`crate::exec`]
//! (wrapping integer arithmetic, IEEE 754 float arithmetic, saturating truncation by `as`).
//!
//! NaN results: Rust's float arithmetic on this platform returns a quiet NaN that keeps the
//! payload of a NaN operand, i.e. an *arithmetic* NaN, or the canonical NaN when no operand
//! is NaN, which is what spec `nans_N` allows.

use crate::Trap;

macro_rules! int_division {
    ($($div_s:ident, $div_u:ident, $rem_s:ident, $rem_u:ident: $s:ty, $u:ty;)*) => {$(
        /// Spec `idiv_s`: traps on division by zero, and on overflow (`MIN / -1`).
        pub fn $div_s(a: $s, b: $s) -> Result<$s, Trap> {
            if b == 0 {
                Err(Trap::IntegerDivideByZero)
            } else {
                a.checked_div(b).ok_or(Trap::IntegerOverflow)
            }
        }
        /// Spec `idiv_u`: traps on division by zero.
        pub fn $div_u(a: $u, b: $u) -> Result<$u, Trap> {
            a.checked_div(b).ok_or(Trap::IntegerDivideByZero)
        }
        /// Spec `irem_s`: traps on division by zero; `MIN rem -1` is 0 (no overflow).
        pub fn $rem_s(a: $s, b: $s) -> Result<$s, Trap> {
            if b == 0 {
                Err(Trap::IntegerDivideByZero)
            } else {
                Ok(a.wrapping_rem(b))
            }
        }
        /// Spec `irem_u`: traps on division by zero.
        pub fn $rem_u(a: $u, b: $u) -> Result<$u, Trap> {
            a.checked_rem(b).ok_or(Trap::IntegerDivideByZero)
        }
    )*};
}

int_division! {
    idiv_s32, idiv_u32, irem_s32, irem_u32: i32, u32;
    idiv_s64, idiv_u64, irem_s64, irem_u64: i64, u64;
}

macro_rules! float_min_max {
    ($($min:ident, $max:ident: $f:ty;)*) => {$(
        /// Spec `fmin`: NaN if either operand is NaN; `-0 < +0`.
        pub fn $min(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                a + b // a NaN: arithmetic, propagating an operand's payload
            } else if a == 0.0 && b == 0.0 {
                if a.is_sign_negative() { a } else { b }
            } else {
                a.min(b)
            }
        }
        /// Spec `fmax`: NaN if either operand is NaN; `+0 > -0`.
        pub fn $max(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                a + b
            } else if a == 0.0 && b == 0.0 {
                if a.is_sign_positive() { a } else { b }
            } else {
                a.max(b)
            }
        }
    )*};
}

float_min_max! {
    fmin32, fmax32: f32;
    fmin64, fmax64: f64;
}

/// Spec `fceil`, `ffloor`, `ftrunc`, `fnearest` on a NaN return an arithmetic NaN (quiet
/// bit set). Rust's software rounding returns a signalling NaN operand unchanged, so the
/// rounding instructions pass their result through this.
pub fn quiet_nan32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | 0x0040_0000)
    } else {
        x
    }
}

/// The `f64` counterpart of [`quiet_nan32`].
pub fn quiet_nan64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | 0x0008_0000_0000_0000)
    } else {
        x
    }
}

macro_rules! float_truncation {
    ($($name:ident: $f:ty => $i:ty, $lo:expr, $hi:expr;)*) => {$(
        /// Spec `trunc`: the integer part, trapping with "invalid conversion to integer" on
        /// NaN and "integer overflow" when it is out of the target range. The bounds are the
        /// exclusive limits `lo < x < hi`, exact in the source float type.
        pub fn $name(x: $f) -> Result<$i, Trap> {
            if x.is_nan() {
                Err(Trap::InvalidConversionToInteger)
            } else if x > $lo && x < $hi {
                Ok(x as $i)
            } else {
                Err(Trap::IntegerOverflow)
            }
        }
    )*};
}

float_truncation! {
    trunc_f32_i32: f32 => i32, -2147483904.0_f32, 2147483648.0_f32;
    trunc_f32_u32: f32 => u32, -1.0_f32, 4294967296.0_f32;
    trunc_f64_i32: f64 => i32, -2147483649.0_f64, 2147483648.0_f64;
    trunc_f64_u32: f64 => u32, -1.0_f64, 4294967296.0_f64;
    trunc_f32_i64: f32 => i64, -9223373136366403584.0_f32, 9223372036854775808.0_f32;
    trunc_f32_u64: f32 => u64, -1.0_f32, 18446744073709551616.0_f32;
    trunc_f64_i64: f64 => i64, -9223372036854777856.0_f64, 9223372036854775808.0_f64;
    trunc_f64_u64: f64 => u64, -1.0_f64, 18446744073709551616.0_f64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_division_traps_on_zero_and_overflow() {
        assert_eq!(idiv_s32(7, 0), Err(Trap::IntegerDivideByZero));
        assert_eq!(idiv_s32(i32::MIN, -1), Err(Trap::IntegerOverflow));
        assert_eq!(idiv_s32(-7, 2), Ok(-3));
        assert_eq!(irem_s32(i32::MIN, -1), Ok(0));
        assert_eq!(irem_s64(-7, 2), Ok(-1));
        assert_eq!(idiv_u64(u64::MAX, 2), Ok(u64::MAX / 2));
        assert_eq!(irem_u32(5, 0), Err(Trap::IntegerDivideByZero));
    }

    #[test]
    fn min_max_order_signed_zeros_and_propagate_nan() {
        assert!(fmin32(0.0, -0.0).is_sign_negative());
        assert!(fmin32(-0.0, 0.0).is_sign_negative());
        assert!(fmax64(-0.0, 0.0).is_sign_positive());
        assert!(fmax64(0.0, -0.0).is_sign_positive());
        assert!(fmin64(f64::NAN, 1.0).is_nan());
        assert!(fmax32(1.0, f32::NAN).is_nan());
        assert_eq!(fmin32(1.0, 2.0), 1.0);
        assert_eq!(fmax32(1.0, 2.0), 2.0);
    }

    #[test]
    fn rounding_quiets_signalling_nans() {
        let snan = f32::from_bits(0xffa0_0000);
        assert_eq!(quiet_nan32(snan.floor()).to_bits(), 0xffe0_0000);
        assert_eq!(
            quiet_nan64(f64::from_bits(0x7ff4_0000_0000_0000)).to_bits(),
            0x7ffc_0000_0000_0000
        );
        assert_eq!(quiet_nan32(1.5), 1.5);
    }

    #[test]
    fn truncation_bounds_are_exact() {
        assert_eq!(trunc_f32_i32(-2147483648.0), Ok(i32::MIN));
        assert_eq!(trunc_f32_i32(2147483648.0), Err(Trap::IntegerOverflow));
        assert_eq!(trunc_f64_i32(-2147483648.9), Ok(i32::MIN));
        assert_eq!(trunc_f64_i32(-2147483649.0), Err(Trap::IntegerOverflow));
        assert_eq!(trunc_f64_u32(-0.9), Ok(0));
        assert_eq!(trunc_f64_u32(-1.0), Err(Trap::IntegerOverflow));
        assert_eq!(
            trunc_f32_u64(f32::NAN),
            Err(Trap::InvalidConversionToInteger)
        );
        assert_eq!(trunc_f64_i64(-9223372036854775808.0), Ok(i64::MIN));
        assert_eq!(
            trunc_f64_u64(18446744073709549568.0),
            Ok(18446744073709549568)
        );
    }
}
