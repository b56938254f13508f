//! Random litmus programs: the one generator of straight-line racy programs behind `heddle
//! xcheck --generate N --seed S`, the racy half of `heddle fuzz --threads`, and the property
//! tests of the memory model (`fuzz/tests/model_properties.rs`) and of
//! exploration (`fuzz/tests/explore_props.rs`).
//!
//! A [`LitmusProgram`] is a few threads, each a straight-line list of shared-memory
//! operations ([`Op`]); [`LitmusProgram::to_wast`] writes it as a litmus `.wast` file in
//! the style of the catalogue (`model/tests/litmus/SB.wast`), each thread's `run`
//! returning every value it loaded, read-modify-wrote, waited for or notified.
//! [`GenConfig`] says which programs to draw ([`GenConfig::xcheck`] and the presets of the
//! property tests); [`program_strategy`] is the proptest strategy, and [`generate`] a
//! seeded sampler on top of it (same seed, same programs).
//!
//! Addresses come from [`GenConfig::addresses`]; an access is aligned down to its width
//! unless [`GenConfig::misaligned_atomics`] (atomic accesses) or [`GenConfig::misaligned`]
//! (plain ones) says otherwise, so that with addresses inside one 8-byte cell accesses of
//! different widths overlap without trapping.

pub mod drf;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::{BoxedStrategy, Union, ValueTree};
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::sync::Arc;

/// The operation of a read-modify-write: the model's own type (`heddle_model::program`).
pub use heddle_model::program::RmwOp;

/// One operation of a generated thread. Widths are in bytes (1, 2, 4 or 8); width 8 uses
/// the `i64` instructions, the others the `i32` ones (narrow loads zero-extend). Addresses
/// are byte addresses in the shared memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A load (`i32.load8_u`, `i64.atomic.load`, …); the loaded value is a result.
    Load {
        /// Width in bytes.
        width: u8,
        /// `atomic` (sequentially consistent) or plain (unordered).
        atomic: bool,
        /// Address.
        addr: u32,
    },
    /// A store of a constant.
    Store {
        /// Width in bytes.
        width: u8,
        /// Atomic or plain.
        atomic: bool,
        /// Address.
        addr: u32,
        /// The stored value.
        value: u64,
    },
    /// An atomic read-modify-write; the old value is a result.
    Rmw {
        /// Width in bytes.
        width: u8,
        /// The operation.
        op: RmwOp,
        /// Address (aligned).
        addr: u32,
        /// The operand.
        value: u64,
    },
    /// An atomic compare-exchange; the old value is a result.
    Cmpxchg {
        /// Width in bytes.
        width: u8,
        /// Address (aligned).
        addr: u32,
        /// The expected value.
        expected: u64,
        /// The value stored when the old value equals `expected`.
        replacement: u64,
    },
    /// `atomic.fence`.
    Fence,
    /// `memory.atomic.wait32` (width 4) or `wait64` (width 8); its result (0 woken,
    /// 1 not-equal, 2 timed out) is a result.
    Wait {
        /// 4 or 8.
        width: u8,
        /// Address (aligned).
        addr: u32,
        /// The expected value.
        expected: u64,
        /// Timeout in nanoseconds; negative is infinite (the instruction's meaning).
        timeout_ns: i64,
    },
    /// `memory.atomic.notify`; the number of threads woken is a result.
    Notify {
        /// Address (aligned to 4).
        addr: u32,
        /// How many waiters to wake at most (`u32::MAX`: all).
        count: u32,
    },
}

/// The kinds of operation the generator can draw (see [`GenConfig::kinds`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// Plain load.
    PlainLoad,
    /// Atomic load.
    AtomicLoad,
    /// Plain store.
    PlainStore,
    /// Atomic store.
    AtomicStore,
    /// Arithmetic or bitwise RMW (one of [`GenConfig::arith_ops`]).
    RmwArith,
    /// RMW exchange.
    Xchg,
    /// Compare-exchange.
    Cmpxchg,
    /// Fence.
    Fence,
    /// Wait.
    Wait,
    /// Notify.
    Notify,
}

impl OpKind {
    /// Every kind.
    pub const ALL: [OpKind; 10] = [
        OpKind::PlainLoad,
        OpKind::AtomicLoad,
        OpKind::PlainStore,
        OpKind::AtomicStore,
        OpKind::RmwArith,
        OpKind::Xchg,
        OpKind::Cmpxchg,
        OpKind::Fence,
        OpKind::Wait,
        OpKind::Notify,
    ];
}

