//! Script values: the arguments of `invoke` and the expected results of `assert_return`,
//! converted from the `wast` crate's syntax into owned data, and matched against
//! [`heddle_interp::Value`]s.
//!
//! Matching follows the reference interpreter (`script/run.ml`, `match_result`):
//! a literal matches by its bit pattern (so `-0.0` differs from `0.0` and NaN payloads are
//! exact), `nan:canonical` matches a NaN whose payload is exactly the canonical one (either
//! sign), `nan:arithmetic` matches a NaN whose payload has its most significant bit set
//! (either sign), and `(either r1 r2 ...)` matches when any alternative does.

use heddle_interp::simd::{format_lane, format_v128, Shape};
use heddle_interp::types::HeapType as HeapKind;
use heddle_interp::values::AnyRef;
use heddle_interp::{ValType, Value};
use std::fmt;
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};

/// A float pattern: a literal bit pattern or one of the two NaN classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NanPat<T> {
    /// `nan:canonical`.
    Canonical,
    /// `nan:arithmetic`.
    Arithmetic,
    /// A literal, by bit pattern.
    Bits(T),
}

/// The kind of a null reference pattern: the hierarchy of its heap type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the top heap types `func`, `extern`, `any` and `exn`
pub enum RefKind {
    Func,
    Extern,
    Any,
    Exn,
}

/// The expected lanes of a `v128` result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum V128Expected {
    /// An integer shape: all 128 bits must be equal. The shape is the one the script wrote
    /// the lanes in, for messages.
    Int(Shape, u128),
    /// `f32x4`, lane 0 first: a pattern per lane.
    F32x4([NanPat<u32>; 4]),
    /// `f64x2`, lane 0 first.
    F64x2([NanPat<u64>; 2]),
}

impl V128Expected {
    /// The shape the lanes are written in.
    pub fn shape(&self) -> Shape {
        match self {
            V128Expected::Int(shape, _) => *shape,
            V128Expected::F32x4(_) => Shape::F32x4,
            V128Expected::F64x2(_) => Shape::F64x2,
        }
    }

    /// Does lane `i` (of [`V128Expected::shape`]) of `v` match?
    pub fn lane_matches(&self, v: u128, i: usize) -> bool {
        let shape = self.shape();
        let got = shape.extract(v, i);
        match self {
            V128Expected::Int(_, bits) => shape.extract(*bits, i) == got,
            V128Expected::F32x4(lanes) => match_f32(lanes[i], got as u32),
            V128Expected::F64x2(lanes) => match_f64(lanes[i], got as u64),
        }
    }

    /// Does every lane of `v` match?
    pub fn matches(&self, v: u128) -> bool {
        (0..self.shape().lanes()).all(|i| self.lane_matches(v, i))
    }

    /// The indices of the lanes of `v` that do not match.
    pub fn mismatched_lanes(&self, v: u128) -> Vec<usize> {
        (0..self.shape().lanes())
            .filter(|&i| !self.lane_matches(v, i))
            .collect()
    }
}

impl fmt::Display for V128Expected {
    /// `i32x4 1 2 3 4`, `f32x4 1.5 nan:canonical -0 nan:arithmetic`: like `v128.const`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn lane<T: Into<u128> + Copy>(shape: Shape, p: &NanPat<T>) -> String {
            match p {
                NanPat::Canonical => "nan:canonical".into(),
                NanPat::Arithmetic => "nan:arithmetic".into(),
                NanPat::Bits(b) => format_lane(shape, (*b).into()),
            }
        }
        let lanes: Vec<String> = match self {
            V128Expected::Int(shape, bits) => return f.write_str(&format_v128(*bits, *shape)),
            V128Expected::F32x4(l) => l.iter().map(|p| lane(Shape::F32x4, p)).collect(),
            V128Expected::F64x2(l) => l.iter().map(|p| lane(Shape::F64x2, p)).collect(),
        };
        write!(f, "{} {}", self.shape(), lanes.join(" "))
    }
}

/// One expected result of `assert_return`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the result types; floats and vectors may be NaN patterns
pub enum Expected {
    I32(i32),
    I64(i64),
    F32(NanPat<u32>),
    F64(NanPat<u64>),
    V128(V128Expected),
    /// `ref.null func` / `ref.null extern`; `ref.null` without a type (Wasm 3.0 scripts):
    /// a null reference of any type.
    RefNull(Option<RefKind>),
    /// `ref.func` (with or without an index): any non-null function reference.
    RefFunc,
    /// `ref.extern n` (that host reference) or `ref.extern` (any non-null one).
    RefExtern(Option<u32>),
    /// `ref.host n`: that host reference, in the `any` hierarchy (`any.convert_extern`).
    RefHost(u32),
    /// `ref.any`, `ref.eq`, `ref.struct`, `ref.array`, `ref.i31` (GC): any non-null
    /// reference of that abstract heap type.
    RefOf(GcKind),
    /// `(either r1 r2 ...)`: any of the alternatives (threads proposal script extension).
    Either(Vec<Expected>),
}

