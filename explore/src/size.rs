//! An up-front estimate of how much work an exploration is, so that `heddle explore` can
//! refuse a program it would not finish within its `--timeout` (as `heddle litmus` refuses
//! one with too many events) instead of running for the whole timeout and giving up.
//!
//! The estimate reads the program text: per script thread, the *visible* instructions of
//! the functions it invokes (those that touch a memory: the explorer's choice points),
//! following direct calls (a function called twice counts twice), each instruction once
//! (a loop body counts once). For each access it also notes whether it reads, writes, and
//! which bytes it touches when the address is a constant (`i32.const A` right before the
//! access's other operands, plus the static offset); other accesses, and `memory.size`,
//! `grow`, bulk memory, SIMD and `atomic.fence`, touch "the whole memory".
//!
//! Three counts follow, one per search (`explore`'s module docs):
//!
//! **Optimal DPOR** (`--memory sc`, the default) makes one run per Mazurkiewicz trace
//! (Abdulla et al., JACM 2017, Theorem 9.1), plus a few sleep-set-blocked runs of the
//! parallel split. A trace is determined by the order, in the run, of every pair of
//! dependent steps: steps of one thread (ordered by program order, so nothing to choose) and
//! steps of different threads on overlapping bytes of which at least one writes (DPOR
//! counts RMWs, `wait`, `notify` and whole-memory operations as writes). Group the accesses
//! into *locations*: classes of accesses whose byte ranges overlap (transitively), an
//! access to the whole memory belonging to every class. Within a location, with `w_i`
//! writes and `r_i` reads of thread `i`, `W = Σ w_i` and `W_{≠i} = W − w_i`:
//!
//! * the writes are totally ordered, each thread's in program order: at most the
//!   multinomial `W! / Π w_i!` orders;
//! * given that order, a read is ordered against the other threads' writes only (reads
//!   do not conflict with reads, and its own thread's writes are ordered by program order);
//!   thread `i`'s reads, in program order, fall into the `W_{≠i} + 1` gaps between the
//!   other threads' writes in a non-decreasing way: at most `C(r_i + W_{≠i}, r_i)` ways.
//!
//! Every pair of dependent steps lies in some location (a whole-memory access lies in all),
//! so a trace is determined by its choices in every location, and
//!
//! ```text
//!   traces ≤ Π_locations ( W! / Π_i w_i! · Π_i C(r_i + W_{≠i}, r_i) )
//! ```
//!
//! It is an over-estimate (the locations' orders are counted independently, though some
//! combinations form cycles, and spawns, joins and notifies order more than program order);
//! on the store-buffering rings it is tight: SB 4×6 is 20⁴ = 160,000 against DPOR's 108,113
//! runs, SB 3×6 8,000 against 4,411. A `wait` counts twice (it may block, and be woken or
//! time out: a second step on its cell).
//!
//! **State caching** (`--reduction caching`, `--shard`, and a program whose runs cycle)
//! explores each reachable state once. A state at a choice point is reached by a prefix of
//! some run, and equivalent prefixes (the same trace) reach the same state, so the states
//! are at most the prefixes' traces: at most `Π_i (n_i + 1)` places of the threads (`n_i`
//! visible steps of thread `i`) times the traces of the whole program. The naive count of
//! earlier versions, `Π_i (n_i + 1) · Π_i (1 + W_{≠i})^{R_i}` (places times the values the
//! reads may have returned), is also a bound; the smaller one is used. Each state costs a
//! run's replay from the start (runs replay their prefix), so the work is states × steps.
//!
//! **Relaxed memory** (`--memory relaxed`) is the caching search over runs in which, besides
//! the schedule, each read chooses its source: a read of thread `i` in a location may read
//! the initial value or any write of another thread there (promises included, explore's
//! [`relaxed`](super::relaxed) module), so `Π_reads (1 + W_{≠i})` sources, per value round
//! (at least two rounds). Plain accesses of a memory that cannot grow run without
//! interleaving, so only the places of the other visible steps multiply the count.
//!
//! A program with a loop, recursion or an indirect call around a visible step is not bounded
//! by its text: its counts are those of one pass, an estimate rather than a bound (DPOR
//! falls back to state caching on such programs when a run cycles).
//!
//! [`SizeEstimate::refusal`] turns a count into time at the explorer's best measured speed
//! ([`BEST_SECONDS_PER_STEP`] per visible step of a run, shared by `--jobs` workers) and
//! refuses only a program whose work would take longer than the timeout.

