//! Property tests (MODEL.md §5.8): the literal checker accepts every witness; for
//! all-seq-cst same-size programs the allowed set equals the set of outcomes of all
//! sequentially consistent interleavings (brute force, below); for any program the SC
//! outcomes are a subset of the allowed set.

use heddle_model::program::{Machine, MemRequest, ScriptStep, Step};
use heddle_model::{
    check_execution, enumerate, parse_litmus, Config, InvokeResult, Outcome, Program,
};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Debug)]
enum Op {
    Store {
        addr: u32,
        val: u32,
        sc: bool,
        width: u8,
    },
    Load {
        addr: u32,
        sc: bool,
        width: u8,
    },
    Rmw {
        addr: u32,
        val: u32,
        xchg: bool,
        width: u8,
    },
}

fn suffix(width: u8) -> &'static str {
    match width {
        1 => "8",
        2 => "16",
        _ => "",
    }
}

impl Op {
    fn wat(&self) -> String {
        match *self {
            Op::Store {
                addr,
                val,
                sc,
                width,
            } => {
                let a = if sc { "atomic." } else { "" };
                format!(
                    "(i32.{a}store{} (i32.const {addr}) (i32.const {val}))",
                    suffix(width)
                )
            }
            Op::Load { addr, sc, width } => {
                let a = if sc { "atomic." } else { "" };
                let u = match (width, sc) {
                    (4, _) => "",
                    (_, _) => "_u",
                };
                format!("(i32.{a}load{}{u} (i32.const {addr}))", suffix(width))
            }
            Op::Rmw {
                addr,
                val,
                xchg,
                width,
            } => {
                let op = if xchg { "xchg" } else { "add" };
                let (w, u) = if width == 4 {
                    ("".to_string(), "")
                } else {
                    (suffix(width).to_string(), "_u")
                };
                format!("(i32.atomic.rmw{w}.{op}{u} (i32.const {addr}) (i32.const {val}))")
            }
        }
    }
    fn returns(&self) -> bool {
        !matches!(self, Op::Store { .. })
    }
}

fn to_wast(threads: &[Vec<Op>]) -> String {
    let mut s = String::from("(module $Mem (memory (export \"shared\") 1 1 shared))\n");
    for (i, ops) in threads.iter().enumerate() {
        let n = ops.iter().filter(|o| o.returns()).count();
        let result = if n == 0 {
            String::new()
        } else {
            format!("(result{})", " i32".repeat(n))
        };
        s += &format!("(thread $T{i} (shared (module $Mem))\n  (module (memory (import \"mem\" \"shared\") 1 1 shared)\n    (func (export \"run\") {result}\n");
        for o in ops {
            s += &format!("      {}\n", o.wat());
        }
        s += "    ))\n  (invoke \"run\"))\n";
    }
    for i in 0..threads.len() {
        s += &format!("(wait $T{i})\n");
    }
    s
}

fn op_strategy(sc_same_size: bool) -> impl Strategy<Value = Op> {
    let addr = prop_oneof![Just(0u32), Just(4u32)];
    if sc_same_size {
        prop_oneof![
            (addr.clone(), 1..3u32).prop_map(|(addr, val)| Op::Store {
                addr,
                val,
                sc: true,
                width: 4
            }),
            addr.clone().prop_map(|addr| Op::Load {
                addr,
                sc: true,
                width: 4
            }),
            (addr, 1..3u32, any::<bool>()).prop_map(|(addr, val, xchg)| Op::Rmw {
                addr,
                val,
                xchg,
                width: 4
            }),
        ]
        .boxed()
    } else {
        let addr = prop_oneof![Just(0u32), Just(2u32), Just(4u32)];
        let width = prop_oneof![Just(1u8), Just(2u8), Just(4u8)];
        prop_oneof![
            (addr.clone(), 1..3u32, any::<bool>(), width.clone()).prop_map(
                |(addr, val, sc, width)| Op::Store {
                    addr,
                    val,
                    sc,
                    width
                }
            ),
            (addr.clone(), any::<bool>(), width.clone()).prop_map(|(addr, sc, width)| Op::Load {
                addr,
                sc,
                width
            }),
            // Exchanges only: arithmetic RMWs on overlapping mixed-size cells grow the value
            // domain (and the candidate space) by orders of magnitude; see docs/model.md.
            (addr, 1..3u32, width).prop_map(|(addr, val, width)| Op::Rmw {
                addr,
                val,
                xchg: true,
                width
            }),
        ]
        .boxed()
    }
}

