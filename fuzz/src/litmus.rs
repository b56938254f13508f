//! A litmus test as engines run it: the module binaries of a litmus `.wast` file, the
//! script threads that instantiate them and invoke their exports, and the shared memory
//! they all import; together with the model's view of the same file
//! ([`heddle_model::Program`]) that decides which outcomes are allowed.
//!
//! The accepted files are exactly those of `heddle litmus` (docs/model.md, "Litmus
//! files"): what the model's front end rejects is rejected here with its reason, so that
//! every test an engine runs has an allowed set to be checked against.

pub use crate::value::parse_value;
use heddle_model::program::{Instr, ScriptStep, ValType};
use heddle_model::{parse_litmus, InvokeResult, Outcome, Program, Value};
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use wast::core::{MemoryKind, ModuleField, ModuleKind};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

/// One step of a script thread, as the engine harnesses run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Instantiate `modules[module]` (its memory imports get the shared memory). The thread's
    /// n-th `Instantiate` step makes its instance number n.
    Instantiate {
        /// Index into [`LitmusTest::modules`].
        module: usize,
    },
    /// Invoke an export of one of this thread's instances.
    Invoke {
        /// The thread's instance number.
        instance: usize,
        /// Export name.
        export: String,
        /// Arguments.
        args: Vec<Value>,
        /// Result types (as `"i32"`, `"i64"`, `"f32"`, `"f64"`).
        results: Vec<&'static str>,
    },
    /// Start the given script thread (`thread` block).
    Spawn(usize),
    /// Wait until the given script thread has finished (`(wait $T)`).
    Join(usize),
}

/// A script thread of a litmus test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptThread {
    /// Name without `$`; `main` for the top-level script.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<Step>,
}

/// The shared memory of a litmus test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedMemorySpec {
    /// Initial size in 64 KiB pages.
    pub initial_pages: u64,
    /// Maximum size in pages (shared memories always have one).
    pub maximum_pages: u64,
    /// Non-zero initial bytes `(address, byte)` from the defining module's data segments.
    pub init: Vec<(u32, u8)>,
    /// The harness restores bytes `0..reset_len` to their initial contents before every
    /// iteration: a bound on every address the test accesses (see [`LitmusTest::from_wast`]).
    pub reset_len: u32,
    /// Some function of the test may grow the memory (`memory.grow`; the model's
    /// `Memory::growable`). A grown memory stays grown, so the harnesses give each iteration
    /// of such a test a fresh memory of `initial_pages` (and fresh instances); the others
    /// reuse one memory, reset between iterations.
    pub grows: bool,
}

/// A litmus test ready for the engine adapters.
#[derive(Clone, Debug)]
pub struct LitmusTest {
    /// The file's path, or a generated test's name.
    pub name: String,
    /// The `.wast` source.
    pub source: String,
    /// The model's view of the file (threads in the same order as [`Self::threads`]);
    /// `None` for a test outside the model's subset (made by [`LitmusTest::unmodelled`],
    /// whose allowed outcomes come from elsewhere, e.g. an exhaustive SC exploration of a
    /// data-race-free program).
    pub program: Option<Program>,
    /// The shared memory.
    pub memory: SharedMemorySpec,
    /// Binary modules, in file order (the memory-defining module excluded: the harness
    /// creates the memory itself).
    pub modules: Vec<Vec<u8>>,
    /// Script threads; `threads[0]` is `main`, the others in file order.
    pub threads: Vec<ScriptThread>,
    /// 4-byte-aligned addresses that the harness notifies to wake a thread it found
    /// blocked: every address of the reset region aligned to 4.
    pub wait_addresses: Vec<u32>,
    /// How long every script thread still running must have been stuck, all of them in a
    /// `wait`, before the harness calls them blocked: longer than any finite timeout in the
    /// test (docs/xcheck.md, "Blocked threads").
    pub watchdog: Duration,
    /// For every thread and invoke `[t][k]`: how many `wait`s one call of the invoked
    /// function may perform, `2` standing for "two or more" (a `wait` in a loop, or a call
    /// to another function).
    waits: Vec<Vec<usize>>,
    /// For every thread and invoke `[t][k]`: whether no `wait` one call of the invoked
    /// function may perform has a timeout that can fire (see [`Self::untimed_per_invoke`]).
    untimed: Vec<Vec<bool>>,
}

/// The result of one invoke in one iteration, as a harness records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RawResult {
    /// It returned these values.
    Values(Vec<Value>),
    /// It trapped.
    Trap,
    /// The watchdog found it blocked in a `wait` that nothing would ever wake.
    Blocked,
    /// It did not run (its thread stopped earlier).
    NotRun,
}

