//! Execution: threads as small-step machines over a shared store (spec *Execution ›
//! Instructions*, and the threads proposal's *Configurations* in `exec/runtime.rst`).
//!
//! A [`Configuration`] is the spec's global configuration: one [`Store`] and a set of
//! threads. A thread is its frame stack and its operand stack, held in data (never on the
//! Rust stack), so it can be advanced by exactly one small step at a time and deep
//! recursion gives the spec's "call stack exhausted" trap instead of a Rust stack overflow.
//! Who steps next is decided by a [`Scheduler`]; `memory.atomic.wait` suspends a thread in
//! the FIFO wait queue of its effective address, and finite timeouts expire against a
//! deterministic virtual clock that advances by one nanosecond per small step.

use crate::memory::{Ordering, WaitOutcome};
use crate::numerics::*;
use crate::scheduler::Scheduler;
use crate::store::{FuncAddr, FuncInst, InstanceAddr, MemAddr, Store};
use crate::syntax::{AtomicType, BrTarget, Func, Instr, Module, RmwOp};
use crate::types::{AddrType, FuncType, RefType, ValType};
use crate::values::Value;
use crate::Trap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One operand-stack or local slot. Every value occupies one slot: integers zero-extended
/// (an `i32` slot never has a bit set above bit 31, which lets 32- and 64-bit addresses be
/// read alike), floats as their bits, references encoded by [`value_to_slot`], v128 as all
/// 128 bits.
pub type Slot = u128;

/// Slot encoding of a null reference.
const NULL_REF: Slot = u128::MAX;

/// A range of bytes of one memory a step reads or writes ([`Configuration::next_footprint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Footprint {
    /// The memory.
    pub memory: MemAddr,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Whether the step may write these bytes (or otherwise change what other steps on them
    /// see: `wait`, `notify`, `memory.grow`).
    pub write: bool,
}

impl Footprint {
    /// The whole of `memory`, written (conflicts with every access to it).
    pub fn whole(memory: MemAddr) -> Self {
        Footprint {
            memory,
            start: 0,
            end: u64::MAX,
            write: true,
        }
    }

    /// Whether two steps with these footprints may not commute: the same memory,
    /// overlapping bytes, and at least one writes.
    pub fn conflicts(&self, other: &Footprint) -> bool {
        self.memory == other.memory
            && (self.write || other.write)
            && self.start < other.end
            && other.start < self.end
    }
}

/// Identifies a thread of a [`Configuration`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(pub u32);

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread {}", self.0)
    }
}

/// Resource limits of a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExecLimits {
    /// Maximum number of active frames per thread; one more call traps with
    /// [`Trap::CallStackExhausted`].
    pub max_call_depth: usize,
    /// Maximum number of operand/local slots per thread (also "call stack exhausted").
    pub max_stack_slots: usize,
    /// Total small steps the configuration may take, over all threads; `None` for no limit.
    /// When it runs out, the running thread traps with [`Trap::FuelExhausted`].
    pub fuel: Option<u64>,
    /// Largest size a table may reach, in elements: an implementation limit (spec
    /// *table.grow* may fail at any size, returning -1; allocating a table larger than this
    /// fails instantiation). Keeps hostile modules from exhausting the host's memory.
    pub max_table_elements: u64,
    /// Whether finite `wait` timeouts expire on the virtual clock (the default). An
    /// explorer turns this off and lets timeouts fire only through
    /// [`Configuration::time_out`], as a choice available at any moment.
    pub clock_timeouts: bool,
}

impl Default for ExecLimits {
    fn default() -> Self {
        ExecLimits {
            max_call_depth: 20_000,
            max_stack_slots: 1 << 20,
            fuel: None,
            max_table_elements: 10_000_000,
            clock_timeouts: true,
        }
    }
}

/// What a thread is doing, as seen by a scheduler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadStatus {
    /// It can take a step.
    Runnable,
    /// Suspended in `memory.atomic.wait` (the spec's administrative `WAITX`) on
    /// `address` (an effective address) of `memory`, until notified or, if `deadline` is
    /// set, until the virtual clock reaches it.
    #[allow(missing_docs)] // fields described in the variant's doc
    Blocked {
        memory: MemAddr,
        address: u64,
        deadline: Option<u64>,
    },
    /// It returned or trapped; see [`Configuration::take_result`].
    Finished,
}

#[derive(Clone, Debug)]
enum ThreadState {
    Runnable,
    Blocked {
        memory: MemAddr,
        address: u64,
        deadline: Option<u64>,
    },
    Finished(Result<Vec<Value>, Trap>),
    Collected,
}

/// A function activation (spec `frame`): the code it runs, where it is, where its locals
/// start on the thread's slot stack, and its module instance.
#[derive(Clone, Debug)]
struct Frame {
    module: Arc<Module>,
    func: u32,
    instance: InstanceAddr,
    pc: usize,
    /// Index of local 0 in [`Thread::stack`].
    fp: usize,
}

/// A thread (spec `thread`): its frames and its slot stack (locals and operands).
#[derive(Clone, Debug)]
struct Thread {
    frames: Vec<Frame>,
    stack: Vec<Slot>,
    state: ThreadState,
    results: Vec<ValType>,
}

/// The spec's global configuration: a store and the threads that run over it. Cloning
/// copies everything (a snapshot); see also [`Configuration::hash_state`].
#[derive(Clone, Debug, Default)]
pub struct Configuration {
    /// The store, shared by every thread.
    pub store: Store,
    threads: Vec<Thread>,
    /// Virtual time in nanoseconds: one per small step taken by any thread.
    clock: u64,
    limits: ExecLimits,
    /// Steps taken so far (for the fuel limit).
    steps: u64,
    /// The backend of the shared memories this configuration allocates.
    shared_backend: crate::memory::SharedBackend,
}

/// Why the inner loop stopped.
enum Exit {
    Yield,
    Return,
    Block {
        memory: MemAddr,
        address: u64,
        deadline: Option<u64>,
    },
}

impl Configuration {
    /// An empty configuration with default limits.
    pub fn new() -> Self {
        Self::with_limits(ExecLimits::default())
    }

    /// An empty configuration with the given limits.
    pub fn with_limits(limits: ExecLimits) -> Self {
        Configuration {
            limits,
            ..Default::default()
        }
    }

    /// Replace the resource limits (e.g. for a snapshot that is explored under other
    /// bounds).
    pub fn set_limits(&mut self, limits: ExecLimits) {
        self.limits = limits;
        self.steps = 0;
    }

    /// The resource limits in force.
    pub fn limits(&self) -> ExecLimits {
        self.limits
    }

    /// Give the shared memories allocated from now on `backend` (memories allocated
    /// before keep theirs). With [`crate::memory::SharedBackend::Native`], a
    /// `memory.atomic.wait` blocks the calling OS thread until another OS thread's
    /// configuration, sharing the memory ([`Configuration::native_memory`],
    /// [`Configuration::import_native_memory`]), notifies it: run one thread at a time
    /// per configuration then (a blocked thread holds up its configuration's other
    /// threads, which therefore cannot be the ones to notify it).
    pub fn set_shared_backend(&mut self, backend: crate::memory::SharedBackend) {
        self.shared_backend = backend;
    }

    /// The backend of the shared memories this configuration allocates.
    pub fn shared_backend(&self) -> crate::memory::SharedBackend {
        self.shared_backend
    }

    /// Current virtual time, in nanoseconds (small steps taken).
    pub fn now(&self) -> u64 {
        self.clock
    }

    /// Small steps taken (over all threads) since the limits were last set
    /// ([`Configuration::with_limits`], [`Configuration::set_limits`]): the fuel consumed.
    /// The virtual clock ([`Configuration::now`]) advances by the same steps, plus the time
    /// jumped over while every thread waited for a timeout.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// A new thread with nothing to do yet (no frames, finished and collected): give it
    /// work with [`Configuration::invoke_on`]. An explorer creates one per script thread
    /// up front, so the thread exists (and has a happens-before view) before its first
    /// invocation.
    pub fn new_thread(&mut self) -> ThreadId {
        self.threads.push(Thread::empty());
        ThreadId(self.threads.len() as u32 - 1)
    }

    /// Start a new invocation on thread `tid`, which must have finished and had its result
    /// taken ([`Configuration::take_result`]): the same thread, continuing in program
    /// order (a script thread that invokes several functions one after the other).
    /// Errors as [`Configuration::spawn`], and `Trap::Host` if `tid` is still busy.
    pub fn invoke_on(&mut self, tid: ThreadId, func: FuncAddr, args: &[Value]) -> Result<(), Trap> {
        if !matches!(self.threads[tid.0 as usize].state, ThreadState::Collected) {
            return Err(Trap::Host(format!("{tid} is still running")));
        }
        let new = self.spawn(func, args)?;
        let t = self.threads.pop().expect("just spawned");
        debug_assert_eq!(new.0 as usize, self.threads.len());
        self.threads[tid.0 as usize] = t;
        Ok(())
    }