/// The abstract heap types of the GC result patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // variants are the heap types `any`, `eq`, `struct`, `array`, `i31`
pub enum GcKind {
    Any,
    Eq,
    Struct,
    Array,
    I31,
}

impl GcKind {
    fn matches(self, r: &AnyRef) -> bool {
        match self {
            GcKind::Any => true,
            GcKind::Eq => !matches!(r, AnyRef::Host(_)),
            GcKind::Struct => matches!(r, AnyRef::Struct(_)),
            GcKind::Array => matches!(r, AnyRef::Array(_)),
            GcKind::I31 => matches!(r, AnyRef::I31(_)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            GcKind::Any => "ref.any",
            GcKind::Eq => "ref.eq",
            GcKind::Struct => "ref.struct",
            GcKind::Array => "ref.array",
            GcKind::I31 => "ref.i31",
        }
    }
}

const F32_CANONICAL: u32 = 0x7fc0_0000;
const F64_CANONICAL: u64 = 0x7ff8_0000_0000_0000;

/// Does an `f32` bit pattern match the pattern?
pub fn match_f32(pat: NanPat<u32>, bits: u32) -> bool {
    match pat {
        NanPat::Bits(b) => b == bits,
        NanPat::Canonical => bits & 0x7fff_ffff == F32_CANONICAL,
        NanPat::Arithmetic => bits & F32_CANONICAL == F32_CANONICAL,
    }
}

/// Does an `f64` bit pattern match the pattern?
pub fn match_f64(pat: NanPat<u64>, bits: u64) -> bool {
    match pat {
        NanPat::Bits(b) => b == bits,
        NanPat::Canonical => bits & 0x7fff_ffff_ffff_ffff == F64_CANONICAL,
        NanPat::Arithmetic => bits & F64_CANONICAL == F64_CANONICAL,
    }
}

impl Expected {
    /// Does `v` match this expected result?
    pub fn matches(&self, v: &Value) -> bool {
        match (self, v) {
            (Expected::I32(a), Value::I32(b)) => a == b,
            (Expected::I64(a), Value::I64(b)) => a == b,
            (Expected::F32(p), Value::F32(b)) => match_f32(*p, *b),
            (Expected::F64(p), Value::F64(b)) => match_f64(*p, *b),
            (Expected::V128(p), Value::V128(b)) => p.matches(*b),
            (Expected::RefNull(None | Some(RefKind::Func)), Value::FuncRef(None)) => true,
            (Expected::RefNull(None | Some(RefKind::Extern)), Value::ExternRef(None)) => true,
            (Expected::RefNull(None | Some(RefKind::Any)), Value::AnyRef(None)) => true,
            (Expected::RefNull(None | Some(RefKind::Exn)), Value::ExnRef(None)) => true,
            (Expected::RefFunc, Value::FuncRef(Some(_))) => true,
            (Expected::RefExtern(n), Value::ExternRef(Some(m))) => n.is_none_or(|n| n == *m),
            (Expected::RefExtern(None), Value::ExternAny(_)) => true,
            (Expected::RefHost(n), Value::AnyRef(Some(AnyRef::Host(m)))) => n == m,
            (Expected::RefOf(k), Value::AnyRef(Some(r))) => k.matches(r),
            (Expected::Either(alts), v) => alts.iter().any(|a| a.matches(v)),
            _ => false,
        }
    }
}

/// Do the results match the expected results (same number, each matching)?
pub fn match_results(expected: &[Expected], got: &[Value]) -> bool {
    expected.len() == got.len() && expected.iter().zip(got).all(|(e, v)| e.matches(v))
}

fn fmt_nan32(p: &NanPat<u32>) -> String {
    match p {
        NanPat::Canonical => "nan:canonical".into(),
        NanPat::Arithmetic => "nan:arithmetic".into(),
        NanPat::Bits(b) => format!("{} (0x{b:08x})", f32::from_bits(*b)),
    }
}

fn fmt_nan64(p: &NanPat<u64>) -> String {
    match p {
        NanPat::Canonical => "nan:canonical".into(),
        NanPat::Arithmetic => "nan:arithmetic".into(),
        NanPat::Bits(b) => format!("{} (0x{b:016x})", f64::from_bits(*b)),
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::I32(v) => write!(f, "{}", format_value(&Value::I32(*v))),
            Expected::I64(v) => write!(f, "{}", format_value(&Value::I64(*v))),
            Expected::F32(p) => write!(f, "f32:{}", fmt_nan32(p)),
            Expected::F64(p) => write!(f, "f64:{}", fmt_nan64(p)),
            Expected::V128(p) => write!(f, "v128:{p}"),
            Expected::RefNull(Some(RefKind::Func)) => write!(f, "ref.null func"),
            Expected::RefNull(Some(RefKind::Extern)) => write!(f, "ref.null extern"),
            Expected::RefNull(Some(RefKind::Any)) => write!(f, "ref.null any"),
            Expected::RefNull(Some(RefKind::Exn)) => write!(f, "ref.null exn"),
            Expected::RefNull(None) => write!(f, "ref.null"),
            Expected::RefHost(n) => write!(f, "ref.host {n}"),
            Expected::RefOf(k) => f.write_str(k.name()),
            Expected::RefFunc => write!(f, "ref.func"),
            Expected::RefExtern(None) => write!(f, "ref.extern"),
            Expected::RefExtern(Some(n)) => write!(f, "ref.extern {n}"),
            Expected::Either(alts) => {
                let alts: Vec<_> = alts.iter().map(|a| a.to_string()).collect();
                write!(f, "(either {})", alts.join(" | "))
            }
        }
    }
}