use super::{Plan, Step};
use heddle_interp::store::FuncInst;
use heddle_interp::syntax::{AtomicType, Func, Instr};
use heddle_interp::Module;
use std::collections::HashMap;
use std::sync::Arc;

/// Programs whose naive size ([`SizeEstimate::log10_states`]) is above
/// `10^MAX_LOG10_STATES` are never explored: beyond any timeout, and beyond what the counts
/// of [`SizeEstimate`] can hold. (`--force` explores anything, within its `--timeout`.)
pub const MAX_LOG10_STATES: f64 = 300.0;

/// The explorer's best speed, per visible step of a run, by search: between a half and a
/// quarter of the time measured on the rings on the project's shared machine (SB 4×6 with
/// DPOR: 58 µs per run of 24 steps, 2.4 µs per step; relaxed SB 3×6: 170 µs per run of 18
/// steps, 9.5 µs per step; BENCHMARKS.md), so that a faster machine does not see a program
/// refused that it would finish.
pub const BEST_SECONDS_PER_STEP: [(SearchKind, f64); 3] = [
    (SearchKind::Dpor, 1.0e-6),
    (SearchKind::Caching, 1.0e-6),
    (SearchKind::Relaxed, 2.0e-6),
];

/// Which search an exploration makes (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKind {
    /// Optimal DPOR over sequentially consistent memory.
    Dpor,
    /// State caching over sequentially consistent memory.
    Caching,
    /// State caching over relaxed memory, with promises.
    Relaxed,
}

impl SearchKind {
    fn seconds_per_step(self) -> f64 {
        BEST_SECONDS_PER_STEP
            .iter()
            .find(|(k, _)| *k == self)
            .map_or(1.0e-6, |(_, s)| *s)
    }
}

/// What one script thread contributes to the estimate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadSize {
    /// The script thread's name (`main` for the top level).
    pub name: String,
    /// Visible instructions (choice points) in the functions it invokes.
    pub visible: u64,
    /// Of those, reads: loads, read-modify-writes, cmpxchg, `wait`, bulk copies.
    pub reads: u64,
    /// Of those, writes: stores, read-modify-writes, cmpxchg, bulk operations, `grow`.
    pub writes: u64,
}

/// The size estimate of a litmus script (see the module documentation for the counts).
#[derive(Clone, Debug, PartialEq)]
pub struct SizeEstimate {
    /// Per script thread that invokes something.
    pub threads: Vec<ThreadSize>,
    /// `log10` of the naive number of states, `Π (n_i + 1) · Π (1 + W_{≠i})^{R_i}`.
    pub log10_states: f64,
    /// `log10` of the bound on Mazurkiewicz traces, DPOR's runs.
    pub log10_traces: f64,
    /// `log10` of the bound on the states of the caching search (sequentially consistent).
    pub log10_cached_states: f64,
    /// `log10` of the estimated runs of relaxed exploration, per value round.
    pub log10_relaxed_runs: f64,
    /// Whether a loop, recursion or indirect call surrounds a visible step: the counts are
    /// of one pass, not bounds.
    pub cyclic: bool,
}

/// One visible instruction, as the estimate sees it.
#[derive(Clone, Copy, Debug)]
struct Access {
    /// The bytes `[start, end)` of memory 0 it touches; `None`: unknown, or all of them.
    bytes: Option<(u64, u64)>,
    /// Whether it reads (for the values a relaxed read may take).
    reads: bool,
    /// Whether it writes (for the values others may read).
    writes: bool,
    /// Whether DPOR counts it as a write: it conflicts with every access of its bytes.
    conflicts: bool,
    /// Whether it is a plain (non-atomic) scalar access.
    plain: bool,
    /// How many steps it may take (2 for a `wait`: it may block and then wake or time out).
    steps: u64,
}

/// The visible instructions of one function and its direct callees.
#[derive(Clone, Default)]
struct Accesses {
    list: Vec<Access>,
    cyclic: bool,
}

/// The width in bytes of a scalar load or store, and whether it stores.
fn scalar_width(i: &Instr) -> Option<(u64, bool)> {
    use Instr::*;
    let store = i.plain_scalar_access()?;
    let w = match i {
        I32Load8S(_) | I32Load8U(_) | I64Load8S(_) | I64Load8U(_) | I32Store8(_) | I64Store8(_) => {
            1
        }
        I32Load16S(_) | I32Load16U(_) | I64Load16S(_) | I64Load16U(_) | I32Store16(_)
        | I64Store16(_) => 2,
        I32Load(_) | F32Load(_) | I64Load32S(_) | I64Load32U(_) | I32Store(_) | F32Store(_)
        | I64Store32(_) => 4,
        _ => 8,
    };
    Some((w, store))
}