impl Op {
    /// The op's kind.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Load { atomic: false, .. } => OpKind::PlainLoad,
            Op::Load { atomic: true, .. } => OpKind::AtomicLoad,
            Op::Store { atomic: false, .. } => OpKind::PlainStore,
            Op::Store { atomic: true, .. } => OpKind::AtomicStore,
            Op::Rmw {
                op: RmwOp::Xchg, ..
            } => OpKind::Xchg,
            Op::Rmw { .. } => OpKind::RmwArith,
            Op::Cmpxchg { .. } => OpKind::Cmpxchg,
            Op::Fence => OpKind::Fence,
            Op::Wait { .. } => OpKind::Wait,
            Op::Notify { .. } => OpKind::Notify,
        }
    }

    /// The width in bytes of the memory access (4 for notify, 0 for a fence).
    pub fn width(&self) -> u8 {
        match *self {
            Op::Load { width, .. }
            | Op::Store { width, .. }
            | Op::Rmw { width, .. }
            | Op::Cmpxchg { width, .. }
            | Op::Wait { width, .. } => width,
            Op::Notify { .. } => 4,
            Op::Fence => 0,
        }
    }

    /// The type of the op's result (`"i32"` or `"i64"`), `None` if it has none.
    pub fn result_type(&self) -> Option<&'static str> {
        match self {
            Op::Store { .. } | Op::Fence => None,
            Op::Wait { .. } | Op::Notify { .. } => Some("i32"),
            Op::Load { width, .. } | Op::Rmw { width, .. } | Op::Cmpxchg { width, .. } => {
                Some(ty(*width))
            }
        }
    }

    /// The op as one folded WebAssembly instruction (leaving its result, if any, on the
    /// stack).
    pub fn wat(&self) -> String {
        match *self {
            Op::Load {
                width,
                atomic,
                addr,
            } => {
                let a = if atomic { "atomic." } else { "" };
                format!(
                    "({}.{a}load{} (i32.const {addr}))",
                    ty(width),
                    narrow(width, true)
                )
            }
            Op::Store {
                width,
                atomic,
                addr,
                value,
            } => {
                let a = if atomic { "atomic." } else { "" };
                format!(
                    "({t}.{a}store{} (i32.const {addr}) ({t}.const {}))",
                    narrow(width, false),
                    konst(width, value),
                    t = ty(width)
                )
            }
            Op::Rmw {
                width,
                op,
                addr,
                value,
            } => format!(
                "({t}.atomic.rmw{}.{}{} (i32.const {addr}) ({t}.const {}))",
                narrow(width, false),
                op.name(),
                unsigned(width),
                konst(width, value),
                t = ty(width)
            ),
            Op::Cmpxchg {
                width,
                addr,
                expected,
                replacement,
            } => format!(
                "({t}.atomic.rmw{}.cmpxchg{} (i32.const {addr}) ({t}.const {}) ({t}.const {}))",
                narrow(width, false),
                unsigned(width),
                konst(width, expected),
                konst(width, replacement),
                t = ty(width)
            ),
            Op::Fence => "(atomic.fence)".to_string(),
            Op::Wait {
                width,
                addr,
                expected,
                timeout_ns,
            } => {
                let (n, t) = if width == 8 { (64, "i64") } else { (32, "i32") };
                format!(
                    "(memory.atomic.wait{n} (i32.const {addr}) ({t}.const {}) (i64.const {timeout_ns}))",
                    konst(width, expected)
                )
            }
            Op::Notify { addr, count } => {
                format!(
                    "(memory.atomic.notify (i32.const {addr}) (i32.const {}))",
                    count as i32
                )
            }
        }
    }
}

/// `i64` for width 8, else `i32`.
fn ty(width: u8) -> &'static str {
    if width == 8 {
        "i64"
    } else {
        "i32"
    }
}

/// The width suffix of a narrow access (`8`, `16`; `_u` added for loads), empty for a
/// full-width one.
fn narrow(width: u8, load: bool) -> &'static str {
    match (width, load) {
        (1, true) => "8_u",
        (2, true) => "16_u",
        (1, false) => "8",
        (2, false) => "16",
        _ => "",
    }
}

