//! Schedulers: who steps next (spec `exec/runtime.rst`, *Configurations*: a global step
//! picks *any* thread; the spec imposes no fairness, Heddle's schedulers are fair so that
//! spin loops such as the one in `threads/wait_notify.wast` terminate).

use crate::rng::SplitMix64;

/// One scheduling decision: which of the `n` runnable candidates runs, and for how many
/// small steps (its quantum, at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Index into the caller's list of runnable candidates, `< n`.
    pub index: usize,
    /// Number of small steps the chosen thread may take before the next decision.
    pub quantum: u64,
}

use crate::runtime::ThreadId;
use std::collections::BTreeMap;

/// Decides who steps next. Implementations must be *fair*: a candidate that stays runnable
/// is eventually picked ([`Pct`] is the exception: it is fair only after its last priority
/// change point). Deterministic given its construction (seed), so runs reproduce.
pub trait Scheduler: Send {
    /// Pick one of `n >= 1` runnable candidates.
    fn pick(&mut self, n: usize) -> Choice;

    /// Pick one of the `runnable` threads (`runnable.len() >= 1`, in creation order), when
    /// `steps` steps have been counted so far: the configuration's small steps
    /// ([`crate::Configuration::run_threads`]), or only those taken while two or more
    /// threads could run (the WASI runner's scheduling steps). A scheduler that tells
    /// threads apart (priorities) overrides this; the default is [`Scheduler::pick`].
    fn pick_thread(&mut self, runnable: &[ThreadId], steps: u64) -> Choice {
        let _ = steps;
        self.pick(runnable.len())
    }
}

/// Round-robin over the runnable candidates with a fixed quantum.
#[derive(Clone, Debug)]
pub struct RoundRobin {
    next: usize,
    quantum: u64,
}

impl RoundRobin {
    /// A round-robin scheduler giving each pick `quantum` small steps (at least 1).
    pub fn new(quantum: u64) -> Self {
        RoundRobin {
            next: 0,
            quantum: quantum.max(1),
        }
    }
}

impl Scheduler for RoundRobin {
    fn pick(&mut self, n: usize) -> Choice {
        let index = self.next % n;
        self.next = self.next.wrapping_add(1);
        Choice {
            index,
            quantum: self.quantum,
        }
    }
}

/// Seeded random scheduling: uniformly random candidate, random quantum in
/// `1..=max_quantum`. The same seed gives the same sequence of choices (SplitMix64).
#[derive(Clone, Debug)]
pub struct SeededRandom {
    rng: SplitMix64,
    max_quantum: u64,
}

impl SeededRandom {
    /// A random scheduler from `seed`, with quanta of at most `max_quantum` steps.
    pub fn new(seed: u64, max_quantum: u64) -> Self {
        SeededRandom {
            rng: SplitMix64::new(seed),
            max_quantum: max_quantum.max(1),
        }
    }
}

impl Scheduler for SeededRandom {
    fn pick(&mut self, n: usize) -> Choice {
        let index = (self.rng.next_u64() % n as u64) as usize;
        let quantum = 1 + self.rng.next_u64() % self.max_quantum;
        Choice { index, quantum }
    }
}

/// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
/// *A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs*, ASPLOS 2010):
/// each thread gets a random priority of at least `depth` when it is first seen; the
/// runnable thread of highest priority runs; `depth - 1` change points are chosen uniformly
/// among the first `steps_bound` steps, and when the run passes change point `i`
/// (`1..depth`), the thread that ran across it drops to priority `i`, below every initial
/// priority. A bug of depth `d` in a run of `k` steps with `n` threads is found with
/// probability at least `1 / (n k^(d-1))` per run.
///
/// Steps are counted as the caller counts them ([`Scheduler::pick_thread`]'s `steps`); a
/// quantum ends at the next change point (at most `max_quantum` steps), so the
/// priority changes at the step the paper says, unless the thread blocked or finished
/// before it (then the change applies to it at its next pick, which is how a change point
/// on a blocked thread's step has no other effect). Not fair: a spinning thread of highest
/// priority holds up the others until a change point (the paper assumes no spin loops).
#[derive(Clone, Debug)]
pub struct Pct {
    rng: SplitMix64,
    depth: u64,
    /// `(step, i)`: at step `step` the running thread drops to priority `i`, sorted by step.
    change_points: Vec<(u64, u64)>,
    priorities: BTreeMap<ThreadId, u64>,
    /// The last thread picked, and the steps taken when it was picked.
    last: Option<(ThreadId, u64)>,
    max_quantum: u64,
}

