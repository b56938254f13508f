//! SIMD: the 128-bit vector instructions (spec *Structure › Instructions › Vector
//! Instructions*, *Execution › Instructions › Vector Instructions* and *Execution ›
//! Numerics › Vector Operations*).
//!
//! A `v128` value occupies one operand slot (all 128 bits, lane 0 in the low bits, which is
//! the spec's little-endian `lanes_t` order). The spec defines almost every vector
//! instruction lane-wise: split the operands into lanes of a *shape* `t×N`, apply a scalar
//! operator to each lane, and join the results. That is how it is written here:
//!
//! - [`Lane`] is a lane type (`i8` … `u64`, `f32`, `f64`, and `u128` for the bitwise
//!   instructions, which see the vector as one lane); [`lane`] and [`vector`] are the spec's
//!   `lanes_t` and its inverse.
//! - A handful of generic helpers ([`map`], [`zip`], [`cmp`], [`shift`], [`convert`], …)
//!   lift a scalar operator over lanes.
//! - The table [`SimdOp`] (in the style of wasm-tools' `for_each_operator!`) lists every
//!   pure vector operator once, each as one line: its name, and the scalar operator of the
//!   spec's numerics lifted by one helper. The same table drives decoding and execution.
//! - [`SimdInstr`] adds the instructions with immediates or memory access: `v128.const`,
//!   `i8x16.shuffle`, lane access, and loads and stores.
//!
//! Floating-point lanes follow the same rules as scalars (see [`crate::numerics`]): Rust's
//! IEEE 754 arithmetic returns an arithmetic NaN when an operand is NaN and the canonical
//! NaN otherwise, as spec `nans_N` allows; `abs`, `neg`, `pmin` and `pmax` touch no NaN.

use crate::memarg::MemArg;
use crate::numerics::{fmax32, fmax64, fmin32, fmin64, quiet_nan32, quiet_nan64};
use crate::runtime::Slot;
use std::fmt;
use wasmparser::Operator;

// ---- Lane shapes ----

/// A lane shape (spec `shape`): the type of a lane and how many fit in 128 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variants are the spec shapes of the same name (`I8x16` is `i8x16`)
pub enum Shape {
    I8x16,
    I16x8,
    I32x4,
    I64x2,
    F32x4,
    F64x2,
}

impl Shape {
    /// Every shape, integer shapes first.
    pub const ALL: [Shape; 6] = [
        Shape::I8x16,
        Shape::I16x8,
        Shape::I32x4,
        Shape::I64x2,
        Shape::F32x4,
        Shape::F64x2,
    ];

    /// The width of one lane in bits (spec `|t|`).
    pub fn lane_bits(self) -> u32 {
        match self {
            Shape::I8x16 => 8,
            Shape::I16x8 => 16,
            Shape::I32x4 | Shape::F32x4 => 32,
            Shape::I64x2 | Shape::F64x2 => 64,
        }
    }

    /// The number of lanes (spec `dim(shape)`).
    pub fn lanes(self) -> usize {
        (128 / self.lane_bits()) as usize
    }

    /// The integer shape of the given lane width in bytes (1, 2, 4 or 8), as used by the
    /// lane loads and stores.
    pub(crate) fn of_width(bytes: u32) -> Shape {
        match bytes {
            1 => Shape::I8x16,
            2 => Shape::I16x8,
            4 => Shape::I32x4,
            _ => Shape::I64x2,
        }
    }

    /// The bits of lane `i` of `v`, zero-extended.
    pub fn extract(self, v: u128, i: usize) -> u128 {
        let bits = self.lane_bits();
        v.checked_shr(i as u32 * bits).unwrap_or(0) & (u128::MAX >> (128 - bits))
    }

    /// `v` with lane `i` replaced by the low bits of `x`.
    pub fn replace(self, v: u128, i: usize, x: u128) -> u128 {
        let bits = self.lane_bits();
        let mask = (u128::MAX >> (128 - bits))
            .checked_shl(i as u32 * bits)
            .unwrap_or(0);
        (v & !mask) | (x.checked_shl(i as u32 * bits).unwrap_or(0) & mask)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::I8x16 => "i8x16",
            Shape::I16x8 => "i16x8",
            Shape::I32x4 => "i32x4",
            Shape::I64x2 => "i64x2",
            Shape::F32x4 => "f32x4",
            Shape::F64x2 => "f64x2",
        })
    }
}

impl std::str::FromStr for Shape {
    type Err = String;

    /// A shape by its text-format name (`i32x4`); the error lists the names.
    fn from_str(s: &str) -> Result<Shape, String> {
        Shape::ALL
            .into_iter()
            .find(|sh| sh.to_string() == s)
            .ok_or_else(|| {
                format!("unknown shape {s:?} (i8x16, i16x8, i32x4, i64x2, f32x4, f64x2)")
            })
    }
}

/// A v128 value written lane by lane in a shape, the way the text format writes
/// `v128.const`: `i32x4 1 2 3 4294967295`, `f32x4 1.5 -0 inf nan:0x200000`. See
/// [`format_lane`].
pub fn format_v128(v: u128, shape: Shape) -> String {
    let mut out = shape.to_string();
    for i in 0..shape.lanes() {
        out.push(' ');
        out.push_str(&format_lane(shape, shape.extract(v, i)));
    }
    out
}

/// One lane, given its bits: integer lanes unsigned, float lanes as their value (shortest
/// round-trip form) or, for a NaN, `nan` (the canonical NaN) or `nan:0x…` with its payload,
/// `-` in front when the sign bit is set.
pub fn format_lane(shape: Shape, bits: u128) -> String {
    let (value, nan, payload_bits) = match shape {
        Shape::F32x4 => {
            let x = f32::from_bits(bits as u32);
            (format!("{x:?}"), x.is_nan(), 23)
        }
        Shape::F64x2 => {
            let x = f64::from_bits(bits as u64);
            (format!("{x:?}"), x.is_nan(), 52)
        }
        _ => return bits.to_string(),
    };
    if !nan {
        return value.trim_end_matches(".0").into();
    }
    let sign = if (bits >> (shape.lane_bits() - 1)) & 1 == 1 {
        "-"
    } else {
        ""
    };
    let payload = bits & ((1 << payload_bits) - 1);
    if payload == 1 << (payload_bits - 1) {
        format!("{sign}nan")
    } else {
        format!("{sign}nan:0x{payload:x}")
    }
}

// ---- Lanes: the spec's `lanes_t(c)` and its inverse ----

/// A lane type: a scalar type that a vector can be split into (spec `lanes_t`).
pub trait Lane: Copy {
    /// Width in bits.
    const BITS: u32;
    /// Lanes per vector (spec `dim`).
    const COUNT: usize = (128 / Self::BITS) as usize;
    /// The lane whose bits are the low `BITS` bits of `bits`.
    fn from_bits(bits: u128) -> Self;
    /// The bits of this lane, zero-extended.
    fn bits(self) -> u128;
}

macro_rules! int_lanes {
    ($($t:ty as $u:ty),*) => {$(
        impl Lane for $t {
            const BITS: u32 = <$t>::BITS;
            #[inline(always)]
            fn from_bits(bits: u128) -> Self {
                bits as $u as $t
            }
            #[inline(always)]
            fn bits(self) -> u128 {
                self as $u as u128
            }
        }
    )*};
}
int_lanes!(i8 as u8, u8 as u8, i16 as u16, u16 as u16, i32 as u32, u32 as u32);
int_lanes!(i64 as u64, u64 as u64, u128 as u128);

