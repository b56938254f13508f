//! An up-front estimate of how large an exploration is, so that `heddle explore` can refuse a
//! program far too large to finish (as `heddle litmus` refuses one with too many events)
//! instead of running silently for hours.
//!
//! The estimate counts, per script thread, the *visible* instructions of the functions it
//! invokes (those that read or write a memory: the choice points of the
//! explorer), following direct calls, each instruction once (a loop body counts once). For
//! straight-line code, a state the explorer caches is determined by where each thread is
//! (`n_i + 1` places for `n_i` visible steps) and by the values its reads returned; a read may
//! return the initial value or that of any write of another thread. So the estimate is
//!
//! ```text
//!   states ≈ Π_i (n_i + 1) · Π_i (1 + W_{≠i})^{R_i}
//! ```
//!
//! where `R_i` is the number of reads (loads, RMWs, `wait`s) of thread `i` and `W_{≠i}` the
//! number of writes of the other threads. Addresses are not compared (every write counts for
//! every read), so the estimate is on the high side; it is used only to refuse programs
//! many orders of magnitude beyond what finishes ([`MAX_LOG10_STATES`]).

use super::{Plan, Step};
use heddle_interp::store::FuncInst;
use heddle_interp::syntax::Instr;
use heddle_interp::Module;
use std::collections::HashMap;
use std::sync::Arc;

/// Programs whose estimated number of states is above `10^MAX_LOG10_STATES` are refused by
/// `heddle explore` unless `--force` is given. At the explorer's best speed (about a
/// microsecond per state) 10^18 states would take tens of thousands of years; the SB ring of
/// 4 threads × 6 accesses, which finishes, is estimated at about 10^15.4, the ring of 6 × 6,
/// which does not, at about 10^26.7.
pub const MAX_LOG10_STATES: f64 = 18.0;

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

/// The size estimate of a litmus script (see the module documentation for the formula).
#[derive(Clone, Debug, PartialEq)]
pub struct SizeEstimate {
    /// Per script thread that invokes something.
    pub threads: Vec<ThreadSize>,
    /// `log10` of the estimated number of states.
    pub log10_states: f64,
}

impl SizeEstimate {
    /// Whether the estimate is above [`MAX_LOG10_STATES`].
    pub fn far_too_large(&self) -> bool {
        self.log10_states > MAX_LOG10_STATES
    }

    /// A one-line description, e.g. `"about 10^26.7 states (T0: 6 visible steps, T1: 6, …)"`.
    pub fn describe(&self) -> String {
        let per: Vec<String> = self
            .threads
            .iter()
            .map(|t| format!("{}: {}", t.name, t.visible))
            .collect();
        format!(
            "about 10^{:.1} states (visible steps per thread: {})",
            self.log10_states,
            per.join(", ")
        )
    }
}

/// Visible-instruction counts of one function and its direct callees.
#[derive(Clone, Copy, Default)]
struct Counts {
    visible: u64,
    reads: u64,
    writes: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.visible = self.visible.saturating_add(o.visible);
        self.reads = self.reads.saturating_add(o.reads);
        self.writes = self.writes.saturating_add(o.writes);
    }
}

/// Whether a visible instruction reads, writes (both for RMWs and SIMD accesses, whose
/// direction is not distinguished here).
fn kind(i: &Instr) -> (bool, bool) {
    use Instr::*;
    if let Some(store) = i.plain_scalar_access() {
        return (!store, store);
    }
    match i {
        AtomicLoad { .. } | AtomicWait { .. } => (true, false),
        AtomicStore { .. } | MemoryFill(_) | MemoryInit { .. } | MemoryGrow(_) => (false, true),
        AtomicRmw { .. } | AtomicCmpxchg { .. } | MemoryCopy { .. } | Simd(_) => (true, true),
        _ => (false, false),
    }
}

/// Counts of defined function `index` (in the module's function index space) and, once
/// each, the functions it calls directly. A function on the current call path counts 0
/// (recursion); results are memoised per module and function.
fn count(
    module: &Arc<Module>,
    index: u32,
    memo: &mut HashMap<(usize, u32), Counts>,
    on_path: &mut Vec<(usize, u32)>,
) -> Counts {
    let key = (Arc::as_ptr(module) as usize, index);
    if let Some(c) = memo.get(&key) {
        return *c;
    }
    if on_path.contains(&key) {
        return Counts::default();
    }
    let Some(defined) = (index as usize).checked_sub(module.imported_funcs()) else {
        return Counts::default(); // an imported function: host code, no shared accesses
    };
    let Some(func) = module.funcs.get(defined) else {
        return Counts::default();
    };
    on_path.push(key);
    let mut c = Counts::default();
    for instr in &func.body {
        if instr.accessed_memories().is_some() {
            let (r, w) = kind(instr);
            c.add(Counts {
                visible: 1,
                reads: u64::from(r),
                writes: u64::from(w),
            });
        }
        if let Instr::Call(callee) = instr {
            c.add(count(module, *callee, memo, on_path));
        }
    }
    on_path.pop();
    memo.insert(key, c);
    c
}

/// The size estimate of `plan`.
pub fn estimate(plan: &Plan) -> SizeEstimate {
    let mut memo = HashMap::new();
    let threads: Vec<ThreadSize> = plan
        .outcome_threads()
        .into_iter()
        .map(|i| {
            let mut c = Counts::default();
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
                    c.add(count(module, index, &mut memo, &mut Vec::new()));
                }
            }
            ThreadSize {
                name: plan.threads[i].name.clone(),
                visible: c.visible,
                reads: c.reads,
                writes: c.writes,
            }
        })
        .collect();
    let all_writes: u64 = threads.iter().map(|t| t.writes).sum();
    let log10_states = threads
        .iter()
        .map(|t| {
            let others = all_writes - t.writes;
            (t.visible as f64 + 1.0).log10() + t.reads as f64 * (others as f64 + 1.0).log10()
        })
        .sum();
    SizeEstimate {
        threads,
        log10_states,
    }
}