/// Format a value for reports and `heddle run`: `i32:-1`, `i64:42`, `f32:1.5`,
/// `f64:NaN (0x7ff8000000000000)` (floats that do not print exactly also show their bits),
/// `ref.null func`, ...
pub fn format_value(v: &Value) -> String {
    format_value_in(v, Shape::I32x4)
}

/// [`format_value`], with a v128 written lane by lane in `v128_shape`: `v128:f32x4 1.5 2 -0
/// inf` (a v128's type does not say how its bits are divided into lanes).
pub fn format_value_in(v: &Value, v128_shape: Shape) -> String {
    match v {
        Value::I32(x) => format!("i32:{x}"),
        Value::I64(x) => format!("i64:{x}"),
        Value::F32(b) => {
            let x = f32::from_bits(*b);
            if x.is_nan() {
                format!("f32:NaN (0x{b:08x})")
            } else {
                format!("f32:{x:?}")
            }
        }
        Value::F64(b) => {
            let x = f64::from_bits(*b);
            if x.is_nan() {
                format!("f64:NaN (0x{b:016x})")
            } else {
                format!("f64:{x:?}")
            }
        }
        Value::V128(x) => format!("v128:{}", format_v128(*x, v128_shape)),
        other => other.to_string(),
    }
}

/// Format a list of values as `[i32:1 i32:2]`.
pub fn format_values(vs: &[Value]) -> String {
    let vs: Vec<_> = vs.iter().map(format_value).collect();
    format!("[{}]", vs.join(" "))
}

/// Why results do not match the expected ones: `expected [...], got [...]`, where a v128
/// result is written in the shape of its expected pattern, followed by which lanes differ:
/// `expected [v128:f32x4 1 nan:canonical 3 4], got [v128:f32x4 1 nan:0x400001 3 4] (result 0:
/// lane 1 differs)`.
pub fn describe_mismatch(expected: &[Expected], got: &[Value]) -> String {
    let mut notes = Vec::new();
    let got_text: Vec<String> = got
        .iter()
        .enumerate()
        .map(
            |(i, v)| match (expected.get(i).and_then(Expected::v128_pattern), v) {
                (Some(p), Value::V128(x)) => {
                    let lanes = p.mismatched_lanes(*x);
                    if !lanes.is_empty() {
                        let list: Vec<_> = lanes.iter().map(|l| l.to_string()).collect();
                        let (s, verb) = if lanes.len() == 1 {
                            ("", "differs")
                        } else {
                            ("s", "differ")
                        };
                        notes.push(format!("result {i}: lane{s} {} {verb}", list.join(", ")));
                    }
                    format!("v128:{}", format_v128(*x, p.shape()))
                }
                _ => format_value(v),
            },
        )
        .collect();
    let mut out = format!(
        "expected {}, got [{}]",
        format_expected(expected),
        got_text.join(" ")
    );
    if !notes.is_empty() {
        out.push_str(&format!(" ({})", notes.join("; ")));
    }
    out
}

impl Expected {
    /// The v128 pattern of this result (the first of an `either`), if it has one.
    fn v128_pattern(&self) -> Option<&V128Expected> {
        match self {
            Expected::V128(p) => Some(p),
            Expected::Either(alts) => alts.iter().find_map(Expected::v128_pattern),
            _ => None,
        }
    }
}

/// Format a list of expected results as `[i32:1 (either ...)]`.
pub fn format_expected(es: &[Expected]) -> String {
    let es: Vec<_> = es.iter().map(|e| e.to_string()).collect();
    format!("[{}]", es.join(" "))
}