impl Lane for f32 {
    const BITS: u32 = 32;
    #[inline(always)]
    fn from_bits(bits: u128) -> Self {
        f32::from_bits(bits as u32)
    }
    #[inline(always)]
    fn bits(self) -> u128 {
        self.to_bits() as u128
    }
}

impl Lane for f64 {
    const BITS: u32 = 64;
    #[inline(always)]
    fn from_bits(bits: u128) -> Self {
        f64::from_bits(bits as u64)
    }
    #[inline(always)]
    fn bits(self) -> u128 {
        self.to_bits() as u128
    }
}

/// Lane `i` of `v` as a `T` (spec `lanes_t(v)[i]`).
#[inline(always)]
pub fn lane<T: Lane>(v: u128, i: usize) -> T {
    T::from_bits(v >> (i as u32 * T::BITS))
}

/// The vector whose lane `i` is `f(i)` (spec `lanes_t⁻¹`).
#[inline(always)]
pub fn vector<T: Lane>(f: impl Fn(usize) -> T) -> u128 {
    vector_low::<T>(T::COUNT, f)
}

/// The vector whose first `n` lanes are `f(i)` and whose other lanes are zero.
#[inline(always)]
fn vector_low<T: Lane>(n: usize, f: impl Fn(usize) -> T) -> u128 {
    (0..n).fold(0, |v, i| v | f(i).bits() << (i as u32 * T::BITS))
}

// ---- Lifting scalar operators over lanes ----

/// Select the low (`LOW`) or high (`HIGH`) half of the source lanes of a widening operator.
const LOW: usize = 0;
const HIGH: usize = 1;

/// Lane-wise unary operator (spec `op_{t×N}(v) = lanes⁻¹(op_t(lanes(v)))`).
#[inline(always)]
pub fn map<T: Lane>(f: impl Fn(T) -> T) -> impl Fn(u128) -> u128 {
    move |a| vector(|i| f(lane(a, i)))
}

/// Lane-wise binary operator.
#[inline(always)]
pub fn zip<T: Lane>(f: impl Fn(T, T) -> T) -> impl Fn(u128, u128) -> u128 {
    move |a, b| vector(|i| f(lane(a, i), lane(b, i)))
}

/// Lane-wise comparison: each lane all ones where `f` holds, else zero (spec `vrelop`).
#[inline(always)]
pub fn cmp<T: Lane>(f: impl Fn(T, T) -> bool) -> impl Fn(u128, u128) -> u128 {
    move |a, b| {
        let ones = u128::MAX >> (128 - T::BITS);
        (0..T::COUNT)
            .filter(|&i| f(lane(a, i), lane(b, i)))
            .fold(0, |m, i| m | ones << (i as u32 * T::BITS))
    }
}

/// Lane-wise shift by an i32 operand taken modulo the lane width (spec `vishiftop`).
#[inline(always)]
pub fn shift<T: Lane>(f: impl Fn(T, u32) -> T) -> impl Fn(u128, u128) -> u128 {
    move |a, s| {
        let s = (s as u32) % T::BITS;
        vector(|i| f(lane(a, i), s))
    }
}

/// Lane-wise conversion from shape `A` to shape `R`: result lane `i` is `f` of source lane
/// `i`, for as many lanes as both shapes have; further result lanes are zero. This is
/// every `convert`, `trunc_sat`, `…_low` (`R` has fewer lanes) and `…_zero` (`A` has fewer
/// lanes) conversion of the spec.
#[inline(always)]
pub fn convert<A: Lane, R: Lane>(f: impl Fn(A) -> R) -> impl Fn(u128) -> u128 {
    move |a| vector_low::<R>(A::COUNT.min(R::COUNT), |i| f(lane(a, i)))
}

/// Widening of the `LOW` or `HIGH` half of the lanes (spec `vextend`).
#[inline(always)]
pub fn extend<A: Lane, R: Lane>(half: usize, f: impl Fn(A) -> R) -> impl Fn(u128) -> u128 {
    move |a| vector(|i| f(lane(a, i + half * R::COUNT)))
}

/// Widening binary operator on the `LOW` or `HIGH` half of the lanes (spec `vextmul`).
#[inline(always)]
pub fn extmul<A: Lane, R: Lane>(half: usize, f: impl Fn(A, A) -> R) -> impl Fn(u128, u128) -> u128 {
    move |a, b| {
        let j = |i| i + half * R::COUNT;
        vector(|i| f(lane(a, j(i)), lane(b, j(i))))
    }
}

/// Narrowing (spec `vnarrow`): the lanes of the first operand, then those of the second,
/// each through `f` (a saturation).
#[inline(always)]
pub fn narrow<A: Lane, R: Lane>(f: impl Fn(A) -> R) -> impl Fn(u128, u128) -> u128 {
    move |a, b| {
        vector(|i| {
            if i < A::COUNT {
                f(lane(a, i))
            } else {
                f(lane(b, i - A::COUNT))
            }
        })
    }
}

/// Lane-wise ternary operator.
#[inline(always)]
pub fn zip3<T: Lane>(f: impl Fn(T, T, T) -> T) -> impl Fn(u128, u128, u128) -> u128 {
    move |a, b, c| vector(|i| f(lane(a, i), lane(b, i), lane(c, i)))
}

/// Adjacent pairs of lanes into one wider lane (spec `vextadd_pairwise`).
#[inline(always)]
pub fn pairwise<A: Lane, R: Lane>(f: impl Fn(A, A) -> R) -> impl Fn(u128) -> u128 {
    move |a| vector(|i| f(lane(a, 2 * i), lane(a, 2 * i + 1)))
}

/// Adjacent pairs of lanes of two operands into one wider lane (spec `vdot`): `f(a[2i],
/// b[2i], a[2i+1], b[2i+1])`.
#[inline(always)]
pub fn pairwise2<A: Lane, R: Lane>(f: impl Fn(A, A, A, A) -> R) -> impl Fn(u128, u128) -> u128 {
    move |a, b| {
        vector(|i| {
            f(
                lane(a, 2 * i),
                lane(b, 2 * i),
                lane(a, 2 * i + 1),
                lane(b, 2 * i + 1),
            )
        })
    }
}

/// Every lane equal to the scalar operand (spec `splat`).
#[inline(always)]
pub fn splat<T: Lane>() -> impl Fn(u128) -> u128 {
    move |x| vector(|_| T::from_bits(x))
}

/// 1 if every lane is non-zero, else 0 (spec `all_true`); an i32 result.
#[inline(always)]
pub fn all_true<T: Lane>() -> impl Fn(u128) -> u128 {
    move |a| (0..T::COUNT).all(|i| lane::<T>(a, i).bits() != 0) as u128
}

/// The top bit of every lane, lane `i` in bit `i` (spec `bitmask`); an i32 result.
#[inline(always)]
pub fn bitmask<T: Lane>() -> impl Fn(u128) -> u128 {
    move |a| {
        (0..T::COUNT).fold(0, |m, i| {
            m | ((lane::<T>(a, i).bits() >> (T::BITS - 1)) & 1) << i
        })
    }
}

/// Saturate an integer to the range of `R` (spec `sat_s` / `sat_u`).
#[inline(always)]
fn sat<R: TryFrom<i64> + Bounded>(x: i64) -> R {
    R::try_from(x).unwrap_or(if x < 0 { R::MIN } else { R::MAX })
}

/// The bounds of an integer type, for [`sat`].
trait Bounded {
    const MIN: Self;
    const MAX: Self;
}
macro_rules! bounded {
    ($($t:ty),*) => {$(impl Bounded for $t { const MIN: $t = <$t>::MIN; const MAX: $t = <$t>::MAX; })*};
}
bounded!(i8, u8, i16, u16);

