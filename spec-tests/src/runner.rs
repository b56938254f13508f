//! Running one script: the main script and every `(thread ...)` are *tasks* over one
//! [`Configuration`], interleaved by a seeded [`Scheduler`] as in the reference
//! interpreter (`script/run.ml`, `run_script`).
//!
//! * A task's directive other than an action runs as one scheduling step.
//! * An action (`invoke`, and the invoke of `assert_return`/`assert_trap`/`assert_exhaustion`)
//!   runs on its own interpreter thread ([`Configuration::spawn`]), advanced by
//!   [`Configuration::step`] one quantum per scheduling step; when it finishes, its result
//!   is checked against the directive.
//! * A task whose interpreter thread is blocked in `memory.atomic.wait`, or which runs
//!   `(wait $T)` while `$T` has directives left, is not runnable.
//! * When no task is runnable, the virtual clock jumps to the next wait deadline if there
//!   is one; otherwise it is a deadlock: every blocked directive fails with a message that
//!   names each blocked script thread and what it waits on, the blocked script threads are
//!   abandoned, and the main script goes on with its next directive. The run never hangs;
//!   runaway code ends when the configuration's fuel runs out.
//!
//! Each task has its own registry (`spectest` and what it registers) and its own module
//! and thread names; a thread sees by name only the modules listed in its
//! `(shared (module $M))` clause, and the last of them is its current module.

use crate::report::FileReport;
use crate::script::{Action, Cmd, Directive, Location};
use crate::spectest::{self, Exports};
use crate::values::{describe_mismatch, format_expected, format_values, match_results, Expected};
use heddle_interp::store::ModuleInst;
use heddle_interp::{
    Configuration, ExecLimits, ExternVal, Features, InstanceAddr, InstantiationError, Module,
    ModuleErrorKind, Scheduler, SeededRandom, SharedBackend, ThreadId, ThreadStatus, Trap, Value,
};
use indexmap::IndexMap;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Options for running scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// The backend of shared memories. With [`SharedBackend::Native`] every script thread
    /// (and the main script) runs on its own OS thread, with its own configuration (its own
    /// instances), sharing with the threads it starts the shared memories of the modules
    /// named in their `(shared (module $M))` clause; `(wait $T)` joins the OS thread.
    pub memory: SharedBackend,
    /// Seed of the scheduler ([`SeededRandom`]); each file's run is deterministic for it.
    pub seed: u64,
    /// Total small steps per file (over all threads); `None` for no limit.
    pub fuel: Option<u64>,
    /// Largest quantum (small steps per scheduling decision) when several tasks can run.
    pub max_quantum: u64,
    /// The feature set modules are decoded with; `None` chooses by file
    /// ([`features_for`]).
    pub features: Option<Features>,
    /// Detect races on the shared memories (sequentially consistent backend;
    /// [`heddle_interp::race`]): [`FileReport::races`].
    pub races: bool,
}

/// The feature set a script file is run with: [`Features::Threads`] for the threads
/// proposal's own scripts, written against Wasm 2.0 plus threads (they expect multiple
/// memories and extended constants to be rejected): a file under `$HEDDLE_TESTSUITE/threads`
/// or `$HEDDLE_TESTSUITE/upstream/proposals/threads`, or under any directory `threads` whose
/// parent is named `testsuite` or `proposals` (the same suites elsewhere: a copy, another
/// checkout, a binary built in another tree). [`Features::Wasm3`] for every other file.
pub fn features_for(path: &std::path::Path) -> Features {
    let suites = crate::suite::testsuite_dir();
    let Ok(file) = path.canonicalize() else {
        return Features::Wasm3;
    };
    let threads_dirs = [
        suites.join("threads"),
        suites.join("upstream/proposals/threads"),
    ];
    let in_suite = threads_dirs
        .iter()
        .filter_map(|d| d.canonicalize().ok())
        .any(|d| file.starts_with(d));
    let names: Vec<&std::ffi::OsStr> = file.iter().collect();
    let by_layout = names
        .windows(2)
        .any(|w| (w[0] == "testsuite" || w[0] == "proposals") && w[1] == "threads");
    if in_suite || by_layout {
        Features::Threads
    } else {
        Features::Wasm3
    }
}

/// The bound [`RunOptions::native`] puts on a `memory.atomic.wait` without timeout: a
/// script that deadlocks on the native backend fails (the wait traps with "deadlock")
/// after this long instead of hanging.
pub const NATIVE_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