/// The hierarchy of a script's heap type; `None` for a concrete (indexed) one, whose
/// null matches any null.
fn heap_kind(h: &HeapType<'_>) -> Result<Option<RefKind>, String> {
    use AbstractHeapType as A;
    match h {
        HeapType::Abstract { shared: false, ty } => Ok(Some(match ty {
            A::Func | A::NoFunc => RefKind::Func,
            A::Extern | A::NoExtern => RefKind::Extern,
            A::Any | A::Eq | A::I31 | A::Struct | A::Array | A::None => RefKind::Any,
            A::Exn | A::NoExn => RefKind::Exn,
            other => return Err(format!("unsupported reference type {other:?}")),
        })),
        HeapType::Concrete(_) => Ok(None),
        other => Err(format!("unsupported reference type {other:?}")),
    }
}

fn nan32(p: &NanPattern<wast::token::F32>) -> NanPat<u32> {
    match p {
        NanPattern::CanonicalNan => NanPat::Canonical,
        NanPattern::ArithmeticNan => NanPat::Arithmetic,
        NanPattern::Value(v) => NanPat::Bits(v.bits),
    }
}

fn nan64(p: &NanPattern<wast::token::F64>) -> NanPat<u64> {
    match p {
        NanPattern::CanonicalNan => NanPat::Canonical,
        NanPattern::ArithmeticNan => NanPat::Arithmetic,
        NanPattern::Value(v) => NanPat::Bits(v.bits),
    }
}

fn lanes_to_u128<const N: usize>(bytes_of: impl Fn(usize) -> Vec<u8>) -> u128 {
    let mut bytes = Vec::with_capacity(16);
    for i in 0..N {
        bytes.extend(bytes_of(i));
    }
    let arr: [u8; 16] = bytes.try_into().expect("16 bytes");
    u128::from_le_bytes(arr)
}

/// Convert an `invoke` argument.
pub fn arg_from_wast(a: &WastArgCore<'_>) -> Result<Value, String> {
    Ok(match a {
        WastArgCore::I32(x) => Value::I32(*x),
        WastArgCore::I64(x) => Value::I64(*x),
        WastArgCore::F32(x) => Value::F32(x.bits),
        WastArgCore::F64(x) => Value::F64(x.bits),
        WastArgCore::V128(c) => Value::V128(u128::from_le_bytes(c.to_le_bytes())),
        WastArgCore::RefNull(h) => match heap_kind(h)? {
            Some(RefKind::Func) => Value::FuncRef(None),
            Some(RefKind::Extern) => Value::ExternRef(None),
            Some(RefKind::Any) => Value::AnyRef(None),
            Some(RefKind::Exn) => Value::ExnRef(None),
            None => return Err("unsupported argument: ref.null of a type index".into()),
        },
        WastArgCore::RefExtern(n) => Value::ExternRef(Some(*n)),
        WastArgCore::RefHost(n) => Value::AnyRef(Some(AnyRef::Host(*n))),
    })
}

/// Convert an `assert_return` result pattern.
pub fn expected_from_wast(r: &WastRetCore<'_>) -> Result<Expected, String> {
    Ok(match r {
        WastRetCore::I32(x) => Expected::I32(*x),
        WastRetCore::I64(x) => Expected::I64(*x),
        WastRetCore::F32(p) => Expected::F32(nan32(p)),
        WastRetCore::F64(p) => Expected::F64(nan64(p)),
        WastRetCore::V128(p) => Expected::V128(match p {
            V128Pattern::I8x16(l) => V128Expected::Int(
                Shape::I8x16,
                lanes_to_u128::<16>(|i| l[i].to_le_bytes().to_vec()),
            ),
            V128Pattern::I16x8(l) => V128Expected::Int(
                Shape::I16x8,
                lanes_to_u128::<8>(|i| l[i].to_le_bytes().to_vec()),
            ),
            V128Pattern::I32x4(l) => V128Expected::Int(
                Shape::I32x4,
                lanes_to_u128::<4>(|i| l[i].to_le_bytes().to_vec()),
            ),
            V128Pattern::I64x2(l) => V128Expected::Int(
                Shape::I64x2,
                lanes_to_u128::<2>(|i| l[i].to_le_bytes().to_vec()),
            ),
            V128Pattern::F32x4(l) => {
                V128Expected::F32x4([nan32(&l[0]), nan32(&l[1]), nan32(&l[2]), nan32(&l[3])])
            }
            V128Pattern::F64x2(l) => V128Expected::F64x2([nan64(&l[0]), nan64(&l[1])]),
        }),
        WastRetCore::RefNull(Some(h)) => Expected::RefNull(heap_kind(h)?),
        WastRetCore::RefNull(None) => Expected::RefNull(None),
        WastRetCore::RefFunc(_) => Expected::RefFunc,
        WastRetCore::RefExtern(n) => Expected::RefExtern(*n),
        WastRetCore::RefHost(n) => Expected::RefHost(*n),
        WastRetCore::RefAny => Expected::RefOf(GcKind::Any),
        WastRetCore::RefEq => Expected::RefOf(GcKind::Eq),
        WastRetCore::RefStruct => Expected::RefOf(GcKind::Struct),
        WastRetCore::RefArray => Expected::RefOf(GcKind::Array),
        WastRetCore::RefI31 => Expected::RefOf(GcKind::I31),
        WastRetCore::Either(alts) => Expected::Either(
            alts.iter()
                .map(expected_from_wast)
                .collect::<Result<_, _>>()?,
        ),
        other => return Err(format!("unsupported result pattern {other:?}")),
    })
}