/// `_u` for a narrow RMW (`i32.atomic.rmw8.add_u`).
fn unsigned(width: u8) -> &'static str {
    if width < 4 {
        "_u"
    } else {
        ""
    }
}

/// A constant operand as the instruction's type reads it (`i32.const` takes a signed or
/// unsigned 32-bit literal: the value is truncated to 32 bits).
fn konst(width: u8, v: u64) -> String {
    if width == 8 {
        (v as i64).to_string()
    } else {
        (v as u32 as i32).to_string()
    }
}

/// A generated litmus program: `threads[t]` is thread `$Tt`'s operations in program order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LitmusProgram {
    /// The threads' operations.
    pub threads: Vec<Vec<Op>>,
}

impl LitmusProgram {
    /// Every op of every thread.
    pub fn ops(&self) -> impl Iterator<Item = &Op> {
        self.threads.iter().flatten()
    }

    /// The program as a litmus `.wast` file: a `$Mem` module exporting the shared memory,
    /// registered as `mem`; one `(thread $Ti …)` per thread whose module imports the
    /// memory and exports `run`, invoked once; then `(wait $Ti)` for each thread. `run`
    /// returns the results of its ops (see [`Op::result_type`]) in program order.
    pub fn to_wast(&self) -> String {
        let threads = self.threads.iter().map(|ops| {
            let types: Vec<&str> = ops.iter().filter_map(Op::result_type).collect();
            let mut body = String::new();
            let mut k = 0;
            for op in ops {
                if op.result_type().is_some() {
                    let _ = writeln!(body, "      (local.set $r{k} {})", op.wat());
                    k += 1;
                } else {
                    let _ = writeln!(body, "      {}", op.wat());
                }
            }
            (types, String::new(), body)
        });
        thread_script("heddle_fuzz::generate", threads)
    }
}

/// A threaded litmus script in the style of the catalogue (`model/tests/litmus/SB.wast`):
/// a comment naming `generator`, a `$Mem` module exporting a one-page shared memory,
/// registered as `mem`; for each thread `(types, locals, body)` a `(thread $Ti …)` whose
/// module imports the memory and exports `run`, which declares `locals`, a result local
/// `$rk` of each of `types`, runs `body` (lines of instructions) and returns the result
/// locals, invoked once; then `(wait $Ti)` for each thread.
pub(crate) fn thread_script(
    generator: &str,
    threads: impl Iterator<Item = (Vec<&'static str>, String, String)>,
) -> String {
    let mut s = format!(
        ";; Generated by {generator}.\n\
         (module $Mem\n  (memory (export \"shared\") 1 1 shared)\n)\n\
         (register \"mem\" $Mem)\n"
    );
    let mut n = 0;
    for (t, (types, locals, mut body)) in threads.enumerate() {
        let mut head = String::from("(func (export \"run\")");
        if !types.is_empty() {
            head += &format!(" (result {})", types.join(" "));
        }
        head += &locals;
        for (k, t) in types.iter().enumerate() {
            let _ = write!(head, " (local $r{k} {t})");
        }
        let gets: Vec<String> = (0..types.len())
            .map(|k| format!("(local.get $r{k})"))
            .collect();
        if !gets.is_empty() {
            let _ = writeln!(body, "      {}", gets.join(" "));
        }
        let _ = write!(
            s,
            "\n(thread $T{t} (shared (module $Mem))\n  (register \"mem\" $Mem)\n  (module\n    \
             (memory (import \"mem\" \"shared\") 1 1 shared)\n    {head}\n{body}    )\n  )\n  \
             (invoke \"run\")\n)\n"
        );
        n += 1;
    }
    s.push('\n');
    for t in 0..n {
        let _ = writeln!(s, "(wait $T{t})");
    }
    s
}

/// How many threads a program has and how many ops each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Number of threads.
    pub threads: RangeInclusive<usize>,
    /// Ops per thread (each thread draws its own count).
    pub ops: RangeInclusive<usize>,
}

