//! Exploring the executions of a litmus script (`heddle explore`).
//!
//! The spec's operational semantics (runtime.rst, *Configurations*) lets any thread take the
//! next step, and (relaxed.rst) lets a read of shared memory return any value the memory
//! model allows. This module explores both kinds of choice exhaustively for a litmus
//! `.wast` file (the format of `heddle litmus`: one shared memory, `thread` blocks that
//! invoke exported functions, `wait`s, and optional observer invokes on the main script):
//!
//! * **Script set-up** is deterministic: every module of the file (main script and threads)
//!   is instantiated once, in file order, before anything runs; each script thread becomes
//!   one interpreter thread that runs its invokes one after the other, spawns its children
//!   and joins them (`wait`) as the script says.
//! * **Choice points** are only the *visible* steps: a step that touches the shared memory
//!   ([`Configuration::next_is_visible`]) or a wait's timeout. Everything else a thread does
//!   cannot affect or be affected by other threads, so it runs without interleaving.
//! * **Reduction**: with sequentially consistent memory, optimal dynamic partial-order
//!   reduction ([`dpor`]: source sets and wake-up trees, one run per Mazurkiewicz trace,
//!   split into independent subtrees for parallel workers). Where it does not apply (a run
//!   cycles, e.g. a spin loop; relaxed memory; shards), state caching: at each choice point
//!   the whole state (configuration, memory backend, script positions) is encoded exactly
//!   ([`StateEncoder`]); a state equal to one seen before in a completed part of the
//!   search, or on the current path (a cycle), is not explored again ([`StateCache`]: the
//!   hash picks a bucket, the encoding decides). Two independent steps taken in either order
//!   reach the same state, so each order after the first is cut there, and spin loops
//!   terminate.
//! * **Search**: depth first over the [`ChoiceLog`] of a run: each run replays a prefix of
//!   choices and records the rest; the schedule string of a run reproduces it exactly
//!   (`--replay`).
//! * **Bounds**: `max_executions` runs, `max_steps` small steps per run and an optional
//!   `timeout`; hitting any makes the result incomplete ([`Exploration::stopped`]), never a
//!   hang. [`size::estimate`] tells up front whether a program is far too large.
//! * **Shards**: with [`ExploreOptions::shard`], only a deterministic part of the tree is
//!   explored, and the shards' results unite to the whole ([`shard`]).
#![deny(missing_docs)]

use heddle_interp::trace::{Trace, TraceAction};
use heddle_interp::{
    ChoiceLog, Configuration, ExecLimits, ExternVal, FuncAddr, MemAddr, Module, Promises,
    RelaxedMemory, ThreadId, ThreadStatus, Value,
};
use heddle_litmus::race_report::RaceReport;
use heddle_litmus::script::{lower, Action, Cmd, Directive};
use heddle_litmus::spectest::{self, Exports};
use heddle_model::{InvokeResult, Outcome};
use indexmap::IndexMap;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

pub mod dpor;
pub mod relaxed;
pub mod rings;
pub mod shard;
pub mod size;

pub use shard::Shard;

/// Which shared-memory backend the exploration runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MemoryMode {
    /// Sequentially consistent bytes (MODEL.md §9.1): only thread interleavings vary.
    #[default]
    Sc,
    /// The relaxed backend (MODEL.md §9.3): reads may also return older writes, as the
    /// model allows.
    Relaxed,
}

/// How the search avoids exploring equivalent schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Optimal dynamic partial-order reduction with source sets and wake-up trees
    /// ([`dpor`]), for sequentially consistent memory without shards; a file whose runs
    /// cycle (spin loops), or a relaxed or sharded exploration, uses [`Reduction::Caching`].
    #[default]
    Dpor,
    /// State caching: every state reached at a choice point is explored once.
    Caching,
}

impl Reduction {
    /// The name of `--reduction`.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Dpor => "dpor",
            Reduction::Caching => "caching",
        }
    }
}

/// Bounds and backend of an exploration.
#[derive(Clone, Debug)]
pub struct ExploreOptions {
    /// Which shared-memory backend the runs use.
    pub memory: MemoryMode,
    /// At most this many runs; more makes the result incomplete.
    pub max_executions: u64,
    /// At most this many small steps per run; a longer run is cut and the result is
    /// incomplete.
    pub max_steps: u64,
    /// Keep the trace of every run that reaches an outcome (for checking).
    pub keep_traces: bool,
    /// Stop starting new runs after this long (wall clock, from the start of [`explore`]);
    /// the result is then incomplete. `None`: no time bound.
    pub timeout: Option<Duration>,
    /// Explore only this shard of the search tree ([`shard`]); `None` explores all of it.
    pub shard: Option<Shard>,
    /// The reduction to use ([`Reduction::Dpor`] falls back to caching where it does not
    /// apply).
    pub reduction: Reduction,
    /// Workers for one file's DPOR search and for the subtrees of a large relaxed
    /// exploration (at least 1; the result does not depend on it). The caching search of
    /// sequentially consistent memory (shards, cycles) is sequential.
    pub jobs: usize,
    /// The hash that files states into the state cache's buckets ([`StateCache`]). Only
    /// the speed of the search depends on it: states are pruned when their encodings are
    /// equal, not their hashes. Tests replace it with a colliding one.
    pub state_hash: StateHash,
    /// Whether a `memory.grow` of the litmus memory may fail (return -1) though it would
    /// fit, as instructions.rst *memory.grow* 10.b allows: a choice point of every grow.
    /// The model's switch of the same name (`heddle_model::Config::spurious_grow_failure`,
    /// `--grow-fails-only-at-max` turns both off); on by default, as there.
    pub spurious_grow_failure: bool,
    /// Detect races on every run ([`heddle_interp::race`]; sequentially consistent
    /// memory, one shared memory): [`Exploration::races`].
    pub races: bool,
}

/// The function that hashes a state's encoding ([`ExploreOptions::state_hash`]).
#[derive(Clone, Copy)]
pub struct StateHash(pub fn(&[u8]) -> u64);

impl StateHash {
    /// FxHash of the encoding (the default).
    pub fn fx(encoding: &[u8]) -> u64 {
        let mut h = rustc_hash::FxHasher::default();
        h.write(encoding);
        h.finish()
    }
}

impl Default for StateHash {
    fn default() -> Self {
        StateHash(StateHash::fx)
    }
}

impl std::fmt::Debug for StateHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateHash")
    }
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            memory: MemoryMode::Sc,
            max_executions: 1_000_000,
            max_steps: 100_000,
            keep_traces: false,
            timeout: None,
            shard: None,
            reduction: Reduction::Dpor,
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            state_hash: StateHash::default(),
            spurious_grow_failure: true,
            races: false,
        }
    }
}

/// One step of a script thread's plan.
#[derive(Clone, Debug)]
enum Step {
    Invoke { func: FuncAddr, args: Vec<Value> },
    Spawn(usize),
    Join(usize),
}

/// A script thread: its name (without `$`, `main` for the top level) and its steps.
#[derive(Clone, Debug)]
struct PlanThread {
    name: String,
    steps: Vec<Step>,
}

/// A litmus script, set up: the configuration after instantiating every module, and the
/// script threads (index 0 is `main`; the others in the order their `thread` blocks
/// appear in the file).
#[derive(Clone, Debug)]
pub struct Plan {
    base: Configuration,
    threads: Vec<PlanThread>,
    shared: Option<MemAddr>,
    /// How many shared memories the script itself defines.
    shared_count: usize,
    /// Whether some function of the script may grow the litmus memory ([`Plan::grows`]).
    grows: bool,
}