/// Parse a typed command-line argument: `i32:5`, `i64:-1`, `i32:0xff`, `f32:1.5`,
/// `f64:-inf`, `f64:nan`. Integers may be given signed or unsigned (wrapping to the width);
/// floats use Rust's float syntax (`inf`, `nan`, exponents).
pub fn parse_typed_arg(s: &str) -> Result<Value, String> {
    let (ty, lit) = s
        .split_once(':')
        .ok_or_else(|| format!("argument {s:?}: expected TYPE:VALUE, e.g. i32:5"))?;
    let bad = |e: &dyn fmt::Display| format!("argument {s:?}: {e}");
    let int = parse_int_lit;
    match ty {
        "i32" => {
            let v = int(lit).map_err(|e| bad(&e))?;
            if !(i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v) {
                return Err(bad(&"out of range for i32"));
            }
            Ok(Value::I32(v as i64 as i32))
        }
        "i64" => {
            let v = int(lit).map_err(|e| bad(&e))?;
            if !(i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&v) {
                return Err(bad(&"out of range for i64"));
            }
            Ok(Value::I64(v as i64))
        }
        "f32" => lit
            .parse::<f32>()
            .map(|x| Value::F32(x.to_bits()))
            .map_err(|e| bad(&e)),
        "f64" => lit
            .parse::<f64>()
            .map(|x| Value::F64(x.to_bits()))
            .map_err(|e| bad(&e)),
        other => Err(format!(
            "argument {s:?}: unknown type {other:?} (use i32, i64, f32 or f64; v128 and \
             reference arguments are typed from the parameter)"
        )),
    }
}

/// Parse a command-line argument for a parameter of type `ty`: untyped (`5`, `-1`, `0xff`,
/// `0.5`, `inf`, `nan`), or typed as [`parse_typed_arg`] takes it (`i32:5`; the type must then
/// be `ty`). A `v128` is `[v128:]SHAPE:L1,L2,...` (`i32x4:1,2,3,4`), the lanes separated by
/// commas or spaces (`"i32x4 1 2 3 4"`, the way results are printed), or `[v128:]0xHEX`
/// (32 hex digits at most, the whole vector). A reference is `null` (of the parameter's
/// type), `funcref:null`, `externref:null`, or `ref.extern:N` / `externref:N` (a host
/// reference). A non-null funcref cannot be written on the command line.
pub fn parse_arg(s: &str, ty: ValType) -> Result<Value, String> {
    let typed_prefix = ["i32:", "i64:", "f32:", "f64:"];
    if typed_prefix.iter().any(|p| s.starts_with(p)) {
        let v = parse_typed_arg(s)?;
        if v.ty() != ty {
            return Err(format!(
                "argument {s:?} is a {}, the parameter is a {ty}",
                v.ty()
            ));
        }
        return Ok(v);
    }
    let bad = |e: &dyn fmt::Display| format!("argument {s:?} for a {ty} parameter: {e}");
    match ty {
        ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64 => {
            parse_typed_arg(&format!("{ty}:{s}")).map_err(|_| {
                bad(&match ty {
                    ValType::I32 | ValType::I64 => "expected an integer, e.g. 5, -1 or 0xff",
                    _ => "expected a number, e.g. 0.5, -1e3, inf or nan",
                })
            })
        }
        ValType::V128 => parse_v128(s.strip_prefix("v128:").unwrap_or(s))
            .map(Value::V128)
            .map_err(|e| bad(&e)),
        ValType::Ref(r) if !matches!(r.heap, HeapKind::Extern | HeapKind::NoExtern) => match s {
            "null" | "funcref:null" | "ref.null:func" | "anyref:null" | "ref.null:any"
            | "exnref:null" | "ref.null:exn"
                if r.nullable =>
            {
                Ok(Value::default_of(ty))
            }
            _ => Err(bad(&format!(
                "a {ty} argument can only be null (`null`), and only if the type is nullable"
            ))),
        },
        ValType::Ref(_) => {
            if matches!(s, "null" | "externref:null" | "ref.null:extern") {
                return Ok(Value::ExternRef(None));
            }
            let n = s
                .strip_prefix("ref.extern:")
                .or_else(|| s.strip_prefix("externref:"))
                .ok_or_else(|| bad(&"expected null, ref.extern:N or externref:N"))?;
            n.parse::<u32>()
                .map(|n| Value::ExternRef(Some(n)))
                .map_err(|e| bad(&format!("host reference {n:?}: {e}")))
        }
    }
}