/// What programs to draw. Lists must be non-empty and weights positive; the strategy
/// repairs a config that is not (see [`GenConfig::problems`]) rather than panic.
#[derive(Clone, Debug, PartialEq)]
pub struct GenConfig {
    /// Program shapes, one drawn uniformly per program.
    pub shapes: Vec<Shape>,
    /// Op kinds with their relative weights.
    pub kinds: Vec<(OpKind, u32)>,
    /// Widths (bytes) of loads and stores.
    pub widths: Vec<u8>,
    /// Widths of RMWs and cmpxchg.
    pub rmw_widths: Vec<u8>,
    /// Operations of arithmetic RMWs ([`OpKind::RmwArith`]).
    pub arith_ops: Vec<RmwOp>,
    /// At most this many arithmetic RMWs per program: later ones become exchanges (each
    /// arithmetic RMW can create new values, and the model's value domain and candidate
    /// space grow with them). `None`: no bound.
    pub max_arith_rmws: Option<usize>,
    /// Widths of waits (4: `wait32`, 8: `wait64`).
    pub wait_widths: Vec<u8>,
    /// Wait timeouts in nanoseconds (negative: infinite).
    pub wait_timeouts: Vec<i64>,
    /// Notify counts.
    pub notify_counts: Vec<u32>,
    /// Candidate addresses of every access (atomic ones aligned down to their width).
    pub addresses: Vec<u32>,
    /// Whether plain loads and stores keep an unaligned address (else they are aligned too).
    pub misaligned: bool,
    /// Whether atomic loads, stores, RMWs and cmpxchg keep an unaligned address too (they
    /// trap; waits and notifies are aligned in any case).
    pub misaligned_atomics: bool,
    /// Stored values, RMW operands and cmpxchg replacements.
    pub values: RangeInclusive<u64>,
    /// Expected values of cmpxchg and wait.
    pub expected: RangeInclusive<u64>,
}

impl GenConfig {
    /// The mix of `heddle xcheck --generate`: 2 threads of 1–4 ops, 3 of 1–3 or 4 of 1–2
    /// (one of the three shapes drawn uniformly); loads and stores of widths 1, 2, 4 and 8,
    /// plain and atomic, on addresses 0, 4 and 8 (so narrow accesses overlap wide ones, and
    /// there are two 8-byte cells); RMW add/and/or/xor (at most two per program, further
    /// ones become exchanges), xchg and cmpxchg of every width; fences; `wait32`/`wait64`
    /// with timeout 0 or infinite; notify of one or all waiters. Stored values and operands
    /// are 1 or 2, expected values 0–2.
    ///
    /// Tuned so that the model enumerates every program quickly: over 800 programs (seeds
    /// 0–3, 200 each) the median enumeration took 0.25 ms, the 99th percentile under
    /// 0.2 s and the slowest 1.7 s, none too large (the `xcheck_preset_enumeration_times`
    /// test in fuzz/tests/generate.rs measures it). What was cut and why: `rmw.sub`
    /// (subtracting from 0 wraps to values whose bytes differ everywhere, and every
    /// too-large program in a first measurement, 2–3 % of them, had one); 4 threads of 3
    /// or 3 of 4 ops (several seconds to minutes for some programs).
    pub fn xcheck() -> GenConfig {
        GenConfig {
            shapes: vec![
                Shape {
                    threads: 2..=2,
                    ops: 1..=4,
                },
                Shape {
                    threads: 3..=3,
                    ops: 1..=3,
                },
                Shape {
                    threads: 4..=4,
                    ops: 1..=2,
                },
            ],
            kinds: vec![
                (OpKind::PlainLoad, 3),
                (OpKind::AtomicLoad, 3),
                (OpKind::PlainStore, 3),
                (OpKind::AtomicStore, 3),
                (OpKind::RmwArith, 1),
                (OpKind::Xchg, 1),
                (OpKind::Cmpxchg, 1),
                (OpKind::Fence, 1),
                (OpKind::Wait, 1),
                (OpKind::Notify, 1),
            ],
            widths: vec![1, 2, 4, 8],
            rmw_widths: vec![1, 2, 4, 8],
            arith_ops: vec![RmwOp::Add, RmwOp::And, RmwOp::Or, RmwOp::Xor],
            max_arith_rmws: Some(2),
            wait_widths: vec![4, 8],
            wait_timeouts: vec![0, -1],
            notify_counts: vec![1, u32::MAX],
            addresses: vec![0, 4, 8],
            misaligned: false,
            misaligned_atomics: false,
            values: 1..=2,
            expected: 0..=2,
        }
    }