impl RunOptions {
    /// The default options with the native backend (OS threads, [`NATIVE_WAIT_LIMIT`]).
    pub fn native() -> Self {
        RunOptions {
            memory: SharedBackend::Native {
                wait_limit: Some(NATIVE_WAIT_LIMIT),
            },
            ..RunOptions::default()
        }
    }
}

/// Default fuel per file: three billion small steps.
pub const DEFAULT_FUEL: u64 = 3_000_000_000;

/// Quantum used when only one task can run (no interleaving to explore).
const SOLO_QUANTUM: u64 = 1 << 20;

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            memory: SharedBackend::Sc,
            seed: 0,
            fuel: Some(DEFAULT_FUEL),
            max_quantum: 64,
            features: None,
            races: false,
        }
    }
}

/// Run a script given as source text. `file` names it in the report.
pub fn run_wast_source(file: &str, text: &str, opts: &RunOptions) -> FileReport {
    let start = Instant::now();
    let mut report = FileReport::new(file);
    let directives = match parse(text) {
        Ok(d) => d,
        Err((line, column, message)) => {
            report.fail(line, column, "parse", "main", message);
            report.duration = start.elapsed();
            return report;
        }
    };
    let mut runner = Runner::new(report, opts);
    runner.add_task(
        "main".into(),
        Context::new(runner.spectest.clone()),
        directives,
    );
    runner.run_catching();
    runner.collect_races();
    let mut report = runner.report;
    report.duration = start.elapsed();
    report
}

/// A panic's message.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// The directive name of the failure reported for a file that cannot be read.
pub const UNREADABLE: &str = "read";

/// Run a script file. `display` names it in the report; a file that cannot be read (or is
/// not UTF-8) is one failure of the directive [`UNREADABLE`].
pub fn run_wast_file(path: &std::path::Path, display: &str, opts: &RunOptions) -> FileReport {
    let opts = &RunOptions {
        features: Some(opts.features.unwrap_or_else(|| features_for(path))),
        ..opts.clone()
    };
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => run_wast_source(display, &text, opts),
            Err(_) => {
                let mut r = FileReport::new(display);
                r.fail(0, 0, UNREADABLE, "main", "file is not valid UTF-8");
                r
            }
        },
        Err(e) => {
            let mut r = FileReport::new(display);
            r.fail(0, 0, UNREADABLE, "main", format!("cannot read file: {e}"));
            r
        }
    }
}

fn parse(text: &str) -> Result<Vec<Directive>, (u32, u32, String)> {
    let err = |e: wast::Error| {
        let (l, c) = e.span().linecol_in(text);
        (
            l as u32 + 1,
            c as u32 + 1,
            format!("cannot parse script: {}", e.message()),
        )
    };
    // The legacy exception scripts' folded `try`, which `wast` no longer parses.
    let desugared = crate::legacy_try::desugar(text);
    let text = desugared.as_deref().unwrap_or(text);
    // The suites put "trojan source" characters (U+202E ...) in names on purpose.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).map_err(err)?;
    let script = wast::parser::parse::<wast::Wast>(&buf).map_err(err)?;
    Ok(crate::script::lower(text, script))
}

/// An instance binding: the instance, or why the module that should have made it failed.
type Binding = Result<InstanceAddr, String>;

/// A task's names (reference interpreter `context`).
struct Context {
    /// Named instances (`$M`).
    instances: HashMap<String, Binding>,
    /// The most recently defined module, the target of unnamed actions.
    current: Option<Binding>,
    /// Registered modules, by import module name.
    registry: IndexMap<String, Arc<Exports>>,
    /// Script threads this task created, by name, as task indices.
    threads: HashMap<String, usize>,
    /// Module definitions (`module definition`), by name.
    definitions: HashMap<String, Result<Arc<Module>, String>>,
    /// The most recent module definition, the target of an unnamed `module instance`.
    last_definition: Option<Result<Arc<Module>, String>>,
}

impl Context {
    fn new(spectest: Arc<Exports>) -> Self {
        let mut registry = IndexMap::new();
        registry.insert("spectest".to_string(), spectest);
        Context {
            instances: HashMap::new(),
            current: None,
            registry,
            threads: HashMap::new(),
            definitions: HashMap::new(),
            last_definition: None,
        }
    }

    fn lookup(&self, name: &Option<String>) -> Result<InstanceAddr, String> {
        match name {
            Some(n) => match self.instances.get(n) {
                Some(Ok(a)) => Ok(*a),
                Some(Err(why)) => Err(format!("module {n} is not available: {why}")),
                None => Err(format!("unknown module {n}")),
            },
            None => match &self.current {
                Some(Ok(a)) => Ok(*a),
                Some(Err(why)) => Err(format!("the current module is not available: {why}")),
                None => Err("no module defined".into()),
            },
        }
    }
}

