//! Inputs of a campaign: wasm-smith modules and call arguments, both reproducible from a
//! seed (a module from the campaign seed and its index, arguments from the module's seed).

use arbitrary::Unstructured;
use heddle_interp::{ValType, Value};

/// The inputs' generator: the project's seeded SplitMix64 (fast, seedable, good enough
/// for inputs).
pub use heddle_interp::rng::SplitMix64 as Rng;

/// The seed of module number `index` of a campaign seeded with `seed`.
pub fn module_seed(seed: u64, index: u64) -> u64 {
    Rng::new(seed ^ index.wrapping_mul(0xd6e8_feb8_6659_fd93)).next_u64()
}

/// wasm-smith's configuration for a campaign: what Heddle and both engines implement (Wasm
/// 2.0: bulk memory, reference types, multi-value, SIMD without relaxed SIMD, sign
/// extension, saturating conversions; of Wasm 3.0 tail calls, memory64, multi-memory,
/// extended constants, wide arithmetic; and with `threads`, shared memories and every
/// atomic), no
/// imports (so that every engine instantiates alone), NaNs canonicalised (so that NaN
/// payloads, which the spec leaves nondeterministic, cannot reach memory or results), and
/// sizes small enough that memories and tables compare quickly.
pub fn smith_config(threads: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        threads_enabled: threads,
        shared_everything_threads_enabled: false,
        simd_enabled: true,
        relaxed_simd_enabled: false,
        bulk_memory_enabled: true,
        reference_types_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: true,
        memory64_enabled: true,
        wide_arithmetic_enabled: true,
        extended_const_enabled: true,
        custom_page_sizes_enabled: false,
        custom_descriptors_enabled: false,
        compact_imports_enabled: false,
        canonicalize_nans: true,
        max_imports: 0,
        max_memories: 2,
        max_memory32_bytes: 16 * 65536,
        max_memory64_bytes: 16 * 65536,
        max_table_elements: 1_000,
        // Declared maxima everywhere: growth is then bounded the same way in every engine
        // (the spec lets `memory.grow`/`table.grow` fail at any size, and engines pick
        // different implementation limits when there is no maximum).
        table_max_size_required: true,
        memory_max_size_required: true,
        max_tables: 2,
        export_everything: true,
        min_types: 2,
        min_funcs: 3,
        ..wasm_smith::Config::default()
    }
}

/// The default [`module`] termination fuel: how many loop iterations and function entries
/// (and bulk-operation bytes) a module may spend over all of its calls before every further
/// one traps.
pub const TERMINATION_FUEL: u32 = 500;

/// Module number `index` of a campaign with `seed`: wasm-smith output from 16 KiB of
/// seeded random bytes (wasm-smith never fails on short input; it stops early).
///
/// With `termination_fuel > 0` the module is made to terminate by wasm-smith's
/// `ensure_termination` (the way wasmtime's differential fuzzing does it): a mutable i32
/// global, initialised to `termination_fuel`, is decremented at the head of every function
/// and loop (by the length of bulk memory and table operations), and the code traps with
/// `unreachable` when it would go below zero. That makes an infinite loop or an unbounded
/// recursion an ordinary, deterministic trap in every engine, so the module is compared
/// instead of skipped for running the oracle's fuel out or the call stack full, and the
/// state it left behind is compared too. The global is neither exported nor reset: the
/// budget is shared by all the calls of a module. With 0 the module is wasm-smith's output
/// unchanged.
pub fn module(seed: u64, index: u64, threads: bool, termination_fuel: u32) -> Vec<u8> {
    let mut rng = Rng::new(module_seed(seed, index));
    let mut bytes = vec![0u8; 16 * 1024];
    rng.fill(&mut bytes);
    let mut u = Unstructured::new(&bytes);
    let mut module = match wasm_smith::Module::new(smith_config(threads), &mut u) {
        Ok(m) => m,
        // Not expected with a valid configuration; an empty module is still a module.
        Err(_) => return wat::parse_str("(module)").unwrap_or_default(),
    };
    if termination_fuel > 0 {
        // Fails only for function bodies of arbitrary bytes, which this configuration
        // never asks for; the module is then checked as generated.
        let _ = module.ensure_termination(termination_fuel);
    }
    module.to_bytes()
}

/// Arguments for a function with parameter types `params`: boundary values most of the
/// time (0, ±1, the extremes, NaNs and infinities, small addresses, page-crossing
/// addresses), otherwise random bits. References are always null (a fuzzer cannot make a
/// meaningful non-null reference without imports).
pub fn arguments(rng: &mut Rng, params: &[ValType]) -> Vec<Value> {
    params.iter().map(|t| argument(rng, *t)).collect()
}

fn argument(rng: &mut Rng, ty: ValType) -> Value {
    const I32S: [u32; 12] = [
        0,
        1,
        2,
        4,
        8,
        0xffff_ffff,
        0x8000_0000,
        0x7fff_ffff,
        0xfffc,
        0xfff8,
        0x1_0000,
        0x1_0008,
    ];
    const I64S: [u64; 8] = [
        0,
        1,
        8,
        u64::MAX,
        1 << 63,
        (1 << 63) - 1,
        0xffff_fff8,
        0x1_0000_0000,
    ];
    const F32S: [u32; 8] = [
        0,
        0x8000_0000,
        0x3f80_0000,
        0xbf80_0000,
        0x7f80_0000,
        0xff80_0000,
        0x7fc0_0000,
        0x4f00_0000,
    ];
    const F64S: [u64; 6] = [
        0,
        1 << 63,
        0x3ff0_0000_0000_0000,
        0x7ff0_0000_0000_0000,
        0x7ff8_0000_0000_0000,
        0x41e0_0000_0000_0000,
    ];
    let special = rng.below(4) != 0;
    let r = rng.next_u64();
    match ty {
        ValType::I32 if special => Value::I32(I32S[(r % I32S.len() as u64) as usize] as i32),
        ValType::I32 => Value::I32(r as i32),
        ValType::I64 if special => Value::I64(I64S[(r % I64S.len() as u64) as usize] as i64),
        ValType::I64 => Value::I64(r as i64),
        ValType::F32 if special => Value::F32(F32S[(r % F32S.len() as u64) as usize]),
        ValType::F32 => Value::F32(r as u32),
        ValType::F64 if special => Value::F64(F64S[(r % F64S.len() as u64) as usize]),
        ValType::F64 => Value::F64(r),
        ValType::V128 if special => Value::V128(0),
        ValType::V128 => Value::V128(u128::from(r) | u128::from(rng.next_u64()) << 64),
        ValType::Ref(_) => Value::default_of(ty),
    }
}