    /// `fuzz/tests/model_properties.rs`, all-seq-cst same-size programs (compared with the
    /// brute-force SC interleaver, which knows loads, stores and RMWs only): 2–3 threads of
    /// 1–`max_ops` atomic 4-byte loads, stores, adds and exchanges on addresses 0 and 4,
    /// at most `max_arith` adds per program.
    pub fn model_sc_same_size(max_ops: usize, max_arith: Option<usize>) -> GenConfig {
        GenConfig {
            shapes: vec![Shape {
                threads: 2..=3,
                ops: 1..=max_ops.max(1),
            }],
            kinds: vec![
                (OpKind::AtomicStore, 2),
                (OpKind::AtomicLoad, 2),
                (OpKind::RmwArith, 1),
                (OpKind::Xchg, 1),
            ],
            widths: vec![4],
            rmw_widths: vec![4],
            arith_ops: vec![RmwOp::Add],
            max_arith_rmws: max_arith,
            wait_widths: vec![4],
            wait_timeouts: vec![0],
            notify_counts: vec![1],
            addresses: vec![0, 4],
            misaligned: false,
            misaligned_atomics: false,
            values: 1..=2,
            expected: 0..=2,
        }
    }

    /// `fuzz/tests/model_properties.rs`, mixed programs: 2–3 threads of 1–`max_ops` loads and
    /// stores (plain or atomic) and exchanges of widths 1, 2 and 4 on addresses 0, 2 and 4,
    /// possibly misaligned (a misaligned atomic access traps, an outcome too). Exchanges only: arithmetic RMWs on overlapping
    /// mixed-size cells grow the value domain (and the candidate space) by orders of
    /// magnitude (docs/model.md).
    pub fn model_mixed(max_ops: usize) -> GenConfig {
        GenConfig {
            shapes: vec![Shape {
                threads: 2..=3,
                ops: 1..=max_ops.max(1),
            }],
            kinds: vec![
                (OpKind::PlainStore, 1),
                (OpKind::AtomicStore, 1),
                (OpKind::PlainLoad, 1),
                (OpKind::AtomicLoad, 1),
                (OpKind::Xchg, 2),
            ],
            widths: vec![1, 2, 4],
            rmw_widths: vec![1, 2, 4],
            arith_ops: vec![RmwOp::Add],
            max_arith_rmws: Some(0),
            wait_widths: vec![4],
            wait_timeouts: vec![0],
            notify_counts: vec![1],
            addresses: vec![0, 2, 4],
            misaligned: true,
            misaligned_atomics: true,
            values: 1..=2,
            expected: 0..=2,
        }
    }

    /// `fuzz/tests/explore_props.rs`: 2 threads of 1–4 ops or 3 threads of 1–3
    /// (the model's enumeration cost grows with the product of the threads' unfoldings),
    /// loads and stores of every width, plain or atomic, 4-byte adds and exchanges,
    /// cmpxchg, fences, `wait32` for 0 with a 1 µs timeout, notify of one waiter, all on
    /// addresses 0 and 8.
    pub fn explore() -> GenConfig {
        GenConfig {
            shapes: vec![
                Shape {
                    threads: 2..=2,
                    ops: 1..=4,
                },
                Shape {
                    threads: 3..=3,
                    ops: 1..=3,
                },
            ],
            kinds: vec![
                (OpKind::PlainStore, 1),
                (OpKind::AtomicStore, 1),
                (OpKind::PlainLoad, 1),
                (OpKind::AtomicLoad, 1),
                (OpKind::RmwArith, 1),
                (OpKind::Xchg, 1),
                (OpKind::Cmpxchg, 2),
                (OpKind::Fence, 2),
                (OpKind::Wait, 2),
                (OpKind::Notify, 2),
            ],
            widths: vec![1, 2, 4, 8],
            rmw_widths: vec![4],
            arith_ops: vec![RmwOp::Add],
            max_arith_rmws: None,
            wait_widths: vec![4],
            wait_timeouts: vec![1000],
            notify_counts: vec![1],
            addresses: vec![0, 8],
            misaligned: false,
            misaligned_atomics: false,
            values: 1..=2,
            expected: 0..=1,
        }
    }