/// Spec `iq15mulrsat_s`: `sat_s((a·b + 2¹⁴) >> 15)`.
#[inline(always)]
fn q15mulr_sat(a: i16, b: i16) -> i16 {
    sat((i64::from(a) * i64::from(b) + 0x4000) >> 15)
}

/// Spec `vvternop` `bitselect`: the bits of `a` where `mask` is 1, else of `b`.
#[inline(always)]
fn bitselect(a: u128, b: u128, mask: u128) -> u128 {
    (a & mask) | (b & !mask)
}

/// Spec `pmin`: `b < a ? b : a` (no NaN rule: returns an operand unchanged).
#[inline(always)]
fn pmin<T: PartialOrd>(a: T, b: T) -> T {
    if b < a {
        b
    } else {
        a
    }
}

/// Spec `pmax`: `a < b ? b : a`.
#[inline(always)]
fn pmax<T: PartialOrd>(a: T, b: T) -> T {
    if a < b {
        b
    } else {
        a
    }
}

// ---- The table of pure vector operators ----

macro_rules! simd_ops {
    (
        unary { $($u:ident => $uf:expr,)* }
        binary { $($b:ident => $bf:expr,)* }
        ternary { $($t:ident => $tf:expr,)* }
    ) => {
        /// A vector operator without immediates or memory access: every lane-wise
        /// arithmetic, comparison, bitwise, conversion, test and splat instruction. Its
        /// operands and result are slots (a v128, or the scalar of `splat`, shifts, tests
        /// and `bitmask`), named as wasmparser's `Operator` names them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(missing_docs)] // variants are wasmparser's operator names, e.g. `I32x4Add` is `i32x4.add`
        pub enum SimdOp {
            $($u,)*
            $($b,)*
            $($t,)*
        }

        impl SimdOp {
            /// The table entry of a wasmparser operator, if it is one.
            pub fn from_operator(op: &Operator<'_>) -> Option<SimdOp> {
                Some(match op {
                    $(Operator::$u => SimdOp::$u,)*
                    $(Operator::$b => SimdOp::$b,)*
                    $(Operator::$t => SimdOp::$t,)*
                    _ => return None,
                })
            }

            /// How many operands it pops (it pushes one result).
            pub fn arity(self) -> usize {
                match self {
                    $(SimdOp::$u => 1,)*
                    $(SimdOp::$b => 2,)*
                    $(SimdOp::$t => 3,)*
                }
            }

            /// Apply to operand slots; `args` holds exactly [`SimdOp::arity`] of them, the
            /// first operand first.
            pub fn eval(self, args: &[Slot]) -> Slot {
                match self {
                    $(SimdOp::$u => ($uf)(args[0]),)*
                    $(SimdOp::$b => ($bf)(args[0], args[1]),)*
                    $(SimdOp::$t => ($tf)(args[0], args[1], args[2]),)*
                }
            }

            /// Apply to the top of the operand stack (validated code: the operands are there).
            #[inline]
            pub(crate) fn apply(self, stack: &mut Vec<Slot>) {
                let n = self.arity();
                let base = stack.len() - n;
                let r = self.eval(&stack[base..]);
                stack.truncate(base);
                stack.push(r);
            }
        }
    };
}