/// The access instruction `body[pc]` makes, if it is visible.
fn access(func: &Func, pc: usize, targets: &[bool]) -> Option<Access> {
    use Instr::*;
    let i = &func.body[pc];
    i.accessed_memories()?;
    let whole = Access {
        bytes: None,
        reads: true,
        writes: true,
        conflicts: true,
        plain: false,
        steps: 1,
    };
    // (memarg, width, operands pushed after the address, reads, writes, conflicts, steps)
    let (memarg, width, after, reads, writes, conflicts, steps) = match *i {
        _ if i.plain_scalar_access().is_some() => {
            let (w, store) = scalar_width(i)?;
            let m = match *i {
                I32Load(m) | I64Load(m) | F32Load(m) | F64Load(m) | I32Load8S(m) | I32Load8U(m)
                | I32Load16S(m) | I32Load16U(m) | I64Load8S(m) | I64Load8U(m) | I64Load16S(m)
                | I64Load16U(m) | I64Load32S(m) | I64Load32U(m) | I32Store(m) | I64Store(m)
                | F32Store(m) | F64Store(m) | I32Store8(m) | I32Store16(m) | I64Store8(m)
                | I64Store16(m) | I64Store32(m) => m,
                _ => return Some(whole),
            };
            let a = (m, w, usize::from(store), !store, store, store, 1);
            return Some(Access {
                plain: true,
                ..located(func, pc, targets, a).unwrap_or(whole)
            });
        }
        AtomicLoad { width, memarg, .. } => (memarg, width.into(), 0, true, false, false, 1),
        AtomicStore { width, memarg, .. } => (memarg, width.into(), 1, false, true, true, 1),
        AtomicRmw { width, memarg, .. } => (memarg, width.into(), 1, true, true, true, 1),
        AtomicCmpxchg { width, memarg, .. } => (memarg, width.into(), 2, true, true, true, 1),
        AtomicWait { ty, memarg } => {
            let w = if ty == AtomicType::I32 { 4 } else { 8 };
            (memarg, w, 2, true, false, true, 2)
        }
        AtomicNotify(memarg) => (memarg, 4, 1, false, false, true, 1),
        // Bulk memory takes a step per byte on a shared memory (exec/instructions.rst
        // *memory.fill*, *memory.copy*, *memory.init*; docs/deviations.md #32), a copy two
        // (the byte's load and its store): with a constant length `n` right before it, `n`
        // or `2n` steps on the whole memory; otherwise one pass is counted as one step.
        MemoryFill(_) | MemoryInit { .. } | MemoryCopy { .. } => {
            let per_byte = if matches!(i, MemoryCopy { .. }) { 2 } else { 1 };
            let n = match pc.checked_sub(1).map(|k| &func.body[k]) {
                Some(I32Const(n)) if !targets[pc] => u64::from(*n as u32),
                Some(I64Const(n)) if !targets[pc] => *n as u64,
                _ => 1,
            };
            return Some(Access {
                steps: n.saturating_mul(per_byte).max(1),
                ..whole
            });
        }
        _ => return Some(whole),
    };
    let a = (memarg, width, after, reads, writes, conflicts, steps);
    Some(located(func, pc, targets, a).unwrap_or(Access { steps, ..whole }))
}

/// The access at `pc` with its bytes, when its address is a constant: the instruction
/// `after + 1` places before it is `i32.const`/`i64.const`, the `after` ones between are
/// constants too (each pushes one operand), and no branch lands between the address and
/// the access (a branch could bring other operands).
fn located(
    func: &Func,
    pc: usize,
    targets: &[bool],
    (memarg, width, after, reads, writes, conflicts, steps): (
        heddle_interp::syntax::MemArg,
        u64,
        usize,
        bool,
        bool,
        bool,
        u64,
    ),
) -> Option<Access> {
    use Instr::*;
    if memarg.memory != 0 {
        return None;
    }
    let at = pc.checked_sub(after + 1)?;
    let address = match func.body[at] {
        I32Const(a) => u64::from(a as u32),
        I64Const(a) => a as u64,
        _ => return None,
    };
    let operands_are_constants = func.body[at + 1..pc]
        .iter()
        .all(|i| matches!(i, I32Const(_) | I64Const(_) | F32Const(_) | F64Const(_)));
    if !operands_are_constants || targets[at + 1..=pc].iter().any(|&t| t) {
        return None;
    }
    let start = address.checked_add(memarg.offset())?;
    Some(Access {
        bytes: Some((start, start.checked_add(width)?)),
        reads,
        writes,
        conflicts,
        plain: false,
        steps,
    })
}