impl LitmusTest {
    /// Reads a litmus file.
    ///
    /// The reset region is `0..reset_len` with `reset_len` the least multiple of 64 above
    /// every constant in the test's functions and arguments plus the largest `memarg.offset`
    /// plus 8, and above every initial byte, capped at the memory's size: litmus tests
    /// address memory with constants, so this covers every byte they touch.
    ///
    /// # Errors
    /// A message with the line, when the model's front end rejects the file (syntax, an
    /// unsupported construct) or a module does not encode.
    pub fn from_wast(name: &str, source: &str) -> Result<LitmusTest, String> {
        let program = parse_litmus(source).map_err(|e| e.to_string())?;
        let x = Extract::script(source)?;
        let (initial_pages, maximum_pages) = x.memory.ok_or("no shared memory is defined")?;
        if x.threads.len() != program.threads.len()
            || x.threads
                .iter()
                .zip(&program.threads)
                .any(|(a, b)| a.name != b.name)
        {
            return Err("internal error: script threads differ from the model's view".into());
        }
        // The engine harness shares one 32-bit memory between the workers.
        if program.memories.len() != 1 || program.memories[0].addr64 {
            return Err(
                "xcheck runs litmus tests with one 32-bit shared memory (this one has several, \
                 or a 64-bit one; `heddle litmus` and `heddle explore` take it)"
                    .into(),
            );
        }
        let bounds = scan_program(&program);
        let mem_size = initial_pages.saturating_mul(65536).min(1 << 32);
        let init_end = program.init.last().map_or(0, |&(a, _)| a + 1);
        let accessed = bounds
            .max_const
            .saturating_add(bounds.max_offset)
            .saturating_add(8);
        let reset_len = accessed.max(init_end).div_ceil(64).saturating_mul(64);
        let reset_len = reset_len.min(mem_size).min(u32::MAX as u64) as u32;
        let wait_addresses = (0..reset_len).step_by(4).collect();
        let watchdog = watchdog(bounds.finite_timeouts, bounds.max_timeout_ns);
        let (waits, untimed) = model_waits_per_invoke(&program);
        let mut test = LitmusTest {
            name: name.to_string(),
            source: source.to_string(),
            memory: SharedMemorySpec {
                initial_pages,
                maximum_pages,
                // One memory: its locations are its (32-bit) addresses.
                init: program.init.iter().map(|&(a, b)| (a as u32, b)).collect(),
                reset_len,
                // `Memory::growable`: the front end marks a memory some invoked function grows.
                grows: program.memories[0].growable,
            },
            modules: x.modules,
            threads: x.threads,
            wait_addresses,
            watchdog,
            waits,
            untimed,
            program: Some(program),
        };
        fill_result_types(&mut test);
        Ok(test)
    }

    /// Reads a threaded `.wast` script that the model's front end need not accept (loops,
    /// calls, anything the engines run): the same script threads, modules and shared memory
    /// as [`LitmusTest::from_wast`], with `program` `None`. What the model's view would
    /// tell comes from the module binaries instead: each invoke's result types, and the
    /// `wait`s its function may perform. `reset_len` is the caller's bound on every byte
    /// address the test touches (a generator knows it); it is rounded up to 64 and capped at
    /// the memory's size. The watchdog is as for [`LitmusTest::from_wast`], from the
    /// `wait`s' constant timeouts (a timeout that is not an `i64.const` right before its
    /// `wait` counts as finite and long).
    ///
    /// # Errors
    /// A message with the line on a syntax error, a module that does not encode or decode,
    /// a data segment of the shared memory (not supported here), an invoke of a missing
    /// export, or no shared memory.
    pub fn unmodelled(name: &str, source: &str, reset_len: u32) -> Result<LitmusTest, String> {
        let x = Extract::script(source)?;
        let (initial_pages, maximum_pages) = x.memory.ok_or("no shared memory is defined")?;
        if x.data {
            return Err(
                "the module that defines the shared memory has data segments: only \
                        tests the model reads may initialise it"
                    .into(),
            );
        }
        let facts: Vec<binary::ModuleFacts> = x
            .modules
            .iter()
            .map(|m| binary::ModuleFacts::of(m))
            .collect::<Result<_, _>>()?;
        let mut waits = Vec::new();
        let mut untimed = Vec::new();
        let mut threads = x.threads;
        for th in &mut threads {
            let mut instances = Vec::new();
            let mut per_invoke = Vec::new();
            let mut untimed_per_invoke = Vec::new();
            for s in &mut th.steps {
                match s {
                    Step::Instantiate { module } => instances.push(*module),
                    Step::Invoke {
                        instance,
                        export,
                        results,
                        ..
                    } => {
                        let f = instances
                            .get(*instance)
                            .and_then(|&m| facts[m].exports.get(export.as_str()))
                            .ok_or_else(|| {
                                format!("invoke \"{export}\": no such function export")
                            })?;
                        *results = f.results.clone();
                        per_invoke.push(f.waits);
                        untimed_per_invoke.push(f.untimed);
                    }
                    _ => {}
                }
            }
            waits.push(per_invoke);
            untimed.push(untimed_per_invoke);
        }
        let finite = facts.iter().any(|f| f.finite_timeouts);
        let max_timeout = facts.iter().map(|f| f.max_timeout_ns).max().unwrap_or(0);
        let mem_size = initial_pages.saturating_mul(65536).min(1 << 32);
        let reset_len = (reset_len as u64)
            .div_ceil(64)
            .saturating_mul(64)
            .min(mem_size) as u32;
        Ok(LitmusTest {
            name: name.to_string(),
            source: source.to_string(),
            program: None,
            memory: SharedMemorySpec {
                initial_pages,
                maximum_pages,
                init: Vec::new(),
                reset_len,
                grows: facts.iter().any(|f| f.grows),
            },
            modules: x.modules,
            threads,
            wait_addresses: (0..reset_len).step_by(4).collect(),
            watchdog: watchdog(finite, max_timeout),
            waits,
            untimed,
        })
    }