/// A v128 literal: `SHAPE:L1,L2,...`, `SHAPE L1 L2 ...`, or `0xHEX`.
fn parse_v128(s: &str) -> Result<u128, String> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let hex = hex.replace('_', "");
        return u128::from_str_radix(&hex, 16).map_err(|e| format!("hex vector: {e}"));
    }
    let split = s
        .find([':', ' '])
        .ok_or("expected SHAPE:LANES (e.g. i32x4:1,2,3,4) or 0xHEX")?;
    let (shape_name, lanes) = (&s[..split], &s[split + 1..]);
    let shape: Shape = shape_name.parse()?;
    let lanes: Vec<&str> = lanes.split([',', ' ']).filter(|l| !l.is_empty()).collect();
    if lanes.len() != shape.lanes() {
        return Err(format!(
            "{shape} has {} lanes, {} given",
            shape.lanes(),
            lanes.len()
        ));
    }
    let mut v = 0u128;
    for (i, lane) in lanes.iter().enumerate() {
        let bits: u128 = match shape {
            Shape::F32x4 => match parse_typed_arg(&format!("f32:{lane}"))? {
                Value::F32(b) => u128::from(b),
                _ => unreachable!("parse_typed_arg(f32:...) is an f32"),
            },
            Shape::F64x2 => match parse_typed_arg(&format!("f64:{lane}"))? {
                Value::F64(b) => u128::from(b),
                _ => unreachable!("parse_typed_arg(f64:...) is an f64"),
            },
            _ => {
                let x = parse_int_lit(lane).map_err(|e| format!("lane {i} {lane:?}: {e}"))?;
                let bits = shape.lane_bits();
                let (min, max) = (-(1i128 << (bits - 1)), (1i128 << bits) - 1);
                if !(min..=max).contains(&x) {
                    return Err(format!("lane {i} {lane:?}: out of range for {shape}"));
                }
                (x as u128) & (u128::MAX >> (128 - bits))
            }
        };
        v = shape.replace(v, i, bits);
    }
    Ok(v)
}