/// What an action's result is checked against.
enum Check {
    /// A bare action: any result, but not a trap.
    Any,
    Return(Result<Vec<Expected>, String>),
    Trap(String),
    Exhaustion(String),
    /// An uncaught exception (`assert_exception`).
    Exception,
}

enum TaskState {
    /// Its next directive can run (or it has none left).
    Ready,
    /// Running an action on an interpreter thread.
    Running {
        tid: ThreadId,
        at: Location,
        check: Check,
        what: String,
    },
    /// Running `(wait $T)`; `task` is T's index.
    Waiting { task: usize, at: Location },
    /// All directives done (or abandoned after a deadlock).
    Done,
}

struct Task {
    /// `main` or the thread's name.
    name: String,
    ctx: Context,
    cmds: VecDeque<Directive>,
    state: TaskState,
    /// With races detected: the interpreter threads whose steps happen before this task's
    /// next action (its previous action's thread, the spawner's at the `thread`
    /// directive, the threads of the tasks it waited for).
    preds: Vec<ThreadId>,
}

struct Runner {
    opts: RunOptions,
    /// Native mode: the script threads this runner started on OS threads, by the index
    /// its context's `threads` map gives; `None` once joined.
    children: Vec<Option<std::thread::JoinHandle<FileReport>>>,
    /// Native mode: for each instance standing for a shared module, the exports it does not
    /// share (name and kind), to say so when a directive uses one.
    unshared_exports: HashMap<InstanceAddr, HashMap<String, &'static str>>,
    config: Configuration,
    spectest: Arc<Exports>,
    tasks: Vec<Task>,
    sched: SeededRandom,
    max_quantum: u64,
    report: FileReport,
    /// The directive started last (for panic reports).
    last: Option<(Location, String)>,
    /// The feature set modules are decoded with.
    features: Features,
    /// With races detected: the script thread (task name) of each interpreter thread.
    thread_names: HashMap<ThreadId, String>,
}

/// Outcome of a directive that ran synchronously.
type Res = Result<(), String>;

impl Runner {
    fn new(report: FileReport, opts: &RunOptions) -> Self {
        let mut config = Configuration::with_limits(ExecLimits {
            fuel: opts.fuel,
            ..ExecLimits::default()
        });
        config.set_shared_backend(opts.memory);
        let spectest = Arc::new(spectest::install(&mut config));
        Runner {
            opts: opts.clone(),
            children: Vec::new(),
            unshared_exports: HashMap::new(),
            config,
            spectest,
            tasks: Vec::new(),
            sched: SeededRandom::new(opts.seed, opts.max_quantum),
            max_quantum: opts.max_quantum,
            report,
            last: None,
            features: opts.features.unwrap_or_default(),
            thread_names: HashMap::new(),
        }
    }

    /// With races detected: detection on every shared memory allocated so far (from now
    /// on), and the predecessors of task `i` happen before interpreter thread `tid`, which
    /// runs its next action (thread start and join, runtime.rst; docs/races.md).
    fn start_races(&mut self, i: usize, tid: ThreadId) {
        if !self.opts.races {
            return;
        }
        let preds = std::mem::replace(&mut self.tasks[i].preds, vec![tid]);
        for m in &mut self.config.store.mems {
            if let heddle_interp::memory::MemInst::Shared(sm) = m {
                sm.enable_races();
                for &p in &preds {
                    sm.join_view(tid, p);
                }
            }
        }
        // Race reports name script threads as `heddle explore` and `heddle run --wasi` do:
        // `main`, `T1` (the script's `$T1` without its sigil; docs/races.md, *Report*).
        let name = self.tasks[i].name.trim_start_matches('$').to_string();
        self.thread_names.insert(tid, name);
    }

    /// With races detected: the races of every shared memory into the report.
    fn collect_races(&mut self) {
        if !self.opts.races {
            return;
        }
        let names = &self.thread_names;
        let name = |t: ThreadId| names.get(&t).cloned().unwrap_or_else(|| t.to_string());
        for m in &self.config.store.mems {
            if let heddle_interp::memory::MemInst::Shared(sm) = m {
                for r in sm.races().map(|d| d.races()).unwrap_or_default() {
                    let report = crate::report::RaceReport::new(r, &self.config.store, &name, "");
                    if !self.report.races.iter().any(|x| x.same_locations(&report)) {
                        self.report.races.push(report);
                    }
                }
            }
        }
    }

    /// Whether script threads run on OS threads (the native backend).
    fn native(&self) -> bool {
        matches!(self.opts.memory, SharedBackend::Native { .. })
    }

