//! Relaxed exploration, complete for finite programs: promises over a value domain closed
//! by rounds, and plain accesses run without interleaving.
//!
//! The relaxed backend ([`RelaxedMemory`], MODEL.md §9.3) lets a read take any executed
//! write the consistency rules allow when it executes; with [`Promises`] a byte may also
//! take a value that a write later in `tot` is to write, checked when the run ends
//! ([`SharedMemory::fulfil_promises`]). Two questions remain, answered here.
//!
//! **Which values may a read guess?** Per byte address, every byte that some *execution*
//! writes there, to a fixpoint: the values are justified by executions, not by guesses.
//! Round 1 explores without guesses (as the backend without promises) and collects
//! the values written by its runs that kept their promises (executions of the model); each
//! further round explores with everything collected so far; the first round that finds no
//! new value closes the domain, and its result is the exploration's (every read's options
//! in a round include those of the earlier rounds, so its reachable outcomes include
//! theirs). A value that only a self-justifying cycle could produce is never guessed, so
//! out-of-thin-air values (LB+data's 42) stay excluded, as in the model's default. (The
//! model's enumerator, MODEL.md §5.2, takes its domain from the writes of every
//! thread-local unfolding, consistent or not, cut after a number of rounds; the two agree
//! on the catalogue and on the random programs of the tests.) A program whose executions
//! keep making new values does not close within [`MAX_VALUE_ROUNDS`] rounds: the result is
//! incomplete ([`Stopped::ValueRounds`]).
//!
//! **Which schedules?** Only the order of seq-cst and suspension events matters. A plain
//! (`unord`) scalar load or store synchronises with nothing, and every clause of the rules
//! that looks at `tot` (sc-last-visible, C7, and the suspension rules, C9; relaxed.rst
//! l.177–231) relates seq-cst or suspension events only; `hb ⊆ tot` (C0) is about hb,
//! whose edges between threads all join seq-cst or suspension events (synchronises-with,
//! suspension order) or are spawn and join. So given a consistent execution, moving each
//! plain event to just after its thread's previous event keeps it consistent (same
//! reads-from, same hb, same order of the seq-cst and suspension events), and in that
//! order every read's source is an executed write it may read now or a later write it may
//! be promised. The explorer therefore runs plain scalar accesses of the litmus memory
//! without interleaving ([`Configuration::next_is_plain_access`]), making choice points
//! only for the other visible steps. This needs a memory whose length cannot change
//! (bounds checks read the current length, which `memory.grow` changes at a point of the
//! schedule); for a memory that can still grow, every access stays a choice point.
//!
//! [`Configuration::next_is_plain_access`]: heddle_interp::Configuration::next_is_plain_access
//! [`RelaxedMemory`]: heddle_interp::RelaxedMemory
//! [`SharedMemory::fulfil_promises`]: heddle_interp::memory::SharedMemory::fulfil_promises

use super::{
    explore_caching, search_caching, Exploration, ExploreOptions, Plan, Run, RunBase, Search,
    Shard, StateCache, Stopped,
};
use heddle_interp::{Promises, ValueDomain};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

/// At most this many rounds of the value domain (the domain grows each round until it
/// closes; see the module documentation).
pub const MAX_VALUE_ROUNDS: u32 = 8;

/// Explore `plan` on relaxed memory with promises (see the module documentation). The
/// result is the closing round's, with runs counted over all rounds. With a shard, the
/// domain is computed on the whole tree first, then the shard is explored with it.
pub(super) fn explore_relaxed(
    plan: &Plan,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
) -> Result<Exploration, String> {
    let started = Instant::now();
    let whole = ExploreOptions {
        shard: None,
        ..opts.clone()
    };
    let (result, domain) = rounds(plan, &whole, observe, started)?;
    if opts.shard.is_none() || result.stopped.is_some() {
        return Ok(result);
    }
    let mut part = explore_caching(
        plan,
        opts,
        observe,
        Some(Arc::new(Promises::new(domain))),
        started,
    )?;
    part.rounds = result.rounds;
    Ok(part)
}

/// The value domain of promises for `plan` (the closing round's), computed as
/// [`explore_relaxed`] does; for replaying a schedule, whose read choices depend on it.
///
/// Errors: as [`super::explore`]; and an exploration that stops before the domain closes.
pub(super) fn value_domain(plan: &Plan, opts: &ExploreOptions) -> Result<ValueDomain, String> {
    let whole = ExploreOptions {
        shard: None,
        keep_traces: false,
        ..opts.clone()
    };
    let (result, domain) = rounds(plan, &whole, &mut |_| {}, Instant::now())?;
    match result.stopped {
        None => Ok(domain),
        Some(why) => Err(format!(
            "the value domain of the relaxed exploration did not close ({why})"
        )),
    }
}