    /// For every thread, how many `wait`s the function of each of its invokes (`[t][k]`)
    /// may perform: for a modelled test the number of `wait` instructions (the model's
    /// functions are straight-line), for an unmodelled one `2` meaning "two or more" when a
    /// `wait` is in a loop or the function calls another.
    pub fn waits_per_invoke(&self) -> Vec<Vec<usize>> {
        self.waits.clone()
    }

    /// For every thread and invoke `[t][k]`: whether no `wait` that one call of the invoked
    /// function may perform has a timeout that can fire, i.e. each takes a negative
    /// `i64.const` timeout right before it (true when it has no `wait`). A non-constant
    /// timeout, or a call in a module with a timed `wait`, makes it false. Only a thread in
    /// such an invoke may be called blocked: a thread in a `wait` with a finite timeout
    /// returns by itself, however late the OS runs it.
    pub fn untimed_per_invoke(&self) -> Vec<Vec<bool>> {
        self.untimed.clone()
    }

    /// For every thread and invoke `[t][k]`: whether any step after invoke `k` of thread
    /// `t` spawns a thread or invokes a function that contains a `wait`.
    pub fn may_wait_or_spawn_after(&self) -> Vec<Vec<bool>> {
        let waits = self.waits_per_invoke();
        self.threads
            .iter()
            .enumerate()
            .map(|(t, th)| {
                // Walk backwards: after[k] = something after invoke k waits or spawns.
                let mut after = Vec::new();
                let mut seen = false;
                let mut k = waits[t].len();
                for s in th.steps.iter().rev() {
                    match s {
                        Step::Invoke { .. } => {
                            k -= 1;
                            after.push(seen);
                            seen |= waits[t].get(k).copied().unwrap_or(0) > 0;
                        }
                        Step::Spawn(_) => seen = true,
                        _ => {}
                    }
                }
                after.reverse();
                after
            })
            .collect()
    }