    /// Start a new thread that invokes `func` with `args` (spec *Invocation*). The
    /// arguments must match the function's parameter types, else `Trap::Host`.
    pub fn spawn(&mut self, func: FuncAddr, args: &[Value]) -> Result<ThreadId, Trap> {
        let fi = self
            .store
            .funcs
            .get(func.0 as usize)
            .ok_or_else(|| Trap::Host(format!("no function at address {}", func.0)))?;
        let ty = fi.ty().clone();
        if args.len() != ty.params.len() || args.iter().zip(&ty.params).any(|(a, t)| a.ty() != *t) {
            return Err(Trap::Host(format!(
                "invocation: arguments {} do not match {ty}",
                args.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        let mut thread = Thread {
            frames: Vec::new(),
            stack: args.iter().map(value_to_slot).collect(),
            state: ThreadState::Runnable,
            results: ty.results.clone(),
        };
        match fi.clone() {
            FuncInst::Host { code, .. } => {
                thread.stack.clear();
                thread.state = ThreadState::Finished(code(args));
            }
            FuncInst::Wasm {
                module,
                instance,
                defined_index,
                ..
            } => {
                if let Err(t) = push_frame(
                    &mut thread.stack,
                    &mut thread.frames,
                    &self.limits,
                    module,
                    defined_index,
                    instance,
                ) {
                    thread.state = ThreadState::Finished(Err(t));
                }
            }
        }
        let id = ThreadId(self.threads.len() as u32);
        self.threads.push(thread);
        Ok(id)
    }

    /// The status of a thread. A blocked thread whose deadline has passed is `Runnable`
    /// (its next step is the timeout).
    pub fn status(&self, tid: ThreadId) -> ThreadStatus {
        match &self.threads[tid.0 as usize].state {
            ThreadState::Runnable => ThreadStatus::Runnable,
            ThreadState::Blocked {
                deadline: Some(d), ..
            } if self.limits.clock_timeouts && *d <= self.clock => ThreadStatus::Runnable,
            ThreadState::Blocked {
                memory,
                address,
                deadline,
            } => ThreadStatus::Blocked {
                memory: *memory,
                address: *address,
                deadline: *deadline,
            },
            ThreadState::Finished(_) | ThreadState::Collected => ThreadStatus::Finished,
        }
    }

    /// The result of a finished thread (its return values or its trap), once; `None` if it
    /// has not finished or the result was already taken.
    pub fn take_result(&mut self, tid: ThreadId) -> Option<Result<Vec<Value>, Trap>> {
        let t = &mut self.threads[tid.0 as usize];
        match std::mem::replace(&mut t.state, ThreadState::Collected) {
            ThreadState::Finished(r) => {
                t.stack = Vec::new();
                t.frames = Vec::new();
                Some(r)
            }
            other => {
                t.state = other;
                None
            }
        }
    }

    /// The earliest deadline of any blocked thread, if one has a finite timeout (and
    /// timeouts run on the clock, see [`ExecLimits::clock_timeouts`]).
    pub fn next_deadline(&self) -> Option<u64> {
        if !self.limits.clock_timeouts {
            return None;
        }
        self.threads
            .iter()
            .filter_map(|t| match t.state {
                ThreadState::Blocked { deadline, .. } => deadline,
                _ => None,
            })
            .min()
    }

    /// Move the virtual clock forward to `time` (never backwards). Used when every thread
    /// is blocked and some timeout can fire.
    pub fn advance_clock(&mut self, time: u64) {
        self.clock = self.clock.max(time);
    }

    /// Let thread `tid` take up to `budget` small steps (one instruction each), and return
    /// its status afterwards. A blocked thread whose deadline passed first takes its
    /// timeout step (`memory.atomic.wait` returns 2). Stepping a blocked or finished thread
    /// does nothing.
    pub fn step(&mut self, tid: ThreadId, budget: u64) -> ThreadStatus {
        let idx = tid.0 as usize;
        match self.threads[idx].state {
            ThreadState::Runnable => {}
            ThreadState::Blocked {
                memory,
                address,
                deadline: Some(d),
            } if self.limits.clock_timeouts && d <= self.clock => {
                // Spec instr *WAITX*, the TIMEOUT case: leave the queue, return 2.
                if let crate::memory::MemInst::Shared(m) = &mut self.store.mems[memory.0 as usize] {
                    m.cancel_wait(tid, address);
                }
                let t = &mut self.threads[idx];
                t.stack.push(2);
                t.state = ThreadState::Runnable;
            }
            _ => return self.status(tid),
        }
        let budget = match self.limits.fuel {
            Some(f) => budget.min(f.saturating_sub(self.steps)),
            None => budget,
        };
        let mut thread = std::mem::replace(&mut self.threads[idx], Thread::empty());
        let mut woken = Vec::new();
        let mut ctx = StepCtx {
            store: &mut self.store,
            limits: &self.limits,
            tid,
            clock: self.clock,
            woken: &mut woken,
            taken: 0,
        };
        let exit = if budget == 0 {
            Err(Trap::FuelExhausted)
        } else {
            run(&mut thread, &mut ctx, budget)
        };
        let taken = ctx.taken;
        self.steps += taken;
        self.clock += taken;
        thread.state = match exit {
            Ok(Exit::Yield) => ThreadState::Runnable,
            Ok(Exit::Return) => {
                let vals = thread
                    .results
                    .iter()
                    .zip(&thread.stack)
                    .map(|(ty, s)| slot_to_value(*s, *ty))
                    .collect();
                thread.stack.clear();
                ThreadState::Finished(Ok(vals))
            }
            Ok(Exit::Block {
                memory,
                address,
                deadline,
            }) => ThreadState::Blocked {
                memory,
                address,
                deadline,
            },
            Err(trap) => {
                thread.frames.clear();
                thread.stack.clear();
                ThreadState::Finished(Err(trap))
            }
        };
        self.threads[idx] = thread;
        for w in woken {
            // Spec instr *WAITX*, the WOKEN case: `memory.atomic.wait` returns 0.
            let t = &mut self.threads[w.0 as usize];
            t.stack.push(0);
            t.state = ThreadState::Runnable;
        }
        self.status(tid)
    }

    /// A human-readable account of what a blocked thread waits for, e.g. for deadlock
    /// reports: `"waits on memory 0, address 8 (no timeout)"`.
    pub fn describe_block(&self, tid: ThreadId) -> String {
        match self.status(tid) {
            ThreadStatus::Blocked {
                memory,
                address,
                deadline,
            } => format!(
                "waits on memory {}, address {address} ({})",
                memory.0,
                match deadline {
                    Some(d) => format!("deadline at {d} ns"),
                    None => "no timeout".into(),
                }
            ),
            ThreadStatus::Runnable => "is runnable".into(),
            ThreadStatus::Finished => "has finished".into(),
        }
    }

    /// Run `threads` under `scheduler` until each has finished. When every unfinished
    /// thread is blocked, the virtual clock jumps to the earliest deadline; if there is
    /// none, the result is [`Trap::Deadlock`] naming each blocked thread and its address.
    pub fn run_threads(
        &mut self,
        threads: &[ThreadId],
        scheduler: &mut dyn Scheduler,
    ) -> Result<(), Trap> {
        loop {
            let runnable: Vec<ThreadId> = threads
                .iter()
                .copied()
                .filter(|t| self.status(*t) == ThreadStatus::Runnable)
                .collect();
            if runnable.is_empty() {
                let blocked: Vec<ThreadId> = threads
                    .iter()
                    .copied()
                    .filter(|t| matches!(self.status(*t), ThreadStatus::Blocked { .. }))
                    .collect();
                if blocked.is_empty() {
                    return Ok(());
                }
                match self.next_deadline() {
                    Some(d) => self.advance_clock(d),
                    None => {
                        return Err(Trap::Deadlock(
                            blocked
                                .iter()
                                .map(|t| format!("{t} {}", self.describe_block(*t)))
                                .collect::<Vec<_>>()
                                .join("; "),
                        ))
                    }
                }
                continue;
            }
            let choice = scheduler.pick(runnable.len());
            self.step(runnable[choice.index], choice.quantum);
        }
    }

    /// Feed the state that determines the configuration's future to `h`: every thread's
    /// frames, slots and status, and the store's mutable parts (globals, tables, memories
    /// with their wait queues, segments). The clock and step counts are left out, so two
    /// schedules that reach the same state by commuting independent steps hash equally.
    pub fn hash_state(&self, mut h: &mut dyn Hasher) {
        for t in &self.threads {
            for f in &t.frames {
                (
                    Arc::as_ptr(&f.module) as usize,
                    f.func,
                    f.instance,
                    f.pc,
                    f.fp,
                )
                    .hash(&mut h);
            }
            t.stack.hash(&mut h);
            match &t.state {
                ThreadState::Runnable => 0u8.hash(&mut h),
                ThreadState::Blocked {
                    memory, address, ..
                } => (1u8, memory, address).hash(&mut h),
                ThreadState::Finished(r) => (2u8, r).hash(&mut h),
                ThreadState::Collected => 3u8.hash(&mut h),
            }
        }
        for g in &self.store.globals {
            g.value.hash(&mut h);
        }
        for t in &self.store.tables {
            t.elems.hash(&mut h);
        }
        for m in &self.store.mems {
            m.hash_state(h);
        }
        for e in &self.store.elems {
            e.elems.len().hash(&mut h);
        }
        for d in &self.store.datas {
            d.bytes.len().hash(&mut h);
        }
    }

    /// Whether thread `tid` is runnable and its next small step touches a shared memory
    /// (a load, store, atomic, wait, notify, fence, or `memory.size`/`grow`/bulk operation
    /// on a shared memory). Only such steps can affect, or be affected by, other threads;
    /// an explorer interleaves threads only there.
    pub fn next_is_visible(&self, tid: ThreadId) -> bool {
        let t = &self.threads[tid.0 as usize];
        if !matches!(t.state, ThreadState::Runnable) {
            return false;
        }
        let Some(f) = t.frames.last() else {
            return false;
        };
        let instr = &f.module.funcs[f.func as usize].body[f.pc];
        let mems = &self.store.instances[f.instance.0 as usize].mems;
        instr.accessed_memories().is_some_and(|used| {
            used.iter().any(|i| {
                mems.get(*i as usize)
                    .is_some_and(|m| self.store.mems[m.0 as usize].is_shared())
            })
        })
    }

    /// The bytes of shared memory that thread `tid`'s next step may touch, for the
    /// dependency relation of partial-order reduction (two steps of different threads
    /// commute unless their footprints [conflict](Footprint::conflicts)). A runnable thread
    /// about to take a visible step ([`Configuration::next_is_visible`]): scalar loads and
    /// stores, atomics, `wait` and `notify` give their address range from the operand stack
    /// (`wait` and `notify` count as writes, so they conflict with every access to their
    /// cell and with each other); every other memory instruction (`memory.size`/`grow`,
    /// bulk memory, SIMD, `atomic.fence`) counts as a write of the whole memory. A thread
    /// blocked in `wait` (its possible step is the timeout) gives the waited cell, as a
    /// write. Empty for every other thread, and for accesses to unshared memories.
    pub fn next_footprint(&self, tid: ThreadId) -> Vec<Footprint> {
        use crate::syntax::Instr::*;
        let t = &self.threads[tid.0 as usize];
        let shared = |m: MemAddr| self.store.mems[m.0 as usize].is_shared();
        match t.state {
            ThreadState::Blocked {
                memory, address, ..
            } => {
                return vec![Footprint {
                    memory,
                    start: address,
                    end: address.saturating_add(8),
                    write: true,
                }]
            }
            ThreadState::Runnable => {}
            _ => return Vec::new(),
        }
        let Some(f) = t.frames.last() else {
            return Vec::new();
        };
        let instr = f.module.funcs[f.func as usize].body[f.pc];
        let Some(used) = instr.accessed_memories() else {
            return Vec::new();
        };
        let mems = &self.store.instances[f.instance.0 as usize].mems;
        let addr = |i: u32| mems.get(i as usize).copied();
        // (memory index, operand depth of the address from the top, width, write)
        let scalar = |m: crate::syntax::MemArg, depth: usize, width: u64, write: bool| {
            (u32::from(m.memory), depth, width, write, m.offset())
        };
        let access = match instr {
            I32Load(m) | F32Load(m) | I64Load32S(m) | I64Load32U(m) => Some(scalar(m, 0, 4, false)),
            I64Load(m) | F64Load(m) => Some(scalar(m, 0, 8, false)),
            I32Load8S(m) | I32Load8U(m) | I64Load8S(m) | I64Load8U(m) => {
                Some(scalar(m, 0, 1, false))
            }
            I32Load16S(m) | I32Load16U(m) | I64Load16S(m) | I64Load16U(m) => {
                Some(scalar(m, 0, 2, false))
            }
            I32Store(m) | F32Store(m) | I64Store32(m) => Some(scalar(m, 1, 4, true)),
            I64Store(m) | F64Store(m) => Some(scalar(m, 1, 8, true)),
            I32Store8(m) | I64Store8(m) => Some(scalar(m, 1, 1, true)),
            I32Store16(m) | I64Store16(m) => Some(scalar(m, 1, 2, true)),
            AtomicLoad { width, memarg, .. } => Some(scalar(memarg, 0, u64::from(width), false)),
            AtomicStore { width, memarg, .. } | AtomicRmw { width, memarg, .. } => {
                Some(scalar(memarg, 1, u64::from(width), true))
            }
            AtomicCmpxchg { width, memarg, .. } => Some(scalar(memarg, 2, u64::from(width), true)),
            AtomicWait { memarg, .. } => Some(scalar(memarg, 2, 8, true)),
            AtomicNotify(m) => Some(scalar(m, 1, 8, true)),
            _ => None,
        };
        match access {
            // Widths are in bytes.
            Some((m, depth, width, write, offset)) => {
                let (Some(memory), Some(&operand)) = (
                    addr(m),
                    t.stack
                        .len()
                        .checked_sub(depth + 1)
                        .and_then(|i| t.stack.get(i)),
                ) else {
                    return Vec::new();
                };
                if !shared(memory) {
                    return Vec::new();
                }
                let start = effective_address(operand, offset);
                vec![Footprint {
                    memory,
                    start,
                    end: start.saturating_add(width.max(1)),
                    write,
                }]
            }
            None => {
                let mut v: Vec<Footprint> = Vec::new();
                for i in used {
                    if let Some(memory) = addr(i) {
                        if shared(memory) && v.iter().all(|f| f.memory != memory) {
                            v.push(Footprint::whole(memory));
                        }
                    }
                }
                v
            }
        }
    }

    /// Let a thread blocked in `memory.atomic.wait` with a finite timeout time out now,
    /// whatever the clock says (spec instr *WAITX*: the TIMEOUT step may be taken at any
    /// time; exploration treats it as a choice). Returns `false`, doing nothing, if the
    /// thread is not blocked with a timeout.
    pub fn time_out(&mut self, tid: ThreadId) -> bool {
        let t = &self.threads[tid.0 as usize];
        let ThreadState::Blocked {
            memory,
            address,
            deadline: Some(_),
        } = t.state
        else {
            return false;
        };
        if let crate::memory::MemInst::Shared(m) = &mut self.store.mems[memory.0 as usize] {
            m.cancel_wait(tid, address);
        }
        let t = &mut self.threads[tid.0 as usize];
        t.stack.push(2);
        t.state = ThreadState::Runnable;
        true
    }

    /// Invoke `func` with `args` on a new thread and run that thread alone to completion
    /// (other threads do not step). Blocking forever is reported as [`Trap::Deadlock`].
    pub fn invoke(&mut self, func: FuncAddr, args: &[Value]) -> Result<Vec<Value>, Trap> {
        let tid = self.spawn(func, args)?;
        self.run_threads(&[tid], &mut crate::scheduler::RoundRobin::new(u64::MAX))?;
        self.take_result(tid)
            .unwrap_or_else(|| Err(Trap::Host("thread did not finish".into())))
    }
}

impl Thread {
    fn empty() -> Self {
        Thread {
            frames: Vec::new(),
            stack: Vec::new(),
            state: ThreadState::Collected,
            results: Vec::new(),
        }
    }
}

/// What the inner loop needs besides the thread.
struct StepCtx<'a> {
    store: &'a mut Store,
    limits: &'a ExecLimits,
    tid: ThreadId,
    clock: u64,
    woken: &'a mut Vec<ThreadId>,
    taken: u64,
}

/// Spec *Invocation of function address a*, for a Wasm function: the arguments are on top
/// of the stack; push a frame whose locals are the arguments followed by the declared
/// locals, zero-initialised. Too deep a call traps with "call stack exhausted".
fn push_frame(
    stack: &mut Vec<Slot>,
    frames: &mut Vec<Frame>,
    limits: &ExecLimits,
    module: Arc<Module>,
    func: u32,
    instance: InstanceAddr,
) -> Result<(), Trap> {
    let f: &Func = &module.funcs[func as usize];
    let nparams = module.types[f.type_idx as usize].params.len();
    if frames.len() >= limits.max_call_depth
        || stack.len() + f.locals.len() > limits.max_stack_slots
    {
        return Err(Trap::CallStackExhausted);
    }
    let fp = stack.len() - nparams;
    stack.extend(
        f.locals
            .iter()
            .map(|ty| value_to_slot(&Value::default_of(*ty))),
    );
    frames.push(Frame {
        module,
        func,
        instance,
        pc: 0,
        fp,
    });
    Ok(())
}

// ---- Slot encoding ----

/// Encode a value into a slot.
pub fn value_to_slot(v: &Value) -> Slot {
    match *v {
        Value::I32(x) => x as u32 as Slot,
        Value::I64(x) => x as u64 as Slot,
        Value::F32(b) => b as Slot,
        Value::F64(b) => b as Slot,
        Value::V128(x) => x,
        Value::FuncRef(r) => r.map_or(NULL_REF, |a| a.0 as Slot),
        Value::ExternRef(r) => r.map_or(NULL_REF, |n| n as Slot),
    }
}

/// Decode a slot holding a value of type `ty`.
pub fn slot_to_value(s: Slot, ty: ValType) -> Value {
    match ty {
        ValType::I32 => Value::I32(s as u32 as i32),
        ValType::I64 => Value::I64(s as u64 as i64),
        ValType::F32 => Value::F32(s as u32),
        ValType::F64 => Value::F64(s as u64),
        ValType::V128 => Value::V128(s),
        ValType::FuncRef => Value::FuncRef((s != NULL_REF).then_some(FuncAddr(s as u32))),
        ValType::ExternRef => Value::ExternRef((s != NULL_REF).then_some(s as u32)),
    }
}

fn slot_to_ref(s: Slot, ty: RefType) -> Value {
    slot_to_value(s, ty.into())
}

#[inline(always)]
fn i32_of(s: Slot) -> i32 {
    s as u32 as i32
}
#[inline(always)]
fn u32_of(s: Slot) -> u32 {
    s as u32
}
#[inline(always)]
fn i64_of(s: Slot) -> i64 {
    s as u64 as i64
}
#[inline(always)]
fn u64_of(s: Slot) -> u64 {
    s as u64
}
#[inline(always)]
fn f32_of(s: Slot) -> f32 {
    f32::from_bits(s as u32)
}
#[inline(always)]
fn f64_of(s: Slot) -> f64 {
    f64::from_bits(s as u64)
}
#[inline(always)]
fn from_i32(v: i32) -> Slot {
    v as u32 as Slot
}
#[inline(always)]
fn from_u32(v: u32) -> Slot {
    v as Slot
}
#[inline(always)]
fn from_i64(v: i64) -> Slot {
    v as u64 as Slot
}
#[inline(always)]
fn from_u64(v: u64) -> Slot {
    v as Slot
}
#[inline(always)]
fn from_f32(v: f32) -> Slot {
    v.to_bits() as Slot
}
#[inline(always)]
fn from_f64(v: f64) -> Slot {
    v.to_bits() as Slot
}
#[inline(always)]
fn from_bool(b: bool) -> Slot {
    b as Slot
}

/// Spec *Branches*: keep the top `keep` operands, drop the `drop` beneath them.
#[inline(always)]
fn branch_adjust(stack: &mut Vec<Slot>, t: BrTarget) {
    if t.drop > 0 {
        let len = stack.len();
        let keep = t.keep as usize;
        let dst = len - keep - t.drop as usize;
        stack.copy_within(len - keep..len, dst);
        stack.truncate(dst + keep);
    }
}

/// The effective address (spec: `ea = i + memarg.offset`, computed without wrap-around).
/// The address operand is an `i32` or, for a 64-bit memory, an `i64`; either way its slot
/// holds it zero-extended (see [`Slot`]), so it is read as a `u64`. A sum past `2^64 - 1`
/// (possible only with 64-bit memories) saturates to `2^64 - 1`, which is out of bounds of
/// every memory for every access width, as the true sum is.
#[inline(always)]
pub(crate) fn effective_address(operand: Slot, offset: u64) -> u64 {
    u64_of(operand).saturating_add(offset)
}

/// The effective address of an atomic access, `wait` or `notify` of `width` bytes, checked
/// for alignment (spec *Atomic Memory Instructions*: `ea mod width = 0`, checked before the
/// bounds check). Alignment is decided on the 64-bit sum (a power-of-two width divides
/// `2^64`, so the sum modulo `2^64` has the alignment of the true sum); a sum past `2^64`
/// that is aligned is then out of bounds.
#[inline(always)]
fn atomic_address(operand: Slot, offset: u64, width: u64) -> Result<u64, Trap> {
    let (ea, overflow) = u64_of(operand).overflowing_add(offset);
    check_aligned(ea, width)?;
    if overflow {
        Err(Trap::OutOfBoundsMemoryAccess)
    } else {
        Ok(ea)
    }
}

/// An index or length operand (a table index, a byte count, ...) as a `usize`; one that
/// does not fit becomes `usize::MAX`, out of bounds of everything.
#[inline(always)]
fn index_of(s: Slot) -> usize {
    usize::try_from(u64_of(s)).unwrap_or(usize::MAX)
}

/// `-1` as a value of address type `addr` (the failure result of `memory.grow` and
/// `table.grow`).
fn minus_one(addr: AddrType) -> Slot {
    match addr {
        AddrType::I32 => from_i32(-1),
        AddrType::I64 => from_i64(-1),
    }
}

/// The spec's `noTear` flag of a non-atomic access (runtime.rst, *Events*): set iff the
/// value type is an integer type, the access is at most 32 bits wide, and the effective
/// address is aligned to its width. Floats and 64-bit accesses never get it.
#[inline(always)]
fn no_tear(integer: bool, width: u64, ea: u64) -> bool {
    integer && width <= 4 && ea.is_multiple_of(width)
}

/// Atomic accesses, wait and notify trap unless the effective address is aligned to the
/// access width (spec *Atomic Memory Instructions*; checked before the bounds check).
#[inline(always)]
fn check_aligned(ea: u64, width: u64) -> Result<(), Trap> {
    if ea.is_multiple_of(width) {
        Ok(())
    } else {
        Err(Trap::UnalignedAtomic)
    }
}

/// The inner loop: execute instructions of `thread` until `budget` steps are taken, the
/// outermost frame returns, the thread suspends, or it traps.
fn run(thread: &mut Thread, ctx: &mut StepCtx<'_>, budget: u64) -> Result<Exit, Trap> {
    let tid = ctx.tid;
    let Some(frame) = thread.frames.last() else {
        return Ok(Exit::Return);
    };
    let mut module = frame.module.clone();
    let mut func_idx = frame.func;
    let mut pc = frame.pc;
    let mut fp = frame.fp;
    let mut instance = frame.instance;
    let mut remaining = budget;
    let stack = &mut thread.stack;

    // Re-borrow helpers, re-established on every call and return.
    macro_rules! code {
        () => {
            &module.funcs[func_idx as usize]
        };
    }
    macro_rules! save_pc {
        () => {
            if let Some(f) = thread.frames.last_mut() {
                f.pc = pc;
            }
        };
    }
    // After a call or a return: continue with the frame on top of the frame stack (or, if
    // there is none, the thread's invocation returned).
    macro_rules! enter_top_frame {
        ($frames:lifetime) => {{
            match thread.frames.last() {
                None => break Ok(Exit::Return),
                Some(f) => {
                    module = f.module.clone();
                    func_idx = f.func;
                    pc = f.pc;
                    fp = f.fp;
                    instance = f.instance;
                    continue $frames;
                }
            }
        }};
    }
    // `?` for the loop body: a trap ends the loop (so the step count stays right).
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(trap) => break Err(trap),
            }
        };
    }
    macro_rules! pop {
        () => {
            stack
                .pop()
                .expect("validated code never underflows the stack")
        };
    }
    macro_rules! top {
        () => {
            stack
                .last_mut()
                .expect("validated code never underflows the stack")
        };
    }
    macro_rules! unop {
        ($get:ident, $put:ident, |$a:ident| $e:expr) => {{
            let t = top!();
            let $a = $get(*t);
            *t = $put($e);
        }};
    }
    macro_rules! binop {
        ($get:ident, $put:ident, |$a:ident, $b:ident| $e:expr) => {{
            let $b = $get(pop!());
            let t = top!();
            let $a = $get(*t);
            *t = $put($e);
        }};
    }
    macro_rules! binop_trap {
        ($get:ident, $put:ident, |$a:ident, $b:ident| $e:expr) => {{
            let $b = $get(pop!());
            let t = top!();
            let $a = $get(*t);
            *t = $put(tri!($e));
        }};
    }
    macro_rules! unop_trap {
        ($get:ident, $put:ident, |$a:ident| $e:expr) => {{
            let t = top!();
            let $a = $get(*t);
            *t = $put(tri!($e));
        }};
    }
    macro_rules! mem_addr {
        ($memory:expr) => {
            ctx.store.instances[instance.0 as usize].mems[$memory as usize]
        };
    }
    macro_rules! load {
        ($m:expr, $n:literal, $int:expr, |$b:ident| $conv:expr) => {{
            let ea = effective_address(*top!(), $m.offset());
            let mut $b = [0u8; $n];
            let mem = mem_addr!($m.memory);
            let nt = no_tear($int, $n, ea);
            tri!(ctx.store.mems[mem.0 as usize].read(tid, Ordering::Unord, ea, &mut $b, nt));
            *top!() = $conv;
        }};
    }
    macro_rules! store {
        ($m:expr, $int:expr, |$v:ident| $bytes:expr) => {{
            let $v = pop!();
            let ea = effective_address(pop!(), $m.offset());
            let mem = mem_addr!($m.memory);
            let bytes = $bytes;
            let nt = no_tear($int, bytes.len() as u64, ea);
            tri!(ctx.store.mems[mem.0 as usize].write(tid, Ordering::Unord, ea, &bytes, nt));
        }};
    }