/// Where branches of `func` land (`true` at each target), and whether one goes backwards
/// (a loop).
fn branch_targets(func: &Func) -> (Vec<bool>, bool) {
    let mut targets = vec![false; func.body.len() + 1];
    let mut backwards = false;
    let mut mark = |from: usize, to: u32| {
        let to = to as usize;
        if to <= from {
            backwards = true;
        }
        if let Some(t) = targets.get_mut(to) {
            *t = true;
        }
    };
    for (pc, i) in func.body.iter().enumerate() {
        match i {
            Instr::Br(t) | Instr::BrIf(t) | Instr::BrUnless(t) => mark(pc, t.pc),
            Instr::BrTable(k) => {
                for t in func.br_tables.get(*k as usize).into_iter().flatten() {
                    mark(pc, t.pc);
                }
            }
            _ => {}
        }
    }
    (targets, backwards)
}

/// The accesses of defined function `index` (in the module's function index space) and,
/// inlined at each call, of the functions it calls directly. A function on the current call
/// path counts nothing more and makes the result cyclic (recursion); results are memoised
/// per module and function.
fn accesses(
    module: &Arc<Module>,
    index: u32,
    memo: &mut HashMap<(usize, u32), Accesses>,
    on_path: &mut Vec<(usize, u32)>,
) -> Accesses {
    let key = (Arc::as_ptr(module) as usize, index);
    if let Some(c) = memo.get(&key) {
        return c.clone();
    }
    if on_path.contains(&key) {
        return Accesses {
            list: Vec::new(),
            cyclic: true,
        };
    }
    let Some(defined) = (index as usize).checked_sub(module.imported_funcs()) else {
        return Accesses::default(); // an imported function: host code, no shared accesses
    };
    let Some(func) = module.funcs.get(defined) else {
        return Accesses::default();
    };
    on_path.push(key);
    let (targets, backwards) = branch_targets(func);
    let mut c = Accesses::default();
    for (pc, instr) in func.body.iter().enumerate() {
        if let Some(a) = access(func, pc, &targets) {
            c.list.push(a);
        }
        match instr {
            Instr::Call(callee) | Instr::ReturnCall(callee) => {
                let inner = accesses(module, *callee, memo, on_path);
                c.list.extend(inner.list);
                c.cyclic |= inner.cyclic;
            }
            // The callee is not known from the text: it may do anything, again.
            Instr::CallIndirect { .. }
            | Instr::ReturnCallIndirect { .. }
            | Instr::CallRef(_)
            | Instr::ReturnCallRef(_) => c.cyclic = true,
            _ => {}
        }
    }
    c.cyclic |= backwards && !c.list.is_empty();
    on_path.pop();
    memo.insert(key, c.clone());
    c
}

/// `log10(n!)`.
fn log10_factorial(n: u64) -> f64 {
    (2..=n).map(|k| (k as f64).log10()).sum()
}

/// `log10` of the binomial coefficient `C(n, k)`.
fn log10_choose(n: u64, k: u64) -> f64 {
    log10_factorial(n) - log10_factorial(k) - log10_factorial(n - k.min(n))
}

/// The locations of the accesses of all threads (`per_thread[i]` is thread `i`'s): classes
/// of accesses with overlapping byte ranges, each access to the whole memory in every class.
/// Each location is given as, per thread, the indices of its accesses there.
fn locations(per_thread: &[Vec<Access>]) -> Vec<Vec<Vec<usize>>> {
    // Known ranges, sorted; overlapping ones merged into classes.
    let mut ranges: Vec<(u64, u64)> = per_thread
        .iter()
        .flatten()
        .filter_map(|a| a.bytes)
        .collect();
    ranges.sort_unstable();
    let mut classes: Vec<(u64, u64)> = Vec::new();
    for (s, e) in ranges {
        match classes.last_mut() {
            Some(last) if s < last.1 => last.1 = last.1.max(e),
            _ => classes.push((s, e)),
        }
    }
    if classes.is_empty() {
        classes.push((0, 0));
    }
    classes
        .iter()
        .map(|&(s, e)| {
            per_thread
                .iter()
                .map(|list| {
                    (0..list.len())
                        .filter(|&k| list[k].bytes.is_none_or(|(a, b)| a < e && s < b))
                        .collect()
                })
                .collect()
        })
        .collect()
}