    /// The initial memory contents of the reset region (`reset_len` bytes).
    pub fn initial_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.memory.reset_len as usize];
        for &(a, v) in &self.memory.init {
            if let Some(slot) = b.get_mut(a as usize) {
                *slot = v;
            }
        }
        b
    }

    /// Indices of the threads that appear in an outcome: those with invokes, in file order,
    /// `main` last (docs/model.md).
    pub fn outcome_threads(&self) -> Vec<usize> {
        let has_invoke =
            |t: &ScriptThread| t.steps.iter().any(|s| matches!(s, Step::Invoke { .. }));
        let mut v: Vec<usize> = (1..self.threads.len())
            .filter(|&t| has_invoke(&self.threads[t]))
            .collect();
        if has_invoke(&self.threads[0]) {
            v.push(0);
        }
        v
    }

    /// Turns the raw results of one iteration (`raw[t][k]`: thread `t`'s `k`-th invoke) into
    /// an outcome with the model's meaning of a blocked thread (docs/model.md): an invoke
    /// found blocked is `"blocked"` and nothing after it in its thread runs; a thread that
    /// waits for a blocked thread has its next invoke `"blocked"`; a thread spawned after
    /// its parent stopped never runs. Missing entries count as [`RawResult::NotRun`].
    pub fn assemble(&self, raw: &[Vec<RawResult>]) -> Outcome {
        let n = self.threads.len();
        // Walk threads in an order where a joined thread is decided before its joiner:
        // decide lazily with memoisation.
        let mut memo: Vec<Option<Walked>> = vec![None; n];
        fn walk(
            test: &LitmusTest,
            raw: &[Vec<RawResult>],
            t: usize,
            memo: &mut Vec<Option<Walked>>,
            depth: usize,
        ) -> bool {
            if let Some((b, _, _)) = &memo[t] {
                return *b;
            }
            let mut results = Vec::new();
            let mut spawned = Vec::new();
            let mut blocked = false;
            let mut join_blocked = false;
            let mut k = 0;
            for s in &test.threads[t].steps {
                match s {
                    Step::Instantiate { .. } => {}
                    Step::Spawn(c) => spawned.push(*c),
                    Step::Join(c) => {
                        if depth < test.threads.len() && walk(test, raw, *c, memo, depth + 1) {
                            join_blocked = true;
                        }
                    }
                    Step::Invoke { .. } => {
                        if join_blocked {
                            results.push(InvokeResult::Blocked);
                            blocked = true;
                            break;
                        }
                        match raw.get(t).and_then(|r| r.get(k)) {
                            Some(RawResult::Values(vs)) => {
                                results.push(InvokeResult::Values(vs.clone()))
                            }
                            Some(RawResult::Trap) => results.push(InvokeResult::Trap),
                            Some(RawResult::Blocked) => {
                                results.push(InvokeResult::Blocked);
                                blocked = true;
                                break;
                            }
                            Some(RawResult::NotRun) | None => break,
                        }
                        k += 1;
                    }
                }
            }
            let blocked = blocked || join_blocked;
            memo[t] = Some((blocked, results, spawned));
            blocked
        }
        for t in 0..n {
            walk(self, raw, t, &mut memo, 0);
        }
        // Threads never spawned (their parent stopped first) have no results.
        let mut live = vec![false; n];
        live[0] = true;
        for t in 0..n {
            if live[t] {
                if let Some((_, _, sp)) = &memo[t] {
                    for &c in sp {
                        live[c] = true;
                    }
                }
            }
        }
        let mut o = Outcome::default();
        for t in self.outcome_threads() {
            let results = match (&memo[t], live[t]) {
                (Some((_, r, _)), true) => r.clone(),
                _ => Vec::new(),
            };
            o.threads.push((self.threads[t].name.clone(), results));
        }
        o
    }

    /// The test in the JSON form the JavaScript harness reads (fuzz/js/README.md): modules
    /// as byte arrays, values as `"i32:N"` strings, each invoke with the number of `wait`
    /// instructions of its function (`"waits"`) and whether none of them can time out
    /// (`"untimed"`); the hang bound's floor (`"timeout_ms"`) and its factor and
    /// calibration ([`crate::HangBound`]); `"memory"."grows"` asks for a fresh memory per
    /// iteration ([`SharedMemorySpec::grows`]).
    pub fn to_harness_json(&self, opts: &crate::RunOptions) -> serde_json::Value {
        let waits = self.waits_per_invoke();
        let untimed = self.untimed_per_invoke();
        let threads: Vec<serde_json::Value> = self
            .threads
            .iter()
            .enumerate()
            .map(|(ti, t)| {
                let mut k = 0;
                let steps: Vec<serde_json::Value> = t
                    .steps
                    .iter()
                    .map(|s| match s {
                        Step::Instantiate { module } => json!({ "instantiate": module }),
                        Step::Invoke {
                            instance,
                            export,
                            args,
                            results,
                        } => {
                            let w = waits[ti].get(k).copied().unwrap_or(0);
                            let u = untimed[ti].get(k).copied().unwrap_or(false);
                            k += 1;
                            json!({"invoke": {
                                "instance": instance,
                                "export": export,
                                "args": args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                                "results": results,
                                "waits": w,
                                "untimed": u,
                            }})
                        }
                        Step::Spawn(c) => json!({ "spawn": c }),
                        Step::Join(c) => json!({ "join": c }),
                    })
                    .collect();
                json!({"name": t.name, "steps": steps})
            })
            .collect();
        json!({
            "name": self.name,
            "iterations": opts.iterations,
            "seed": opts.seed,
            "watchdog_ms": self.watchdog.as_secs_f64() * 1000.0,
            "timeout_ms": opts.timeout.as_millis() as u64,
            "hang_factor": crate::HangBound::FACTOR,
            "hang_calibration": crate::HangBound::CALIBRATION,
            "memory": {
                "initial": self.memory.initial_pages,
                "maximum": self.memory.maximum_pages,
                "reset_len": self.memory.reset_len,
                "init": self.memory.init,
                "grows": self.memory.grows,
            },
            "wait_addresses": self.wait_addresses,
            "modules": self.modules,
            "threads": threads,
        })
    }
}