simd_ops! {
    unary {
        // -- v128 as one 128-bit lane (spec `vvunop`, `vvtestop`) --
        V128Not => map::<u128>(|a| !a),
        V128AnyTrue => |a: u128| (a != 0) as u128,

        // -- splat (spec `splat`): the scalar operand in every lane --
        I8x16Splat => splat::<u8>(),
        I16x8Splat => splat::<u16>(),
        I32x4Splat => splat::<u32>(),
        I64x2Splat => splat::<u64>(),
        F32x4Splat => splat::<f32>(),
        F64x2Splat => splat::<f64>(),

        // -- integer unary (spec `iabs`, `ineg`, `ipopcnt`) --
        I8x16Abs => map::<i8>(i8::wrapping_abs),
        I16x8Abs => map::<i16>(i16::wrapping_abs),
        I32x4Abs => map::<i32>(i32::wrapping_abs),
        I64x2Abs => map::<i64>(i64::wrapping_abs),
        I8x16Neg => map::<i8>(i8::wrapping_neg),
        I16x8Neg => map::<i16>(i16::wrapping_neg),
        I32x4Neg => map::<i32>(i32::wrapping_neg),
        I64x2Neg => map::<i64>(i64::wrapping_neg),
        I8x16Popcnt => map::<u8>(|a| a.count_ones() as u8),

        // -- tests (spec `all_true`, `bitmask`), i32 results --
        I8x16AllTrue => all_true::<u8>(),
        I16x8AllTrue => all_true::<u16>(),
        I32x4AllTrue => all_true::<u32>(),
        I64x2AllTrue => all_true::<u64>(),
        I8x16Bitmask => bitmask::<u8>(),
        I16x8Bitmask => bitmask::<u16>(),
        I32x4Bitmask => bitmask::<u32>(),
        I64x2Bitmask => bitmask::<u64>(),

        // -- widening (spec `vextend`, `vextadd_pairwise`) --
        I16x8ExtendLowI8x16S => extend::<i8, i16>(LOW, i16::from),
        I16x8ExtendHighI8x16S => extend::<i8, i16>(HIGH, i16::from),
        I16x8ExtendLowI8x16U => extend::<u8, u16>(LOW, u16::from),
        I16x8ExtendHighI8x16U => extend::<u8, u16>(HIGH, u16::from),
        I32x4ExtendLowI16x8S => extend::<i16, i32>(LOW, i32::from),
        I32x4ExtendHighI16x8S => extend::<i16, i32>(HIGH, i32::from),
        I32x4ExtendLowI16x8U => extend::<u16, u32>(LOW, u32::from),
        I32x4ExtendHighI16x8U => extend::<u16, u32>(HIGH, u32::from),
        I64x2ExtendLowI32x4S => extend::<i32, i64>(LOW, i64::from),
        I64x2ExtendHighI32x4S => extend::<i32, i64>(HIGH, i64::from),
        I64x2ExtendLowI32x4U => extend::<u32, u64>(LOW, u64::from),
        I64x2ExtendHighI32x4U => extend::<u32, u64>(HIGH, u64::from),
        I16x8ExtAddPairwiseI8x16S => pairwise::<i8, i16>(|a, b| i16::from(a) + i16::from(b)),
        I16x8ExtAddPairwiseI8x16U => pairwise::<u8, u16>(|a, b| u16::from(a) + u16::from(b)),
        I32x4ExtAddPairwiseI16x8S => pairwise::<i16, i32>(|a, b| i32::from(a) + i32::from(b)),
        I32x4ExtAddPairwiseI16x8U => pairwise::<u16, u32>(|a, b| u32::from(a) + u32::from(b)),

        // -- float unary (spec `fabs`, `fneg`, `fsqrt`, `fceil`, `ffloor`, `ftrunc`,
        //    `fnearest`); abs and neg change only the sign bit, even of a NaN --
        F32x4Abs => map::<f32>(f32::abs),
        F64x2Abs => map::<f64>(f64::abs),
        F32x4Neg => map::<f32>(|a| -a),
        F64x2Neg => map::<f64>(|a| -a),
        F32x4Sqrt => map::<f32>(f32::sqrt),
        F64x2Sqrt => map::<f64>(f64::sqrt),
        F32x4Ceil => map::<f32>(|a| quiet_nan32(a.ceil())),
        F64x2Ceil => map::<f64>(|a| quiet_nan64(a.ceil())),
        F32x4Floor => map::<f32>(|a| quiet_nan32(a.floor())),
        F64x2Floor => map::<f64>(|a| quiet_nan64(a.floor())),
        F32x4Trunc => map::<f32>(|a| quiet_nan32(a.trunc())),
        F64x2Trunc => map::<f64>(|a| quiet_nan64(a.trunc())),
        F32x4Nearest => map::<f32>(|a| quiet_nan32(a.round_ties_even())),
        F64x2Nearest => map::<f64>(|a| quiet_nan64(a.round_ties_even())),

        // -- conversions (spec `trunc_sat`, `convert`, `demote`, `promote`); Rust's `as`
        //    from float to integer is exactly `trunc_sat` (saturating, NaN to 0), and from
        //    integer to float rounds to nearest, ties to even --
        I32x4TruncSatF32x4S => convert::<f32, i32>(|a| a as i32),
        I32x4TruncSatF32x4U => convert::<f32, u32>(|a| a as u32),
        I32x4TruncSatF64x2SZero => convert::<f64, i32>(|a| a as i32),
        I32x4TruncSatF64x2UZero => convert::<f64, u32>(|a| a as u32),
        F32x4ConvertI32x4S => convert::<i32, f32>(|a| a as f32),
        F32x4ConvertI32x4U => convert::<u32, f32>(|a| a as f32),
        F64x2ConvertLowI32x4S => convert::<i32, f64>(f64::from),
        F64x2ConvertLowI32x4U => convert::<u32, f64>(f64::from),
        F32x4DemoteF64x2Zero => convert::<f64, f32>(|a| a as f32),
        F64x2PromoteLowF32x4 => convert::<f32, f64>(f64::from),

        // -- relaxed SIMD (Wasm 3.0): Heddle's one choice is the deterministic one, here
        //    `trunc_sat` (NaN to 0, out of range saturated) --
        I32x4RelaxedTruncF32x4S => convert::<f32, i32>(|a| a as i32),
        I32x4RelaxedTruncF32x4U => convert::<f32, u32>(|a| a as u32),
        I32x4RelaxedTruncF64x2SZero => convert::<f64, i32>(|a| a as i32),
        I32x4RelaxedTruncF64x2UZero => convert::<f64, u32>(|a| a as u32),
    }
    binary {
        // -- v128 as one 128-bit lane (spec `vvbinop`) --
        V128And => zip::<u128>(|a, b| a & b),
        V128AndNot => zip::<u128>(|a, b| a & !b),
        V128Or => zip::<u128>(|a, b| a | b),
        V128Xor => zip::<u128>(|a, b| a ^ b),

        // -- byte permutation (spec `swizzle`): lane i is a[b[i]], or 0 when out of range --
        I8x16Swizzle => swizzle,

        // -- integer comparisons (spec `ieq`, `ine`, `ilt_sx`, `igt_sx`, `ile_sx`, `ige_sx`) --
        I8x16Eq => cmp::<u8>(|a, b| a == b),
        I8x16Ne => cmp::<u8>(|a, b| a != b),
        I8x16LtS => cmp::<i8>(|a, b| a < b),
        I8x16LtU => cmp::<u8>(|a, b| a < b),
        I8x16GtS => cmp::<i8>(|a, b| a > b),
        I8x16GtU => cmp::<u8>(|a, b| a > b),
        I8x16LeS => cmp::<i8>(|a, b| a <= b),
        I8x16LeU => cmp::<u8>(|a, b| a <= b),
        I8x16GeS => cmp::<i8>(|a, b| a >= b),
        I8x16GeU => cmp::<u8>(|a, b| a >= b),
        I16x8Eq => cmp::<u16>(|a, b| a == b),
        I16x8Ne => cmp::<u16>(|a, b| a != b),
        I16x8LtS => cmp::<i16>(|a, b| a < b),
        I16x8LtU => cmp::<u16>(|a, b| a < b),
        I16x8GtS => cmp::<i16>(|a, b| a > b),
        I16x8GtU => cmp::<u16>(|a, b| a > b),
        I16x8LeS => cmp::<i16>(|a, b| a <= b),
        I16x8LeU => cmp::<u16>(|a, b| a <= b),
        I16x8GeS => cmp::<i16>(|a, b| a >= b),
        I16x8GeU => cmp::<u16>(|a, b| a >= b),
        I32x4Eq => cmp::<u32>(|a, b| a == b),
        I32x4Ne => cmp::<u32>(|a, b| a != b),
        I32x4LtS => cmp::<i32>(|a, b| a < b),
        I32x4LtU => cmp::<u32>(|a, b| a < b),
        I32x4GtS => cmp::<i32>(|a, b| a > b),
        I32x4GtU => cmp::<u32>(|a, b| a > b),
        I32x4LeS => cmp::<i32>(|a, b| a <= b),
        I32x4LeU => cmp::<u32>(|a, b| a <= b),
        I32x4GeS => cmp::<i32>(|a, b| a >= b),
        I32x4GeU => cmp::<u32>(|a, b| a >= b),
        I64x2Eq => cmp::<u64>(|a, b| a == b),
        I64x2Ne => cmp::<u64>(|a, b| a != b),
        I64x2LtS => cmp::<i64>(|a, b| a < b),
        I64x2GtS => cmp::<i64>(|a, b| a > b),
        I64x2LeS => cmp::<i64>(|a, b| a <= b),
        I64x2GeS => cmp::<i64>(|a, b| a >= b),

        // -- float comparisons (spec `feq`, `fne`, `flt`, `fgt`, `fle`, `fge`; false on NaN
        //    except `ne`) --
        F32x4Eq => cmp::<f32>(|a, b| a == b),
        F32x4Ne => cmp::<f32>(|a, b| a != b),
        F32x4Lt => cmp::<f32>(|a, b| a < b),
        F32x4Gt => cmp::<f32>(|a, b| a > b),
        F32x4Le => cmp::<f32>(|a, b| a <= b),
        F32x4Ge => cmp::<f32>(|a, b| a >= b),
        F64x2Eq => cmp::<f64>(|a, b| a == b),
        F64x2Ne => cmp::<f64>(|a, b| a != b),
        F64x2Lt => cmp::<f64>(|a, b| a < b),
        F64x2Gt => cmp::<f64>(|a, b| a > b),
        F64x2Le => cmp::<f64>(|a, b| a <= b),
        F64x2Ge => cmp::<f64>(|a, b| a >= b),

        // -- shifts by an i32, modulo the lane width (spec `ishl`, `ishr_s`, `ishr_u`) --
        I8x16Shl => shift::<u8>(|a, s| a << s),
        I8x16ShrS => shift::<i8>(|a, s| a >> s),
        I8x16ShrU => shift::<u8>(|a, s| a >> s),
        I16x8Shl => shift::<u16>(|a, s| a << s),
        I16x8ShrS => shift::<i16>(|a, s| a >> s),
        I16x8ShrU => shift::<u16>(|a, s| a >> s),
        I32x4Shl => shift::<u32>(|a, s| a << s),
        I32x4ShrS => shift::<i32>(|a, s| a >> s),
        I32x4ShrU => shift::<u32>(|a, s| a >> s),
        I64x2Shl => shift::<u64>(|a, s| a << s),
        I64x2ShrS => shift::<i64>(|a, s| a >> s),
        I64x2ShrU => shift::<u64>(|a, s| a >> s),

        // -- integer arithmetic, modulo 2^N (spec `iadd`, `isub`, `imul`) --
        I8x16Add => zip::<u8>(u8::wrapping_add),
        I16x8Add => zip::<u16>(u16::wrapping_add),
        I32x4Add => zip::<u32>(u32::wrapping_add),
        I64x2Add => zip::<u64>(u64::wrapping_add),
        I8x16Sub => zip::<u8>(u8::wrapping_sub),
        I16x8Sub => zip::<u16>(u16::wrapping_sub),
        I32x4Sub => zip::<u32>(u32::wrapping_sub),
        I64x2Sub => zip::<u64>(u64::wrapping_sub),
        I16x8Mul => zip::<u16>(u16::wrapping_mul),
        I32x4Mul => zip::<u32>(u32::wrapping_mul),
        I64x2Mul => zip::<u64>(u64::wrapping_mul),

        // -- saturating arithmetic (spec `iadd_sat_sx`, `isub_sat_sx`) --
        I8x16AddSatS => zip::<i8>(i8::saturating_add),
        I8x16AddSatU => zip::<u8>(u8::saturating_add),
        I8x16SubSatS => zip::<i8>(i8::saturating_sub),
        I8x16SubSatU => zip::<u8>(u8::saturating_sub),
        I16x8AddSatS => zip::<i16>(i16::saturating_add),
        I16x8AddSatU => zip::<u16>(u16::saturating_add),
        I16x8SubSatS => zip::<i16>(i16::saturating_sub),
        I16x8SubSatU => zip::<u16>(u16::saturating_sub),
        I16x8Q15MulrSatS => zip::<i16>(q15mulr_sat),

        // -- min, max, rounding average (spec `imin_sx`, `imax_sx`, `iavgr_u` = ⌈(a + b) / 2⌉) --
        I8x16MinS => zip::<i8>(Ord::min),
        I8x16MinU => zip::<u8>(Ord::min),
        I8x16MaxS => zip::<i8>(Ord::max),
        I8x16MaxU => zip::<u8>(Ord::max),
        I16x8MinS => zip::<i16>(Ord::min),
        I16x8MinU => zip::<u16>(Ord::min),
        I16x8MaxS => zip::<i16>(Ord::max),
        I16x8MaxU => zip::<u16>(Ord::max),
        I32x4MinS => zip::<i32>(Ord::min),
        I32x4MinU => zip::<u32>(Ord::min),
        I32x4MaxS => zip::<i32>(Ord::max),
        I32x4MaxU => zip::<u32>(Ord::max),
        I8x16AvgrU => zip::<u8>(|a, b| (u16::from(a) + u16::from(b)).div_ceil(2) as u8),
        I16x8AvgrU => zip::<u16>(|a, b| (u32::from(a) + u32::from(b)).div_ceil(2) as u16),

        // -- narrowing with saturation (spec `vnarrow`: signed input, `sat_sx` output) --
        I8x16NarrowI16x8S => narrow::<i16, i8>(|a| sat(a.into())),
        I8x16NarrowI16x8U => narrow::<i16, u8>(|a| sat(a.into())),
        I16x8NarrowI32x4S => narrow::<i32, i16>(|a| sat(a.into())),
        I16x8NarrowI32x4U => narrow::<i32, u16>(|a| sat(a.into())),

        // -- widening multiplication and dot product (spec `vextmul`, `vdot`) --
        I16x8ExtMulLowI8x16S => extmul::<i8, i16>(LOW, |a, b| i16::from(a) * i16::from(b)),
        I16x8ExtMulHighI8x16S => extmul::<i8, i16>(HIGH, |a, b| i16::from(a) * i16::from(b)),
        I16x8ExtMulLowI8x16U => extmul::<u8, u16>(LOW, |a, b| u16::from(a) * u16::from(b)),
        I16x8ExtMulHighI8x16U => extmul::<u8, u16>(HIGH, |a, b| u16::from(a) * u16::from(b)),
        I32x4ExtMulLowI16x8S => extmul::<i16, i32>(LOW, |a, b| i32::from(a) * i32::from(b)),
        I32x4ExtMulHighI16x8S => extmul::<i16, i32>(HIGH, |a, b| i32::from(a) * i32::from(b)),
        I32x4ExtMulLowI16x8U => extmul::<u16, u32>(LOW, |a, b| u32::from(a) * u32::from(b)),
        I32x4ExtMulHighI16x8U => extmul::<u16, u32>(HIGH, |a, b| u32::from(a) * u32::from(b)),
        I64x2ExtMulLowI32x4S => extmul::<i32, i64>(LOW, |a, b| i64::from(a) * i64::from(b)),
        I64x2ExtMulHighI32x4S => extmul::<i32, i64>(HIGH, |a, b| i64::from(a) * i64::from(b)),
        I64x2ExtMulLowI32x4U => extmul::<u32, u64>(LOW, |a, b| u64::from(a) * u64::from(b)),
        I64x2ExtMulHighI32x4U => extmul::<u32, u64>(HIGH, |a, b| u64::from(a) * u64::from(b)),
        I32x4DotI16x8S => pairwise2::<i16, i32>(|a0, b0, a1, b1| {
            (i32::from(a0) * i32::from(b0)).wrapping_add(i32::from(a1) * i32::from(b1))
        }),

        // -- float arithmetic (spec `fadd`, `fsub`, `fmul`, `fdiv`, `fmin`, `fmax`, `pmin`,
        //    `pmax`) --
        F32x4Add => zip::<f32>(|a, b| a + b),
        F64x2Add => zip::<f64>(|a, b| a + b),
        F32x4Sub => zip::<f32>(|a, b| a - b),
        F64x2Sub => zip::<f64>(|a, b| a - b),
        F32x4Mul => zip::<f32>(|a, b| a * b),
        F64x2Mul => zip::<f64>(|a, b| a * b),
        F32x4Div => zip::<f32>(|a, b| a / b),
        F64x2Div => zip::<f64>(|a, b| a / b),
        F32x4Min => zip::<f32>(fmin32),
        F64x2Min => zip::<f64>(fmin64),
        F32x4Max => zip::<f32>(fmax32),
        F64x2Max => zip::<f64>(fmax64),
        F32x4PMin => zip::<f32>(pmin),
        F64x2PMin => zip::<f64>(pmin),
        F32x4PMax => zip::<f32>(pmax),
        F64x2PMax => zip::<f64>(pmax),

        // -- relaxed SIMD (Wasm 3.0), each as its deterministic choice: `swizzle` (an index
        //    of 16 or more gives 0), `fmin`/`fmax` (NaN-propagating, -0 < +0),
        //    `q15mulr_sat_s`, and the dot product with the second operand's bytes read as
        //    signed, the pair sums wrapping to 16 bits --
        I8x16RelaxedSwizzle => swizzle,
        F32x4RelaxedMin => zip::<f32>(fmin32),
        F64x2RelaxedMin => zip::<f64>(fmin64),
        F32x4RelaxedMax => zip::<f32>(fmax32),
        F64x2RelaxedMax => zip::<f64>(fmax64),
        I16x8RelaxedQ15mulrS => zip::<i16>(q15mulr_sat),
        I16x8RelaxedDotI8x16I7x16S => pairwise2::<i8, i16>(|a0, b0, a1, b1| {
            (i16::from(a0) * i16::from(b0)).wrapping_add(i16::from(a1) * i16::from(b1))
        }),
    }
    ternary {
        // -- spec `vvternop`: bits of the first operand where the mask is 1, else of the second --
        V128Bitselect => bitselect,

        // -- relaxed SIMD (Wasm 3.0), each as its deterministic choice: `madd` fused (one
        //    rounding, IEEE 754 fusedMultiplyAdd), `nmadd` the fused `-(a·b) + c`,
        //    `laneselect` the bitwise `bitselect`, and the 4-way dot product with signed
        //    bytes, wrapping to 32 bits --
        F32x4RelaxedMadd => zip3::<f32>(|a, b, c| a.mul_add(b, c)),
        F64x2RelaxedMadd => zip3::<f64>(|a, b, c| a.mul_add(b, c)),
        F32x4RelaxedNmadd => zip3::<f32>(|a, b, c| (-a).mul_add(b, c)),
        F64x2RelaxedNmadd => zip3::<f64>(|a, b, c| (-a).mul_add(b, c)),
        I8x16RelaxedLaneselect => bitselect,
        I16x8RelaxedLaneselect => bitselect,
        I32x4RelaxedLaneselect => bitselect,
        I64x2RelaxedLaneselect => bitselect,
        I32x4RelaxedDotI8x16I7x16AddS => |a: u128, b: u128, c: u128| {
            vector::<i32>(|i| {
                (0..4)
                    .map(|j| i32::from(lane::<i8>(a, 4 * i + j)) * i32::from(lane::<i8>(b, 4 * i + j)))
                    .fold(lane::<i32>(c, i), i32::wrapping_add)
            })
        },
    }
}