fn program_strategy(sc_same_size: bool, max_ops: usize) -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(
        prop::collection::vec(op_strategy(sc_same_size), 1..=max_ops),
        2..=3,
    )
}

/// One thread of the brute-force interleaver.
#[derive(Clone)]
struct Th {
    step: usize,
    machine: Option<Machine>,
    pending: Option<Step>,
    results: Vec<InvokeResult>,
}

/// All outcomes of sequentially consistent interleavings in which every memory operation
/// is one atomic step on a byte array (MODEL.md §9.1). Threads without spawn/join nesting.
fn sc_outcomes(prog: &Program) -> BTreeSet<Outcome> {
    let n = prog.threads.len();
    let mut ths: Vec<Th> = (0..n)
        .map(|_| Th {
            step: 0,
            machine: None,
            pending: None,
            results: Vec::new(),
        })
        .collect();
    for (t, th) in ths.iter_mut().enumerate() {
        advance(prog, t, th);
    }
    let mut out = BTreeSet::new();
    dfs(prog, &ths, &HashMap::new(), &mut out);
    out
}

/// Runs thread-local steps until the thread's next memory operation or its end.
fn advance(prog: &Program, t: usize, th: &mut Th) {
    loop {
        if let Some(m) = th.machine.as_mut() {
            match m.run() {
                Step::Done(vs) => {
                    th.results.push(InvokeResult::Values(vs));
                    th.machine = None;
                    th.step += 1;
                }
                Step::Trap(..) => {
                    th.results.push(InvokeResult::Trap);
                    th.machine = None;
                    th.step += 1;
                }
                s @ Step::Mem(..) => {
                    th.pending = Some(s);
                    return;
                }
            }
            continue;
        }
        match prog.threads[t].steps.get(th.step) {
            None => return,
            Some(ScriptStep::Invoke { func, args, .. }) => {
                th.machine = Some(Machine::new(func.clone(), args, prog.memory_size));
            }
            Some(_) => th.step += 1,
        }
    }
}

fn dfs(prog: &Program, ths: &[Th], mem: &HashMap<u32, u8>, out: &mut BTreeSet<Outcome>) {
    let mut any = false;
    for t in 0..ths.len() {
        let Some(Step::Mem(req, _)) = &ths[t].pending else {
            continue;
        };
        any = true;
        let mut ths2 = ths.to_vec();
        let mut mem2 = mem.clone();
        let get = |mem: &HashMap<u32, u8>, a: u32, w: u8| -> Vec<u8> {
            (a..a + w as u32)
                .map(|k| mem.get(&k).copied().unwrap_or_else(|| prog.init_byte(k)))
                .collect()
        };
        let th = &mut ths2[t];
        let m = th
            .machine
            .as_mut()
            .expect("pending request without machine");
        match req {
            MemRequest::Load { addr, width, .. } => {
                let v = req.loaded(&get(&mem2, *addr, *width));
                m.resume(Some(v));
            }
            MemRequest::Store { addr, bytes, .. } => {
                for (i, b) in bytes.iter().enumerate() {
                    mem2.insert(addr + i as u32, *b);
                }
                m.resume(None);
            }
            MemRequest::Rmw { addr, width, .. } => {
                let (v, w) = req.rmw_outcome(&get(&mem2, *addr, *width));
                for (i, b) in w.unwrap_or_default().iter().enumerate() {
                    mem2.insert(addr + i as u32, *b);
                }
                m.resume(Some(v));
            }
            other => panic!("interleaver does not model {other:?}"),
        }
        th.pending = None;
        advance(prog, t, th);
        dfs(prog, &ths2, &mem2, out);
    }
    if !any {
        let mut o = Outcome::default();
        let mut order: Vec<usize> = (1..ths.len()).collect();
        order.push(0);
        for t in order {
            if prog.threads[t]
                .steps
                .iter()
                .any(|s| matches!(s, ScriptStep::Invoke { .. }))
            {
                o.threads
                    .push((prog.threads[t].name.clone(), ths[t].results.clone()));
            }
        }
        out.insert(o);
    }
}