/// A thread's walk in [`LitmusTest::assemble`]: whether it ended blocked, its results, and
/// the threads it spawned before it stopped.
type Walked = (bool, Vec<InvokeResult>, Vec<usize>);

/// Parses one invoke result of a harness: a list of values, `"trap"` or `"blocked"`;
/// `null` means the invoke did not run.
///
/// # Errors
/// A message naming the JSON value when it is none of these.
pub fn parse_raw_result(v: &serde_json::Value) -> Result<RawResult, String> {
    match v {
        serde_json::Value::Null => Ok(RawResult::NotRun),
        serde_json::Value::String(s) if s == "trap" => Ok(RawResult::Trap),
        serde_json::Value::String(s) if s == "blocked" => Ok(RawResult::Blocked),
        serde_json::Value::Array(vs) => vs
            .iter()
            .map(|x| match x {
                serde_json::Value::String(s) => parse_value(s),
                other => Err(format!("not a value: {other}")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(RawResult::Values),
        other => Err(format!("not an invoke result: {other}")),
    }
}

fn syntax(text: &str, mut e: wast::Error) -> String {
    e.set_text(text);
    format!(
        "line {}: syntax error: {}",
        e.span().linecol_in(text).0 + 1,
        e.message()
    )
}

/// Names in scope while extracting: per thread, module id → (defining thread, instance).
#[derive(Clone, Default)]
struct Scope {
    named: HashMap<String, usize>,
    last: Option<usize>,
    threads: HashMap<String, usize>,
}

struct Extract<'t> {
    source: &'t str,
    modules: Vec<Vec<u8>>,
    threads: Vec<ScriptThread>,
    memory: Option<(u64, u64)>,
    /// The memory-defining module has data segments.
    data: bool,
}

impl Extract<'_> {
    /// The script threads, module binaries and shared memory of a `.wast` script.
    fn script(source: &str) -> Result<Extract<'_>, String> {
        let mut buf = ParseBuffer::new(source).map_err(|e| syntax(source, e))?;
        buf.track_instr_spans(false);
        let wast: Wast = parser::parse(&buf).map_err(|e| syntax(source, e))?;
        let mut x = Extract {
            source,
            modules: Vec::new(),
            threads: vec![ScriptThread {
                name: "main".into(),
                steps: Vec::new(),
            }],
            memory: None,
            data: false,
        };
        let mut scope = Scope::default();
        x.directives(wast.directives, 0, &mut scope)?;
        Ok(x)
    }

    fn line(&self, span: wast::token::Span) -> usize {
        span.linecol_in(self.source).0 + 1
    }

    fn directives(
        &mut self,
        ds: Vec<WastDirective<'_>>,
        t: usize,
        scope: &mut Scope,
    ) -> Result<(), String> {
        for d in ds {
            let span = d.span();
            match d {
                WastDirective::Module(QuoteWat::Wat(Wat::Module(mut m))) => {
                    let id = m.id.map(|i| i.name().to_string());
                    if self.scan(&m)? {
                        // The memory-defining module: the harness creates the memory.
                        continue;
                    }
                    let bytes = m
                        .encode()
                        .map_err(|e| format!("line {}: {}", self.line(span), e.message()))?;
                    let module = self.modules.len();
                    self.modules.push(bytes);
                    let instance = self.threads[t]
                        .steps
                        .iter()
                        .filter(|s| matches!(s, Step::Instantiate { .. }))
                        .count();
                    self.threads[t].steps.push(Step::Instantiate { module });
                    scope.last = Some(instance);
                    if let Some(id) = id {
                        scope.named.insert(id, instance);
                    }
                }
                WastDirective::Invoke(inv) => self.invoke(inv, t, scope)?,
                WastDirective::AssertReturn { exec, .. }
                | WastDirective::AssertTrap { exec, .. } => {
                    if let WastExecute::Invoke(inv) = exec {
                        self.invoke(inv, t, scope)?
                    }
                }
                WastDirective::AssertExhaustion { call, .. } => self.invoke(call, t, scope)?,
                WastDirective::Thread(th) => {
                    let id = self.threads.len();
                    let name = th.name.name().to_string();
                    self.threads.push(ScriptThread {
                        name: name.clone(),
                        steps: Vec::new(),
                    });
                    self.threads[t].steps.push(Step::Spawn(id));
                    scope.threads.insert(name, id);
                    let mut inner = Scope::default();
                    self.directives(th.directives, id, &mut inner)?;
                }
                WastDirective::Wait { thread, .. } => {
                    let c = *scope
                        .threads
                        .get(thread.name())
                        .ok_or_else(|| format!("line {}: unknown thread", self.line(span)))?;
                    self.threads[t].steps.push(Step::Join(c));
                }
                // Everything else the model's front end accepts runs nothing.
                _ => {}
            }
        }
        Ok(())
    }

    /// Notes the memory definition, constants and offsets of a module; `true` if the module
    /// defines the shared memory.
    fn scan(&mut self, m: &wast::core::Module<'_>) -> Result<bool, String> {
        let ModuleKind::Text(fields) = &m.kind else {
            return Err("binary modules are not supported".into());
        };
        let mut defines = false;
        for f in fields {
            if let ModuleField::Memory(mem) = f {
                if let MemoryKind::Normal(ty) = &mem.kind {
                    let max = ty.limits.max.unwrap_or(ty.limits.min);
                    self.memory = Some((ty.limits.min, max));
                    defines = true;
                }
            }
        }
        if defines {
            self.data = fields.iter().any(|f| matches!(f, ModuleField::Data(_)));
        }
        if defines
            && fields.iter().any(|f| {
                matches!(f, ModuleField::Func(_) | ModuleField::Export(_)) && !is_memory_export(f)
            })
        {
            return Err(
                "the module that defines the shared memory also exports functions: xcheck runs \
                 only tests whose functions live in modules that import the memory"
                    .into(),
            );
        }
        Ok(defines)
    }

    fn invoke(&mut self, inv: WastInvoke<'_>, t: usize, scope: &Scope) -> Result<(), String> {
        let line = self.line(inv.span);
        let instance = match inv.module {
            Some(id) => scope.named.get(id.name()).copied(),
            None => scope.last,
        }
        .ok_or_else(|| format!("line {line}: invoke \"{}\": no such module", inv.name))?;
        let args = inv
            .args
            .iter()
            .map(crate::value::from_wast_arg)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("line {line}: non-numeric invoke argument"))?;
        // The result types come from the model's view of the same invoke.
        self.threads[t].steps.push(Step::Invoke {
            instance,
            export: inv.name.to_string(),
            args,
            results: Vec::new(),
        });
        Ok(())
    }
}