/// Scope of names while setting up: registered modules and named instances.
#[derive(Clone, Default)]
struct Scope {
    registry: IndexMap<String, Arc<Exports>>,
    named: HashMap<String, Arc<Exports>>,
    last: Option<Arc<Exports>>,
}

impl Plan {
    /// Set up a litmus script from its text.
    ///
    /// Errors: a parse error, a module that does not decode or instantiate, an invoke of an
    /// unknown export, or a directive that has no meaning in a litmus test (`get`), each
    /// with its line.
    pub fn from_text(text: &str) -> Result<Plan, String> {
        // A syntax error names its line and column in `text` (the caller adds the file).
        let syntax = |e: wast::Error| {
            let (line, col) = e.span().linecol_in(text);
            format!("line {}, column {}: {}", line + 1, col + 1, e.message())
        };
        let buf = wast::parser::ParseBuffer::new(text).map_err(syntax)?;
        let script: wast::Wast = wast::parser::parse(&buf).map_err(syntax)?;
        let directives = lower(text, script);
        let mut base = Configuration::new();
        let spectest = Arc::new(spectest::install(&mut base));
        let mut scope = Scope::default();
        scope.registry.insert("spectest".into(), spectest.clone());
        let mut plan = Plan {
            base,
            threads: vec![PlanThread {
                name: "main".into(),
                steps: Vec::new(),
            }],
            shared: None,
            shared_count: 0,
            grows: false,
        };
        plan.add_directives(0, &directives, &mut scope, &spectest)?;
        // The litmus memory: the first shared memory the script itself defines (not
        // spectest's `shared_memory`).
        let host: HashSet<MemAddr> = spectest
            .values()
            .filter_map(|e| match e {
                ExternVal::Memory(m) => Some(*m),
                _ => None,
            })
            .collect();
        let script_shared: Vec<MemAddr> = plan
            .base
            .store
            .mems
            .iter()
            .enumerate()
            .map(|(i, m)| (MemAddr(i as u32), m))
            .filter(|(a, m)| m.is_shared() && !host.contains(a))
            .map(|(a, _)| a)
            .collect();
        plan.shared = script_shared.first().copied();
        plan.shared_count = script_shared.len();
        plan.drop_unused_memories();
        plan.grows = plan.shared.is_some_and(|m| plan.function_grows(m));
        Ok(plan)
    }

    /// Whether some function of the script may grow the litmus memory: whether it has a
    /// shared memory whose length location the runs model (docs/model.md, *The length
    /// location*; the model's `Memory::growable`, here over every function of every
    /// instance, which is a superset of the invoked ones and of their callees: a memory
    /// nobody grows has a constant length, and modelling it changes no outcome).
    pub fn grows(&self) -> bool {
        self.grows
    }

    /// Whether the code of some function instance has a `memory.grow` of memory `mem`.
    fn function_grows(&self, mem: MemAddr) -> bool {
        let store = &self.base.store;
        store.funcs.iter().any(|f| match f {
            heddle_interp::store::FuncInst::Wasm {
                instance,
                module,
                defined_index,
                ..
            } => module.funcs[*defined_index as usize].body.iter().any(|i| {
                matches!(i, heddle_interp::syntax::Instr::MemoryGrow(m)
                    if store.instances[instance.0 as usize].mems.get(*m as usize) == Some(&mem))
            }),
            heddle_interp::store::FuncInst::Host { .. } => false,
        })
    }

    /// Whether some step of a run may make a choice of its own besides the schedule: a
    /// `memory.grow` that may fail by choice ([`ExploreOptions::spurious_grow_failure`]).
    /// Optimal DPOR explores schedules of deterministic steps only, so such a plan is
    /// explored by state caching.
    pub fn steps_choose(&self, opts: &ExploreOptions) -> bool {
        self.grows && opts.spurious_grow_failure
    }

    /// Memories no module instance refers to (spectest's `memory` and `shared_memory` when
    /// no module imports them) cannot be read or written by any code, nor observed in an
    /// outcome: make them empty, so that runs neither copy nor hash their pages.
    fn drop_unused_memories(&mut self) {
        let used: HashSet<MemAddr> = self
            .base
            .store
            .instances
            .iter()
            .flat_map(|i| i.mems.iter().copied())
            .collect();
        for (i, m) in self.base.store.mems.iter_mut().enumerate() {
            if !used.contains(&MemAddr(i as u32)) {
                *m = heddle_interp::memory::MemInst::new(heddle_interp::MemType::new(
                    heddle_interp::Limits {
                        min: 0,
                        max: Some(0),
                    },
                    false,
                ));
            }
        }
    }

    fn add_directives(
        &mut self,
        thread: usize,
        directives: &[Directive],
        scope: &mut Scope,
        spectest: &Arc<Exports>,
    ) -> Result<(), String> {
        for d in directives {
            let line = d.at.line;
            let fail = |m: String| format!("line {line}: {m}");
            match &d.cmd {
                Cmd::Module { name, bytes } => {
                    let bytes = bytes.as_ref().map_err(|e| fail(e.clone()))?;
                    let module = Module::decode(bytes).map_err(|e| fail(e.to_string()))?;
                    let imports =
                        spectest::resolve_imports(&module, &scope.registry).map_err(fail)?;
                    let inst = self
                        .base
                        .instantiate(Arc::new(module), &imports)
                        .map_err(|e| fail(e.to_string()))?;
                    let exports = Arc::new(spectest::instance_exports(&self.base, inst));
                    if let Some(n) = name {
                        scope.named.insert(n.clone(), exports.clone());
                    }
                    scope.last = Some(exports);
                }
                Cmd::Register { as_name, module } => {
                    let exports = match module {
                        Some(n) => scope.named.get(n).cloned(),
                        None => scope.last.clone(),
                    }
                    .ok_or_else(|| fail("register of an unknown module".into()))?;
                    scope.registry.insert(as_name.clone(), exports);
                }
                Cmd::Action(a)
                | Cmd::AssertReturn { action: a, .. }
                | Cmd::AssertTrap { action: a, .. }
                | Cmd::AssertExhaustion { action: a, .. }
                | Cmd::AssertException { action: a } => {
                    let Action::Invoke { module, name, args } = a else {
                        return Err(fail("`get` has no meaning in a litmus test".into()));
                    };
                    let exports = match module {
                        Some(n) => scope.named.get(n).cloned(),
                        None => scope.last.clone(),
                    }
                    .ok_or_else(|| fail("invoke of an unknown module".into()))?;
                    let Some(ExternVal::Func(func)) = exports.get(name).copied() else {
                        return Err(fail(format!("no exported function {name:?}")));
                    };
                    let ty = self.base.store.funcs[func.0 as usize].ty();
                    if ty.results.iter().any(|t| !is_number(*t)) {
                        return Err(fail(format!(
                            "{name:?} returns {ty}: litmus outcomes are i32/i64/f32/f64 values"
                        )));
                    }
                    let args = args.clone().map_err(fail)?;
                    self.threads[thread].steps.push(Step::Invoke { func, args });
                }
                Cmd::Thread { name, shared, body } => {
                    let child = self.threads.len();
                    self.threads.push(PlanThread {
                        name: name.trim_start_matches('$').to_string(),
                        steps: Vec::new(),
                    });
                    self.threads[thread].steps.push(Step::Spawn(child));
                    // A thread sees only the modules it shares, by name, and registers
                    // its own.
                    let mut inner = Scope::default();
                    inner.registry.insert("spectest".into(), spectest.clone());
                    for s in shared {
                        let exports = scope
                            .named
                            .get(s)
                            .cloned()
                            .ok_or_else(|| fail(format!("thread shares unknown module {s}")))?;
                        inner.named.insert(s.clone(), exports);
                    }
                    self.add_directives(child, body, &mut inner, spectest)?;
                }
                Cmd::Wait { thread: t } => {
                    let name = t.trim_start_matches('$');
                    let idx = self
                        .threads
                        .iter()
                        .position(|p| p.name == name)
                        .ok_or_else(|| fail(format!("wait for unknown thread {t}")))?;
                    self.threads[thread].steps.push(Step::Join(idx));
                }
                // Module assertions run nothing; a litmus test ignores them.
                Cmd::AssertUninstantiable { .. }
                | Cmd::AssertInvalid { .. }
                | Cmd::AssertMalformed { .. }
                | Cmd::AssertUnlinkable { .. }
                | Cmd::AssertCustom { .. } => {}
                Cmd::ModuleDefinition { .. } | Cmd::ModuleInstance { .. } => {
                    return Err(fail(
                        "module definitions and instances are not supported in litmus tests".into(),
                    ))
                }
                Cmd::Unsupported => return Err(fail("unsupported directive".into())),
            }
        }
        Ok(())
    }

