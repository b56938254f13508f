//! Findings: shrink a module that shows a difference (wasm-shrink), and save it as
//! `.wasm`, `.wat` and a `.wast` regression script that carries Heddle's results.

use super::compare::{check_module, CheckOptions, Difference};
use super::engine::DiffEngine;
use super::generate::{arguments, Rng};
use crate::oracle::{ExportKind, Oracle, OracleError, OracleOptions, Outcome, TrapKind};
use heddle_interp::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Shrink `wasm` while `engine` and Heddle still differ in the same way (same
/// [`Difference::kind`]), with at most `attempts` failed attempts in a row (wasm-shrink's
/// budget). Returns the smallest module found (`wasm` itself if nothing smaller differs).
pub fn shrink(
    wasm: &[u8],
    kind: &str,
    engine: &mut dyn DiffEngine,
    options: &CheckOptions,
    arg_seed: u64,
    attempts: u32,
) -> Vec<u8> {
    let result = wasm_shrink::WasmShrink::default()
        .attempts(attempts)
        .seed(arg_seed)
        .run(wasm.to_vec(), |candidate| {
            let c = check_module(candidate, &mut *engine, options, arg_seed);
            Ok(c.difference.is_some_and(|d| d.kind == kind))
        });
    match result {
        Ok(info) if info.output.len() < wasm.len() => info.output,
        _ => wasm.to_vec(),
    }
}

/// How a campaign called a module, so that a script can replay it.
#[derive(Clone, Copy, Debug)]
pub struct Replay {
    /// The oracle's options.
    pub oracle: OracleOptions,
    /// The seed of the call arguments.
    pub arg_seed: u64,
    /// Rounds of calls to every exported function.
    pub rounds: u32,
}

/// The paths of a saved finding (`STEM.wasm`, `STEM.wat`, `STEM.wast`).
#[derive(Clone, Debug)]
pub struct SavedFinding {
    /// The binary.
    pub wasm: PathBuf,
    /// Its text (wasmprinter).
    pub wat: PathBuf,
    /// The regression script with Heddle's results.
    pub wast: PathBuf,
}

/// Save a finding under `dir` as `STEM.wasm`, `STEM.wat` and `STEM.wast` (creating `dir`).
/// The script replays the calls the campaign made, asserting Heddle's results under
/// `replay.oracle`, calling every function `replay.rounds` times (see [`heddle_script`]), with `difference` and `note` as comments.
pub fn save(
    dir: &Path,
    stem: &str,
    wasm: &[u8],
    difference: &Difference,
    note: &str,
    replay: &Replay,
) -> std::io::Result<SavedFinding> {
    let Replay {
        oracle,
        arg_seed,
        rounds,
    } = *replay;
    std::fs::create_dir_all(dir)?;
    let paths = SavedFinding {
        wasm: dir.join(format!("{stem}.wasm")),
        wat: dir.join(format!("{stem}.wat")),
        wast: dir.join(format!("{stem}.wast")),
    };
    std::fs::write(&paths.wasm, wasm)?;
    let wat = wasmprinter::print_bytes(wasm).unwrap_or_else(|e| format!(";; not printable: {e}\n"));
    std::fs::write(&paths.wat, wat)?;
    let mut script = String::new();
    let _ = writeln!(script, ";; {}: {}", difference.kind, difference.summary);
    for line in note.lines() {
        let _ = writeln!(script, ";; {line}");
    }
    script.push_str(&heddle_script_rounds(wasm, oracle, arg_seed, rounds));
    std::fs::write(&paths.wast, script)?;
    Ok(paths)
}

/// A `.wast` script for `wasm`: the module, then the calls a campaign makes (every
/// exported function in order, arguments from `arg_seed`), each asserting what Heddle
/// (with `oracle`'s options) did: `assert_return` (NaNs as `nan:canonical` or
/// `nan:arithmetic` patterns), `assert_trap` with the spec's message, and after each call
/// the value of every exported global (`assert_return (get ..)`). It stops before a
/// call that ran out of fuel, blocked forever or exhausted the call stack (resource
/// limits that a script runner sets differently). A module Heddle rejects becomes
/// `assert_invalid`, one whose instantiation traps `assert_uninstantiable`.
pub fn heddle_script(wasm: &[u8], oracle: OracleOptions, arg_seed: u64) -> String {
    heddle_script_rounds(wasm, oracle, arg_seed, CheckOptions::default().rounds)
}

/// [`heddle_script`] for a campaign that calls every function `rounds` times.
pub fn heddle_script_rounds(
    wasm: &[u8],
    oracle: OracleOptions,
    arg_seed: u64,
    rounds: u32,
) -> String {
    let mut s = String::new();
    let binary = wast_bytes(wasm);
    let mut o = match Oracle::new(wasm, oracle) {
        Ok(o) => o,
        Err(OracleError::Module(m)) => {
            let _ = writeln!(
                s,
                "(assert_invalid (module binary {binary}) \"{}\")",
                escape(&m.message)
            );
            return s;
        }
        Err(OracleError::Trap(t)) if TrapKind::of(&t) != TrapKind::CallStackExhausted => {
            let _ = writeln!(
                s,
                "(assert_uninstantiable (module binary {binary}) \"{}\")",
                escape(&t.message())
            );
            return s;
        }
        Err(e) => {
            let _ = writeln!(s, ";; instantiation: {e}");
            let _ = writeln!(s, "(module binary {binary})");
            return s;
        }
    };
    let _ = writeln!(s, "(module binary {binary})");
    let mut rng = Rng::new(arg_seed);
    let funcs: Vec<_> = o
        .exports()
        .into_iter()
        .filter_map(|(name, kind)| match kind {
            ExportKind::Func(ty) => Some((name, ty)),
            _ => None,
        })
        .collect();
    let globals: Vec<String> = o
        .exports()
        .into_iter()
        .filter(|(_, kind)| matches!(kind, ExportKind::Global))
        .map(|(name, _)| name)
        .collect();
    for (name, ty) in (0..rounds).flat_map(|_| funcs.iter().cloned()) {
        let args = arguments(&mut rng, &ty.params);
        let invoke = format!(
            "(invoke \"{}\"{})",
            escape(&name),
            args.iter()
                .map(|a| format!(" {}", arg(a)))
                .collect::<String>()
        );
        match o.call(&name, &args) {
            Outcome::Returned(vals) => {
                let r: String = vals.iter().map(|v| format!(" {}", ret(v))).collect();
                let _ = writeln!(s, "(assert_return {invoke}{r})");
                assert_globals(&mut s, &o, &globals);
            }
            Outcome::Trapped(t) if TrapKind::of(&t) != TrapKind::CallStackExhausted => {
                let _ = writeln!(s, "(assert_trap {invoke} \"{}\")", escape(&t.message()));
                assert_globals(&mut s, &o, &globals);
            }
            other => {
                let _ = writeln!(
                    s,
                    ";; {invoke}: {other:?} (not asserted; the script ends here)"
                );
                break;
            }
        }
    }
    s
}

/// After a call: the value of every exported global (`assert_return (get ..)`).
fn assert_globals(s: &mut String, o: &Oracle, globals: &[String]) {
    for g in globals {
        if let Some(v) = o.global(g) {
            let _ = writeln!(s, "(assert_return (get \"{}\") {})", escape(g), ret(&v));
        }
    }
}

fn wast_bytes(wasm: &[u8]) -> String {
    let mut out = String::new();
    for chunk in wasm.chunks(32) {
        out.push_str("\n  \"");
        for b in chunk {
            let _ = write!(out, "\\{b:02x}");
        }
        out.push('"');
    }
    out
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32).chars().collect(),
            c => vec![c],
        })
        .collect()
}