    /// [`Runner::run`], turning a panic into a failure of the directive that was running
    /// (the rest of the script is not run); then, in native mode, join the script threads
    /// never waited for and add their reports.
    fn run_catching(&mut self) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run()));
        if let Err(panic) = outcome {
            let msg = panic_message(panic.as_ref());
            let (at, thread) = self.last.clone().unwrap_or((
                Location {
                    line: 0,
                    column: 0,
                    kind: "internal",
                },
                "main".into(),
            ));
            self.report.fail(
                at.line,
                at.column,
                "internal",
                &thread,
                format!(
                    "panic while running {} at {}:{}: {msg}; the rest of the file was not run",
                    at.kind, at.line, at.column
                ),
            );
        }
        for i in 0..self.children.len() {
            if let Err(e) = self.join_child(i) {
                let thread = self.tasks.first().map_or("main".into(), |t| t.name.clone());
                self.report.fail(0, 0, "internal", &thread, e);
            }
        }
    }

    /// Native mode: start script thread `name` on a new OS thread, with a configuration of
    /// its own in which each module of `shared` is an instance exporting the same shared
    /// memories (only shared memories cross OS threads: functions, tables, globals and
    /// unshared memories of a shared module are not visible to the thread).
    fn spawn_native(
        &mut self,
        i: usize,
        name: String,
        shared: &[String],
        body: Vec<Directive>,
    ) -> Res {
        let mut child = Runner::new(FileReport::new(self.report.file.clone()), &self.opts);
        let mut ctx = Context::new(child.spectest.clone());
        let mut res = Ok(());
        for m in shared {
            let binding = match self.tasks[i].ctx.instances.get(m) {
                Some(Ok(inst)) => Ok(child.proxy_instance(&self.config, *inst)),
                Some(Err(e)) => Err(e.clone()),
                None => {
                    res = Err(format!("unknown module {m} in the shared list of {name}"));
                    continue;
                }
            };
            ctx.instances.insert(m.clone(), binding.clone());
            ctx.current = Some(binding);
        }
        child.add_task(name.clone(), ctx, body);
        let spawned = std::thread::Builder::new()
            .name(format!("wast {name}"))
            .spawn(move || {
                child.run_catching();
                child.report
            });
        match spawned {
            Ok(handle) => {
                self.children.push(Some(handle));
                self.tasks[i]
                    .ctx
                    .threads
                    .insert(name, self.children.len() - 1);
                res
            }
            Err(e) => Err(format!("cannot start an OS thread for {name}: {e}")),
        }
    }

    /// An instance of this runner's store standing for instance `inst` of `parent`: it
    /// exports the shared memories `inst` exports (native memories, shared by `Arc`).
    fn proxy_instance(&mut self, parent: &Configuration, inst: InstanceAddr) -> InstanceAddr {
        let mut proxy = ModuleInst::default();
        let mut unshared = HashMap::new();
        for (name, ev) in &parent.store.instances[inst.0 as usize].exports {
            match ev {
                ExternVal::Memory(m) if parent.native_memory(*m).is_some() => {
                    let native = parent.native_memory(*m).expect("just checked");
                    let a = self.config.import_native_memory(native);
                    proxy.mems.push(a);
                    proxy.exports.push((name.clone(), ExternVal::Memory(a)));
                }
                ExternVal::Memory(_) => {
                    unshared.insert(name.clone(), "unshared memory");
                }
                ExternVal::Func(_) => {
                    unshared.insert(name.clone(), "function");
                }
                ExternVal::Table(_) => {
                    unshared.insert(name.clone(), "table");
                }
                ExternVal::Global(_) => {
                    unshared.insert(name.clone(), "global");
                }
                ExternVal::Tag(_) => {
                    unshared.insert(name.clone(), "tag");
                }
            }
        }
        self.config.store.instances.push(proxy);
        let addr = InstanceAddr(self.config.store.instances.len() as u32 - 1);
        self.unshared_exports.insert(addr, unshared);
        addr
    }

    /// The failure of an action on export `name` that `inst` does not have: in native mode
    /// `inst` may stand for a shared module whose other exports stay on their OS thread.
    fn undefined_export(&self, inst: InstanceAddr, name: &str) -> String {
        match self.unshared_exports.get(&inst).and_then(|n| n.get(name)) {
            Some(kind) => format!(
                "export {name:?} is a {kind} of a module shared with this script thread: on \
                 the native backend only shared memories are shared between script threads, \
                 each of which runs on its own OS thread with its own instances \
                 (docs/native.md)"
            ),
            None => format!("undefined export {name:?}"),
        }
    }

    /// Native mode: join script thread `child` (if not joined yet) and add its report.
    fn join_child(&mut self, child: usize) -> Res {
        let Some(handle) = self.children.get_mut(child).and_then(Option::take) else {
            return Ok(());
        };
        match handle.join() {
            Ok(report) => {
                self.report.absorb(report);
                Ok(())
            }
            Err(panic) => Err(format!(
                "the OS thread of a script thread panicked: {}",
                panic_message(panic.as_ref())
            )),
        }
    }

    fn add_task(&mut self, name: String, ctx: Context, cmds: Vec<Directive>) -> usize {
        self.tasks.push(Task {
            name,
            ctx,
            cmds: cmds.into(),
            state: TaskState::Ready,
            preds: Vec::new(),
        });
        self.tasks.len() - 1
    }

    fn record(&mut self, task: usize, at: &Location, res: Res) {
        let thread = &self.tasks[task].name;
        match res {
            Ok(()) => self.report.pass(at.line, at.column, at.kind, thread),
            Err(m) => self.report.fail(at.line, at.column, at.kind, thread, m),
        }
    }

    /// Settle states that need no scheduling decision: a `Ready` task with nothing left is
    /// `Done`; a `wait` on a `Done` task completes. Repeats until nothing changes.
    fn settle(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.tasks.len() {
                match self.tasks[i].state {
                    TaskState::Ready if self.tasks[i].cmds.is_empty() => {
                        self.tasks[i].state = TaskState::Done;
                        changed = true;
                    }
                    TaskState::Waiting { task, ref at } => {
                        if matches!(self.tasks[task].state, TaskState::Done) {
                            let at = at.clone();
                            let joined = self.tasks[task].preds.clone();
                            self.tasks[i].preds.extend(joined);
                            self.tasks[i].state = TaskState::Ready;
                            self.record(i, &at, Ok(()));
                            changed = true;
                        }
                    }
                    _ => {}
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn runnable(&self, i: usize) -> bool {
        match &self.tasks[i].state {
            TaskState::Ready => !self.tasks[i].cmds.is_empty(),
            TaskState::Running { tid, .. } => self.config.status(*tid) == ThreadStatus::Runnable,
            TaskState::Waiting { .. } | TaskState::Done => false,
        }
    }

    fn run(&mut self) {
        loop {
            self.settle();
            let runnable: Vec<usize> = (0..self.tasks.len())
                .filter(|&i| self.runnable(i))
                .collect();
            if runnable.is_empty() {
                if self
                    .tasks
                    .iter()
                    .all(|t| matches!(t.state, TaskState::Done))
                {
                    return;
                }
                match self.config.next_deadline() {
                    Some(d) => self.config.advance_clock(d),
                    None => self.deadlock(),
                }
                continue;
            }
            let (task, quantum) = if runnable.len() == 1 {
                (runnable[0], SOLO_QUANTUM)
            } else {
                let c = self.sched.pick(runnable.len());
                (runnable[c.index], c.quantum.min(self.max_quantum))
            };
            self.step_task(task, quantum);
        }
    }

    /// No task can run and no timeout can fire: fail every blocked directive, abandon the
    /// blocked script threads, let the main script go on.
    fn deadlock(&mut self) {
        let mut parts = Vec::new();
        for t in &self.tasks {
            match &t.state {
                TaskState::Running { tid, at, what, .. } => parts.push(format!(
                    "{} is blocked in {what} ({} at {}:{}): {}",
                    t.name,
                    at.kind,
                    at.line,
                    at.column,
                    self.config.describe_block(*tid)
                )),
                TaskState::Waiting { task, at } => parts.push(format!(
                    "{} waits for {} (wait at {}:{})",
                    t.name, self.tasks[*task].name, at.line, at.column
                )),
                TaskState::Ready | TaskState::Done => {}
            }
        }
        let msg = format!(
            "deadlock: no script thread can make progress: {}",
            parts.join("; ")
        );
        for i in 0..self.tasks.len() {
            let at = match &self.tasks[i].state {
                TaskState::Running { at, .. } | TaskState::Waiting { at, .. } => at.clone(),
                TaskState::Ready | TaskState::Done => continue,
            };
            let left = self.tasks[i].cmds.len();
            let m = if i == 0 {
                msg.clone()
            } else {
                format!(
                    "{msg} (script thread {} abandoned, {left} directive(s) not run)",
                    self.tasks[i].name
                )
            };
            self.record(i, &at, Err(m));
            if i == 0 {
                self.tasks[i].state = TaskState::Ready;
            } else {
                self.tasks[i].cmds.clear();
                self.tasks[i].state = TaskState::Done;
            }
        }
    }

    fn step_task(&mut self, i: usize, quantum: u64) {
        match self.tasks[i].state {
            TaskState::Running { tid, .. } => {
                if self.config.step(tid, quantum) == ThreadStatus::Finished {
                    self.finish_action(i);
                }
            }
            TaskState::Ready => {
                let d = self.tasks[i]
                    .cmds
                    .pop_front()
                    .expect("runnable task has a directive");
                self.last = Some((d.at.clone(), self.tasks[i].name.clone()));
                self.run_directive(i, d);
            }
            TaskState::Waiting { .. } | TaskState::Done => unreachable!("not runnable"),
        }
    }

    fn finish_action(&mut self, i: usize) {
        let TaskState::Running {
            tid,
            at,
            check,
            what,
        } = std::mem::replace(&mut self.tasks[i].state, TaskState::Ready)
        else {
            unreachable!("finish_action on a task that runs no action")
        };
        let result = self
            .config
            .take_result(tid)
            .unwrap_or_else(|| Err(Trap::Host("thread finished without a result".into())));
        let res = check_result(&what, &check, result);
        self.record(i, &at, res);
    }

    fn run_directive(&mut self, i: usize, d: Directive) {
        let at = d.at;
        let res: Res = match d.cmd {
            Cmd::Module { name, bytes } => self.define_module(i, name, bytes),
            Cmd::ModuleDefinition { name, bytes } => {
                let module = self.load(bytes);
                let ctx = &mut self.tasks[i].ctx;
                let res = module.as_ref().map(|_| ()).map_err(Clone::clone);
                if let Some(n) = name {
                    ctx.definitions.insert(n, module.clone());
                }
                ctx.last_definition = Some(module);
                res
            }
            Cmd::ModuleInstance { instance, module } => {
                let ctx = &self.tasks[i].ctx;
                let definition = match &module {
                    Some(m) => ctx.definitions.get(m).cloned(),
                    None => ctx.last_definition.clone(),
                };
                let module = match definition {
                    Some(Ok(m)) => Ok(m),
                    Some(Err(why)) => Err(format!("its definition failed ({why})")),
                    None => Err(format!(
                        "unknown module definition {}",
                        module.as_deref().unwrap_or("(none defined)")
                    )),
                };
                self.instantiate_module(i, instance, module)
            }
            Cmd::Register { as_name, module } => {
                let ctx = &self.tasks[i].ctx;
                match ctx.lookup(&module) {
                    Ok(inst) => {
                        let exports = spectest::instance_exports(&self.config, inst);
                        self.tasks[i]
                            .ctx
                            .registry
                            .insert(as_name, Arc::new(exports));
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Cmd::Action(a) => return self.start_action(i, at, a, Check::Any),
            Cmd::AssertReturn { action, expected } => {
                return self.start_action(i, at, action, Check::Return(expected))
            }
            Cmd::AssertTrap { action, message } => {
                return self.start_action(i, at, action, Check::Trap(message))
            }
            Cmd::AssertExhaustion { action, message } => {
                return self.start_action(i, at, action, Check::Exhaustion(message))
            }
            Cmd::AssertException { action } => {
                return self.start_action(i, at, action, Check::Exception)
            }
            Cmd::AssertCustom { bytes, message } => match bytes {
                // The text parser rejected the annotation.
                Err(_) => Ok(()),
                Ok(b) => match Module::decode_with(&b, self.features) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(format!(
                        "expected only the custom content to be wrong ({message:?}), but the \
                         module was rejected: {e}"
                    )),
                },
            },
            Cmd::AssertUninstantiable { bytes, message } => match self.load_and_link(i, bytes) {
                Err(e) => Err(e),
                Ok((module, imports)) => match self.config.instantiate(module, &imports) {
                    Ok(_) => Err(format!(
                        "expected instantiation to trap with {message:?}, but it succeeded"
                    )),
                    Err(InstantiationError::Trap(t)) => {
                        check_message(&message, &t.message(), "trap")
                    }
                    Err(InstantiationError::Link(l)) => Err(format!(
                        "expected instantiation to trap with {message:?}, got link failure {l:?}"
                    )),
                },
            },
            Cmd::AssertUnlinkable { bytes, message } => {
                match self.load(bytes) {
                    Err(e) => Err(e),
                    Ok(module) => {
                        match spectest::resolve_imports(&module, &self.tasks[i].ctx.registry) {
                        Err(l) => check_message(&message, &l, "link failure"),
                        Ok(imports) => match self.config.instantiate(module, &imports) {
                            Ok(_) => Err(format!("expected link failure {message:?}, but the module instantiated")),
                            Err(InstantiationError::Link(l)) => check_message(&message, &l, "link failure"),
                            Err(InstantiationError::Trap(t)) => Err(format!(
                                "expected link failure {message:?}, got trap {:?}",
                                t.message()
                            )),
                        },
                    }
                    }
                }
            }
            Cmd::AssertInvalid { bytes, message } | Cmd::AssertMalformed { bytes, message } => {
                // Policy: any rejection (text parser, decoder, validator) passes.
                let _ = message;
                match bytes {
                    Err(_) => Ok(()),
                    Ok(b) => match Module::decode_with(&b, self.features) {
                        Err(e) if e.kind == ModuleErrorKind::Invalid => Ok(()),
                        Err(e) => Err(format!("expected the module to be rejected, got {e}")),
                        Ok(_) => Err(
                            "expected the module to be rejected, but it decoded and validated"
                                .into(),
                        ),
                    },
                }
            }
            Cmd::Thread { name, shared, body } if self.native() => {
                self.spawn_native(i, name, &shared, body)
            }
            Cmd::Wait { thread } if self.native() => match self.tasks[i].ctx.threads.get(&thread) {
                None => Err(format!("unknown thread {thread}")),
                Some(&child) => self.join_child(child),
            },
            Cmd::Thread { name, shared, body } => {
                let mut ctx = Context::new(self.spectest.clone());
                let mut res = Ok(());
                for m in &shared {
                    match self.tasks[i].ctx.instances.get(m) {
                        Some(b) => {
                            ctx.instances.insert(m.clone(), b.clone());
                            ctx.current = Some(b.clone());
                        }
                        None => {
                            res = Err(format!("unknown module {m} in the shared list of {name}"))
                        }
                    }
                }
                let t = self.add_task(name.clone(), ctx, body);
                self.tasks[t].preds = self.tasks[i].preds.clone();
                self.tasks[i].ctx.threads.insert(name, t);
                res
            }
            Cmd::Wait { thread } => match self.tasks[i].ctx.threads.get(&thread) {
                None => Err(format!("unknown thread {thread}")),
                Some(&t) => {
                    if matches!(self.tasks[t].state, TaskState::Done) {
                        let joined = self.tasks[t].preds.clone();
                        self.tasks[i].preds.extend(joined);
                        Ok(())
                    } else {
                        self.tasks[i].state = TaskState::Waiting { task: t, at };
                        return;
                    }
                }
            },
            Cmd::Unsupported => Err(format!("unsupported directive {}", at.kind)),
        };
        self.record(i, &at, res);
    }

    fn load(&self, bytes: crate::script::Binary) -> Result<Arc<Module>, String> {
        let bytes = bytes.map_err(|e| format!("text format error: {e}"))?;
        match Module::decode_with(&bytes, self.features) {
            Ok(m) => Ok(Arc::new(m)),
            Err(e) if e.kind == ModuleErrorKind::Unsupported => Err(e.to_string()),
            Err(e) => Err(format!("module rejected: {e}")),
        }
    }

    fn load_and_link(
        &self,
        i: usize,
        bytes: crate::script::Binary,
    ) -> Result<(Arc<Module>, Vec<ExternVal>), String> {
        let module = self.load(bytes)?;
        let imports = spectest::resolve_imports(&module, &self.tasks[i].ctx.registry)
            .map_err(|e| format!("link failure: {e}"))?;
        Ok((module, imports))
    }

    fn define_module(
        &mut self,
        i: usize,
        name: Option<String>,
        bytes: crate::script::Binary,
    ) -> Res {
        let module = self.load(bytes);
        self.instantiate_module(i, name, module)
    }

    /// Link and instantiate a (decoded) module, and bind the instance to `name` and as the
    /// task's current module.
    fn instantiate_module(
        &mut self,
        i: usize,
        name: Option<String>,
        module: Result<Arc<Module>, String>,
    ) -> Res {
        let result: Result<InstanceAddr, String> = module.and_then(|m| {
            let imports = spectest::resolve_imports(&m, &self.tasks[i].ctx.registry)
                .map_err(|e| format!("link failure: {e}"))?;
            self.config.instantiate(m, &imports).map_err(|e| match e {
                InstantiationError::Link(l) => format!("link failure: {l}"),
                InstantiationError::Trap(t) => {
                    format!("instantiation trapped: {}", t.message())
                }
            })
        });
        let ctx = &mut self.tasks[i].ctx;
        let binding: Binding = result
            .clone()
            .map_err(|e| format!("its module failed ({e})"));
        if let Some(n) = name {
            ctx.instances.insert(n, binding.clone());
        }
        ctx.current = Some(binding);
        result.map(|_| ())
    }

    fn start_action(&mut self, i: usize, at: Location, action: Action, check: Check) {
        let ctx = &self.tasks[i].ctx;
        match action {
            Action::Get { module, name } => {
                let what = format!("get {name:?}");
                let res =
                    ctx.lookup(&module)
                        .and_then(|inst| match self.config.export(inst, &name) {
                            Some(ExternVal::Global(g)) => Ok(vec![self.config.global_value(g)]),
                            Some(_) => Err(format!("export {name:?} is not a global")),
                            None => Err(self.undefined_export(inst, &name)),
                        });
                let res = match res {
                    Ok(vals) => check_result(&what, &check, Ok(vals)),
                    Err(e) => Err(e),
                };
                self.record(i, &at, res);
            }
            Action::Invoke { module, name, args } => {
                let what = format!("invoke {name:?}");
                let started = ctx.lookup(&module).and_then(|inst| {
                    let f = match self.config.export(inst, &name) {
                        Some(ExternVal::Func(f)) => f,
                        Some(_) => return Err(format!("export {name:?} is not a function")),
                        None => return Err(self.undefined_export(inst, &name)),
                    };
                    let args = args.map_err(|e| format!("bad argument: {e}"))?;
                    self.config.spawn(f, &args).map_err(|t| t.message())
                });
                match started {
                    Err(e) => self.record(i, &at, Err(e)),
                    Ok(tid) => {
                        self.start_races(i, tid);
                        self.tasks[i].state = TaskState::Running {
                            tid,
                            at,
                            check,
                            what,
                        };
                        if self.config.status(tid) == ThreadStatus::Finished {
                            self.finish_action(i);
                        }
                    }
                }
            }
        }
    }
}

/// The message policy for traps and link errors: ours must contain the expected text (the
/// reference interpreter requires it as a prefix; every prefix is contained).
fn check_message(expected: &str, actual: &str, what: &str) -> Res {
    if actual.contains(expected) {
        Ok(())
    } else {
        Err(format!(
            "expected {what} {expected:?}, got {what} {actual:?}"
        ))
    }
}

fn is_exhaustion(t: &Trap) -> bool {
    matches!(t, Trap::CallStackExhausted)
}

fn check_result(what: &str, check: &Check, result: Result<Vec<Value>, Trap>) -> Res {
    match (check, result) {
        (Check::Any, Ok(_)) => Ok(()),
        (Check::Any, Err(t)) if t.is_exception() => Err(format!("{what}: {}", t.message())),
        (Check::Any, Err(t)) => Err(format!("{what} trapped: {}", t.message())),
        (Check::Return(Err(e)), _) => Err(e.clone()),
        (Check::Return(Ok(exp)), Ok(vals)) => {
            if match_results(exp, &vals) {
                Ok(())
            } else {
                Err(format!("{what}: {}", describe_mismatch(exp, &vals)))
            }
        }
        (Check::Return(Ok(exp)), Err(t)) => Err(format!(
            "{what}: expected {}, got trap {:?}",
            format_expected(exp),
            t.message()
        )),
        (Check::Trap(m), Err(t)) if t.is_exception() => {
            Err(format!("{what}: expected trap {m:?}, got {}", t.message()))
        }
        (Check::Trap(m), Err(t)) if !is_exhaustion(&t) => check_message(m, &t.message(), "trap"),
        (Check::Trap(m), Err(t)) => Err(format!(
            "{what}: expected trap {m:?}, got resource exhaustion {:?}",
            t.message()
        )),
        (Check::Trap(m), Ok(vals)) => Err(format!(
            "{what}: expected trap {m:?}, got {}",
            format_values(&vals)
        )),
        (Check::Exhaustion(m), Err(t)) if is_exhaustion(&t) => {
            check_message(m, &t.message(), "exhaustion")
        }
        (Check::Exhaustion(m), Err(t)) => Err(format!(
            "{what}: expected exhaustion {m:?}, got trap {:?}",
            t.message()
        )),
        (Check::Exhaustion(m), Ok(vals)) => Err(format!(
            "{what}: expected exhaustion {m:?}, got {}",
            format_values(&vals)
        )),
        (Check::Exception, Err(t)) if t.is_exception() => Ok(()),
        (Check::Exception, Err(t)) => Err(format!(
            "{what}: expected an exception, got trap {:?}",
            t.message()
        )),
        (Check::Exception, Ok(vals)) => Err(format!(
            "{what}: expected an exception, got {}",
            format_values(&vals)
        )),
    }
}
