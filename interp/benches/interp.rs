//! Interpreter throughput on the benchmark scripts in `bench/` (or the
//! directory in `HEDDLE_BENCH`): `lcg.wast` (≈50.4 M instructions of i32 arithmetic),
//! `fib.wast` (≈636 k calls) and `atomics.wast` (1 M iterations on a shared memory).
//! Each benchmark instantiates the script's module once and times one invocation, checking
//! the result the script asserts.
//!
//! Run: `cargo bench -p heddle-interp --bench interp`.

use criterion::{criterion_group, criterion_main, Criterion};
use heddle_interp::{Configuration, ExternVal, Module, Value};
use std::path::PathBuf;
use std::sync::Arc;

fn bench_dir() -> PathBuf {
    std::env::var_os("HEDDLE_BENCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench"))
}

/// The first `(module ...)` of a bench script, as text.
fn first_module(script: &str) -> String {
    let start = script.find("(module").expect("script has a module");
    let mut depth = 0i32;
    for (i, c) in script[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return script[start..start + i + 1].to_string();
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced module")
}

fn setup(file: &str, export: &str) -> (Configuration, heddle_interp::FuncAddr) {
    let path = bench_dir().join(file);
    let script = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (set HEDDLE_BENCH)", path.display()));
    let wasm = wat::parse_str(first_module(&script)).expect("bench module parses");
    let module = Arc::new(Module::decode(&wasm).expect("bench module decodes"));
    let mut config = Configuration::new();
    let inst = config.instantiate(module, &[]).expect("instantiates");
    let Some(ExternVal::Func(f)) = config.export(inst, export) else {
        panic!("no export {export}")
    };
    (config, f)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("interp");
    group.sample_size(10);
    for (file, export, args, expected) in [
        ("lcg.wast", "run", vec![], 64703),
        ("fib.wast", "fib", vec![Value::I32(27)], 196418),
        ("atomics.wast", "run", vec![], 4000000),
    ] {
        group.bench_function(file, |b| {
            b.iter_batched(
                || setup(file, export),
                |(mut config, f)| {
                    let r = config.invoke(f, &args).expect("runs");
                    assert_eq!(r, vec![Value::I32(expected)]);
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