/// An integer literal: optional sign, decimal or `0x` hex, `_` separators.
fn parse_int_lit(lit: &str) -> Result<i128, String> {
    let (neg, digits) = match lit.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, lit.strip_prefix('+').unwrap_or(lit)),
    };
    let digits = digits.replace('_', "");
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|e| e.to_string())?;
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use heddle_interp::FuncAddr;

    #[test]
    fn f32_nan_patterns() {
        // Canonical NaN, either sign.
        assert!(match_f32(NanPat::Canonical, 0x7fc0_0000));
        assert!(match_f32(NanPat::Canonical, 0xffc0_0000));
        // A payload bit beyond the quiet bit is arithmetic but not canonical.
        assert!(!match_f32(NanPat::Canonical, 0x7fc0_0001));
        assert!(match_f32(NanPat::Arithmetic, 0x7fc0_0001));
        assert!(match_f32(NanPat::Arithmetic, 0xffc0_0000));
        // A signalling NaN is neither.
        assert!(!match_f32(NanPat::Arithmetic, 0x7fa0_0000));
        assert!(!match_f32(NanPat::Canonical, 0x7fa0_0000));
        // Infinity and numbers are not NaNs.
        assert!(!match_f32(NanPat::Arithmetic, 0x7f80_0000));
        assert!(!match_f32(NanPat::Canonical, 1.0f32.to_bits()));
        // Literals compare bits: -0 is not 0.
        assert!(match_f32(NanPat::Bits(0), 0));
        assert!(!match_f32(NanPat::Bits(0), 0x8000_0000));
    }

    #[test]
    fn f64_nan_patterns() {
        assert!(match_f64(NanPat::Canonical, 0x7ff8_0000_0000_0000));
        assert!(match_f64(NanPat::Canonical, 0xfff8_0000_0000_0000));
        assert!(!match_f64(NanPat::Canonical, 0x7ff8_0000_0000_0001));
        assert!(match_f64(NanPat::Arithmetic, 0x7ff8_0000_0000_0001));
        assert!(!match_f64(NanPat::Arithmetic, 0x7ff4_0000_0000_0000));
        assert!(!match_f64(NanPat::Arithmetic, f64::INFINITY.to_bits()));
        assert!(match_f64(NanPat::Bits(1.5f64.to_bits()), 1.5f64.to_bits()));
    }

    #[test]
    fn either_matches_any_alternative() {
        let e = Expected::Either(vec![Expected::I32(0), Expected::I32(42)]);
        assert!(e.matches(&Value::I32(0)));
        assert!(e.matches(&Value::I32(42)));
        assert!(!e.matches(&Value::I32(1)));
        assert!(!e.matches(&Value::I64(0)), "type must match too");
        let nested = Expected::Either(vec![e.clone(), Expected::F32(NanPat::Canonical)]);
        assert!(nested.matches(&Value::F32(0x7fc0_0000)));
        assert!(nested.matches(&Value::I32(42)));
        assert_eq!(e.to_string(), "(either i32:0 | i32:42)");
    }

    #[test]
    fn references() {
        assert!(Expected::RefNull(Some(RefKind::Func)).matches(&Value::FuncRef(None)));
        assert!(!Expected::RefNull(Some(RefKind::Func)).matches(&Value::ExternRef(None)));
        assert!(!Expected::RefNull(Some(RefKind::Func)).matches(&Value::FuncRef(Some(FuncAddr(0)))));
        assert!(Expected::RefNull(None).matches(&Value::FuncRef(None)));
        assert!(Expected::RefNull(None).matches(&Value::ExternRef(None)));
        assert!(!Expected::RefNull(None).matches(&Value::ExternRef(Some(0))));
        assert!(Expected::RefFunc.matches(&Value::FuncRef(Some(FuncAddr(3)))));
        assert!(!Expected::RefFunc.matches(&Value::FuncRef(None)));
        assert!(Expected::RefExtern(Some(1)).matches(&Value::ExternRef(Some(1))));
        assert!(!Expected::RefExtern(Some(1)).matches(&Value::ExternRef(Some(2))));
        assert!(Expected::RefExtern(None).matches(&Value::ExternRef(Some(2))));
        assert!(!Expected::RefExtern(None).matches(&Value::ExternRef(None)));
    }

    #[test]
    fn v128_lanes() {
        let v = (0x7fc0_0000u128 << 96) | (0x3f80_0000u128 << 64) | 5;
        let p = V128Expected::F32x4([
            NanPat::Bits(5),
            NanPat::Bits(0),
            NanPat::Bits(0x3f80_0000),
            NanPat::Canonical,
        ]);
        assert!(Expected::V128(p).matches(&Value::V128(v)));
        assert!(!Expected::V128(V128Expected::Int(Shape::I8x16, v + 1)).matches(&Value::V128(v)));
        assert!(Expected::V128(V128Expected::Int(Shape::I64x2, v)).matches(&Value::V128(v)));
    }

    #[test]
    fn v128_mismatches_print_lanes_in_the_expected_shape() {
        let exp = [Expected::V128(V128Expected::F32x4([
            NanPat::Bits(1.0f32.to_bits()),
            NanPat::Canonical,
            NanPat::Arithmetic,
            NanPat::Bits((-0.0f32).to_bits()),
        ]))];
        let lanes = [1.0f32.to_bits(), 0x7fc0_0001, 0xffc0_0000, 0];
        let got = lanes
            .iter()
            .enumerate()
            .fold(0u128, |v, (i, l)| v | u128::from(*l) << (32 * i));
        assert!(!match_results(&exp, &[Value::V128(got)]));
        assert_eq!(
            describe_mismatch(&exp, &[Value::V128(got)]),
            "expected [v128:f32x4 1 nan:canonical nan:arithmetic -0], \
             got [v128:f32x4 1 nan:0x400001 -nan 0] (result 0: lanes 1, 3 differ)"
        );
        let exp = [Expected::V128(V128Expected::Int(Shape::I16x8, 0xffff))];
        assert_eq!(
            describe_mismatch(&exp, &[Value::V128(0xfffe)]),
            "expected [v128:i16x8 65535 0 0 0 0 0 0 0], \
             got [v128:i16x8 65534 0 0 0 0 0 0 0] (result 0: lane 0 differs)"
        );
        // A non-v128 result where a v128 was expected is printed as usual.
        assert_eq!(
            describe_mismatch(&exp, &[Value::I32(7)]),
            "expected [v128:i16x8 65535 0 0 0 0 0 0 0], got [i32:7]"
        );
    }

    #[test]
    fn result_lists_must_have_the_same_length() {
        assert!(match_results(&[Expected::I32(1)], &[Value::I32(1)]));
        assert!(!match_results(&[Expected::I32(1)], &[]));
        assert!(!match_results(&[], &[Value::I32(1)]));
        assert!(match_results(&[], &[]));
    }

    #[test]
    fn converts_wast_results() {
        let text = "(module) (assert_return (invoke \"f\" (i32.const -1) (f32.const 1.5)) \
                    (either (i32.const 1) (i32.const 2)) (f64.const nan:arithmetic) (ref.null extern))";
        let buf = wast::parser::ParseBuffer::new(text).unwrap();
        let script = wast::parser::parse::<wast::Wast>(&buf).unwrap();
        let wast::WastDirective::AssertReturn { exec, results, .. } = &script.directives[1] else {
            panic!("not an assert_return")
        };
        let wast::WastExecute::Invoke(inv) = exec else {
            panic!()
        };
        let args: Vec<Value> = inv
            .args
            .iter()
            .map(|a| match a {
                wast::WastArg::Core(a) => arg_from_wast(a).unwrap(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(args, vec![Value::I32(-1), Value::F32(1.5f32.to_bits())]);
        let exp: Vec<Expected> = results
            .iter()
            .map(|r| match r {
                wast::WastRet::Core(r) => expected_from_wast(r).unwrap(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            exp,
            vec![
                Expected::Either(vec![Expected::I32(1), Expected::I32(2)]),
                Expected::F64(NanPat::Arithmetic),
                Expected::RefNull(Some(RefKind::Extern)),
            ]
        );
    }

    #[test]
    fn typed_arguments() {
        assert_eq!(parse_typed_arg("i32:5"), Ok(Value::I32(5)));
        assert_eq!(parse_typed_arg("i32:-1"), Ok(Value::I32(-1)));
        assert_eq!(parse_typed_arg("i32:4294967295"), Ok(Value::I32(-1)));
        assert_eq!(parse_typed_arg("i32:0xff"), Ok(Value::I32(255)));
        assert_eq!(parse_typed_arg("i64:-1"), Ok(Value::I64(-1)));
        assert_eq!(parse_typed_arg("f32:1.5"), Ok(Value::F32(1.5f32.to_bits())));
        assert_eq!(
            parse_typed_arg("f64:-inf"),
            Ok(Value::F64(f64::NEG_INFINITY.to_bits()))
        );
        assert!(parse_typed_arg("i32:4294967296").is_err());
        assert!(parse_typed_arg("5").is_err());
        assert!(parse_typed_arg("u8:5").is_err());
        assert_eq!(format_value(&Value::I32(-1)), "i32:-1");
        assert_eq!(format_value(&Value::F32(1.5f32.to_bits())), "f32:1.5");
    }

    #[test]
    fn untyped_arguments_take_the_parameter_type() {
        assert_eq!(parse_arg("5", ValType::I32), Ok(Value::I32(5)));
        assert_eq!(parse_arg("-1", ValType::I64), Ok(Value::I64(-1)));
        assert_eq!(parse_arg("0xff", ValType::I32), Ok(Value::I32(255)));
        assert_eq!(
            parse_arg("0.5", ValType::F64),
            Ok(Value::F64(0.5f64.to_bits()))
        );
        assert_eq!(parse_arg("i32:7", ValType::I32), Ok(Value::I32(7)));
        assert!(parse_arg("i64:7", ValType::I32).is_err(), "typed mismatch");
        assert!(parse_arg("0.5", ValType::I32).is_err());
        assert!(parse_arg("4294967296", ValType::I32).is_err());
    }

    #[test]
    fn v128_and_reference_arguments() {
        let v = 1u128 | 2 << 32 | 3 << 64 | 0xffff_ffffu128 << 96;
        assert_eq!(
            parse_arg("i32x4:1,2,3,-1", ValType::V128),
            Ok(Value::V128(v))
        );
        assert_eq!(
            parse_arg("v128:i32x4 1 2 3 4294967295", ValType::V128),
            Ok(Value::V128(v))
        );
        assert_eq!(
            parse_arg(&format!("0x{v:032x}"), ValType::V128),
            Ok(Value::V128(v))
        );
        assert_eq!(
            parse_arg("f64x2:1.5,-0", ValType::V128),
            Ok(Value::V128(
                u128::from(1.5f64.to_bits()) | u128::from((-0.0f64).to_bits()) << 64
            ))
        );
        assert_eq!(
            parse_arg("i8x16:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,-1", ValType::V128),
            Ok(Value::V128(
                (0..15u128).fold(0, |acc, i| acc | i << (8 * i)) | 0xffu128 << 120
            ))
        );
        assert!(
            parse_arg("i32x4:1,2,3", ValType::V128).is_err(),
            "lane count"
        );
        assert!(parse_arg("i8x16:256,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", ValType::V128).is_err());
        assert!(parse_arg("i33x4:1,2,3,4", ValType::V128).is_err());
        assert_eq!(
            parse_arg("null", ValType::FUNCREF),
            Ok(Value::FuncRef(None))
        );
        assert_eq!(
            parse_arg("funcref:null", ValType::FUNCREF),
            Ok(Value::FuncRef(None))
        );
        assert!(parse_arg("funcref:3", ValType::FUNCREF).is_err());
        assert_eq!(
            parse_arg("null", ValType::EXTERNREF),
            Ok(Value::ExternRef(None))
        );
        assert_eq!(
            parse_arg("ref.extern:7", ValType::EXTERNREF),
            Ok(Value::ExternRef(Some(7)))
        );
        assert_eq!(
            parse_arg("externref:7", ValType::EXTERNREF),
            Ok(Value::ExternRef(Some(7)))
        );
        assert!(parse_arg("ref.extern:x", ValType::EXTERNREF).is_err());
    }
}