    let result = 'frames: loop {
        // The current function's body, borrowed once per frame: a call or return changes
        // the frame and re-enters here (`enter_top_frame!`).
        let body: &[Instr] = &module.funcs[func_idx as usize].body;
        break loop {
            if remaining == 0 {
                break Ok(Exit::Yield);
            }
            remaining -= 1;
            let instr = body[pc];
            pc += 1;
            match instr {
                // ---- Control ----
                Instr::Unreachable => break Err(Trap::Unreachable),
                Instr::Nop => {}
                Instr::Br(t) => {
                    branch_adjust(stack, t);
                    pc = t.pc as usize;
                }
                Instr::BrIf(t) => {
                    if u32_of(pop!()) != 0 {
                        branch_adjust(stack, t);
                        pc = t.pc as usize;
                    }
                }
                Instr::BrUnless(t) => {
                    if u32_of(pop!()) == 0 {
                        branch_adjust(stack, t);
                        pc = t.pc as usize;
                    }
                }
                Instr::BrTable(i) => {
                    let idx = u32_of(pop!()) as usize;
                    let targets = &code!().br_tables[i as usize];
                    let t = targets[idx.min(targets.len() - 1)];
                    branch_adjust(stack, t);
                    pc = t.pc as usize;
                }
                Instr::Return => {
                    // Spec *Returning from a function*: the results replace the frame.
                    let nresults = module.types[code!().type_idx as usize].results.len();
                    let len = stack.len();
                    stack.copy_within(len - nresults..len, fp);
                    stack.truncate(fp + nresults);
                    thread.frames.pop();
                    enter_top_frame!('frames);
                }
                Instr::Call(idx) => {
                    let addr = ctx.store.instances[instance.0 as usize].funcs[idx as usize];
                    save_pc!();
                    tri!(call(stack, &mut thread.frames, ctx, addr));
                    enter_top_frame!('frames);
                }
                Instr::CallIndirect { type_idx, table } => {
                    let addr = tri!(indirect_callee(
                        ctx.store,
                        instance,
                        type_idx,
                        table,
                        pop!()
                    ));
                    save_pc!();
                    tri!(call(stack, &mut thread.frames, ctx, addr));
                    enter_top_frame!('frames);
                }

                Instr::ReturnCall(idx) => {
                    let addr = ctx.store.instances[instance.0 as usize].funcs[idx as usize];
                    tri!(return_call(stack, &mut thread.frames, ctx, addr, fp));
                    enter_top_frame!('frames);
                }
                Instr::ReturnCallIndirect { type_idx, table } => {
                    let addr = tri!(indirect_callee(
                        ctx.store,
                        instance,
                        type_idx,
                        table,
                        pop!()
                    ));
                    tri!(return_call(stack, &mut thread.frames, ctx, addr, fp));
                    enter_top_frame!('frames);
                }

                // ---- Parametric ----
                Instr::Drop => {
                    pop!();
                }
                Instr::Select => {
                    let c = u32_of(pop!());
                    let b = pop!();
                    if c == 0 {
                        *top!() = b;
                    }
                }

                // ---- Variables ----
                Instr::LocalGet(i) => {
                    let v = stack[fp + i as usize];
                    stack.push(v);
                }
                Instr::LocalSet(i) => {
                    let v = pop!();
                    stack[fp + i as usize] = v;
                }
                Instr::LocalTee(i) => {
                    let v = *top!();
                    stack[fp + i as usize] = v;
                }
                Instr::GlobalGet(i) => {
                    let g = ctx.store.instances[instance.0 as usize].globals[i as usize];
                    stack.push(value_to_slot(&ctx.store.globals[g.0 as usize].value));
                }
                Instr::GlobalSet(i) => {
                    let g = ctx.store.instances[instance.0 as usize].globals[i as usize];
                    let gi = &mut ctx.store.globals[g.0 as usize];
                    gi.value = slot_to_value(pop!(), gi.ty.content);
                }

                // ---- Tables (spec *Table Instructions*) ----
                Instr::TableGet(t) => {
                    let ta = ctx.store.instances[instance.0 as usize].tables[t as usize];
                    let tab = &ctx.store.tables[ta.0 as usize];
                    let i = index_of(*top!());
                    match tab.elems.get(i) {
                        Some(v) => *top!() = value_to_slot(v),
                        None => break Err(Trap::OutOfBoundsTableAccess),
                    }
                }
                Instr::TableSet(t) => {
                    let ta = ctx.store.instances[instance.0 as usize].tables[t as usize];
                    let tab = &mut ctx.store.tables[ta.0 as usize];
                    let v = slot_to_ref(pop!(), tab.ty.elem);
                    let i = index_of(pop!());
                    match tab.elems.get_mut(i) {
                        Some(e) => *e = v,
                        None => break Err(Trap::OutOfBoundsTableAccess),
                    }
                }
                Instr::TableSize(t) => {
                    let ta = ctx.store.instances[instance.0 as usize].tables[t as usize];
                    stack.push(from_u64(ctx.store.tables[ta.0 as usize].elems.len() as u64));
                }
                Instr::TableGrow(t) => {
                    let ta = ctx.store.instances[instance.0 as usize].tables[t as usize];
                    let tab = &mut ctx.store.tables[ta.0 as usize];
                    let n = u64_of(pop!());
                    let init = slot_to_ref(pop!(), tab.ty.elem);
                    let old = tab.elems.len() as u64;
                    let max = (tab.ty.limits.max)
                        .unwrap_or(u64::MAX)
                        .min(tab.ty.addr.max_units(0));
                    let result = match old.checked_add(n) {
                        Some(new) if new <= max && new <= ctx.limits.max_table_elements => {
                            tab.elems.resize(new as usize, init);
                            tab.ty.limits.min = new;
                            from_u64(old)
                        }
                        _ => minus_one(tab.ty.addr),
                    };
                    stack.push(result);
                }
                Instr::TableFill(t) => {
                    let ta = ctx.store.instances[instance.0 as usize].tables[t as usize];
                    let tab = &mut ctx.store.tables[ta.0 as usize];
                    let n = index_of(pop!());
                    let v = slot_to_ref(pop!(), tab.ty.elem);
                    let i = index_of(pop!());
                    if i.checked_add(n).is_none_or(|end| end > tab.elems.len()) {
                        break Err(Trap::OutOfBoundsTableAccess);
                    }
                    tab.elems[i..i + n].fill(v);
                }
                Instr::TableCopy { dst, src } => {
                    let inst = &ctx.store.instances[instance.0 as usize];
                    let (da, sa) = (inst.tables[dst as usize], inst.tables[src as usize]);
                    let n = index_of(pop!());
                    let s = index_of(pop!());
                    let d = index_of(pop!());
                    if s.checked_add(n)
                        .is_none_or(|end| end > ctx.store.tables[sa.0 as usize].elems.len())
                        || d.checked_add(n)
                            .is_none_or(|end| end > ctx.store.tables[da.0 as usize].elems.len())
                    {
                        break Err(Trap::OutOfBoundsTableAccess);
                    }
                    let items: Vec<Value> =
                        ctx.store.tables[sa.0 as usize].elems[s..s + n].to_vec();
                    ctx.store.tables[da.0 as usize].elems[d..d + n].copy_from_slice(&items);
                }
                Instr::TableInit { table, elem } => {
                    let inst = &ctx.store.instances[instance.0 as usize];
                    let (ta, ea) = (inst.tables[table as usize], inst.elems[elem as usize]);
                    let n = index_of(pop!());
                    let s = index_of(pop!());
                    let d = index_of(pop!());
                    if let Err(t) = crate::instantiate::table_init(ctx.store, ta, ea, d, s, n) {
                        break Err(t);
                    }
                }
                Instr::ElemDrop(e) => {
                    let ea = ctx.store.instances[instance.0 as usize].elems[e as usize];
                    ctx.store.elems[ea.0 as usize].elems = Vec::new();
                }

                // ---- References ----
                Instr::RefNull(_) => stack.push(NULL_REF),
                Instr::RefIsNull => unop!(u128_id, from_bool, |a| a == NULL_REF),
                Instr::RefFunc(i) => {
                    let a = ctx.store.instances[instance.0 as usize].funcs[i as usize];
                    stack.push(a.0 as Slot);
                }

                // ---- Memory (spec *Memory Instructions*) ----
                Instr::I32Load(m) => load!(m, 4, true, |b| from_u32(u32::from_le_bytes(b))),
                Instr::I64Load(m) => load!(m, 8, true, |b| from_u64(u64::from_le_bytes(b))),
                Instr::F32Load(m) => load!(m, 4, false, |b| from_u32(u32::from_le_bytes(b))),
                Instr::F64Load(m) => load!(m, 8, false, |b| from_u64(u64::from_le_bytes(b))),
                Instr::I32Load8S(m) => load!(m, 1, true, |b| from_i32(b[0] as i8 as i32)),
                Instr::I32Load8U(m) => load!(m, 1, true, |b| from_u32(b[0] as u32)),
                Instr::I32Load16S(m) => {
                    load!(m, 2, true, |b| from_i32(i16::from_le_bytes(b) as i32))
                }
                Instr::I32Load16U(m) => {
                    load!(m, 2, true, |b| from_u32(u16::from_le_bytes(b) as u32))
                }
                Instr::I64Load8S(m) => load!(m, 1, true, |b| from_i64(b[0] as i8 as i64)),
                Instr::I64Load8U(m) => load!(m, 1, true, |b| from_u64(b[0] as u64)),
                Instr::I64Load16S(m) => {
                    load!(m, 2, true, |b| from_i64(i16::from_le_bytes(b) as i64))
                }
                Instr::I64Load16U(m) => {
                    load!(m, 2, true, |b| from_u64(u16::from_le_bytes(b) as u64))
                }
                Instr::I64Load32S(m) => {
                    load!(m, 4, true, |b| from_i64(i32::from_le_bytes(b) as i64))
                }
                Instr::I64Load32U(m) => {
                    load!(m, 4, true, |b| from_u64(u32::from_le_bytes(b) as u64))
                }
                Instr::I32Store(m) => store!(m, true, |v| (v as u32).to_le_bytes()),
                Instr::F32Store(m) => store!(m, false, |v| (v as u32).to_le_bytes()),
                Instr::I64Store(m) => store!(m, true, |v| (v as u64).to_le_bytes()),
                Instr::F64Store(m) => store!(m, false, |v| (v as u64).to_le_bytes()),
                Instr::I32Store8(m) | Instr::I64Store8(m) => store!(m, true, |v| [v as u8]),
                Instr::I32Store16(m) | Instr::I64Store16(m) => {
                    store!(m, true, |v| (v as u16).to_le_bytes())
                }
                Instr::I64Store32(m) => store!(m, true, |v| (v as u32).to_le_bytes()),
                Instr::MemorySize(m) => {
                    let mem = &ctx.store.mems[mem_addr!(m).0 as usize];
                    let pages = mem.len_bytes(tid) >> mem.current_type().page_size_log2;
                    stack.push(from_u64(pages));
                }
                Instr::MemoryGrow(m) => {
                    let mem = &mut ctx.store.mems[mem_addr!(m).0 as usize];
                    let delta = u64_of(pop!());
                    let addr = mem.current_type().addr;
                    let r = mem.grow(tid, delta);
                    stack.push(r.map_or(minus_one(addr), from_u64));
                }
                Instr::MemoryFill(m) => {
                    let n = index_of(pop!());
                    let val = u32_of(pop!()) as u8;
                    let d = u64_of(pop!());
                    let mem = mem_addr!(m);
                    // In place: no buffer of n bytes (a fill may cover the whole memory).
                    tri!(ctx.store.mems[mem.0 as usize].fill(tid, d, val, n));
                }
                Instr::MemoryCopy { dst, src } => {
                    let n = index_of(pop!());
                    let s = u64_of(pop!());
                    let d = u64_of(pop!());
                    let (dm, sm) = (mem_addr!(dst), mem_addr!(src));
                    tri!(crate::memory::copy(
                        &mut ctx.store.mems,
                        tid,
                        dm,
                        d,
                        sm,
                        s,
                        n
                    ));
                }
                Instr::MemoryInit { memory, data } => {
                    let n = index_of(pop!());
                    let s = index_of(pop!());
                    let d = u64_of(pop!());
                    let inst = &ctx.store.instances[instance.0 as usize];
                    let (mem, da) = (inst.mems[memory as usize], inst.datas[data as usize]);
                    tri!(crate::instantiate::memory_init(
                        ctx.store, tid, mem, da, d, s, n
                    ));
                }
                Instr::DataDrop(seg) => {
                    let da = ctx.store.instances[instance.0 as usize].datas[seg as usize];
                    ctx.store.datas[da.0 as usize].bytes = Vec::new();
                }

                // ---- Atomic memory (threads proposal) ----
                Instr::AtomicLoad { ty, width, memarg } => {
                    let r = atomic_address(*top!(), memarg.offset(), width as u64).and_then(|ea| {
                        let mut b = [0u8; 8];
                        let mem = mem_addr!(memarg.memory);
                        ctx.store.mems[mem.0 as usize].read(
                            tid,
                            Ordering::SeqCst,
                            ea,
                            &mut b[..width as usize],
                            no_tear(true, width as u64, ea),
                        )?;
                        Ok(u64::from_le_bytes(b))
                    });
                    match r {
                        Ok(v) => *top!() = atomic_result(ty, v),
                        Err(t) => break Err(t),
                    }
                }
                Instr::AtomicStore { width, memarg, .. } => {
                    let v = u64_of(pop!());
                    let mem = mem_addr!(memarg.memory);
                    let r = atomic_address(pop!(), memarg.offset(), width as u64).and_then(|ea| {
                        ctx.store.mems[mem.0 as usize].write(
                            tid,
                            Ordering::SeqCst,
                            ea,
                            &v.to_le_bytes()[..width as usize],
                            no_tear(true, width as u64, ea),
                        )
                    });
                    if let Err(t) = r {
                        break Err(t);
                    }
                }
                Instr::AtomicRmw {
                    op,
                    ty,
                    width,
                    memarg,
                } => {
                    let operand = u64_of(pop!());
                    let mem = mem_addr!(memarg.memory);
                    let r = atomic_address(pop!(), memarg.offset(), width as u64).and_then(|ea| {
                        ctx.store.mems[mem.0 as usize].rmw(tid, ea, width as usize, &mut |old| {
                            Some(rmw_apply(op, old, operand))
                        })
                    });
                    match r {
                        Ok(old) => stack.push(atomic_result(ty, old)),
                        Err(t) => break Err(t),
                    }
                }
                Instr::AtomicCmpxchg { ty, width, memarg } => {
                    let replacement = u64_of(pop!());
                    // The expected value is wrapped to the access width (spec instr cmpxchg).
                    let expected = wrap_to_width(u64_of(pop!()), width);
                    let mem = mem_addr!(memarg.memory);
                    let r = atomic_address(pop!(), memarg.offset(), width as u64).and_then(|ea| {
                        ctx.store.mems[mem.0 as usize].rmw(tid, ea, width as usize, &mut |old| {
                            (old == expected).then_some(replacement)
                        })
                    });
                    match r {
                        Ok(old) => stack.push(atomic_result(ty, old)),
                        Err(t) => break Err(t),
                    }
                }
                Instr::AtomicNotify(memarg) => {
                    // Spec instr *memory.atomic.notify*: aligned, in bounds; on an unshared
                    // memory there are no waiters and the result is 0.
                    let count = u32_of(pop!());
                    let mem = mem_addr!(memarg.memory);
                    let m = &mut ctx.store.mems[mem.0 as usize];
                    let r = atomic_address(pop!(), memarg.offset(), 4).and_then(|ea| match m {
                        crate::memory::MemInst::Shared(sm) => sm.notify(tid, ea, count),
                        unshared => {
                            crate::memory::bounds(unshared.len_bytes(tid) as usize, ea, 4)?;
                            Ok(crate::memory::Notified::default())
                        }
                    });
                    match r {
                        Ok(woken) => {
                            stack.push(from_u32(woken.count));
                            ctx.woken.extend(woken.resume);
                        }
                        Err(t) => break Err(t),
                    }
                }
                Instr::AtomicWait { ty, memarg } => {
                    // Spec instr *memory.atomic.wait{32,64}*: read and enqueue in one step.
                    let timeout = i64_of(pop!());
                    let width: u64 = if ty == AtomicType::I32 { 4 } else { 8 };
                    let expected = wrap_to_width(u64_of(pop!()), width as u8);
                    let mem = mem_addr!(memarg.memory);
                    let r =
                        atomic_address(pop!(), memarg.offset(), width).and_then(
                            |ea| match &mut ctx.store.mems[mem.0 as usize] {
                                crate::memory::MemInst::Shared(sm) => sm
                                    .wait(tid, ea, width as usize, expected, timeout)
                                    .map(|outcome| (ea, outcome)),
                                _ => Err(Trap::ExpectedSharedMemory),
                            },
                        );
                    match r {
                        Ok((_, WaitOutcome::NotEqual)) => stack.push(1),
                        // A blocking backend (crate::native) suspended this OS thread itself.
                        Ok((_, WaitOutcome::Woken)) => stack.push(0),
                        Ok((_, WaitOutcome::TimedOut)) => stack.push(2),
                        Ok((ea, WaitOutcome::Suspended)) => {
                            let now = ctx.clock + (budget - remaining);
                            let deadline =
                                (timeout >= 0).then(|| now.saturating_add(timeout as u64));
                            break Ok(Exit::Block {
                                memory: mem,
                                address: ea,
                                deadline,
                            });
                        }
                        Err(t) => break Err(t),
                    }
                }
                Instr::AtomicFence => {
                    // Spec: emits FENCE, which has no meaning in the memory model (MODEL.md
                    // §7.3 (9)); the backend records it in its trace, nothing else.
                    if let Some(crate::memory::MemInst::Shared(sm)) = ctx.store.instances
                        [instance.0 as usize]
                        .mems
                        .first()
                        .map(|m| &mut ctx.store.mems[m.0 as usize])
                    {
                        sm.fence(tid);
                    }
                }

                // ---- Constants ----
                Instr::I32Const(c) => stack.push(from_i32(c)),
                Instr::I64Const(c) => stack.push(from_i64(c)),
                Instr::F32Const(b) => stack.push(b as Slot),
                Instr::F64Const(b) => stack.push(b as Slot),

                // ---- i32 (Wasm 2.0 spec *Numerics › Integer Operations*) ----
                Instr::I32Eqz => unop!(u32_of, from_bool, |a| a == 0),
                Instr::I32Eq => binop!(u32_of, from_bool, |a, b| a == b),
                Instr::I32Ne => binop!(u32_of, from_bool, |a, b| a != b),
                Instr::I32LtS => binop!(i32_of, from_bool, |a, b| a < b),
                Instr::I32LtU => binop!(u32_of, from_bool, |a, b| a < b),
                Instr::I32GtS => binop!(i32_of, from_bool, |a, b| a > b),
                Instr::I32GtU => binop!(u32_of, from_bool, |a, b| a > b),
                Instr::I32LeS => binop!(i32_of, from_bool, |a, b| a <= b),
                Instr::I32LeU => binop!(u32_of, from_bool, |a, b| a <= b),
                Instr::I32GeS => binop!(i32_of, from_bool, |a, b| a >= b),
                Instr::I32GeU => binop!(u32_of, from_bool, |a, b| a >= b),
                Instr::I32Clz => unop!(u32_of, from_u32, |a| a.leading_zeros()),
                Instr::I32Ctz => unop!(u32_of, from_u32, |a| a.trailing_zeros()),
                Instr::I32Popcnt => unop!(u32_of, from_u32, |a| a.count_ones()),
                Instr::I32Add => binop!(u32_of, from_u32, |a, b| a.wrapping_add(b)),
                Instr::I32Sub => binop!(u32_of, from_u32, |a, b| a.wrapping_sub(b)),
                Instr::I32Mul => binop!(u32_of, from_u32, |a, b| a.wrapping_mul(b)),
                Instr::I32DivS => binop_trap!(i32_of, from_i32, |a, b| idiv_s32(a, b)),
                Instr::I32DivU => binop_trap!(u32_of, from_u32, |a, b| idiv_u32(a, b)),
                Instr::I32RemS => binop_trap!(i32_of, from_i32, |a, b| irem_s32(a, b)),
                Instr::I32RemU => binop_trap!(u32_of, from_u32, |a, b| irem_u32(a, b)),
                Instr::I32And => binop!(u32_of, from_u32, |a, b| a & b),
                Instr::I32Or => binop!(u32_of, from_u32, |a, b| a | b),
                Instr::I32Xor => binop!(u32_of, from_u32, |a, b| a ^ b),
                Instr::I32Shl => binop!(u32_of, from_u32, |a, b| a.wrapping_shl(b)),
                Instr::I32ShrS => binop!(i32_of, from_i32, |a, b| a.wrapping_shr(b as u32)),
                Instr::I32ShrU => binop!(u32_of, from_u32, |a, b| a.wrapping_shr(b)),
                Instr::I32Rotl => binop!(u32_of, from_u32, |a, b| a.rotate_left(b % 32)),
                Instr::I32Rotr => binop!(u32_of, from_u32, |a, b| a.rotate_right(b % 32)),

                // ---- i64 ----
                Instr::I64Eqz => unop!(u64_of, from_bool, |a| a == 0),
                Instr::I64Eq => binop!(u64_of, from_bool, |a, b| a == b),
                Instr::I64Ne => binop!(u64_of, from_bool, |a, b| a != b),
                Instr::I64LtS => binop!(i64_of, from_bool, |a, b| a < b),
                Instr::I64LtU => binop!(u64_of, from_bool, |a, b| a < b),
                Instr::I64GtS => binop!(i64_of, from_bool, |a, b| a > b),
                Instr::I64GtU => binop!(u64_of, from_bool, |a, b| a > b),
                Instr::I64LeS => binop!(i64_of, from_bool, |a, b| a <= b),
                Instr::I64LeU => binop!(u64_of, from_bool, |a, b| a <= b),
                Instr::I64GeS => binop!(i64_of, from_bool, |a, b| a >= b),
                Instr::I64GeU => binop!(u64_of, from_bool, |a, b| a >= b),
                Instr::I64Clz => unop!(u64_of, from_u64, |a| a.leading_zeros() as u64),
                Instr::I64Ctz => unop!(u64_of, from_u64, |a| a.trailing_zeros() as u64),
                Instr::I64Popcnt => unop!(u64_of, from_u64, |a| a.count_ones() as u64),
                Instr::I64Add => binop!(u64_of, from_u64, |a, b| a.wrapping_add(b)),
                Instr::I64Sub => binop!(u64_of, from_u64, |a, b| a.wrapping_sub(b)),
                Instr::I64Mul => binop!(u64_of, from_u64, |a, b| a.wrapping_mul(b)),
                Instr::I64DivS => binop_trap!(i64_of, from_i64, |a, b| idiv_s64(a, b)),
                Instr::I64DivU => binop_trap!(u64_of, from_u64, |a, b| idiv_u64(a, b)),
                Instr::I64RemS => binop_trap!(i64_of, from_i64, |a, b| irem_s64(a, b)),
                Instr::I64RemU => binop_trap!(u64_of, from_u64, |a, b| irem_u64(a, b)),
                Instr::I64And => binop!(u64_of, from_u64, |a, b| a & b),
                Instr::I64Or => binop!(u64_of, from_u64, |a, b| a | b),
                Instr::I64Xor => binop!(u64_of, from_u64, |a, b| a ^ b),
                Instr::I64Shl => binop!(u64_of, from_u64, |a, b| a.wrapping_shl(b as u32)),
                Instr::I64ShrS => binop!(i64_of, from_i64, |a, b| a.wrapping_shr(b as u32)),
                Instr::I64ShrU => binop!(u64_of, from_u64, |a, b| a.wrapping_shr(b as u32)),
                Instr::I64Rotl => binop!(u64_of, from_u64, |a, b| a.rotate_left((b % 64) as u32)),
                Instr::I64Rotr => binop!(u64_of, from_u64, |a, b| a.rotate_right((b % 64) as u32)),

                // ---- Wide arithmetic (wide-arithmetic proposal): 128-bit integers as (low, high)
                // pairs of i64 ----
                Instr::I64Add128 | Instr::I64Sub128 => {
                    let b = u128::from(u64_of(pop!())) << 64 | u128::from(u64_of(pop!()));
                    let a = u128::from(u64_of(pop!())) << 64 | u128::from(u64_of(pop!()));
                    let r = if instr == Instr::I64Add128 {
                        a.wrapping_add(b)
                    } else {
                        a.wrapping_sub(b)
                    };
                    stack.push(from_u64(r as u64));
                    stack.push(from_u64((r >> 64) as u64));
                }
                Instr::I64MulWideS => {
                    let b = i128::from(i64_of(pop!()));
                    let a = i128::from(i64_of(pop!()));
                    let r = (a * b) as u128;
                    stack.push(from_u64(r as u64));
                    stack.push(from_u64((r >> 64) as u64));
                }
                Instr::I64MulWideU => {
                    let b = u128::from(u64_of(pop!()));
                    let a = u128::from(u64_of(pop!()));
                    let r = a * b;
                    stack.push(from_u64(r as u64));
                    stack.push(from_u64((r >> 64) as u64));
                }

                // ---- f32 (Wasm 2.0 spec *Numerics › Floating-Point Operations*) ----
                Instr::F32Eq => binop!(f32_of, from_bool, |a, b| a == b),
                Instr::F32Ne => binop!(f32_of, from_bool, |a, b| a != b),
                Instr::F32Lt => binop!(f32_of, from_bool, |a, b| a < b),
                Instr::F32Gt => binop!(f32_of, from_bool, |a, b| a > b),
                Instr::F32Le => binop!(f32_of, from_bool, |a, b| a <= b),
                Instr::F32Ge => binop!(f32_of, from_bool, |a, b| a >= b),
                Instr::F32Abs => unop!(u32_of, from_u32, |a| a & 0x7fff_ffff),
                Instr::F32Neg => unop!(u32_of, from_u32, |a| a ^ 0x8000_0000),
                Instr::F32Ceil => unop!(f32_of, from_f32, |a| quiet_nan32(a.ceil())),
                Instr::F32Floor => unop!(f32_of, from_f32, |a| quiet_nan32(a.floor())),
                Instr::F32Trunc => unop!(f32_of, from_f32, |a| quiet_nan32(a.trunc())),
                Instr::F32Nearest => unop!(f32_of, from_f32, |a| quiet_nan32(a.round_ties_even())),
                Instr::F32Sqrt => unop!(f32_of, from_f32, |a| a.sqrt()),
                Instr::F32Add => binop!(f32_of, from_f32, |a, b| a + b),
                Instr::F32Sub => binop!(f32_of, from_f32, |a, b| a - b),
                Instr::F32Mul => binop!(f32_of, from_f32, |a, b| a * b),
                Instr::F32Div => binop!(f32_of, from_f32, |a, b| a / b),
                Instr::F32Min => binop!(f32_of, from_f32, |a, b| fmin32(a, b)),
                Instr::F32Max => binop!(f32_of, from_f32, |a, b| fmax32(a, b)),
                Instr::F32Copysign => binop!(u32_of, from_u32, |a, b| (a & 0x7fff_ffff)
                    | (b & 0x8000_0000)),

                // ---- f64 ----
                Instr::F64Eq => binop!(f64_of, from_bool, |a, b| a == b),
                Instr::F64Ne => binop!(f64_of, from_bool, |a, b| a != b),
                Instr::F64Lt => binop!(f64_of, from_bool, |a, b| a < b),
                Instr::F64Gt => binop!(f64_of, from_bool, |a, b| a > b),
                Instr::F64Le => binop!(f64_of, from_bool, |a, b| a <= b),
                Instr::F64Ge => binop!(f64_of, from_bool, |a, b| a >= b),
                Instr::F64Abs => unop!(u64_of, from_u64, |a| a & 0x7fff_ffff_ffff_ffff),
                Instr::F64Neg => unop!(u64_of, from_u64, |a| a ^ 0x8000_0000_0000_0000),
                Instr::F64Ceil => unop!(f64_of, from_f64, |a| quiet_nan64(a.ceil())),
                Instr::F64Floor => unop!(f64_of, from_f64, |a| quiet_nan64(a.floor())),
                Instr::F64Trunc => unop!(f64_of, from_f64, |a| quiet_nan64(a.trunc())),
                Instr::F64Nearest => unop!(f64_of, from_f64, |a| quiet_nan64(a.round_ties_even())),
                Instr::F64Sqrt => unop!(f64_of, from_f64, |a| a.sqrt()),
                Instr::F64Add => binop!(f64_of, from_f64, |a, b| a + b),
                Instr::F64Sub => binop!(f64_of, from_f64, |a, b| a - b),
                Instr::F64Mul => binop!(f64_of, from_f64, |a, b| a * b),
                Instr::F64Div => binop!(f64_of, from_f64, |a, b| a / b),
                Instr::F64Min => binop!(f64_of, from_f64, |a, b| fmin64(a, b)),
                Instr::F64Max => binop!(f64_of, from_f64, |a, b| fmax64(a, b)),
                Instr::F64Copysign => binop!(u64_of, from_u64, |a, b| (a & 0x7fff_ffff_ffff_ffff)
                    | (b & 0x8000_0000_0000_0000)),

                // ---- Conversions (Wasm 2.0 spec *Numerics › Conversions*) ----
                Instr::I32WrapI64 => unop!(u64_of, from_u32, |a| a as u32),
                Instr::I32TruncF32S => unop_trap!(f32_of, from_i32, |a| trunc_f32_i32(a)),
                Instr::I32TruncF32U => unop_trap!(f32_of, from_u32, |a| trunc_f32_u32(a)),
                Instr::I32TruncF64S => unop_trap!(f64_of, from_i32, |a| trunc_f64_i32(a)),
                Instr::I32TruncF64U => unop_trap!(f64_of, from_u32, |a| trunc_f64_u32(a)),
                Instr::I64ExtendI32S => unop!(i32_of, from_i64, |a| a as i64),
                Instr::I64ExtendI32U => unop!(u32_of, from_u64, |a| a as u64),
                Instr::I64TruncF32S => unop_trap!(f32_of, from_i64, |a| trunc_f32_i64(a)),
                Instr::I64TruncF32U => unop_trap!(f32_of, from_u64, |a| trunc_f32_u64(a)),
                Instr::I64TruncF64S => unop_trap!(f64_of, from_i64, |a| trunc_f64_i64(a)),
                Instr::I64TruncF64U => unop_trap!(f64_of, from_u64, |a| trunc_f64_u64(a)),
                Instr::F32ConvertI32S => unop!(i32_of, from_f32, |a| a as f32),
                Instr::F32ConvertI32U => unop!(u32_of, from_f32, |a| a as f32),
                Instr::F32ConvertI64S => unop!(i64_of, from_f32, |a| a as f32),
                Instr::F32ConvertI64U => unop!(u64_of, from_f32, |a| a as f32),
                Instr::F32DemoteF64 => unop!(f64_of, from_f32, |a| a as f32),
                Instr::F64ConvertI32S => unop!(i32_of, from_f64, |a| a as f64),
                Instr::F64ConvertI32U => unop!(u32_of, from_f64, |a| a as f64),
                Instr::F64ConvertI64S => unop!(i64_of, from_f64, |a| a as f64),
                Instr::F64ConvertI64U => unop!(u64_of, from_f64, |a| a as f64),
                Instr::F64PromoteF32 => unop!(f32_of, from_f64, |a| a as f64),
                // Reinterpretations are the identity on bits.
                Instr::I32ReinterpretF32
                | Instr::I64ReinterpretF64
                | Instr::F32ReinterpretI32
                | Instr::F64ReinterpretI64 => {}
                Instr::I32Extend8S => unop!(u32_of, from_i32, |a| a as i8 as i32),
                Instr::I32Extend16S => unop!(u32_of, from_i32, |a| a as i16 as i32),
                Instr::I64Extend8S => unop!(u64_of, from_i64, |a| a as i8 as i64),
                Instr::I64Extend16S => unop!(u64_of, from_i64, |a| a as i16 as i64),
                Instr::I64Extend32S => unop!(u64_of, from_i64, |a| a as i32 as i64),
                // Saturating truncation: Rust's `as` from float to int saturates and maps NaN
                // to 0, exactly spec `trunc_sat`.
                Instr::I32TruncSatF32S => unop!(f32_of, from_i32, |a| a as i32),
                Instr::I32TruncSatF32U => unop!(f32_of, from_u32, |a| a as u32),
                Instr::I32TruncSatF64S => unop!(f64_of, from_i32, |a| a as i32),
                Instr::I32TruncSatF64U => unop!(f64_of, from_u32, |a| a as u32),
                Instr::I64TruncSatF32S => unop!(f32_of, from_i64, |a| a as i64),
                Instr::I64TruncSatF32U => unop!(f32_of, from_u64, |a| a as u64),
                Instr::I64TruncSatF64S => unop!(f64_of, from_i64, |a| a as i64),
                Instr::I64TruncSatF64U => unop!(f64_of, from_u64, |a| a as u64),

                // ---- Vector (spec *Vector Instructions*) ----
                Instr::Simd(op) => {
                    let mem = match op.memarg() {
                        Some(m) => Some(&mut ctx.store.mems[mem_addr!(m.memory).0 as usize]),
                        None => None,
                    };
                    tri!(crate::simd::execute(op, stack, &code!().v128s, mem, tid));
                }
            }
        };
    };
    save_pc!();
    ctx.taken += budget - remaining;
    result
}

#[inline(always)]
fn u128_id(s: Slot) -> Slot {
    s
}

/// Spec *Invocation of function address a* from a `call` or `call_indirect`: a Wasm function
/// gets a new frame; a host function is called with its arguments popped from the stack.
fn call(
    stack: &mut Vec<Slot>,
    frames: &mut Vec<Frame>,
    ctx: &mut StepCtx<'_>,
    addr: FuncAddr,
) -> Result<(), Trap> {
    match &ctx.store.funcs[addr.0 as usize] {
        FuncInst::Wasm {
            module,
            instance,
            defined_index,
            ..
        } => {
            let (module, instance, func) = (module.clone(), *instance, *defined_index);
            push_frame(stack, frames, ctx.limits, module, func, instance)
        }
        FuncInst::Host { ty, code } => {
            let ty: FuncType = ty.clone();
            let code = code.clone();
            let n = ty.params.len();
            let args: Vec<Value> = stack[stack.len() - n..]
                .iter()
                .zip(&ty.params)
                .map(|(s, t)| slot_to_value(*s, *t))
                .collect();
            stack.truncate(stack.len() - n);
            let results = code(&args)?;
            stack.extend(results.iter().map(value_to_slot));
            Ok(())
        }
    }
}

/// Spec *call_indirect* / *return_call_indirect*: the function at index `operand` of table
/// `table`, if it is there, not null, and of type `type_idx`.
fn indirect_callee(
    store: &Store,
    instance: InstanceAddr,
    type_idx: u32,
    table: u32,
    operand: Slot,
) -> Result<FuncAddr, Trap> {
    let inst = &store.instances[instance.0 as usize];
    let tab = &store.tables[inst.tables[table as usize].0 as usize];
    let i = index_of(operand);
    let Some(elem) = tab.elems.get(i) else {
        return Err(Trap::UndefinedElement);
    };
    let Value::FuncRef(Some(addr)) = *elem else {
        return Err(Trap::UninitializedElement(i as u32));
    };
    if store.funcs[addr.0 as usize].ty() != &inst.types[type_idx as usize] {
        return Err(Trap::IndirectCallTypeMismatch);
    }
    Ok(addr)
}

/// Spec *return_call* (tail calls): the current frame, whose locals start at `fp`, is
/// replaced by the callee's. The arguments move down to `fp`, the frame is popped, and the
/// call proceeds as [`call`] from the caller's caller: the frame stack does not grow, and a
/// host callee's results are left where the current function's would be.
fn return_call(
    stack: &mut Vec<Slot>,
    frames: &mut Vec<Frame>,
    ctx: &mut StepCtx<'_>,
    addr: FuncAddr,
    fp: usize,
) -> Result<(), Trap> {
    let nargs = ctx.store.funcs[addr.0 as usize].ty().params.len();
    let len = stack.len();
    stack.copy_within(len - nargs..len, fp);
    stack.truncate(fp + nargs);
    frames.pop();
    call(stack, frames, ctx, addr)
}

/// The result of an atomic access as an operand: zero-extended to the instruction's type.
#[inline]
fn atomic_result(ty: AtomicType, v: u64) -> Slot {
    match ty {
        AtomicType::I32 => from_u32(v as u32),
        AtomicType::I64 => from_u64(v),
    }
}

/// The low `width` bytes of `v`.
#[inline]
fn wrap_to_width(v: u64, width: u8) -> u64 {
    if width >= 8 {
        v
    } else {
        v & ((1u64 << (8 * width as u32)) - 1)
    }
}

/// Spec `atomicop`: the value an RMW writes, from the value read and the operand (the
/// caller keeps only the access width's low bytes).
fn rmw_apply(op: RmwOp, old: u64, operand: u64) -> u64 {
    match op {
        RmwOp::Add => old.wrapping_add(operand),
        RmwOp::Sub => old.wrapping_sub(operand),
        RmwOp::And => old & operand,
        RmwOp::Or => old | operand,
        RmwOp::Xor => old ^ operand,
        RmwOp::Xchg => operand,
    }
}