fn is_memory_export(f: &ModuleField<'_>) -> bool {
    matches!(f, ModuleField::Export(e) if matches!(e.kind, wast::core::ExportKind::Memory))
}

/// How long the watchdog waits for silence: 0.2 ms; with a wait that may time out, 10 ms
/// and twice the longest finite timeout (an engine may keep a thread queued a while after a
/// short timeout).
fn watchdog(finite_timeouts: bool, max_timeout_ns: u64) -> Duration {
    if finite_timeouts {
        Duration::from_millis(10)
            + Duration::from_nanos(max_timeout_ns.min(500_000_000).saturating_mul(2))
    } else {
        Duration::from_micros(200)
    }
}

/// For the function of each invoke of each thread: the number of `wait` instructions, and
/// whether none of them has a timeout that may fire (each takes a negative `i64.const`
/// timeout right before it; true when there is no `wait`).
fn model_waits_per_invoke(program: &Program) -> (Vec<Vec<usize>>, Vec<Vec<bool>>) {
    let mut counts = Vec::new();
    let mut untimed = Vec::new();
    for t in &program.threads {
        let (mut c, mut u) = (Vec::new(), Vec::new());
        for s in &t.steps {
            let ScriptStep::Invoke { func, .. } = s else {
                continue;
            };
            let mut waits = 0;
            let mut all_untimed = true;
            let mut prev: Option<&Instr> = None;
            for (ins, _) in &func.body {
                if matches!(ins, Instr::Wait { .. }) {
                    waits += 1;
                    all_untimed &=
                        matches!(prev, Some(Instr::Const(Value::I64(t))) if (*t as i64) < 0);
                }
                prev = Some(ins);
            }
            c.push(waits);
            u.push(all_untimed);
        }
        counts.push(c);
        untimed.push(u);
    }
    (counts, untimed)
}

/// Fills in the result types of every invoke from the model's view of the file.
fn fill_result_types(test: &mut LitmusTest) {
    let Some(program) = &test.program else {
        return;
    };
    for (t, pt) in test.threads.iter_mut().zip(&program.threads) {
        let mut model_invokes = pt.steps.iter().filter_map(|s| match s {
            ScriptStep::Invoke { func, .. } => Some(func.clone()),
            _ => None,
        });
        for s in &mut t.steps {
            if let Step::Invoke { results, .. } = s {
                if let Some(f) = model_invokes.next() {
                    *results = f
                        .results
                        .iter()
                        .map(|r| match r {
                            ValType::I32 => "i32",
                            ValType::I64 => "i64",
                            ValType::F32 => "f32",
                            ValType::F64 => "f64",
                        })
                        .collect();
                }
            }
        }
    }
}