    /// The names of the script threads that have invokes, in outcome order: threads in the
    /// order they appear in the file, `main` last (the order of `heddle litmus`).
    fn outcome_threads(&self) -> Vec<usize> {
        let has_invoke = |t: &PlanThread| t.steps.iter().any(|s| matches!(s, Step::Invoke { .. }));
        (1..self.threads.len())
            .chain(std::iter::once(0))
            .filter(|&i| has_invoke(&self.threads[i]))
            .collect()
    }
}

/// Where a script thread is.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct ScriptState {
    started: bool,
    /// Index of its next step (or of the invoke in progress).
    pc: usize,
    /// Whether an invoke is in progress on its interpreter thread.
    running: bool,
    results: Vec<InvokeResult>,
}

/// A spawn or join of script threads, at a position of the trace: the happens-before
/// edges the script adds (runtime.rst, thread spawning; the embedding's join).
#[derive(Clone, Copy, Debug)]
enum Mark {
    Spawn {
        parent: usize,
        child: usize,
        at: usize,
    },
    Join {
        parent: usize,
        child: usize,
        at: usize,
    },
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The outcome, if the run ended (every thread finished or blocked for good).
    pub outcome: Option<Outcome>,
    /// Why the run has no outcome: `"pruned"` (reached a state explored before),
    /// `"step bound"`, `"other shard"`, `"broken promise"` (relaxed memory: a read guessed
    /// a value no later write gave it).
    pub cut: Option<&'static str>,
    /// The choices of the run, as a schedule string for `--replay`.
    pub schedule: String,
    /// The shared memory's trace, when kept, with the script thread of each interpreter
    /// thread and the spawn/join marks.
    pub trace: Option<ScriptTrace>,
    /// With [`ExploreOptions::races`]: the races of the run (one per pair of code
    /// locations), each with this run's schedule.
    pub races: Vec<RaceReport>,
}

/// A trace with what is needed to turn it into a model execution.
#[derive(Clone, Debug)]
pub struct ScriptTrace {
    /// The events the run performed.
    pub trace: Trace,
    /// Script thread index of each interpreter thread id.
    agents: HashMap<ThreadId, usize>,
    marks: Vec<Mark>,
    names: Vec<String>,
}

struct Run<'p> {
    plan: &'p Plan,
    config: Configuration,
    tids: Vec<ThreadId>,
    states: Vec<ScriptState>,
    log: Arc<Mutex<ChoiceLog>>,
    marks: Vec<Mark>,
    /// A thread ran out of fuel (the step bound): the run has no outcome.
    exhausted: bool,
    /// See [`RunBase::eager_plain`].
    eager_plain: bool,
}

fn is_number(t: heddle_interp::ValType) -> bool {
    use heddle_interp::ValType::*;
    matches!(t, I32 | I64 | F32 | F64)
}

/// A result value in the model's outcome format. [`Plan::from_text`] admits only
/// functions whose results are numbers, so nothing else reaches here.
fn to_model_value(v: &Value) -> heddle_model::Value {
    match *v {
        Value::I32(x) => heddle_model::Value::I32(x as u32),
        Value::I64(x) => heddle_model::Value::I64(x as u64),
        Value::F32(b) => heddle_model::Value::F32(b),
        Value::F64(b) => heddle_model::Value::F64(b),
        Value::V128(_)
        | Value::FuncRef(_)
        | Value::ExternRef(_)
        | Value::AnyRef(_)
        | Value::ExternAny(_)
        | Value::ExnRef(_) => {
            unreachable!("litmus results are numbers (checked when the plan is made)")
        }
    }
}

/// What every run of an exploration starts from, made once per exploration: the plan's
/// configuration with the run limits, the relaxed backend (its init write read once, not
/// per run) and tracing installed, and the script threads' interpreter threads created. The
/// choice log is shared with the relaxed backend (which makes its read choices through it)
/// and reset for each run; runs of one base are sequential.
struct RunBase {
    config: Configuration,
    tids: Vec<ThreadId>,
    log: Arc<Mutex<ChoiceLog>>,
    /// Whether plain scalar accesses of the litmus memory run without interleaving (relaxed
    /// memory with promises, of a memory whose length cannot change; see [`relaxed`]).
    eager_plain: bool,
}

impl RunBase {
    /// A base for runs on the backend of `opts` (relaxed memory without promises).
    fn new(plan: &Plan, opts: &ExploreOptions) -> Result<Self, String> {
        RunBase::with_promises(plan, opts, None)
    }

    /// A base for runs on the backend of `opts`; with relaxed memory and `promises`, reads
    /// may guess values of its domain ([`RelaxedMemory::with_promises`]).
    fn with_promises(
        plan: &Plan,
        opts: &ExploreOptions,
        promises: Option<Arc<Promises>>,
    ) -> Result<Self, String> {
        let mut config = plan.base.clone();
        config.set_limits(ExecLimits {
            clock_timeouts: false,
            fuel: Some(opts.max_steps),
            ..ExecLimits::default()
        });
        let log = Arc::new(Mutex::new(ChoiceLog::default()));
        // The relaxed backend and the traces checked against the model cover one shared
        // memory; exploring the interleavings of a script with several (sequentially
        // consistent) shared memories needs neither.
        if plan.shared_count > 1
            && (opts.memory == MemoryMode::Relaxed || opts.keep_traces || opts.races)
        {
            return Err(format!(
                "the script defines {} shared memories: --memory relaxed, --check (traces) \
                 and --races support one",
                plan.shared_count
            ));
        }
        if opts.races && opts.memory == MemoryMode::Relaxed {
            return Err("--races needs sequentially consistent memory (--memory sc)".into());
        }
        let mut eager_plain = false;
        if let Some(mem) = plan.shared {
            if opts.memory == MemoryMode::Relaxed {
                let ty = config.store.mems[mem.0 as usize].current_type();
                eager_plain = promises.is_some() && ty.limits.max == Some(ty.limits.min);
                relaxed_backend(&mut config, mem, log.clone(), promises)?;
            }
            if let heddle_interp::memory::MemInst::Shared(m) =
                &mut config.store.mems[mem.0 as usize]
            {
                // The length location of a memory some function grows (docs/model.md): its
                // reads and writes are events, and a grow may fail by choice.
                if plan.grows {
                    m.model_length(opts.spurious_grow_failure.then(|| log.clone()));
                }
                if opts.keep_traces {
                    m.enable_trace();
                }
            }
            if opts.races {
                if let heddle_interp::memory::MemInst::Shared(m) =
                    &mut config.store.mems[mem.0 as usize]
                {
                    m.enable_races();
                }
            }
        }
        let tids = plan.threads.iter().map(|_| config.new_thread()).collect();
        Ok(RunBase {
            config,
            tids,
            log,
            eager_plain,
        })
    }
}