// ---- Instructions with immediates or memory access ----

/// A lowered vector instruction (the payload of [`crate::syntax::Instr::Simd`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdInstr {
    /// A pure operator of the table.
    Op(SimdOp),
    /// `v128.const c`: `c` is entry `i` of the function's [`crate::syntax::Func::v128s`].
    Const(u32),
    /// `i8x16.shuffle l*`: the 16 lane indices are the bytes of entry `i` of
    /// [`crate::syntax::Func::v128s`], lane 0 in the low byte.
    Shuffle(u32),
    /// The v128 whose low 64 bits are the first i64 operand and whose high 64 bits are the
    /// second. Only in constant expressions, where `v128.const c` is lowered to the two
    /// `i64.const` halves of `c` and this (so no constant expression needs a side table).
    JoinHalves,
    /// `shape.extract_lane(_sx) l`: lane `l` as a scalar, sign-extended to i32 when
    /// `signed` (the `_s` forms of i8x16 and i16x8), else zero-extended.
    #[allow(missing_docs)] // fields described in the variant's doc
    ExtractLane {
        shape: Shape,
        lane: u8,
        signed: bool,
    },
    /// `shape.replace_lane l`: lane `l` replaced by the scalar operand.
    #[allow(missing_docs)] // fields described in the variant's doc
    ReplaceLane { shape: Shape, lane: u8 },
    /// The loads (spec *v128.load*, *v128.loadMxN_sx*, *v128.loadN_splat*,
    /// *v128.loadN_zero*): read `bytes` bytes at the effective address, zero-extended to
    /// 128 bits, then apply `then` (the extend or splat that defines the load in the spec).
    #[allow(missing_docs)] // fields described in the variant's doc
    Load {
        bytes: u8,
        then: Option<SimdOp>,
        memarg: MemArg,
    },
    /// `v128.store`.
    Store(MemArg),
    /// `v128.loadN_lane l` (spec instr *exec-load-lane*): lane `l` of shape `shape` replaced by
    /// the bytes read.
    #[allow(missing_docs)] // fields described in the variant's doc
    LoadLane {
        shape: Shape,
        lane: u8,
        memarg: MemArg,
    },
    /// `v128.storeN_lane l`: write lane `l` of shape `shape`.
    #[allow(missing_docs)] // fields described in the variant's doc
    StoreLane {
        shape: Shape,
        lane: u8,
        memarg: MemArg,
    },
}

