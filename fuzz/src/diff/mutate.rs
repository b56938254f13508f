//! The no-panic campaign: wasm-smith modules mutated at the byte level (flips, inserts,
//! deletes) through Heddle's decode, validate, instantiate and run (with fuel). Heddle must
//! answer every input with a value or an error, never a panic.

use super::generate::{arguments, module, Rng};
use crate::oracle::{ExportKind, Oracle, OracleOptions};
use serde::Serialize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Instant;

/// How many mutants are made from each generated module.
pub const MUTANTS_PER_MODULE: u64 = 16;

/// A no-panic campaign's result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MutateReport {
    /// Mutated modules tried.
    pub modules: u64,
    /// Of those, how many decoded and validated.
    pub valid: u64,
    /// Of those, how many instantiated.
    pub instantiated: u64,
    /// Calls made.
    pub calls: u64,
    /// Inputs on which Heddle panicked (each saved as `panic-N.wasm`).
    pub heddle_panics: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Apply 1–4 random byte-level mutations to `wasm`: flip a bit, insert a byte, delete a
/// run of bytes, or overwrite a byte. The 8-byte header is left alone half the time.
pub fn mutate(rng: &mut Rng, wasm: &mut Vec<u8>) {
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let low = if rng.below(2) == 0 {
            8.min(wasm.len())
        } else {
            0
        };
        let len = wasm.len();
        let pos = low + rng.below((len - low + 1) as u64) as usize;
        match rng.below(4) {
            0 if pos < len => wasm[pos] ^= 1 << rng.below(8),
            1 => wasm.insert(pos, rng.next_u64() as u8),
            2 if pos < len => {
                let end = (pos + 1 + rng.below(4) as usize).min(len);
                wasm.drain(pos..end);
            }
            _ if pos < len => wasm[pos] = rng.next_u64() as u8,
            _ => wasm.push(rng.next_u64() as u8),
        }
    }
}

/// Run one input through Heddle: decode, validate, instantiate, call every exported
/// function once with generated arguments, read every export; `(valid, instantiated,
/// calls)`. Panics propagate (the caller catches them).
pub fn exercise(wasm: &[u8], options: OracleOptions, arg_seed: u64) -> (bool, bool, u64) {
    let mut o = match Oracle::new(wasm, options) {
        Ok(o) => o,
        Err(crate::oracle::OracleError::Module(_)) => return (false, false, 0),
        Err(_) => return (true, false, 0),
    };
    let mut rng = Rng::new(arg_seed);
    let mut calls = 0;
    for (name, kind) in o.exports() {
        match kind {
            ExportKind::Func(ty) => {
                let args = arguments(&mut rng, &ty.params);
                o.call(&name, &args);
                calls += 1;
            }
            ExportKind::Global => {
                o.global(&name);
            }
            ExportKind::Memory => {
                o.memory(&name);
            }
            ExportKind::Table => {
                o.table(&name);
            }
            ExportKind::Tag => {}
        }
    }
    (true, true, calls)
}

/// Run `count` mutants (from seed `seed`) through [`exercise`], with small fuel per call
/// (`fuel`), saving each input that panics under `out_dir`. `progress` gets the report so
/// far every 1,000 inputs.
pub fn run_mutation_campaign(
    seed: u64,
    count: u64,
    fuel: u64,
    out_dir: &Path,
    progress: &mut dyn FnMut(&MutateReport),
) -> std::io::Result<MutateReport> {
    let started = Instant::now();
    let mut report = MutateReport::default();
    let options = OracleOptions {
        fuel,
        ..OracleOptions::default()
    };
    let mut base = Vec::new();
    let mut rng = Rng::new(seed);
    for i in 0..count {
        if i % MUTANTS_PER_MODULE == 0 {
            base = module(seed, i / MUTANTS_PER_MODULE, true, 0);
        }
        let mut wasm = base.clone();
        mutate(&mut rng, &mut wasm);
        let arg_seed = rng.next_u64();
        report.modules += 1;
        match catch_unwind(AssertUnwindSafe(|| exercise(&wasm, options, arg_seed))) {
            Ok((valid, inst, calls)) => {
                report.valid += valid as u64;
                report.instantiated += inst as u64;
                report.calls += calls;
            }
            Err(_) => {
                std::fs::create_dir_all(out_dir)?;
                std::fs::write(out_dir.join(format!("panic-{seed:016x}-{i}.wasm")), &wasm)?;
                report.heddle_panics += 1;
            }
        }
        if i % 1000 == 999 {
            report.seconds = started.elapsed().as_secs_f64();
            progress(&report);
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