    /// What is wrong with the config (an empty list, a zero weight, a width other than
    /// 1, 2, 4, 8, an empty range); empty if nothing. The strategy uses a repaired copy
    /// ([`GenConfig::repaired`]) in any case.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.shapes.is_empty() {
            p.push("no shapes".to_string());
        }
        for s in &self.shapes {
            if s.threads.is_empty() || *s.threads.start() == 0 {
                p.push(format!("thread count range {:?} is empty or 0", s.threads));
            }
            if s.ops.is_empty() || *s.ops.start() == 0 {
                p.push(format!("op count range {:?} is empty or 0", s.ops));
            }
        }
        if self.kinds.iter().all(|&(_, w)| w == 0) {
            p.push("no op kind with a positive weight".to_string());
        }
        let lists: [(&str, &[u8], &[u8]); 3] = [
            ("widths", &self.widths, &[1, 2, 4, 8]),
            ("rmw_widths", &self.rmw_widths, &[1, 2, 4, 8]),
            ("wait_widths", &self.wait_widths, &[4, 8]),
        ];
        for (name, list, ok) in lists {
            if list.is_empty() {
                p.push(format!("{name} is empty"));
            }
            for w in list.iter().filter(|w| !ok.contains(w)) {
                p.push(format!("{name}: {w} is not one of {ok:?}"));
            }
        }
        for (name, empty) in [
            ("arith_ops", self.arith_ops.is_empty()),
            ("wait_timeouts", self.wait_timeouts.is_empty()),
            ("notify_counts", self.notify_counts.is_empty()),
            ("addresses", self.addresses.is_empty()),
            ("values", self.values.is_empty()),
            ("expected", self.expected.is_empty()),
        ] {
            if empty {
                p.push(format!("{name} is empty"));
            }
        }
        if self.addresses.iter().any(|&a| a > 65536 - 8) {
            p.push("an address is beyond the first page (65528)".to_string());
        }
        p
    }

    /// A copy in which every problem of [`GenConfig::problems`] is replaced by the
    /// [`GenConfig::xcheck`] setting (empty lists, bad widths dropped, empty ranges), zero
    /// counts raised to 1, weights capped at 2^20 and addresses capped to the first page.
    pub fn repaired(&self) -> GenConfig {
        let d = GenConfig::xcheck();
        let mut c = self.clone();
        c.shapes
            .retain(|s| !s.threads.is_empty() && !s.ops.is_empty());
        for s in &mut c.shapes {
            s.threads = (*s.threads.start()).max(1)..=(*s.threads.end()).max(1);
            s.ops = (*s.ops.start()).max(1)..=(*s.ops.end()).max(1);
        }
        if c.shapes.is_empty() {
            c.shapes = d.shapes;
        }
        c.kinds.retain(|&(_, w)| w > 0);
        // proptest panics if the weights' sum overflows a u32.
        for (_, w) in &mut c.kinds {
            *w = (*w).min(1 << 20);
        }
        if c.kinds.is_empty() {
            c.kinds = d.kinds;
        }
        fn fix<T: Clone>(v: &mut Vec<T>, keep: impl Fn(&T) -> bool, default: Vec<T>) {
            v.retain(keep);
            if v.is_empty() {
                *v = default;
            }
        }
        fix(&mut c.widths, |w| matches!(w, 1 | 2 | 4 | 8), d.widths);
        fix(
            &mut c.rmw_widths,
            |w| matches!(w, 1 | 2 | 4 | 8),
            d.rmw_widths,
        );
        fix(&mut c.wait_widths, |w| matches!(w, 4 | 8), d.wait_widths);
        fix(&mut c.arith_ops, |_| true, d.arith_ops);
        fix(&mut c.wait_timeouts, |_| true, d.wait_timeouts);
        fix(&mut c.notify_counts, |_| true, d.notify_counts);
        fix(&mut c.addresses, |_| true, d.addresses);
        for a in &mut c.addresses {
            *a = (*a).min(65536 - 8);
        }
        if c.values.is_empty() {
            c.values = d.values;
        }
        if c.expected.is_empty() {
            c.expected = d.expected;
        }
        c
    }
}

impl Default for GenConfig {
    /// [`GenConfig::xcheck`].
    fn default() -> Self {
        GenConfig::xcheck()
    }
}

/// The random choices behind one op: its kind and indices into the config's lists.
type RawOp = (OpKind, [Index; 4], u64, u64);