impl<'p> Run<'p> {
    /// A run from `base` that replays `prefix`, then takes option 0 at every choice.
    fn new(plan: &'p Plan, base: &RunBase, prefix: Vec<u32>) -> Self {
        *base.log.lock().expect("choice log") = ChoiceLog::replaying(prefix);
        let mut states: Vec<ScriptState> = plan
            .threads
            .iter()
            .map(|_| ScriptState {
                started: false,
                pc: 0,
                running: false,
                results: Vec::new(),
            })
            .collect();
        states[0].started = true;
        Run {
            plan,
            config: base.config.clone(),
            tids: base.tids.clone(),
            states,
            log: base.log.clone(),
            marks: Vec::new(),
            exhausted: false,
            eager_plain: base.eager_plain,
        }
    }

    fn trace_len(&self) -> usize {
        self.plan
            .shared
            .and_then(|m| match &self.config.store.mems[m.0 as usize] {
                heddle_interp::memory::MemInst::Shared(sm) => sm.trace().map(|t| t.events.len()),
                _ => None,
            })
            .unwrap_or(0)
    }

    fn join_view(&mut self, to: usize, from: usize) {
        if let Some(m) = self.plan.shared {
            if let heddle_interp::memory::MemInst::Shared(sm) =
                &mut self.config.store.mems[m.0 as usize]
            {
                sm.join_view(self.tids[to], self.tids[from]);
            }
        }
    }

    /// Run every script thread's invisible work, until each is finished, blocked, or
    /// about to take a visible step.
    fn settle(&mut self) {
        loop {
            let mut progress = false;
            for i in 0..self.states.len() {
                progress |= self.advance(i);
            }
            if !progress {
                return;
            }
        }
    }

    /// Advance script thread `i` through invisible steps; whether anything happened.
    fn advance(&mut self, i: usize) -> bool {
        let mut progress = false;
        let tid = self.tids[i];
        loop {
            let st = &self.states[i];
            if !st.started {
                return progress;
            }
            if st.running {
                match self.config.status(tid) {
                    ThreadStatus::Runnable
                        if !self.config.next_is_visible(tid)
                            || (self.eager_plain && self.config.next_is_plain_access(tid)) =>
                    {
                        self.config.step(tid, 1);
                        progress = true;
                    }
                    ThreadStatus::Finished => {
                        let r = match self.config.take_result(tid) {
                            Some(Ok(vals)) => {
                                InvokeResult::Values(vals.iter().map(to_model_value).collect())
                            }
                            Some(Err(heddle_interp::Trap::FuelExhausted)) => {
                                self.exhausted = true;
                                InvokeResult::Trap
                            }
                            _ => InvokeResult::Trap,
                        };
                        let st = &mut self.states[i];
                        st.results.push(r);
                        st.running = false;
                        st.pc += 1;
                        progress = true;
                    }
                    _ => return progress,
                }
                continue;
            }
            let Some(step) = self.plan.threads[i].steps.get(st.pc).cloned() else {
                return progress;
            };
            match step {
                Step::Invoke { func, args } => {
                    if self.config.invoke_on(tid, func, &args).is_err() {
                        self.states[i].results.push(InvokeResult::Trap);
                        self.states[i].pc += 1;
                    } else {
                        self.states[i].running = true;
                    }
                }
                Step::Spawn(c) => {
                    self.marks.push(Mark::Spawn {
                        parent: i,
                        child: c,
                        at: self.trace_len(),
                    });
                    self.join_view(c, i);
                    self.states[c].started = true;
                    self.states[i].pc += 1;
                }
                Step::Join(c) => {
                    if !self.is_done(c) {
                        return progress;
                    }
                    self.marks.push(Mark::Join {
                        parent: i,
                        child: c,
                        at: self.trace_len(),
                    });
                    self.join_view(i, c);
                    self.states[i].pc += 1;
                }
            }
            progress = true;
        }
    }

    fn is_done(&self, i: usize) -> bool {
        let st = &self.states[i];
        st.started && !st.running && st.pc >= self.plan.threads[i].steps.len()
    }

    /// The choices available now: a thread about to take a visible step, or a waiter with
    /// a finite timeout that may time out.
    fn candidates(&self) -> Vec<(usize, bool)> {
        let mut c = Vec::new();
        for (i, st) in self.states.iter().enumerate() {
            if !st.running {
                continue;
            }
            match self.config.status(self.tids[i]) {
                ThreadStatus::Runnable => c.push((i, false)),
                ThreadStatus::Blocked {
                    deadline: Some(_), ..
                } => c.push((i, true)),
                _ => {}
            }
        }
        c
    }

    /// The key that decides which shard owns a node at the split depth: a hash of the
    /// script threads' positions and results and of the litmus memory's state (its
    /// backend's `hash_state`, which holds no addresses of the process), so that every
    /// process of the same `heddle` build computes the same key, and nodes in the same
    /// state go to the same shard (whose state cache then explores them once).
    fn node_key(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.states.hash(&mut h);
        if let Some(m) = self.plan.shared {
            self.config.store.mems[m.0 as usize].hash_state(&mut h);
        }
        h.finish()
    }

    /// The state's exact encoding ([`StateEncoder`]): what [`Configuration::hash_state`]
    /// feeds a hasher, the data behind its digests of memory contents
    /// ([`MemInst::hash_contents`](heddle_interp::memory::MemInst::hash_contents)), and
    /// the script threads' states.
    fn state_encoding(&self) -> Vec<u8> {
        let mut e = StateEncoder::default();
        self.config.hash_state(&mut e);
        for m in &self.config.store.mems {
            m.hash_contents(&mut e);
        }
        self.states.hash(&mut e);
        e.bytes
    }

    /// The outcome of a run that cannot go on: results so far, and `blocked` for an invoke
    /// that never returns (a wait never woken, or an invoke after a `wait` on a thread
    /// that never finishes). Nothing after it runs.
    fn outcome(&self) -> Outcome {
        let threads = self
            .plan
            .outcome_threads()
            .into_iter()
            .map(|i| {
                let st = &self.states[i];
                let mut results = st.results.clone();
                let pending_invoke = self.plan.threads[i].steps
                    [st.pc.min(self.plan.threads[i].steps.len())..]
                    .iter()
                    .any(|s| matches!(s, Step::Invoke { .. }));
                if st.running || (!self.is_done(i) && pending_invoke) {
                    results.push(InvokeResult::Blocked);
                }
                (self.plan.threads[i].name.clone(), results)
            })
            .collect();
        Outcome { threads }
    }

    /// The result of a run that ended (cut or not) after `schedule`: its outcome unless it
    /// was cut, and its trace when the options keep traces.
    fn result(
        &self,
        cut: Option<&'static str>,
        schedule: String,
        opts: &ExploreOptions,
    ) -> RunResult {
        RunResult {
            outcome: cut.is_none().then(|| self.outcome()),
            cut,
            trace: if opts.keep_traces && cut != Some(CUT_BROKEN_PROMISE) {
                self.script_trace()
            } else {
                None
            },
            races: if opts.races {
                self.races(&schedule)
            } else {
                Vec::new()
            },
            schedule,
        }
    }

    /// The races the shared memory's detector found in this run, as reports naming the
    /// script threads.
    fn races(&self, schedule: &str) -> Vec<RaceReport> {
        let Some(mem) = self.plan.shared else {
            return Vec::new();
        };
        let heddle_interp::memory::MemInst::Shared(sm) = &self.config.store.mems[mem.0 as usize]
        else {
            return Vec::new();
        };
        let Some(det) = sm.races() else {
            return Vec::new();
        };
        let name = |t: ThreadId| match self.tids.iter().position(|x| *x == t) {
            Some(i) => self.plan.threads[i].name.clone(),
            None => t.to_string(),
        };
        det.races()
            .iter()
            .map(|r| RaceReport::new(r, &self.config.store, &name, schedule))
            .collect()
    }