/// What the reset region and the watchdog need to know about a program's functions.
struct Bounds {
    max_const: u64,
    max_offset: u64,
    max_timeout_ns: u64,
    /// Some wait may have a finite timeout (a non-negative or non-constant operand).
    finite_timeouts: bool,
}

/// Scans every invoked function of `program` for constants (an `i64.const` right before a
/// `wait` is its timeout, not an address), `memarg.offset`s and the
/// finite timeouts of `wait`s (an `i64.const` right before the wait).
fn scan_program(program: &Program) -> Bounds {
    let mut b = Bounds {
        max_const: 0,
        max_offset: 0,
        max_timeout_ns: 0,
        finite_timeouts: false,
    };
    for t in &program.threads {
        for s in &t.steps {
            let ScriptStep::Invoke { func, args, .. } = s else {
                continue;
            };
            for a in args {
                if let Value::I32(v) = a {
                    b.max_const = b.max_const.max(*v as u64);
                }
            }
            let mut prev: Option<&Instr> = None;
            for (ins, _) in &func.body {
                // An i64 constant is a possible address unless a wait takes it as timeout.
                if let Some(Instr::Const(Value::I64(v))) = prev {
                    if !matches!(ins, Instr::Wait { .. }) && *v <= u32::MAX as u64 {
                        b.max_const = b.max_const.max(*v);
                    }
                }
                match ins {
                    Instr::Const(Value::I32(v)) => b.max_const = b.max_const.max(*v as u64),
                    Instr::Load { at, .. }
                    | Instr::Store { at, .. }
                    | Instr::Rmw { at, .. }
                    | Instr::Cmpxchg { at, .. }
                    | Instr::Notify { at } => b.max_offset = b.max_offset.max(at.offset),
                    Instr::Wait { at, .. } => {
                        b.max_offset = b.max_offset.max(at.offset);
                        match prev {
                            Some(Instr::Const(Value::I64(t))) if (*t as i64) < 0 => {}
                            Some(Instr::Const(Value::I64(t))) => {
                                b.finite_timeouts = true;
                                b.max_timeout_ns = b.max_timeout_ns.max(*t);
                            }
                            _ => b.finite_timeouts = true,
                        }
                    }
                    _ => {}
                }
                prev = Some(ins);
            }
        }
    }
    b
}

/// What the harness needs to know about a module binary when the model's view of the test
/// is missing ([`LitmusTest::unmodelled`]).
mod binary {
    use std::collections::HashMap;
    use wasmparser::{Operator, Parser, Payload, TypeRef, ValType};

    /// An exported function: its result types and how many `wait`s a call may perform.
    pub(super) struct ExportedFunc {
        /// As `"i32"`, `"i64"`, `"f32"`, `"f64"` (other types are an error).
        pub results: Vec<&'static str>,
        /// `wait` instructions in the body, `2` ("two or more") when one is inside a `loop`
        /// or the body calls another function.
        pub waits: usize,
        /// No `wait` a call may perform has a timeout that can fire (each in the body has a
        /// negative `i64.const` right before it, and if the body calls, so has every `wait`
        /// of the module).
        pub untimed: bool,
    }

    /// Exported functions, and the constant timeouts of every `wait` of the module.
    pub(super) struct ModuleFacts {
        pub exports: HashMap<String, ExportedFunc>,
        /// Some `wait` may time out: its timeout is not a negative `i64.const` right before it.
        pub finite_timeouts: bool,
        /// The longest constant finite timeout, in nanoseconds.
        pub max_timeout_ns: u64,
        /// Some function of the module has a `memory.grow`.
        pub grows: bool,
    }

    /// What one function body does with `wait`.
    struct BodyFacts {
        waits: usize,
        /// Every `wait` of the body has a negative constant timeout.
        untimed: bool,
        /// The body calls another function.
        calls: bool,
        finite_timeouts: bool,
        max_timeout_ns: u64,
        grows: bool,
    }