/// Turns the random choices of one op into the op.
fn build_op(c: &GenConfig, (kind, ix, v1, v2): RawOp) -> Op {
    let pick = |i: usize, list: &[u8]| list[ix[i].index(list.len())];
    let addr = c.addresses[ix[0].index(c.addresses.len())];
    let align = |w: u8| addr - addr % w.max(1) as u32;
    let value = *c.values.start() + v1 % (c.values.end() - c.values.start()).saturating_add(1);
    let expected =
        *c.expected.start() + v2 % (c.expected.end() - c.expected.start()).saturating_add(1);
    let access = |atomic: bool| {
        let width = pick(1, &c.widths);
        let keep = if atomic {
            c.misaligned_atomics
        } else {
            c.misaligned
        };
        let addr = if keep { addr } else { align(width) };
        (width, addr)
    };
    match kind {
        OpKind::PlainLoad | OpKind::AtomicLoad => {
            let atomic = kind == OpKind::AtomicLoad;
            let (width, addr) = access(atomic);
            Op::Load {
                width,
                atomic,
                addr,
            }
        }
        OpKind::PlainStore | OpKind::AtomicStore => {
            let atomic = kind == OpKind::AtomicStore;
            let (width, addr) = access(atomic);
            Op::Store {
                width,
                atomic,
                addr,
                value,
            }
        }
        OpKind::RmwArith | OpKind::Xchg => {
            let width = pick(1, &c.rmw_widths);
            let op = if kind == OpKind::Xchg {
                RmwOp::Xchg
            } else {
                c.arith_ops[ix[2].index(c.arith_ops.len())]
            };
            Op::Rmw {
                width,
                op,
                addr: if c.misaligned_atomics {
                    addr
                } else {
                    align(width)
                },
                value,
            }
        }
        OpKind::Cmpxchg => {
            let width = pick(1, &c.rmw_widths);
            Op::Cmpxchg {
                width,
                addr: if c.misaligned_atomics {
                    addr
                } else {
                    align(width)
                },
                expected,
                replacement: value,
            }
        }
        OpKind::Fence => Op::Fence,
        OpKind::Wait => {
            let width = pick(1, &c.wait_widths);
            Op::Wait {
                width,
                addr: align(width),
                expected,
                timeout_ns: c.wait_timeouts[ix[2].index(c.wait_timeouts.len())],
            }
        }
        OpKind::Notify => Op::Notify {
            addr: align(4),
            count: c.notify_counts[ix[2].index(c.notify_counts.len())],
        },
    }
}

/// Replaces arithmetic RMWs beyond the first `max` (in thread, then program order) by
/// exchanges.
fn cap_arith(mut p: LitmusProgram, max: Option<usize>) -> LitmusProgram {
    let Some(max) = max else { return p };
    let mut seen = 0;
    for op in p.threads.iter_mut().flatten() {
        if let Op::Rmw { op: rmw, .. } = op {
            if *rmw != RmwOp::Xchg {
                seen += 1;
                if seen > max {
                    *rmw = RmwOp::Xchg;
                }
            }
        }
    }
    p
}

/// The proptest strategy of programs drawn from `config` (repaired first, see
/// [`GenConfig::repaired`]). Shrinking removes threads and ops and moves choices towards
/// the first entry of each list.
pub fn program_strategy(config: &GenConfig) -> impl Strategy<Value = LitmusProgram> {
    let c = Arc::new(config.repaired());
    let kind = Union::new_weighted(c.kinds.iter().map(|&(k, w)| (w, Just(k))).collect());
    let raw = (kind, any::<[Index; 4]>(), any::<u64>(), any::<u64>());
    let cc = Arc::clone(&c);
    let op: BoxedStrategy<Op> = raw.prop_map(move |r| build_op(&cc, r)).boxed();
    let shapes: Vec<BoxedStrategy<Vec<Vec<Op>>>> = c
        .shapes
        .iter()
        .map(|s| {
            prop::collection::vec(
                prop::collection::vec(op.clone(), s.ops.clone()),
                s.threads.clone(),
            )
            .boxed()
        })
        .collect();
    let max = c.max_arith_rmws;
    Union::new(shapes).prop_map(move |threads| cap_arith(LitmusProgram { threads }, max))
}

/// The 32 bytes of ChaCha seed derived from `seed` (SplitMix64 steps).
fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    heddle_interp::rng::SplitMix64::new(seed).fill(&mut out);
    out
}