    /// At the end of a run: whether the litmus memory keeps every promise its reads made
    /// ([`fulfil_promises`](heddle_interp::memory::SharedMemory::fulfil_promises); always, without promises).
    fn fulfil_promises(&mut self) -> bool {
        let Some(m) = self.plan.shared else {
            return true;
        };
        match &mut self.config.store.mems[m.0 as usize] {
            heddle_interp::memory::MemInst::Shared(sm) => sm.fulfil_promises(),
            _ => true,
        }
    }

    fn script_trace(&self) -> Option<ScriptTrace> {
        let mem = self.plan.shared?;
        let heddle_interp::memory::MemInst::Shared(sm) = &self.config.store.mems[mem.0 as usize]
        else {
            return None;
        };
        Some(ScriptTrace {
            trace: sm.trace()?.clone(),
            agents: self.tids.iter().enumerate().map(|(i, t)| (*t, i)).collect(),
            marks: self.marks.clone(),
            names: self.plan.threads.iter().map(|t| t.name.clone()).collect(),
        })
    }

    /// Run to the end, or until cut: by the step bound, on reaching a state explored before
    /// (with `search`, from its split depth on), or at the split depth of a subtree that
    /// belongs to another shard.
    fn run(mut self, mut search: Option<Search<'_>>, opts: &ExploreOptions) -> RunResult {
        let mut steps: u64 = 0;
        // Whether this run's node at the split depth has been looked up.
        let mut node_checked = false;
        let cut = loop {
            self.settle();
            if self.exhausted || steps >= opts.max_steps {
                break Some(CUT_STEP_BOUND);
            }
            let cands = self.candidates();
            if cands.is_empty() {
                break None;
            }
            if let Some(s) = search.as_mut() {
                let (depth, replaying) = {
                    let log = self.log.lock().expect("choice log");
                    (log.taken().len(), log.replaying_prefix())
                };
                // Above the split depth every shard runs the same tree, uncached, so that
                // they all see the same nodes at that depth (see `shard`). The node is the
                // state at the first choice point at that depth: steps with one candidate
                // record no choice, so several choice points may share the depth.
                if !node_checked && depth == s.split_depth {
                    node_checked = true;
                    if !s.shard.owns(self.node_key()) {
                        break Some(CUT_OTHER_SHARD);
                    }
                }
                if depth >= s.split_depth && !s.visited.insert(self.state_encoding()) && !replaying
                {
                    break Some(CUT_PRUNED);
                }
            }
            let pick = self.log.lock().expect("choice log").choose(cands.len());
            let (i, timeout) = cands[pick];
            if timeout {
                self.config.time_out(self.tids[i]);
            } else {
                self.config.step(self.tids[i], 1);
            }
            steps += 1;
        };
        let schedule = self.log.lock().expect("choice log").schedule();
        let cut = match cut {
            None if !self.fulfil_promises() => Some(CUT_BROKEN_PROMISE),
            c => c,
        };
        // A run that ends before a choice point at the split depth is a node of its own:
        // another shard's, or this one's.
        let cut = match (&search, cut) {
            (Some(s), None) if !node_checked && !s.shard.owns(self.node_key()) => {
                Some(CUT_OTHER_SHARD)
            }
            (_, c) => c,
        };
        self.result(cut, schedule, opts)
    }
}

/// `RunResult::cut` of a run that reached a state explored before.
const CUT_PRUNED: &str = "pruned";
/// `RunResult::cut` of a run on relaxed memory whose promises could not all be kept: not
/// an execution of the model.
const CUT_BROKEN_PROMISE: &str = "broken promise";
/// `RunResult::cut` of a run cut by the step bound.
const CUT_STEP_BOUND: &str = "step bound";
/// `RunResult::cut` of a run that entered a subtree of another shard.
const CUT_OTHER_SHARD: &str = "other shard";

/// What a run of an exploration needs from the search: the states explored so far, the
/// shard explored (1/1 without shards) and its split depth.
struct Search<'v> {
    visited: &'v mut StateCache,
    shard: Shard,
    split_depth: usize,
}

/// A canonical, comparable encoding of a state: the stream of writes a [`Hasher`] is fed
/// by the state's `Hash`/`hash_state` methods, kept instead of digested. Each write is
/// kept with its length, so the boundaries between the fields fed stay visible. A write of
/// 1, 2, 4, 8 or 16 bytes (an integer field) is a tag byte giving its width and how many of
/// its bytes remain once the trailing (most significant) zeros are dropped, then those
/// bytes; another write of at most `StateEncoder::SHORT` (32) bytes is a tag, its length and
/// its bytes; a longer one (a memory's contents) is a tag, its length and runs of zero
/// bytes and of non-zero bytes, since litmus memories are almost all zeros. Every form can
/// be decoded back to the write, so two streams of writes give equal encodings only if
/// they are equal.
///
/// The encoding is exact when the state's hash methods feed everything that determines
/// its future, and delimit what they feed (`Hash` of std collections prefixes their
/// lengths): equal encodings then mean equal states. Digests fed in place of data (the
/// incremental hashes of memory contents) are followed by the data itself
/// (`Run::state_encoding`).
#[derive(Default)]
pub struct StateEncoder {
    /// The encoding so far.
    pub bytes: Vec<u8>,
}

impl StateEncoder {
    /// Writes of at most this many bytes are kept as they are.
    const SHORT: usize = 32;
    /// The tag of a short write of another width than 1, 2, 4, 8 and 16.
    const OTHER: u8 = 0xF0;
    /// The tag of a long write.
    const LONG: u8 = 0xFF;

    fn push_len(&mut self, mut n: usize) {
        // LEB128.
        loop {
            let low = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                self.bytes.push(low);
                return;
            }
            self.bytes.push(low | 0x80);
        }
    }
}

impl Hasher for StateEncoder {
    /// Not a hash: an encoder is read through [`StateEncoder::bytes`]; this is FxHash of
    /// the encoding so far.
    fn finish(&self) -> u64 {
        StateHash::fx(&self.bytes)
    }

    fn write(&mut self, bytes: &[u8]) {
        // Tags 0x00..=0x90: width code (0..=4 for 1, 2, 4, 8, 16 bytes) × 32 + bytes kept.
        if let Some(code) = [1, 2, 4, 8, 16].iter().position(|&w| w == bytes.len()) {
            let kept = bytes.iter().rposition(|&b| b != 0).map_or(0, |k| k + 1);
            self.bytes.push((code * 32 + kept) as u8);
            self.bytes.extend_from_slice(&bytes[..kept]);
            return;
        }
        if bytes.len() <= Self::SHORT {
            self.bytes.push(Self::OTHER);
            self.bytes.push(bytes.len() as u8);
            self.bytes.extend_from_slice(bytes);
            return;
        }
        self.bytes.push(Self::LONG);
        self.push_len(bytes.len());
        // Runs: (zeros, non-zero bytes), each run maximal, until the end. Zeros are skipped
        // a block of 64 at a time (the OR of a block vectorises).
        let mut i = 0;
        while i < bytes.len() {
            let zeros_from = i;
            while let Some(block) = bytes.get(i..i + 64) {
                if block.iter().fold(0u8, |a, &b| a | b) != 0 {
                    break;
                }
                i += 64;
            }
            while bytes.get(i) == Some(&0) {
                i += 1;
            }
            let literal_from = i;
            while bytes.get(i).is_some_and(|&b| b != 0) {
                i += 1;
            }
            self.push_len(literal_from - zeros_from);
            self.push_len(i - literal_from);
            self.bytes.extend_from_slice(&bytes[literal_from..i]);
        }
    }
}