impl Pct {
    /// A PCT scheduler from `seed`, for bugs of depth `depth` (at least 1: `depth - 1`
    /// change points) in runs of about `steps_bound` steps, with quanta of at most
    /// `max_quantum` steps (at least 1).
    pub fn new(seed: u64, depth: u64, steps_bound: u64, max_quantum: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let depth = depth.max(1);
        let mut change_points: Vec<(u64, u64)> = (1..depth)
            .map(|i| (1 + rng.next_u64() % steps_bound.max(1), i))
            .collect();
        change_points.sort_unstable();
        Pct {
            rng,
            depth,
            change_points,
            priorities: BTreeMap::new(),
            last: None,
            max_quantum: max_quantum.max(1),
        }
    }

    /// The priority of `t`, drawing its initial one (at least `depth`) on first sight.
    fn priority(&mut self, t: ThreadId) -> u64 {
        let (depth, rng) = (self.depth, &mut self.rng);
        *self
            .priorities
            .entry(t)
            .or_insert_with(|| depth + rng.next_u64() % (u64::MAX - depth))
    }
}

impl Scheduler for Pct {
    /// Without thread identities: the first candidate, for one step.
    fn pick(&mut self, _n: usize) -> Choice {
        Choice {
            index: 0,
            quantum: 1,
        }
    }