/// `n` programs drawn from `config` with a ChaCha RNG seeded from `seed`: the same
/// `(config, seed, n)` gives the same programs on every platform and run (as long as this
/// module and proptest's strategies do not change), and the first `k` programs do not
/// depend on `n`.
pub fn generate(config: &GenConfig, seed: u64, n: usize) -> Vec<LitmusProgram> {
    let strategy = program_strategy(config);
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(seed));
    let mut runner = TestRunner::new_with_rng(proptest::test_runner::Config::default(), rng);
    // The strategy has no filters, so drawing a value cannot fail; a failure would only
    // shorten the list.
    (0..n)
        .filter_map(|_| strategy.new_tree(&mut runner).ok().map(|t| t.current()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wat_of_each_op_shape() {
        let cases = [
            (
                Op::Load {
                    width: 1,
                    atomic: false,
                    addr: 4,
                },
                "(i32.load8_u (i32.const 4))",
            ),
            (
                Op::Load {
                    width: 8,
                    atomic: true,
                    addr: 8,
                },
                "(i64.atomic.load (i32.const 8))",
            ),
            (
                Op::Store {
                    width: 2,
                    atomic: true,
                    addr: 2,
                    value: 1,
                },
                "(i32.atomic.store16 (i32.const 2) (i32.const 1))",
            ),
            (
                Op::Rmw {
                    width: 1,
                    op: RmwOp::Sub,
                    addr: 0,
                    value: 2,
                },
                "(i32.atomic.rmw8.sub_u (i32.const 0) (i32.const 2))",
            ),
            (
                Op::Rmw {
                    width: 8,
                    op: RmwOp::Xchg,
                    addr: 0,
                    value: 2,
                },
                "(i64.atomic.rmw.xchg (i32.const 0) (i64.const 2))",
            ),
            (
                Op::Cmpxchg {
                    width: 2,
                    addr: 0,
                    expected: 0,
                    replacement: 1,
                },
                "(i32.atomic.rmw16.cmpxchg_u (i32.const 0) (i32.const 0) (i32.const 1))",
            ),
            (
                Op::Wait {
                    width: 8,
                    addr: 8,
                    expected: 0,
                    timeout_ns: -1,
                },
                "(memory.atomic.wait64 (i32.const 8) (i64.const 0) (i64.const -1))",
            ),
            (
                Op::Notify {
                    addr: 0,
                    count: u32::MAX,
                },
                "(memory.atomic.notify (i32.const 0) (i32.const -1))",
            ),
        ];
        for (op, wat) in cases {
            assert_eq!(op.wat(), wat);
        }
    }

    #[test]
    fn atomics_are_aligned_and_arith_capped() {
        for p in generate(&GenConfig::xcheck(), 7, 300) {
            let arith = p.ops().filter(|o| o.kind() == OpKind::RmwArith).count();
            assert!(arith <= 2, "{p:?}");
            for op in p.ops() {
                let addr = match *op {
                    Op::Load { addr, .. }
                    | Op::Store { addr, .. }
                    | Op::Rmw { addr, .. }
                    | Op::Cmpxchg { addr, .. }
                    | Op::Wait { addr, .. }
                    | Op::Notify { addr, .. } => addr,
                    Op::Fence => 0,
                };
                assert_eq!(addr % op.width().max(1) as u32, 0, "{op:?}");
            }
        }
    }

    #[test]
    fn broken_config_is_repaired_not_panicking() {
        let bad = GenConfig {
            shapes: vec![],
            kinds: vec![(OpKind::Fence, 0)],
            widths: vec![3],
            rmw_widths: vec![],
            arith_ops: vec![],
            max_arith_rmws: None,
            wait_widths: vec![2],
            wait_timeouts: vec![],
            notify_counts: vec![],
            addresses: vec![u32::MAX],
            misaligned: true,
            misaligned_atomics: false,
            #[allow(clippy::reversed_empty_ranges)]
            values: 3..=1,
            #[allow(clippy::reversed_empty_ranges)]
            expected: 3..=1,
        };
        assert!(bad.problems().len() >= 8, "{:?}", bad.problems());
        assert!(bad.repaired().problems().is_empty());
        assert_eq!(generate(&bad, 1, 20).len(), 20);
        let huge = GenConfig {
            kinds: OpKind::ALL.iter().map(|&k| (k, u32::MAX)).collect(),
            ..GenConfig::xcheck()
        };
        assert_eq!(generate(&huge, 1, 5).len(), 5);
        assert!(GenConfig::xcheck().problems().is_empty());
        assert!(GenConfig::explore().problems().is_empty());
    }
}