/// The states a state-caching search has explored, by their exact encodings
/// ([`StateEncoder`]): a state is pruned only if an *equal* state was explored, never
/// because another state has the same hash (a 64-bit hash can collide, and a collision
/// would silently lose the outcomes below the state while the result says complete). The
/// hash ([`ExploreOptions::state_hash`]) only picks the bucket: the first state of each
/// hash is kept in one table, the rare later states with the same hash in another.
pub struct StateCache {
    hash: StateHash,
    first: HashMap<u64, Box<[u8]>>,
    collided: HashMap<u64, Vec<Box<[u8]>>>,
    /// Bytes of the encodings kept.
    encoded: usize,
    len: usize,
}

impl StateCache {
    /// An empty cache whose buckets are chosen by `hash`.
    pub fn new(hash: StateHash) -> Self {
        StateCache {
            hash,
            first: HashMap::new(),
            collided: HashMap::new(),
            encoded: 0,
            len: 0,
        }
    }

    /// Keep the state encoded as `encoding`; `false` if an equal state was kept before.
    pub fn insert(&mut self, encoding: Vec<u8>) -> bool {
        let key = (self.hash.0)(&encoding);
        match self.first.entry(key) {
            std::collections::hash_map::Entry::Vacant(v) => {
                self.encoded += encoding.len();
                self.len += 1;
                v.insert(encoding.into_boxed_slice());
                true
            }
            std::collections::hash_map::Entry::Occupied(o) => {
                if **o.get() == *encoding {
                    return false;
                }
                let bucket = self.collided.entry(key).or_default();
                if bucket.iter().any(|e| **e == *encoding) {
                    return false;
                }
                self.encoded += encoding.len();
                self.len += 1;
                bucket.push(encoding.into_boxed_slice());
                true
            }
        }
    }

    /// How many distinct states are kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no state is kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The heap memory the cache holds, estimated: the encodings, and the tables'
    /// slots (key, boxed slice or vector, and hashbrown's control byte per slot of
    /// capacity).
    pub fn heap_bytes(&self) -> usize {
        let slot = |value: usize| std::mem::size_of::<u64>() + value + 1;
        self.encoded
            + self.first.capacity() * slot(std::mem::size_of::<Box<[u8]>>())
            + self.collided.capacity() * slot(std::mem::size_of::<Vec<Box<[u8]>>>())
            + self
                .collided
                .values()
                .map(|b| b.capacity() * std::mem::size_of::<Box<[u8]>>())
                .sum::<usize>()
    }
}

/// Install the relaxed backend for the shared memory, seeded with its current contents,
/// with `promises` if given.
fn relaxed_backend(
    config: &mut Configuration,
    mem: MemAddr,
    log: Arc<Mutex<ChoiceLog>>,
    promises: Option<Arc<Promises>>,
) -> Result<(), String> {
    let m = &mut config.store.mems[mem.0 as usize];
    if !m.is_shared() {
        return Err("the litmus memory is not shared".into());
    }
    let ty = m.current_type();
    // The current contents (after instantiation: data segments) become the init write.
    let mut initial = vec![0u8; m.len_bytes(ThreadId(0)) as usize];
    m.read(
        ThreadId(0),
        heddle_interp::memory::Ordering::Unord,
        0,
        &mut initial,
        false,
    )
    .map_err(|t| t.message())?;
    let backend = match promises {
        Some(p) => RelaxedMemory::with_promises(ty, initial, log, p),
        None => RelaxedMemory::new(ty, initial, log),
    };
    *m = heddle_interp::memory::MemInst::Shared(Box::new(backend));
    Ok(())
}

/// How an outcome was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Number of runs that ended with it.
    pub count: u64,
    /// The schedule of the first such run (`heddle explore --replay`).
    pub schedule: String,
}

/// Why an exploration is incomplete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// [`ExploreOptions::max_executions`] runs were made.
    MaxExecutions,
    /// [`ExploreOptions::timeout`] passed.
    Timeout,
    /// Some run was cut by [`ExploreOptions::max_steps`] (the search itself finished).
    StepBound,
    /// Relaxed memory: the value domain of promises did not close within
    /// [`relaxed::MAX_VALUE_ROUNDS`] rounds (writes kept making new values, e.g. a counter).
    ValueRounds,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stopped::MaxExecutions => "--max-executions",
            Stopped::Timeout => "--timeout",
            Stopped::StepBound => "--max-steps",
            Stopped::ValueRounds => "value rounds",
        })
    }
}

/// The result of exploring a litmus script.
#[derive(Clone, Debug, Default)]
pub struct Exploration {
    /// Every outcome reached, in the order found, with how it was reached.
    pub reachable: IndexMap<Outcome, Found>,
    /// Whether the search covered every schedule (of its shard, with [`ExploreOptions::shard`])
    /// and no bound was hit.
    pub complete: bool,
    /// Which bound made it incomplete (`None` when complete).
    pub stopped: Option<Stopped>,
    /// Runs made (runs that only descended to another shard's subtree not included).
    pub executions: u64,
    /// Runs cut because they reached a state seen before.
    pub pruned: u64,
    /// Runs cut by the step bound.
    pub step_bounded: u64,
    /// Runs that descended to the split depth only to find the subtree another shard's.
    pub other_shards: u64,
    /// Relaxed memory: runs that ended with a promise no later write kept (not executions
    /// of the model, so without outcome).
    pub broken_promises: u64,
    /// Relaxed memory: rounds of the value domain (see [`relaxed`]); 0 otherwise.
    pub rounds: u32,
    /// Traces of the runs that reached an outcome (with `keep_traces`).
    pub traces: Vec<ScriptTrace>,
    /// The reduction that made this result (DPOR falls back to caching, see [`Reduction`]).
    pub reduction: Reduction,
    /// State caching: distinct states kept in the state caches (summed over subtrees).
    pub cached_states: u64,
    /// State caching: heap bytes of the state caches, encodings and tables
    /// ([`StateCache::heap_bytes`], summed over subtrees): the memory exact caching costs.
    pub cached_bytes: u64,
    /// With [`ExploreOptions::races`]: the races of every run, one per pair of code
    /// locations and kind, each with the schedule of the first run that had it.
    pub races: Vec<RaceReport>,
}

impl Exploration {
    /// Add the result of a subtree (of a split search) to the results of the subtrees
    /// before it: counts summed, outcomes appended in order (their counts summed), traces
    /// kept, the first bound hit kept.
    fn absorb(&mut self, part: Exploration) {
        self.executions += part.executions;
        self.pruned += part.pruned;
        self.step_bounded += part.step_bounded;
        self.broken_promises += part.broken_promises;
        self.cached_states += part.cached_states;
        self.cached_bytes += part.cached_bytes;
        for (o, f) in part.reachable {
            self.reachable
                .entry(o)
                .and_modify(|g| g.count += f.count)
                .or_insert(f);
        }
        self.traces.extend(part.traces);
        for r in part.races {
            self.add_race(r);
        }
        if self.stopped.is_none() {
            self.stopped = part.stopped;
        }
    }

    /// Keep a race unless one of the same pair of code locations and kind is kept.
    fn add_race(&mut self, r: RaceReport) {
        if !self.races.iter().any(|x| x.same_locations(&r)) {
            self.races.push(r);
        }
    }

    /// Whether some run had a data race.
    pub fn has_data_race(&self) -> bool {
        self.races.iter().any(RaceReport::is_data_race)
    }