    fn pick_thread(&mut self, runnable: &[ThreadId], steps: u64) -> Choice {
        // Change points passed since the last pick lower the thread that ran across them.
        if let Some((t, since)) = self.last {
            for &(at, i) in &self.change_points {
                if since < at && at <= steps {
                    self.priorities.insert(t, i);
                }
            }
        }
        let mut best = 0;
        let mut best_priority = 0;
        for (k, &t) in runnable.iter().enumerate() {
            let p = self.priority(t);
            if k == 0 || p > best_priority {
                (best, best_priority) = (k, p);
            }
        }
        self.last = Some((runnable[best], steps));
        let next = self
            .change_points
            .iter()
            .find(|(at, _)| *at > steps)
            .map_or(u64::MAX, |(at, _)| at - steps);
        Choice {
            index: best,
            quantum: next.clamp(1, self.max_quantum),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_visits_every_candidate() {
        let mut rr = RoundRobin::new(5);
        let picks: Vec<usize> = (0..6).map(|_| rr.pick(3).index).collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn seeded_random_reproduces_from_its_seed() {
        let run = |seed| {
            let mut s = SeededRandom::new(seed, 100);
            (0..50).map(|_| s.pick(4)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7)
            .iter()
            .all(|c| c.index < 4 && (1..=100).contains(&c.quantum)));
    }

    #[test]
    fn pct_runs_the_highest_priority_thread_until_a_change_point_lowers_it() {
        let threads = [ThreadId(0), ThreadId(1), ThreadId(2)];
        // Depth 2: one change point within the first 100 steps.
        let mut pct = Pct::new(3, 2, 100, 1_000);
        let first = pct.pick_thread(&threads, 0);
        let at = pct.change_points[0].0;
        assert_eq!(first.quantum, at, "the quantum ends at the change point");
        // Before the change point, the same thread again (it is the highest).
        assert_eq!(pct.pick_thread(&threads, at - 1).index, first.index);
        // Past it, that thread has priority 1, below every other: someone else runs, and
        // keeps running (no change point left: quanta of the maximum).
        let second = pct.pick_thread(&threads, at);
        assert_ne!(second.index, first.index);
        assert_eq!(second.quantum, 1_000);
        assert_eq!(pct.pick_thread(&threads, at + 5).index, second.index);
        // The lowered thread alone still runs.
        assert_eq!(
            pct.pick_thread(&threads[first.index..=first.index], at + 9)
                .index,
            0
        );
    }

    #[test]
    fn pct_reproduces_from_its_seed_and_seeds_differ() {
        let run = |seed| {
            let mut pct = Pct::new(seed, 3, 50, 10);
            let mut steps = 0;
            (0..20)
                .map(|_| {
                    let c = pct.pick_thread(&[ThreadId(0), ThreadId(1), ThreadId(4)], steps);
                    steps += c.quantum;
                    c
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert!((0..8).any(|s| run(s) != run(1)));
    }
}

/// The nondeterministic choices of one exploring run, made through one log so that a run is
/// reproduced exactly by replaying them: which thread steps next, and (with a relaxed
/// memory backend) which write each read observes. Replays a forced prefix, then always
/// takes option 0, and records every choice as `(chosen, number of options)`.
/// Depth-first search over runs is [`ChoiceLog::next_prefix`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChoiceLog {
    forced: Vec<u32>,
    taken: Vec<(u32, u32)>,
    /// A forced choice was out of range (and was clamped to the last option).
    clamped: bool,
}

impl ChoiceLog {
    /// A log that replays `prefix` (choice indices), then takes option 0.
    pub fn replaying(prefix: Vec<u32>) -> Self {
        ChoiceLog {
            forced: prefix,
            taken: Vec::new(),
            clamped: false,
        }
    }

    /// Choose one of `n >= 1` options. A choice with one option is not recorded. A forced
    /// choice out of range (a schedule that does not fit the program) takes the last option.
    pub fn choose(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let c = match self.forced.get(self.taken.len()) {
            Some(&c) if c as usize >= n => {
                self.clamped = true;
                n - 1
            }
            Some(&c) => c as usize,
            None => 0,
        };
        self.taken.push((c as u32, n as u32));
        c
    }

    /// Record a choice the caller made itself (option `c` of `n`; not recorded when
    /// `n <= 1`), as [`ChoiceLog::choose`] records its own: a search that picks threads by
    /// other means (partial-order reduction) still writes a replayable schedule.
    pub fn record(&mut self, c: usize, n: usize) {
        if n > 1 {
            self.taken.push((c as u32, n as u32));
        }
    }

    /// Whether the next choice is still part of the replayed prefix.
    pub fn replaying_prefix(&self) -> bool {
        self.taken.len() < self.forced.len()
    }

    /// Why the forced prefix did not fit the run, if it did not: a choice out of range, or
    /// more choices forced than the run made.
    pub fn misfit(&self) -> Option<String> {
        if self.clamped {
            Some("a choice of the schedule is out of range for this program".into())
        } else if self.forced.len() > self.taken.len() {
            Some(format!(
                "the schedule has {} choices, the run made only {}",
                self.forced.len(),
                self.taken.len()
            ))
        } else {
            None
        }
    }

    /// The choices made so far, `(chosen, options)`.
    pub fn taken(&self) -> &[(u32, u32)] {
        &self.taken
    }

    /// The prefix of the next run in depth-first order: the last choice that has an
    /// untried option, incremented, with everything after it dropped; `None` when every
    /// option of every choice has been tried.
    pub fn next_prefix(&self) -> Option<Vec<u32>> {
        let mut prefix: Vec<u32> = self.taken.iter().map(|(c, _)| *c).collect();
        while let Some((c, n)) = self.taken.get(prefix.len().wrapping_sub(1)).copied() {
            prefix.pop();
            if c + 1 < n {
                prefix.push(c + 1);
                return Some(prefix);
            }
        }
        None
    }

    /// The choices as a schedule string, e.g. `"0.2.1"` (empty for a run with no choice);
    /// [`ChoiceLog::parse_schedule`] reads it back.
    pub fn schedule(&self) -> String {
        self.taken
            .iter()
            .map(|(c, _)| c.to_string())
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Parse a schedule string written by [`ChoiceLog::schedule`].
    pub fn parse_schedule(s: &str) -> Result<Vec<u32>, String> {
        if s.trim().is_empty() {
            return Ok(Vec::new());
        }
        s.trim()
            .split('.')
            .map(|p| {
                p.parse::<u32>()
                    .map_err(|_| format!("bad schedule element {p:?}"))
            })
            .collect()
    }
}

#[cfg(test)]
mod choice_tests {
    use super::*;

    #[test]
    fn depth_first_enumeration_visits_every_combination_once() {
        // Two binary choices, then a ternary one only on the (1, 1) branch.
        let mut seen = Vec::new();
        let mut prefix = Some(Vec::new());
        while let Some(p) = prefix {
            let mut log = ChoiceLog::replaying(p);
            let a = log.choose(2);
            let b = log.choose(2);
            let c = if (a, b) == (1, 1) { log.choose(3) } else { 0 };
            seen.push((a, b, c));
            assert_eq!(
                ChoiceLog::parse_schedule(&log.schedule()).unwrap(),
                log.taken().iter().map(|t| t.0).collect::<Vec<_>>()
            );
            prefix = log.next_prefix();
        }
        assert_eq!(
            seen,
            vec![
                (0, 0, 0),
                (0, 1, 0),
                (1, 0, 0),
                (1, 1, 0),
                (1, 1, 1),
                (1, 1, 2)
            ]
        );
    }
}