/// Rounds of unsharded exploration until the domain closes or a bound stops one: the last
/// round's result (runs counted over all rounds) and the domain it explored with.
fn rounds(
    plan: &Plan,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
    started: Instant,
) -> Result<(Exploration, ValueDomain), String> {
    let mut domain = ValueDomain::default();
    let mut earlier = Exploration::default();
    for round in 1..=MAX_VALUE_ROUNDS {
        let promises = Arc::new(Promises::new(domain.clone()));
        let budget = ExploreOptions {
            max_executions: opts.max_executions.saturating_sub(earlier.executions),
            ..opts.clone()
        };
        let mut result = explore_round(plan, &budget, observe, promises.clone(), started)?;
        result.rounds = round;
        result.executions += earlier.executions;
        result.pruned += earlier.pruned;
        result.step_bounded += earlier.step_bounded;
        result.broken_promises += earlier.broken_promises;
        let grew = domain.extend(&promises.written());
        if result.stopped.is_some() || !grew {
            return Ok((result, promises.offered().clone()));
        }
        earlier = result;
    }
    earlier.complete = false;
    earlier.stopped = Some(Stopped::ValueRounds);
    Ok((earlier, domain))
}

/// Subtrees a round of a large program is split into for parallel workers (at least this
/// many, when the tree is that wide; fixed, so that the result does not depend on the
/// number of workers).
const SUBTREES: usize = 32;

/// Programs whose size estimate ([`super::size::estimate`]) is below `10^SPLIT_MIN_LOG10`
/// are explored as one tree (splitting costs runs and the sharing of states between
/// subtrees).
const SPLIT_MIN_LOG10: f64 = 9.0;

/// One round: the caching search over the whole tree, or, for a large program, over the
/// [`subtrees`] of its top ([`super::explore_subtrees`]: `--jobs` workers, the result the
/// same for any number of them). Each subtree has its own state cache. With a shard, the
/// shard's part, sequentially.
fn explore_round(
    plan: &Plan,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
    promises: Arc<Promises>,
    started: Instant,
) -> Result<Exploration, String> {
    if opts.shard.is_some() || super::size::estimate(plan).log10_states < SPLIT_MIN_LOG10 {
        return explore_caching(plan, opts, observe, Some(promises), started);
    }
    let base = RunBase::with_promises(plan, opts, Some(promises.clone()))?;
    let tasks = subtrees(plan, &base, opts);
    let runs = AtomicU64::new(0);
    let mut result = Exploration {
        reduction: super::Reduction::Caching,
        ..Exploration::default()
    };
    super::explore_subtrees(
        plan,
        opts,
        &base,
        &|plan| RunBase::with_promises(plan, opts, Some(promises.clone())),
        &tasks,
        &|plan, base, root| search_caching(plan, base, opts, &mut |_| {}, root, &runs, started),
        &mut result,
        observe,
    )??;
    result.complete = result.stopped.is_none();
    Ok(result)
}

/// The roots (choice prefixes) of at least [`SUBTREES`] disjoint subtrees that cover the
/// tree, found breadth first: a node is replaced by its children, learnt from one run
/// through it (with a state cache of its own, so that a cycle ends the run). A node where
/// the run makes no further choice is a subtree of one run.
fn subtrees(plan: &Plan, base: &RunBase, opts: &ExploreOptions) -> Vec<Vec<u32>> {
    let mut tasks: Vec<Vec<u32>> = vec![Vec::new()];
    while tasks.len() < SUBTREES {
        let mut next = Vec::new();
        let mut grew = false;
        for t in tasks {
            let run = Run::new(plan, base, t.clone());
            let log = run.log.clone();
            let mut visited = StateCache::new(opts.state_hash);
            run.run(
                Some(Search {
                    visited: &mut visited,
                    shard: Shard { index: 0, count: 1 },
                    split_depth: 0,
                }),
                opts,
            );
            let options = log
                .lock()
                .expect("choice log")
                .taken()
                .get(t.len())
                .map(|&(_, n)| n);
            match options {
                Some(n) => {
                    grew = true;
                    next.extend((0..n).map(|c| {
                        let mut child = t.clone();
                        child.push(c);
                        child
                    }));
                }
                None => next.push(t),
            }
        }
        tasks = next;
        if !grew {
            break;
        }
    }
    tasks
}