fn f32_lit(b: u32) -> String {
    let f = f32::from_bits(b);
    if f.is_nan() {
        let sign = if b >> 31 == 1 { "-" } else { "" };
        format!("{sign}nan:0x{:x}", b & 0x7f_ffff)
    } else {
        format!("{f:?}")
    }
}

fn f64_lit(b: u64) -> String {
    let f = f64::from_bits(b);
    if f.is_nan() {
        let sign = if b >> 63 == 1 { "-" } else { "" };
        format!("{sign}nan:0x{:x}", b & 0xf_ffff_ffff_ffff)
    } else {
        format!("{f:?}")
    }
}

fn arg(v: &Value) -> String {
    match *v {
        Value::I32(x) => format!("(i32.const {x})"),
        Value::I64(x) => format!("(i64.const {x})"),
        Value::F32(b) => format!("(f32.const {})", f32_lit(b)),
        Value::F64(b) => format!("(f64.const {})", f64_lit(b)),
        Value::V128(x) => format!(
            "(v128.const i64x2 {} {})",
            x as u64 as i64,
            (x >> 64) as u64 as i64
        ),
        Value::FuncRef(None) => "(ref.null func)".into(),
        Value::FuncRef(Some(_)) => "(ref.func)".into(),
        Value::ExternRef(None) => "(ref.null extern)".into(),
        Value::ExternRef(Some(n)) => format!("(ref.extern {n})"),
        Value::AnyRef(None) => "(ref.null any)".into(),
        Value::AnyRef(Some(_)) => "(ref.any)".into(),
        Value::ExternAny(_) => "(ref.extern)".into(),
        // Only null references are ever passed in (see `generate::arguments`).
        Value::ExnRef(_) => "(ref.null exn)".into(),
    }
}

fn ret(v: &Value) -> String {
    match *v {
        Value::F32(b) if f32::from_bits(b).is_nan() => {
            if b & 0x7fff_ffff == 0x7fc0_0000 {
                "(f32.const nan:canonical)".into()
            } else {
                "(f32.const nan:arithmetic)".into()
            }
        }
        Value::F64(b) if f64::from_bits(b).is_nan() => {
            if b & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000 {
                "(f64.const nan:canonical)".into()
            } else {
                "(f64.const nan:arithmetic)".into()
            }
        }
        Value::ExternRef(Some(_)) => "(ref.extern)".into(),
        ref other => arg(other),
    }
}

/// A hook for cargo-fuzz and tests: check `wasm` against `engine` with the default
/// options and panic on a difference (cargo-fuzz saves the input as a crash).
pub fn assert_no_difference(wasm: &[u8], engine: &mut dyn DiffEngine) {
    let c = check_module(wasm, engine, &CheckOptions::default(), 0);
    if let Some(d) = c.difference {
        panic!("{}: {}", d.kind, d.summary);
    }
}