/// `log10` of the bound on Mazurkiewicz traces (module documentation).
fn log10_traces(per_thread: &[Vec<Access>], locations: &[Vec<Vec<usize>>]) -> f64 {
    let mut total = 0.0;
    for loc in locations {
        let writes = per_thread_sums(loc, per_thread, |a| if a.conflicts { a.steps } else { 0 });
        let reads = per_thread_sums(loc, per_thread, |a| if a.conflicts { 0 } else { a.steps });
        let all: u64 = writes.iter().sum();
        total += log10_factorial(all) - writes.iter().map(|&w| log10_factorial(w)).sum::<f64>();
        for (r, w) in reads.iter().zip(&writes) {
            total += log10_choose(r + (all - w), *r);
        }
    }
    total
}

/// `log10` of the sources relaxed reads may choose from: per read of thread `i`, the
/// initial value or a write of another thread at an overlapping location.
fn log10_read_sources(per_thread: &[Vec<Access>], locations: &[Vec<Vec<usize>>]) -> f64 {
    let mut total = 0.0;
    for loc in locations {
        let writes = per_thread_sums(loc, per_thread, |a| u64::from(a.writes));
        let reads = per_thread_sums(loc, per_thread, |a| u64::from(a.reads));
        let all: u64 = writes.iter().sum();
        for (r, w) in reads.iter().zip(&writes) {
            total += *r as f64 * ((all - w) as f64 + 1.0).log10();
        }
    }
    total
}

/// Per thread `i`, the sum of `weight` over its accesses at one location (`loc[i]`: their
/// indices in `per_thread[i]`).
fn per_thread_sums(
    loc: &[Vec<usize>],
    per_thread: &[Vec<Access>],
    weight: impl Fn(&Access) -> u64,
) -> Vec<u64> {
    loc.iter()
        .zip(per_thread)
        .map(|(ks, list)| ks.iter().map(|&k| weight(&list[k])).sum())
        .collect()
}

impl SizeEstimate {
    /// The search an exploration with these options makes (the DPOR search falls back to
    /// caching when runs cycle: a cyclic program counts as caching).
    pub fn search(&self, relaxed: bool, dpor: bool) -> SearchKind {
        match (relaxed, dpor && !self.cyclic) {
            (true, _) => SearchKind::Relaxed,
            (false, true) => SearchKind::Dpor,
            (false, false) => SearchKind::Caching,
        }
    }

    /// `log10` of the estimated work of `search`, in visible steps run: the runs (DPOR,
    /// relaxed: two value rounds at least) or states (caching, each replayed from the start)
    /// times the visible steps of a run.
    pub fn log10_steps(&self, search: SearchKind) -> f64 {
        let steps: u64 = self.threads.iter().map(|t| t.visible).sum();
        let per_run = (steps.max(1) as f64).log10();
        match search {
            SearchKind::Dpor => self.log10_traces + per_run,
            SearchKind::Caching => self.log10_cached_states + per_run,
            SearchKind::Relaxed => self.log10_relaxed_runs + 2f64.log10() + per_run,
        }
    }

    /// The estimated seconds of `search` at the explorer's best speed, with `jobs`
    /// workers (the caching search of sequentially consistent memory has one).
    pub fn seconds(&self, search: SearchKind, jobs: usize) -> f64 {
        let workers = match search {
            SearchKind::Caching => 1,
            _ => jobs.max(1),
        };
        10f64.powf(self.log10_steps(search)) * search.seconds_per_step() / workers as f64
    }