    fn type_name(t: ValType) -> Result<&'static str, String> {
        Ok(match t {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            other => return Err(format!("an exported function returns {other}")),
        })
    }

    fn body_facts(body: &wasmparser::FunctionBody<'_>) -> Result<BodyFacts, String> {
        let mut f = BodyFacts {
            waits: 0,
            untimed: true,
            calls: false,
            finite_timeouts: false,
            max_timeout_ns: 0,
            grows: false,
        };
        // Open blocks: whether each is a loop.
        let mut loops: Vec<bool> = Vec::new();
        let mut prev_const: Option<i64> = None;
        let mut reader = body.get_operators_reader().map_err(|e| e.to_string())?;
        while !reader.eof() {
            let op = reader.read().map_err(|e| e.to_string())?;
            let mut this_const = None;
            match op {
                Operator::Block { .. } | Operator::If { .. } | Operator::TryTable { .. } => {
                    loops.push(false)
                }
                Operator::Loop { .. } => loops.push(true),
                Operator::End => {
                    loops.pop();
                }
                Operator::Call { .. }
                | Operator::CallIndirect { .. }
                | Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::CallRef { .. }
                | Operator::ReturnCallRef { .. } => {
                    f.waits = 2;
                    f.calls = true;
                }
                Operator::MemoryAtomicWait32 { .. } | Operator::MemoryAtomicWait64 { .. } => {
                    f.waits = if loops.contains(&true) {
                        2
                    } else {
                        (f.waits + 1).min(2)
                    };
                    match prev_const {
                        Some(t) if t < 0 => {}
                        Some(t) => {
                            f.untimed = false;
                            f.finite_timeouts = true;
                            f.max_timeout_ns = f.max_timeout_ns.max(t as u64);
                        }
                        None => {
                            f.untimed = false;
                            f.finite_timeouts = true;
                            f.max_timeout_ns = f.max_timeout_ns.max(500_000_000);
                        }
                    }
                }
                Operator::I64Const { value } => this_const = Some(value),
                Operator::MemoryGrow { .. } => f.grows = true,
                _ => {}
            }
            prev_const = this_const;
        }
        Ok(f)
    }

    impl ModuleFacts {
        /// Reads a module binary.
        ///
        /// # Errors
        /// The decoder's message, or an exported function with a result that is not a
        /// number.
        pub fn of(wasm: &[u8]) -> Result<ModuleFacts, String> {
            let mut types = Vec::new();
            // Type index of every function, imported ones first.
            let mut funcs: Vec<u32> = Vec::new();
            let mut imported = 0usize;
            let mut exported: Vec<(String, u32)> = Vec::new();
            let mut bodies = Vec::new();
            for payload in Parser::new(0).parse_all(wasm) {
                match payload.map_err(|e| e.to_string())? {
                    Payload::TypeSection(r) => {
                        for t in r.into_iter_err_on_gc_types() {
                            types.push(t.map_err(|e| e.to_string())?);
                        }
                    }
                    Payload::ImportSection(r) => {
                        for imp in r.into_imports() {
                            if let TypeRef::Func(t) = imp.map_err(|e| e.to_string())?.ty {
                                funcs.push(t);
                                imported += 1;
                            }
                        }
                    }
                    Payload::FunctionSection(r) => {
                        for t in r {
                            funcs.push(t.map_err(|e| e.to_string())?);
                        }
                    }
                    Payload::ExportSection(r) => {
                        for e in r {
                            let e = e.map_err(|e| e.to_string())?;
                            if e.kind == wasmparser::ExternalKind::Func {
                                exported.push((e.name.to_string(), e.index));
                            }
                        }
                    }
                    Payload::CodeSectionEntry(body) => bodies.push(body_facts(&body)?),
                    _ => {}
                }
            }
            let all_untimed = imported == 0 && bodies.iter().all(|b| b.untimed);
            let mut facts = ModuleFacts {
                exports: HashMap::new(),
                finite_timeouts: bodies.iter().any(|b| b.finite_timeouts),
                max_timeout_ns: bodies.iter().map(|b| b.max_timeout_ns).max().unwrap_or(0),
                grows: bodies.iter().any(|b| b.grows),
            };
            for (name, index) in exported {
                let ty = funcs
                    .get(index as usize)
                    .and_then(|&t| types.get(t as usize))
                    .ok_or_else(|| format!("export {name:?}: no such function"))?;
                let results = ty
                    .results()
                    .iter()
                    .map(|&t| type_name(t))
                    .collect::<Result<_, _>>()?;
                // An imported function's body is elsewhere: it may wait any number of times.
                let body = (index as usize)
                    .checked_sub(imported)
                    .and_then(|i| bodies.get(i));
                let waits = body.map_or(2, |b| b.waits);
                let untimed = body.is_some_and(|b| b.untimed && (!b.calls || all_untimed));
                facts.exports.insert(
                    name,
                    ExportedFunc {
                        results,
                        waits,
                        untimed,
                    },
                );
            }
            Ok(facts)
        }
    }
}