/// A fixed seed: enumeration time varies a lot between random programs, and CI must not
/// depend on luck (set `PROPTEST_RNG_SEED` or change the seed locally to search further).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x004d_4f44_454c),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// All-seq-cst, same-size programs: allowed set == SC interleavings (SC-DRF, MODEL.md §5.8).
    #[test]
    fn sc_same_size_allowed_equals_sc_interleavings(threads in program_strategy(true, 3).prop_filter(
        "at most two arithmetic RMWs (each one grows the value domain)",
        |ts| ts.iter().flatten().filter(|o| matches!(o, Op::Rmw { xchg: false, .. })).count() <= 2,
    )) {
        let text = to_wast(&threads);
        let prog = parse_litmus(&text).expect("generated program parses");
        let en = match enumerate(&prog, &Config::default()) {
            Err(heddle_model::ModelError::TooManyCandidates(_)) => return Err(TestCaseError::reject("too large")),
            r => r.expect("enumerates"),
        };
        let allowed: BTreeSet<Outcome> = en.allowed.keys().cloned().collect();
        let sc = sc_outcomes(&prog);
        prop_assert_eq!(allowed, sc, "program:\n{}", text);
    }

    /// Any program (mixed orderings, widths, overlapping and misaligned accesses):
    /// SC outcomes ⊆ allowed, and the literal checker accepts every witness.
    #[test]
    fn sc_outcomes_are_allowed_and_witnesses_check(threads in program_strategy(false, 3)) {
        let text = to_wast(&threads);
        let prog = parse_litmus(&text).expect("generated program parses");
        let cfg = Config::default();
        let en = match enumerate(&prog, &cfg) {
            Err(heddle_model::ModelError::TooManyCandidates(_)) => return Err(TestCaseError::reject("too large")),
            r => r.expect("enumerates"),
        };
        for o in sc_outcomes(&prog) {
            prop_assert!(en.allowed.contains_key(&o), "SC outcome {} not allowed in\n{}", o, text);
        }
        for (o, ex) in &en.allowed {
            prop_assert_eq!(check_execution(ex, &cfg), Ok(()), "witness of {}", o);
            prop_assert_eq!(&ex.hb, &ex.least_hb(), "witness hb of {} is not the least hb", o);
        }
    }

    /// The JS-2019 model (no (†), no (‡)) allows at least what the default model allows,
    /// and its witnesses pass its own checker.
    #[test]
    fn weaker_switches_allow_more(threads in program_strategy(true, 2)) {
        let text = to_wast(&threads);
        let prog = parse_litmus(&text).expect("generated program parses");
        let strong = enumerate(&prog, &Config::default()).expect("enumerates");
        let js = Config { dagger: false, ddagger: false, ..Config::default() };
        let weak = enumerate(&prog, &js).expect("enumerates");
        for o in strong.allowed.keys() {
            prop_assert!(weak.allowed.contains_key(o));
        }
        for ex in weak.allowed.values() {
            prop_assert_eq!(check_execution(ex, &js), Ok(()));
        }
    }
}