    /// Why `heddle explore` should refuse the program up front, if it should: when `search`
    /// would take longer than `timeout` seconds at the explorer's best speed with `jobs`
    /// workers (for one of `shards` shards: its share), or the program is beyond any count
    /// ([`MAX_LOG10_STATES`]). The reason says how to go on.
    pub fn refusal(
        &self,
        search: SearchKind,
        timeout: f64,
        jobs: usize,
        shards: u32,
    ) -> Option<String> {
        let seconds = self.seconds(search, jobs) / f64::from(shards.max(1));
        if seconds <= timeout && self.log10_states <= MAX_LOG10_STATES {
            return None;
        }
        let (what, count) = match search {
            SearchKind::Dpor => ("DPOR runs (Mazurkiewicz traces)", self.log10_traces),
            SearchKind::Caching => ("states for the caching search", self.log10_cached_states),
            SearchKind::Relaxed => ("relaxed runs per value round", self.log10_relaxed_runs),
        };
        let mut ways = vec![
            "--force explores it anyway, within --timeout".to_string(),
            "--timeout SECONDS gives it longer".into(),
            "--shard K/N splits it over N machines".into(),
        ];
        if search == SearchKind::Relaxed {
            let sc = self.search(false, true);
            ways.push(format!(
                "--memory sc explores the interleavings only (about {:.0} s)",
                self.seconds(sc, jobs).ceil()
            ));
        }
        if search == SearchKind::Caching && !self.cyclic {
            ways.push(format!(
                "--reduction dpor needs about {:.0} s",
                self.seconds(SearchKind::Dpor, jobs).ceil()
            ));
        }
        Some(format!(
            "too large to explore within --timeout {timeout} s: about 10^{count:.1} {what}, \
             about 10^{:.1} s at best ({}); {}",
            seconds.max(1e-9).log10(),
            self.describe(),
            ways.join(", ")
        ))
    }

    /// A one-line description, e.g. `"about 10^26.7 states (T0: 6 visible steps, T1: 6, …)"`.
    pub fn describe(&self) -> String {
        let per: Vec<String> = self
            .threads
            .iter()
            .map(|t| format!("{}: {}", t.name, t.visible))
            .collect();
        format!(
            "naive count about 10^{:.1} states{}, visible steps per thread: {}",
            self.log10_states,
            if self.cyclic {
                ", loops counted once"
            } else {
                ""
            },
            per.join(", ")
        )
    }
}

/// The size estimate of `plan`.
pub fn estimate(plan: &Plan) -> SizeEstimate {
    let mut memo = HashMap::new();
    let mut cyclic = false;
    let order = plan.outcome_threads();
    let per_thread: Vec<Vec<Access>> = order
        .iter()
        .map(|&i| {
            let mut list = Vec::new();
            for step in &plan.threads[i].steps {
                let Step::Invoke { func, .. } = step else {
                    continue;
                };
                if let Some(FuncInst::Wasm {
                    module,
                    defined_index,
                    ..
                }) = plan.base.store.funcs.get(func.0 as usize)
                {
                    let index = module.imported_funcs() as u32 + defined_index;
                    let a = accesses(module, index, &mut memo, &mut Vec::new());
                    cyclic |= a.cyclic;
                    list.extend(a.list);
                }
            }
            list
        })
        .collect();
    let threads: Vec<ThreadSize> = order
        .iter()
        .zip(&per_thread)
        .map(|(&i, list)| ThreadSize {
            name: plan.threads[i].name.clone(),
            visible: list.len() as u64,
            reads: list.iter().filter(|a| a.reads).count() as u64,
            writes: list.iter().filter(|a| a.writes).count() as u64,
        })
        .collect();
    let all_writes: u64 = threads.iter().map(|t| t.writes).sum();
    let log10_places: f64 = per_thread
        .iter()
        .map(|l| (l.iter().map(|a| a.steps).sum::<u64>() as f64 + 1.0).log10())
        .sum();
    let log10_states = log10_places
        + threads
            .iter()
            .map(|t| t.reads as f64 * ((all_writes - t.writes) as f64 + 1.0).log10())
            .sum::<f64>();
    let locations = locations(&per_thread);
    let log10_traces = log10_traces(&per_thread, &locations);
    // Relaxed runs: the places of the steps that stay choice points, times the sources.
    let eager_plain = plan.shared.is_some_and(|m| {
        let ty = plan.base.store.mems[m.0 as usize].current_type();
        ty.limits.max == Some(ty.limits.min)
    });
    let log10_choice_places: f64 = per_thread
        .iter()
        .map(|l| {
            let n: u64 = l
                .iter()
                .filter(|a| !(eager_plain && a.plain))
                .map(|a| a.steps)
                .sum();
            (n as f64 + 1.0).log10()
        })
        .sum();
    SizeEstimate {
        threads,
        log10_states,
        log10_traces,
        log10_cached_states: log10_states.min(log10_places + log10_traces),
        log10_relaxed_runs: log10_choice_places + log10_read_sources(&per_thread, &locations),
        cyclic,
    }
}