impl SimdInstr {
    /// The memory immediate, for the instructions that access memory 0.
    pub fn memarg(&self) -> Option<MemArg> {
        match *self {
            SimdInstr::Load { memarg, .. }
            | SimdInstr::Store(memarg)
            | SimdInstr::LoadLane { memarg, .. }
            | SimdInstr::StoreLane { memarg, .. } => Some(memarg),
            _ => None,
        }
    }
}

/// Spec `i8x16.swizzle`: lane `i` of the result is lane `b[i]` of `a`, or 0 if `b[i] ≥ 16`.
fn swizzle(a: u128, b: u128) -> u128 {
    vector::<u8>(|i| match lane::<u8>(b, i) as usize {
        j @ 0..16 => lane(a, j),
        _ => 0,
    })
}

/// Spec `i8x16.shuffle`: lane `i` of the result is lane `mask[i]` of the 32 lanes of `a`
/// followed by `b` (validation guarantees `mask[i] < 32`).
pub(crate) fn shuffle(a: u128, b: u128, mask: u128) -> u128 {
    vector::<u8>(|i| {
        let j = lane::<u8>(mask, i) as usize % 32;
        if j < 16 {
            lane(a, j)
        } else {
            lane(b, j - 16)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ModuleErrorKind;
    use crate::Trap;
    use crate::{Configuration, ExternVal, Module, Value};
    use std::sync::Arc;

    /// Lanes (lane 0 first) of the given type, as a v128.
    fn v<T: Lane>(lanes: &[T]) -> u128 {
        assert_eq!(lanes.len(), T::COUNT);
        vector(|i| lanes[i])
    }

    /// Instantiate `wat` and invoke its export `f`.
    fn run(wat: &str, args: &[Value]) -> Result<Vec<Value>, Trap> {
        let wasm = wat::parse_str(wat).expect("test module parses");
        let module = Arc::new(Module::decode(&wasm).expect("test module decodes"));
        let mut config = Configuration::new();
        let inst = config.instantiate(module, &[]).expect("instantiates");
        let Some(ExternVal::Func(f)) = config.export(inst, "f") else {
            panic!("no export f")
        };
        config.invoke(f, args)
    }

    fn run_v128(wat: &str, args: &[Value]) -> u128 {
        match run(wat, args).as_deref() {
            Ok([Value::V128(x)]) => *x,
            other => panic!("expected one v128, got {other:?}"),
        }
    }

    #[test]
    fn lanes_are_little_endian() {
        let x = v::<u32>(&[1, 2, 3, 0xffff_ffff]);
        assert_eq!(x, 0xffff_ffff_0000_0003_0000_0002_0000_0001);
        assert_eq!(lane::<i32>(x, 3), -1);
        assert_eq!(lane::<u16>(x, 2), 2);
        assert_eq!(Shape::I16x8.extract(x, 6), 0xffff);
        assert_eq!(Shape::I8x16.replace(0, 15, 0x1ab), 0xab << 120);
        assert_eq!(Shape::F64x2.replace(u128::MAX, 0, 0), u128::MAX << 64);
    }

    #[test]
    fn integer_table_entries_follow_the_spec() {
        let e2 = |op: SimdOp, a: u128, b: u128| op.eval(&[a, b]);
        let e1 = |op: SimdOp, a: u128| op.eval(&[a]);
        // abs of the minimum wraps; neg of the minimum too.
        assert_eq!(
            e1(
                SimdOp::I8x16Abs,
                v::<i8>(&[-128, -1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            ),
            v::<i8>(&[-128, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            e1(SimdOp::I64x2Neg, v::<i64>(&[i64::MIN, 1])),
            v::<i64>(&[i64::MIN, -1])
        );
        // Saturation, both ways.
        assert_eq!(
            e2(
                SimdOp::I16x8AddSatS,
                v::<i16>(&[32767, -32768, 1, 0, 0, 0, 0, 0]),
                v::<i16>(&[1, -1, 1, 0, 0, 0, 0, 0])
            ),
            v::<i16>(&[32767, -32768, 2, 0, 0, 0, 0, 0])
        );
        assert_eq!(
            e2(SimdOp::I8x16SubSatU, v::<u8>(&[3; 16]), v::<u8>(&[5; 16])),
            0
        );
        // q15mulr: the one overflowing product saturates; rounding adds 2^14.
        assert_eq!(
            e2(
                SimdOp::I16x8Q15MulrSatS,
                v::<i16>(&[-32768, 16384, 1, 0, 0, 0, 0, 0]),
                v::<i16>(&[-32768, 16384, 16384, 0, 0, 0, 0, 0])
            ),
            v::<i16>(&[32767, 8192, 1, 0, 0, 0, 0, 0])
        );
        // avgr_u rounds up, without overflow.
        assert_eq!(
            e2(SimdOp::I8x16AvgrU, v::<u8>(&[255; 16]), v::<u8>(&[254; 16])),
            v::<u8>(&[255; 16])
        );
        // Narrowing reads signed lanes and saturates to the result's range.
        assert_eq!(
            e2(
                SimdOp::I8x16NarrowI16x8U,
                v::<i16>(&[-1, 256, 255, 0, 0, 0, 0, 0]),
                v::<i16>(&[0, 0, 0, 0, 0, 0, 0, 7])
            ),
            v::<u8>(&[0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7])
        );
        // Dot product wraps in the one overflowing case.
        assert_eq!(
            e2(
                SimdOp::I32x4DotI16x8S,
                v::<i16>(&[-32768; 8]),
                v::<i16>(&[-32768; 8])
            ),
            v::<i32>(&[i32::MIN; 4])
        );
        // Shift counts are taken modulo the lane width.
        assert_eq!(
            e2(SimdOp::I8x16Shl, v::<u8>(&[1; 16]), 9),
            v::<u8>(&[2; 16])
        );
        assert_eq!(
            e2(SimdOp::I32x4ShrS, v::<i32>(&[-8; 4]), 33),
            v::<i32>(&[-4; 4])
        );
        // Tests and bitmask give i32 results.
        assert_eq!(
            e1(SimdOp::I16x8Bitmask, v::<i16>(&[-1, 0, -1, 0, 0, 0, 0, -5])),
            0b1000_0101
        );
        assert_eq!(e1(SimdOp::I32x4AllTrue, v::<u32>(&[1, 2, 3, 0])), 0);
        assert_eq!(e1(SimdOp::V128AnyTrue, 1 << 127), 1);
        // Comparisons produce all-ones lanes.
        assert_eq!(
            e2(SimdOp::I64x2LtS, v::<i64>(&[-1, 1]), v::<i64>(&[0, 0])),
            v::<u64>(&[u64::MAX, 0])
        );
        // Widening and pairwise addition.
        assert_eq!(
            e1(
                SimdOp::I32x4ExtendHighI16x8S,
                v::<i16>(&[0, 0, 0, 0, -1, 2, -3, 4])
            ),
            v::<i32>(&[-1, 2, -3, 4])
        );
        assert_eq!(
            e1(SimdOp::I16x8ExtAddPairwiseI8x16U, v::<u8>(&[255; 16])),
            v::<u16>(&[510; 8])
        );
        assert_eq!(
            e2(
                SimdOp::I64x2ExtMulHighI32x4U,
                v::<u32>(&[0, 0, u32::MAX, 2]),
                v::<u32>(&[0, 0, u32::MAX, 3])
            ),
            v::<u64>(&[0xffff_fffe_0000_0001, 6])
        );
        assert_eq!(
            e2(
                SimdOp::I8x16Swizzle,
                v::<u8>(&[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]),
                v::<u8>(&[15, 0, 16, 255, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
            ),
            v::<u8>(&[25, 10, 0, 0, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11])
        );
    }

    #[test]
    fn float_table_entries_follow_the_spec() {
        let e2 = |op: SimdOp, a: u128, b: u128| op.eval(&[a, b]);
        let e1 = |op: SimdOp, a: u128| op.eval(&[a]);
        let snan = f32::from_bits(0x7fa0_0000);
        // abs and neg keep a NaN's payload, even a signalling one.
        let r = e1(
            SimdOp::F32x4Neg,
            v::<f32>(&[snan, 0.0, -1.0, f32::INFINITY]),
        );
        assert_eq!(lane::<f32>(r, 0).to_bits(), 0xffa0_0000);
        assert_eq!(lane::<f32>(r, 1).to_bits(), 0x8000_0000);
        let r = e1(SimdOp::F64x2Abs, v::<f64>(&[-f64::NAN, -0.0]));
        assert_eq!(lane::<f64>(r, 0).to_bits(), f64::NAN.to_bits());
        assert_eq!(lane::<f64>(r, 1).to_bits(), 0);
        // Rounding: nearest is ties-to-even; NaNs come out quiet.
        let r = e1(SimdOp::F32x4Nearest, v::<f32>(&[2.5, -0.5, 3.5, snan]));
        assert_eq!(lane::<f32>(r, 0), 2.0);
        assert_eq!(lane::<f32>(r, 1).to_bits(), (-0.0f32).to_bits());
        assert_eq!(lane::<f32>(r, 2), 4.0);
        assert_eq!(lane::<f32>(r, 3).to_bits() & 0x7fc0_0000, 0x7fc0_0000);
        // min/max order signed zeros and propagate NaN; pmin/pmax return an operand.
        let r = e2(
            SimdOp::F32x4Min,
            v::<f32>(&[0.0, -0.0, 1.0, f32::NAN]),
            v::<f32>(&[-0.0, 0.0, f32::NAN, 1.0]),
        );
        assert_eq!(lane::<f32>(r, 0).to_bits(), 0x8000_0000);
        assert_eq!(lane::<f32>(r, 1).to_bits(), 0x8000_0000);
        assert!(lane::<f32>(r, 2).is_nan() && lane::<f32>(r, 3).is_nan());
        let r = e2(
            SimdOp::F32x4PMin,
            v::<f32>(&[0.0, -0.0, snan, 1.0]),
            v::<f32>(&[-0.0, 0.0, 1.0, snan]),
        );
        assert_eq!(lane::<f32>(r, 0).to_bits(), 0);
        assert_eq!(lane::<f32>(r, 1).to_bits(), 0x8000_0000);
        assert_eq!(lane::<f32>(r, 2).to_bits(), 0x7fa0_0000);
        assert_eq!(lane::<f32>(r, 3), 1.0);
        let r = e2(
            SimdOp::F64x2PMax,
            v::<f64>(&[1.0, f64::NAN]),
            v::<f64>(&[2.0, 3.0]),
        );
        assert_eq!(lane::<f64>(r, 0), 2.0);
        assert!(lane::<f64>(r, 1).is_nan());
        // Comparisons with NaN: false, except ne.
        assert_eq!(
            e2(
                SimdOp::F64x2Eq,
                v::<f64>(&[f64::NAN, 1.0]),
                v::<f64>(&[f64::NAN, 1.0])
            ),
            v::<u64>(&[0, u64::MAX])
        );
        assert_eq!(
            e2(
                SimdOp::F64x2Ne,
                v::<f64>(&[f64::NAN, 1.0]),
                v::<f64>(&[f64::NAN, 1.0])
            ),
            v::<u64>(&[u64::MAX, 0])
        );
        // Conversions: trunc_sat saturates and maps NaN to 0; _zero and _low forms.
        assert_eq!(
            e1(
                SimdOp::I32x4TruncSatF32x4U,
                v::<f32>(&[-1.5, 5e9, f32::NAN, 3.9])
            ),
            v::<u32>(&[0, u32::MAX, 0, 3])
        );
        assert_eq!(
            e1(SimdOp::I32x4TruncSatF64x2SZero, v::<f64>(&[-3e10, 7.5])),
            v::<i32>(&[i32::MIN, 7, 0, 0])
        );
        assert_eq!(
            e1(
                SimdOp::F64x2ConvertLowI32x4U,
                v::<u32>(&[u32::MAX, 1, 9, 9])
            ),
            v::<f64>(&[4294967295.0, 1.0])
        );
        assert_eq!(
            e1(SimdOp::F32x4DemoteF64x2Zero, v::<f64>(&[1.5, f64::MAX])),
            v::<f32>(&[1.5, f32::INFINITY, 0.0, 0.0])
        );
        assert_eq!(
            e1(
                SimdOp::F64x2PromoteLowF32x4,
                v::<f32>(&[1.5, -2.0, 9.0, 9.0])
            ),
            v::<f64>(&[1.5, -2.0])
        );
        // i32 → f32 rounds to nearest, ties to even.
        assert_eq!(
            lane::<f32>(
                e1(SimdOp::F32x4ConvertI32x4S, v::<i32>(&[16777217, 0, 0, 0])),
                0
            ),
            16777216.0
        );
    }

    #[test]
    fn v128_printing_by_shape() {
        let x = v::<f32>(&[
            1.5,
            -0.0,
            f32::from_bits(0x7fc0_0000),
            f32::from_bits(0xff80_0001),
        ]);
        assert_eq!(format_v128(x, Shape::F32x4), "f32x4 1.5 -0 nan -nan:0x1");
        assert_eq!(
            format_v128(v::<i32>(&[1, -1, 0, 7]), Shape::I32x4),
            "i32x4 1 4294967295 0 7"
        );
        assert_eq!(
            format_v128(v::<f64>(&[f64::INFINITY, 1e-300]), Shape::F64x2),
            "f64x2 inf 1e-300"
        );
    }

    #[test]
    fn constants_shuffles_and_lanes_run() {
        let r = run_v128(
            r#"(module (func (export "f") (result v128)
                (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
                  (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
                  (v128.const i8x16 -1 -2 -3 -4 -5 -6 -7 -8 -9 -10 -11 -12 -13 -14 -15 -16))))"#,
            &[],
        );
        assert_eq!(
            r,
            v::<i8>(&[0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6, -7, 7, -8])
        );
        let r = run(
            r#"(module (func (export "f") (param v128) (result i32 i32 i64)
                (i8x16.extract_lane_s 15 (local.get 0))
                (i16x8.extract_lane_u 7 (local.get 0))
                (i64x2.extract_lane 0 (i64x2.replace_lane 0 (local.get 0) (i64.const -2)))))"#,
            &[Value::V128(u128::MAX)],
        );
        assert_eq!(
            r,
            Ok(vec![Value::I32(-1), Value::I32(0xffff), Value::I64(-2)])
        );
    }

    #[test]
    fn v128_globals_use_constant_expressions() {
        let r = run_v128(
            r#"(module
                (global $g v128 (v128.const i32x4 1 2 3 4))
                (global $h (mut v128) (v128.const i64x2 -1 0x0123456789abcdef))
                (func (export "f") (result v128)
                  (global.set $h (v128.xor (global.get $h) (global.get $g)))
                  (global.get $h)))"#,
            &[],
        );
        assert_eq!(
            r,
            v::<u64>(&[
                !0x0000_0002_0000_0001,
                0x0123_4567_89ab_cdef ^ 0x0000_0004_0000_0003
            ])
        );
    }

    #[test]
    fn loads_and_stores_use_the_memory_access_path() {
        let wat = r#"(module (memory 1)
            (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\ff\fe")
            (func (export "f") (param i32) (result v128)
              (v128.store offset=32 (i32.const 0) (v128.load8x8_s (local.get 0)))
              (v128.store8_lane 3 (i32.const 48) (v128.load16_splat (i32.const 16)))
              (v128.load32_lane 1 (i32.const 48) (v128.load offset=32 (i32.const 0)))))"#;
        let r = run_v128(wat, &[Value::I32(10)]);
        // lanes 10..17 of the data as i16: 11 12 13 14 15 16 -1 -2; lane 1 (as i32) replaced
        // by the 4 bytes at 48: 0xfe, then 0 0 0.
        let mut expected = v::<i16>(&[11, 12, 13, 14, 15, 16, -1, -2]);
        expected = Shape::I32x4.replace(expected, 1, 0xfe);
        assert_eq!(r, expected);
        // Out of bounds: the 16-byte access at the last 15 bytes of memory traps.
        let r = run(wat, &[Value::I32(65536 - 7)]);
        assert_eq!(r, Err(Trap::OutOfBoundsMemoryAccess));
    }

    #[test]
    fn mutated_simd_modules_never_panic() {
        // Every byte mutation of a module using many vector instructions either fails to
        // decode, fails to instantiate, or runs to a result or a trap (with fuel).
        let wasm = wat::parse_str(
            r#"(module (memory 1) (global (mut v128) (v128.const i32x4 1 2 3 4))
              (func (export "f") (param v128 i32) (result v128)
                (v128.store8_lane 15 (local.get 1) (local.get 0))
                (i8x16.shuffle 31 0 30 1 29 2 28 3 27 4 26 5 25 6 24 7
                  (f32x4.demote_f64x2_zero (v128.load64_splat offset=3 (local.get 1)))
                  (i16x8.narrow_i32x4_s (global.get 0)
                    (i32x4.dot_i16x8_s (local.get 0) (i8x16.swizzle (local.get 0)
                      (i64x2.replace_lane 1 (v128.const i64x2 7 8)
                        (i64x2.extract_lane 0 (f64x2.nearest (local.get 0))))))))))"#,
        )
        .unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let mut bad = wasm.clone();
            for _ in 0..1 + next() % 3 {
                let i = (next() % bad.len() as u64) as usize;
                bad[i] = next() as u8;
            }
            let Ok(module) = Module::decode(&bad) else {
                continue;
            };
            let mut config = Configuration::with_limits(crate::ExecLimits {
                fuel: Some(10_000),
                ..Default::default()
            });
            let Ok(inst) = config.instantiate(Arc::new(module), &[]) else {
                continue;
            };
            if let Some(ExternVal::Func(f)) = config.export(inst, "f") {
                let _ = config.invoke(f, &[Value::V128(u128::MAX / 3), Value::I32(100)]);
            }
        }
    }

    #[test]
    fn invalid_simd_is_reported_invalid_not_unsupported() {
        // i8x16.extract_lane_s with lane 16 is invalid.
        let wasm = wat::parse_str(
            r#"(module (func (result i32) (i8x16.extract_lane_s 15 (v128.const i64x2 0 0))))"#,
        )
        .unwrap();
        let mut bad = wasm.clone();
        let pos = bad
            .windows(2)
            .position(|w| w == [0x15, 0x0f])
            .expect("lane immediate");
        bad[pos + 1] = 16;
        assert!(Module::decode(&wasm).is_ok());
        let err = Module::decode(&bad).unwrap_err();
        assert_eq!(err.kind, ModuleErrorKind::Invalid, "{err}");
    }
}