    /// Count a finished run's outcome (if it was not cut) and keep its trace (if any).
    fn record(&mut self, r: RunResult) {
        for race in r.races.iter().cloned() {
            self.add_race(race);
        }
        if let Some(o) = r.outcome {
            self.reachable
                .entry(o)
                .and_modify(|f| f.count += 1)
                .or_insert(Found {
                    count: 1,
                    schedule: r.schedule,
                });
            if let Some(t) = r.trace {
                self.traces.push(t);
            }
        }
    }
}

/// Explore every schedule (and, with the relaxed backend, every allowed read) of `plan`.
///
/// Errors: the relaxed backend cannot be installed (the litmus memory is not shared).
pub fn explore(plan: &Plan, opts: &ExploreOptions) -> Result<Exploration, String> {
    explore_observed(plan, opts, &mut |_| {})
}

/// [`explore`], calling `observe` with the result so far after every run (for a progress
/// line; it should be cheap).
pub fn explore_observed(
    plan: &Plan,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
) -> Result<Exploration, String> {
    if opts.memory == MemoryMode::Relaxed {
        return relaxed::explore_relaxed(plan, opts, observe);
    }
    if opts.reduction == Reduction::Dpor && opts.shard.is_none() && !plan.steps_choose(opts) {
        if let Ok(result) = dpor::explore_dpor(plan, opts, observe)? {
            return Ok(result);
        }
    }
    explore_caching(plan, opts, observe, None, Instant::now())
}

/// Explore the subtrees `tasks` of a split search with `explore`, on up to
/// [`ExploreOptions::jobs`] workers that take them in turn from a shared counter, each with
/// its own base from `make_base` and its own copy of the plan (the plan's memories are
/// `Send` but not `Sync`); a single subtree is explored on the calling thread with `base`,
/// without starting a thread or copying the plan. The calling thread unites the results
/// into `result` in subtree order as soon as all before them are in, calling `observe`
/// with the united part, so the result is the same for any number of workers. The first
/// `Err` of a subtree stops the workers from taking more and is returned (inner `Err`);
/// an error making a base is the outer `Err`.
#[allow(clippy::too_many_arguments)] // the parts of a split search, each used once
fn explore_subtrees<T: Sync, E: Send>(
    plan: &Plan,
    opts: &ExploreOptions,
    base: &RunBase,
    make_base: &(dyn Fn(&Plan) -> Result<RunBase, String> + Sync),
    tasks: &[T],
    explore: &(dyn Fn(&Plan, &RunBase, &T) -> Result<Exploration, E> + Sync),
    result: &mut Exploration,
    observe: &mut dyn FnMut(&Exploration),
) -> Result<Result<(), E>, String> {
    let jobs = opts.jobs.clamp(1, tasks.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let (send, receive) = mpsc::channel::<(usize, Result<Exploration, E>)>();
    let worker =
        |plan: &Plan, base: &RunBase, send: mpsc::Sender<(usize, Result<Exploration, E>)>| loop {
            let k = next.fetch_add(1, AtomicOrdering::Relaxed);
            if k >= tasks.len() || failed.load(AtomicOrdering::Relaxed) {
                return;
            }
            let r = explore(plan, base, &tasks[k]);
            if r.is_err() {
                failed.store(true, AtomicOrdering::Relaxed);
            }
            if send.send((k, r)).is_err() {
                return;
            }
        };
    let mut parts: Vec<Option<Exploration>> = tasks.iter().map(|_| None).collect();
    let mut united = 0;
    let mut first_error = None;
    std::thread::scope(|scope| -> Result<(), String> {
        let mut handles = Vec::new();
        if tasks.len() == 1 {
            worker(plan, base, send.clone());
        } else {
            for _ in 0..jobs {
                let send = send.clone();
                let plan = plan.clone();
                let worker = &worker;
                handles.push(scope.spawn(move || -> Result<(), String> {
                    let base = make_base(&plan)?;
                    worker(&plan, &base, send);
                    Ok(())
                }));
            }
        }
        drop(send);
        for (k, r) in receive.iter() {
            match r {
                Ok(part) => {
                    parts[k] = Some(part);
                    while let Some(p) = parts.get_mut(united).and_then(Option::take) {
                        result.absorb(p);
                        united += 1;
                    }
                    observe(result);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        for h in handles {
            h.join().expect("exploration worker panicked")?;
        }
        Ok(())
    })?;
    Ok(match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    })
}

/// The state-caching search ([`Reduction::Caching`]), on the relaxed backend with
/// `promises` if given; `started` is when the exploration started (for
/// [`ExploreOptions::timeout`]).
fn explore_caching(
    plan: &Plan,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
    promises: Option<Arc<Promises>>,
    started: Instant,
) -> Result<Exploration, String> {
    let base = RunBase::with_promises(plan, opts, promises)?;
    let runs = AtomicU64::new(0);
    search_caching(plan, &base, opts, observe, &[], &runs, started)
}

/// The state-caching search of the subtree below the choices `root` (all of the tree for an
/// empty `root`), with runs made from `base`. `runs` counts the runs of the whole
/// exploration (shared by workers searching subtrees in parallel) for
/// [`ExploreOptions::max_executions`].
fn search_caching(
    plan: &Plan,
    base: &RunBase,
    opts: &ExploreOptions,
    observe: &mut dyn FnMut(&Exploration),
    root: &[u32],
    runs: &AtomicU64,
    started: Instant,
) -> Result<Exploration, String> {
    let shard = opts.shard.unwrap_or(Shard { index: 0, count: 1 });
    let split_depth = shard.split_depth();
    let mut result = Exploration {
        reduction: Reduction::Caching,
        ..Exploration::default()
    };
    let mut visited = StateCache::new(opts.state_hash);
    let mut prefix = Some(root.to_vec());
    while let Some(p) = prefix {
        if runs.load(AtomicOrdering::Relaxed) >= opts.max_executions {
            result.stopped = Some(Stopped::MaxExecutions);
            break;
        }
        if opts.timeout.is_some_and(|t| started.elapsed() >= t) {
            result.stopped = Some(Stopped::Timeout);
            break;
        }
        let run = Run::new(plan, base, p);
        let log = run.log.clone();
        let r = run.run(
            Some(Search {
                visited: &mut visited,
                shard,
                split_depth,
            }),
            opts,
        );
        runs.fetch_add(1, AtomicOrdering::Relaxed);
        match r.cut {
            Some(CUT_OTHER_SHARD) => result.other_shards += 1,
            Some(CUT_PRUNED) => result.pruned += 1,
            Some(CUT_BROKEN_PROMISE) => result.broken_promises += 1,
            Some(_) => result.step_bounded += 1,
            None => {}
        }
        if r.cut != Some(CUT_OTHER_SHARD) {
            result.executions += 1;
        }
        result.record(r);
        observe(&result);
        // Depth first, the subtree below `root` is contiguous: it ends at the first prefix
        // that changes a choice of `root`.
        prefix = log
            .lock()
            .expect("choice log")
            .next_prefix()
            .filter(|p| p.len() > root.len());
    }
    result.cached_states = visited.len() as u64;
    result.cached_bytes = visited.heap_bytes() as u64;
    if result.stopped.is_some() {
        return Ok(result);
    }
    result.complete = result.step_bounded == 0;
    if !result.complete {
        result.stopped = Some(Stopped::StepBound);
    }
    Ok(result)
}

/// Run `plan` once along `schedule` (a string from [`Found::schedule`]), keeping its trace.
pub fn replay(plan: &Plan, schedule: &str, opts: &ExploreOptions) -> Result<RunResult, String> {
    let prefix = ChoiceLog::parse_schedule(schedule)?;
    let opts = ExploreOptions {
        keep_traces: true,
        ..opts.clone()
    };
    let promises = match opts.memory {
        MemoryMode::Relaxed => Some(Arc::new(Promises::new(relaxed::value_domain(plan, &opts)?))),
        MemoryMode::Sc => None,
    };
    let run = Run::new(
        plan,
        &RunBase::with_promises(plan, &opts, promises)?,
        prefix,
    );
    let log = run.log.clone();
    let result = run.run(None, &opts);
    if let Some(why) = log.lock().expect("choice log").misfit() {
        return Err(format!("schedule {schedule:?} does not fit: {why}"));
    }
    Ok(result)
}

impl ScriptTrace {
    /// The events as JSON values: `{"thread": "T1" | null (the allocation's writes),
    /// "actions": [{"kind": "read"|"write"|"rmw"|"wait"|"woken"|"timeout"|"notify"|"fence",
    /// "ord"?, "address"?, "bytes"?, "read"?, "written"?, "no_tear"?, "timeout"?, "woken"?,
    /// "max"?}], "reads_from": [event index per byte read]}`, in execution order.
    pub fn events_json(&self) -> Vec<serde_json::Value> {
        use serde_json::json;
        let ord = |o: heddle_interp::memory::Ordering| match o {
            heddle_interp::memory::Ordering::Unord => "unord",
            heddle_interp::memory::Ordering::SeqCst => "seqcst",
            heddle_interp::memory::Ordering::Init => "init",
        };
        // The length location's events name it instead of its stand-in address.
        let address = |ea: &u64| match *ea {
            heddle_interp::memory::LENGTH_ADDRESS => json!("length"),
            ea => json!(ea),
        };
        self.trace
            .events
            .iter()
            .map(|e| {
                let thread = e
                    .thread
                    .and_then(|t| self.agents.get(&t))
                    .map(|i| self.names[*i].clone());
                let actions: Vec<serde_json::Value> = e
                    .actions
                    .iter()
                    .map(|a| match a {
                        TraceAction::Read { ord: o, ea, bytes, no_tear } => json!({
                            "kind": "read", "ord": ord(*o), "address": address(ea), "bytes": bytes, "no_tear": no_tear}),
                        TraceAction::Write { ord: o, ea, bytes, no_tear } => json!({
                            "kind": "write", "ord": ord(*o), "address": address(ea),
                            "bytes": if bytes.len() > 64 { json!(format!("{} bytes", bytes.len())) } else { json!(bytes) },
                            "no_tear": no_tear}),
                        TraceAction::Rmw { ea, read, written } => json!({
                            "kind": "rmw", "address": address(ea), "read": read, "written": written}),
                        TraceAction::Wait { ea, timeout } => json!({
                            "kind": "wait", "address": address(ea), "timeout": timeout}),
                        TraceAction::Woken { ea } => json!({"kind": "woken", "address": ea}),
                        TraceAction::Timeout { ea } => json!({"kind": "timeout", "address": ea}),
                        TraceAction::Notify { ea, woken, max } => json!({
                            "kind": "notify", "address": address(ea), "woken": woken, "max": max}),
                        TraceAction::Fence => json!({"kind": "fence"}),
                    })
                    .collect();
                json!({"thread": thread, "actions": actions, "reads_from": e.reads_from})
            })
            .collect()
    }

    /// The trace as a model execution (MODEL.md §4): events in trace order (the total
    /// order), program order per script thread, the script's spawn/join edges and the
    /// initialising write before everything, per-byte reads-from, and the least
    /// happens-before. `None` if the trace has more events than the model's relations hold.
    pub fn to_execution(&self) -> Option<heddle_model::Execution> {
        use heddle_model::{Action as A, Event, Execution, MemOrder, Relation};
        let n = self.trace.events.len();
        if n > 128 {
            return None;
        }
        let ord = |o: heddle_interp::memory::Ordering| match o {
            heddle_interp::memory::Ordering::Unord => MemOrder::Unord,
            heddle_interp::memory::Ordering::SeqCst => MemOrder::SeqCst,
            heddle_interp::memory::Ordering::Init => MemOrder::Init,
        };
        // The trace's length address is the model's length location of memory 0 (the one
        // shared memory a trace covers); a data address is the model's location.
        let location = |ea: u64| match ea {
            heddle_interp::memory::LENGTH_ADDRESS => heddle_model::event::length_location(0),
            _ => ea,
        };
        let mut po_counts: HashMap<usize, usize> = HashMap::new();
        let mut thread_of = Vec::with_capacity(n);
        let events: Vec<Event> = self
            .trace
            .events
            .iter()
            .map(|e| {
                let thread = e.thread.and_then(|t| self.agents.get(&t).copied());
                thread_of.push(thread);
                let po_index = thread.map_or(0, |t| {
                    let c = po_counts.entry(t).or_default();
                    *c += 1;
                    *c - 1
                });
                let actions = e
                    .actions
                    .iter()
                    .map(|a| match a.clone() {
                        TraceAction::Read {
                            ord: o,
                            ea,
                            bytes,
                            no_tear,
                        } => A::Read {
                            ord: ord(o),
                            offset: location(ea),
                            bytes,
                            no_tear,
                        },
                        TraceAction::Write {
                            ord: o,
                            ea,
                            bytes,
                            no_tear,
                        } => A::Write {
                            ord: ord(o),
                            offset: location(ea),
                            bytes,
                            no_tear,
                        },
                        TraceAction::Rmw { ea, read, written } => A::Rmw {
                            offset: location(ea),
                            read,
                            written,
                        },
                        TraceAction::Wait { ea, timeout } => A::Wait {
                            offset: location(ea),
                            timeout,
                        },
                        TraceAction::Woken { ea } => A::Woken { offset: ea },
                        TraceAction::Timeout { ea } => A::Timeout { offset: ea },
                        TraceAction::Notify { ea, woken, max } => A::Notify {
                            offset: location(ea),
                            woken,
                            max,
                        },
                        TraceAction::Fence => A::Fence,
                    })
                    .collect();
                let label = match thread {
                    Some(t) => format!("{} #{}", self.names[t], po_index),
                    None => "init".into(),
                };
                Event {
                    thread,
                    po_index,
                    actions,
                    label,
                }
            })
            .collect();
        let mut po = Relation::new(n);
        let mut spawn = Relation::new(n);
        for a in 0..n {
            for b in a + 1..n {
                if thread_of[a].is_some() && thread_of[a] == thread_of[b] {
                    po.set(a, b);
                }
            }
            // The allocation's writes (the initialising write, and the length's when it is
            // modelled) come first and happen before every later event.
            if thread_of[a].is_none() {
                for b in a + 1..n {
                    spawn.set(a, b);
                }
            }
        }
        for m in &self.marks {
            let (before, after) = match *m {
                Mark::Spawn { parent, child, at } => ((parent, ..at), (child, 0..n)),
                Mark::Join { parent, child, at } => ((child, ..n), (parent, at..n)),
            };
            let _ = &before;
            for a in 0..before.1.end.min(n) {
                if thread_of[a] != Some(before.0) {
                    continue;
                }
                for b in after.1.clone() {
                    if thread_of[b] == Some(after.0) {
                        spawn.set(a, b);
                    }
                }
            }
        }
        spawn.close();
        let rf = self
            .trace
            .events
            .iter()
            .map(|e| e.reads_from.clone())
            .collect();
        let mut ex = Execution {
            events,
            po,
            spawn,
            rf,
            tot: (0..n).collect(),
            hb: Relation::new(n),
        };
        ex.hb = ex.least_hb();
        Some(ex)
    }
}
