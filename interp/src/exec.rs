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

pub(crate) use crate::frame::Frame;
use crate::memory::MemInst;
use crate::memory::{Ordering, WaitOutcome};
use crate::numerics::*;
pub(crate) use crate::runtime::effective_address;
pub use crate::runtime::{slot_to_value, value_to_slot, Slot, ThreadId};
use crate::runtime::{EXTERN_FLAG, NULL_REF, TAG_ARRAY, TAG_EXN, TAG_I31, TAG_MASK, TAG_STRUCT};
use crate::scheduler::Scheduler;
use crate::store::{
    ArrayInst, DataAddr, ExnAddr, FuncAddr, FuncInst, InstanceAddr, MemAddr, Store, StructInst,
};
use crate::syntax::{AtomicType, BrTarget, Func, Instr, Module, Packed, RmwOp};
use crate::types::{AddrType, CompositeType, FuncType, HeapType, RefType, StorageType, ValType};
use crate::values::Value;
use crate::Trap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The operand stack's initial capacity in slots (4 KiB) when a thread starts: enough for
/// most calls, so that the stack is not regrown from the arguments' size call by call.
const INITIAL_STACK_SLOTS: usize = 256;

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

/// A thread (spec `thread`): its frames and its slot stack (locals and operands).
#[derive(Clone, Debug)]
struct Thread {
    frames: Vec<Frame>,
    stack: Vec<Slot>,
    state: ThreadState,
    results: Vec<ValType>,
    /// The byte a `memory.copy` on a shared memory has loaded and not yet stored: the spec
    /// reduces each byte of the copy to an `i32.load8_u` step and an `i32.store8` step
    /// (*memory.copy*), and other threads may step in between ([`copy_byte`]).
    pending_byte: Option<u8>,
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
    /// Threads host functions asked for ([`crate::host::Caller::spawn`]), not yet taken by
    /// the embedder ([`Configuration::take_spawn_requests`]).
    spawn_requests: Vec<crate::host::SpawnRequest>,
    /// Who starts requested threads at once instead
    /// ([`Configuration::set_spawn_handler`]).
    spawn_handler: Option<crate::host::SpawnHandler>,
    /// While [`Configuration::start_spawned`] carries out a request: the thread that asked
    /// for it. Every thread started meanwhile (the instantiation's start function, the new
    /// thread) starts after everything it did ([`Configuration::happens_before`]).
    creator: Option<ThreadId>,
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
            .cloned()
            .ok_or_else(|| Trap::Host(format!("no function at address {}", func.0)))?;
        let ty = fi.ty();
        if args.len() != ty.params.len()
            || args
                .iter()
                .zip(&ty.params)
                .any(|(a, t)| !self.store.value_matches(a, *t))
        {
            return Err(Trap::Host(format!(
                "invocation: arguments {} do not match {ty}",
                args.iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        let mut stack = Vec::with_capacity(INITIAL_STACK_SLOTS.max(args.len()));
        stack.extend(args.iter().map(value_to_slot));
        let mut thread = Thread {
            frames: Vec::new(),
            stack,
            state: ThreadState::Runnable,
            results: ty.results.clone(),
            pending_byte: None,
        };
        match &fi {
            FuncInst::Host { code, .. } => {
                thread.stack.clear();
                let mut caller = crate::host::Caller {
                    store: &mut self.store,
                    instance: None,
                    thread: ThreadId(self.threads.len() as u32),
                    clock: self.clock,
                    spawns: &mut self.spawn_requests,
                    spawn_handler: self.spawn_handler.as_ref(),
                    spawned: false,
                };
                thread.state = ThreadState::Finished(code(&mut caller, args));
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
                    module.clone(),
                    *defined_index,
                    *instance,
                ) {
                    thread.state = ThreadState::Finished(Err(t));
                }
            }
        }
        let id = ThreadId(self.threads.len() as u32);
        self.threads.push(thread);
        if let Some(creator) = self.creator {
            self.happens_before(creator, id);
        }
        Ok(id)
    }

    /// Threads created so far, finished ones included: the next thread created is
    /// `ThreadId(thread_count())`.
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// Everything thread `before` did so far happens before everything thread `after` does
    /// from now on, in every shared memory of the store ([`SharedMemory::join_view`]): the
    /// start of a thread after its spawner's actions, and a host's join of a finished
    /// thread (relaxed.rst, *Relaxed Memory Model*: happens-before orders a thread's
    /// accesses in execution order, and the host's start and join order whole threads; the
    /// model's thread start and join, `heddle_model::Execution::least_hb`).
    ///
    /// [`SharedMemory::join_view`]: crate::memory::SharedMemory::join_view
    pub fn happens_before(&mut self, before: ThreadId, after: ThreadId) {
        for m in &mut self.store.mems {
            if let crate::memory::MemInst::Shared(sm) = m {
                sm.join_view(after, before);
            }
        }
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
    /// does nothing. The quantum ends early when the thread finishes, blocks, asks for a
    /// thread ([`crate::host::Caller::spawn`]) or wakes a thread with `notify`: each is a
    /// point where another thread may become able to run.
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
            spawns: &mut self.spawn_requests,
            spawn_handler: self.spawn_handler.as_ref(),
            end_quantum: false,
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
                    .map(|(ty, s)| self.store.slot_value(*s, *ty))
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
                thread.pending_byte = None;
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
    /// reports: `"waits on memory 0, address 8 (no timeout)"`, the memory named as the
    /// waiting function's instance names it ([`Store::memory_name`]).
    pub fn describe_block(&self, tid: ThreadId) -> String {
        match self.status(tid) {
            ThreadStatus::Blocked {
                memory,
                address,
                deadline,
            } => format!(
                "waits on {}, address {address} ({})",
                match self.threads[tid.0 as usize].frames.last() {
                    Some(f) => self.store.memory_name(f.instance, &f.module, memory),
                    None => format!("memory address {} in the store", memory.0),
                },
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
            let choice = scheduler.pick_thread(&runnable, self.steps);
            self.step(runnable[choice.index], choice.quantum);
        }
    }

    /// Feed the state that determines the configuration's future to `h`: every thread's
    /// frames, slots and status, and the store's mutable parts (globals, tables, memories
    /// with their wait queues, segments). The clock and step counts are left out, so two
    /// schedules that reach the same state by commuting independent steps hash equally.
    pub fn hash_state(&self, mut h: &mut dyn Hasher) {
        self.threads.len().hash(&mut h);
        for t in &self.threads {
            // The number of frames first, so that the sequence of values fed here decodes
            // one way only (the explorer compares these encodings for equality).
            t.frames.len().hash(&mut h);
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
            t.pending_byte.hash(&mut h);
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
        self.store.structs.hash(&mut h);
        self.store.arrays.hash(&mut h);
        self.store.exns.hash(&mut h);
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

    /// Whether thread `tid`'s next step is a visible `memory.atomic.notify` (on a shared
    /// memory). A notify reads and changes only the wait queue of its cell, never its
    /// value: an explorer may let it commute with loads, stores and read-modify-writes of
    /// the cell (but not with a `wait` that suspends, nor with another notify).
    pub fn next_is_notify(&self, tid: ThreadId) -> bool {
        self.next_is_visible(tid)
            && self.threads[tid.0 as usize].frames.last().is_some_and(|f| {
                matches!(
                    f.module.funcs[f.func as usize].body[f.pc],
                    Instr::AtomicNotify(_)
                )
            })
    }

    /// Whether thread `tid`'s next step is a non-atomic scalar load or store (`i32.load`,
    /// `f64.store`, `i64.store8`, …) of a shared memory: one `unord` read or write event
    /// (MODEL.md §2.2), which takes part in no synchronisation and in no clause of the
    /// consistency rules that looks at `tot` (relaxed.rst's sc-last-visible and the
    /// suspension rules are about seq-cst and suspension events only). The relaxed
    /// explorer with promises runs such steps without interleaving them.
    pub fn next_is_plain_access(&self, tid: ThreadId) -> bool {
        if !self.next_is_visible(tid) {
            return false;
        }
        let t = &self.threads[tid.0 as usize];
        t.frames.last().is_some_and(|f| {
            let instr = &f.module.funcs[f.func as usize].body[f.pc];
            // A bulk instruction's byte steps on a shared memory are the spec's
            // `i32.load8_u` and `i32.store8` (see `fill_byte`): plain accesses too.
            instr.plain_scalar_access().is_some()
                || matches!(
                    instr,
                    Instr::MemoryFill(_) | Instr::MemoryCopy { .. } | Instr::MemoryInit { .. }
                )
        })
    }

    /// The bytes of shared memory that thread `tid`'s next step may touch, for the
    /// dependency relation of partial-order reduction (two steps of different threads
    /// commute unless their footprints [conflict](Footprint::conflicts)). A runnable thread
    /// about to take a visible step ([`Configuration::next_is_visible`]): scalar loads and
    /// stores, atomics, `wait` and `notify` give their address range from the operand stack
    /// (`wait` and `notify` count as writes, so they conflict with every access to their
    /// cell and with each other: `wait32` and `notify` cover 4 bytes, `wait64` 8); a byte step of bulk memory gives its byte
    /// (`Configuration::bulk_footprint`); every other memory instruction
    /// (`memory.size`/`grow`, SIMD, `atomic.fence`) counts as a write of the whole memory. A thread
    /// blocked in `wait` (its possible step is the timeout) gives the waited cell, as a
    /// write of 8 bytes (the blocked state does not keep the width; 8 covers both). Empty for every other thread, and for accesses to unshared memories.
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
        if let Some(fp) = self.bulk_footprint(tid, &instr, &addr) {
            return fp;
        }
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
            // `wait32` reads 4 bytes, `wait64` 8; `notify` names the 4-byte cell at its
            // address (valid/instructions.rst, *memory.atomic.notify*: its alignment is 4), whose wait queue it changes.
            AtomicWait { ty, memarg } => {
                let width = match ty {
                    crate::syntax::AtomicType::I32 => 4,
                    crate::syntax::AtomicType::I64 => 8,
                };
                Some(scalar(memarg, 2, width, true))
            }
            AtomicNotify(m) => Some(scalar(m, 1, 4, true)),
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

    /// The footprint of thread `tid`'s next step when it is a byte step of a bulk instruction
    /// on a shared memory ([`MemInst::steps_by_bytes`], see [`fill_byte`]): the one byte it
    /// stores (fill, init, the second step of a copy's byte) or loads (the first step of a
    /// copy's byte), so that byte steps on different bytes commute. A step with `n = 0`
    /// only reads the memory's length, and one whose range is out of bounds traps: both
    /// count as a write of the whole memory, as `memory.size` does (a step that stores a
    /// byte also reads the length, but only `memory.grow`, a write of the whole memory,
    /// changes it). `None` for every other step.
    fn bulk_footprint(
        &self,
        tid: ThreadId,
        instr: &Instr,
        addr: &dyn Fn(u32) -> Option<MemAddr>,
    ) -> Option<Vec<Footprint>> {
        let by_bytes = |m: MemAddr| self.store.mems[m.0 as usize].steps_by_bytes();
        let (dst, src) = match *instr {
            Instr::MemoryFill(m) | Instr::MemoryInit { memory: m, .. } => (addr(m)?, addr(m)?),
            Instr::MemoryCopy { dst, src } => (addr(dst)?, addr(src)?),
            _ => return None,
        };
        if !by_bytes(dst) && !by_bytes(src) {
            return None;
        }
        let t = &self.threads[tid.0 as usize];
        let len = t.stack.len();
        let [d, s, n] = (len >= 3).then(|| bulk_operands(&t.stack))?;
        let whole = || {
            let mut v = vec![Footprint::whole(dst)];
            if src != dst {
                v.push(Footprint::whole(src));
            }
            v
        };
        let byte = |memory: MemAddr, at: u64, write: bool| {
            Some(vec![Footprint {
                memory,
                start: at,
                end: at + 1,
                write,
            }])
        };
        let fits = |m: MemAddr, at: u64| {
            at.checked_add(n)
                .is_some_and(|end| end <= self.store.mems[m.0 as usize].len_bytes(tid))
        };
        match (*instr, t.pending_byte) {
            (Instr::MemoryCopy { .. }, Some(_)) => {
                byte(dst, if d <= s { d } else { d + n - 1 }, true)
            }
            _ if n == 0 || !fits(dst, d) => Some(whole()),
            (Instr::MemoryCopy { .. }, None) if !fits(src, s) => Some(whole()),
            (Instr::MemoryCopy { .. }, None) => {
                byte(src, if d <= s { s } else { s + n - 1 }, false)
            }
            _ => byte(dst, d, true),
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

    /// Have thread requests ([`crate::host::Caller::spawn`]) carried out by `handler` at
    /// once, during the host call, instead of queued for
    /// [`Configuration::take_spawn_requests`]: an embedder that runs each thread on an OS
    /// thread needs the new thread running before the caller can block in `wait`.
    pub fn set_spawn_handler(&mut self, handler: crate::host::SpawnHandler) {
        self.spawn_handler = Some(handler);
    }

    /// The thread requests host functions made ([`crate::host::Caller::spawn`]) since the
    /// last call, oldest first; the embedder carries them out, e.g. with
    /// [`Configuration::start_spawned`].
    pub fn take_spawn_requests(&mut self) -> Vec<crate::host::SpawnRequest> {
        std::mem::take(&mut self.spawn_requests)
    }

    /// Carry out a [`crate::host::SpawnRequest`] in this configuration: instantiate its
    /// module (spec *Instantiation*, start function included) and start a new thread that
    /// invokes its export (spec *Invocation*). Errors: `Trap::Host` naming what failed
    /// (instantiation, or an export that is missing or not a function).
    ///
    /// Happens-before ([`Configuration::happens_before`]): everything the spawner did
    /// before the request happens before the instantiation's start function and the new
    /// thread, and the start function (which the host runs to its end first) happens
    /// before the new thread: wasi-threads' `thread-spawn` starts the new thread after the
    /// call, as the model's thread start does (`docs/races.md`).
    pub fn start_spawned(&mut self, request: crate::host::SpawnRequest) -> Result<ThreadId, Trap> {
        let first = self.thread_count();
        self.creator = request.spawner;
        let started = self.start_spawned_inner(request, first);
        self.creator = None;
        started
    }

    fn start_spawned_inner(
        &mut self,
        request: crate::host::SpawnRequest,
        first: usize,
    ) -> Result<ThreadId, Trap> {
        let inst = self
            .instantiate(request.module, &request.imports)
            .map_err(|e| Trap::Host(format!("starting a thread: instantiation failed: {e}")))?;
        let Some(crate::store::ExternVal::Func(f)) = self.export(inst, &request.export) else {
            return Err(Trap::Host(format!(
                "starting a thread: no exported function {:?}",
                request.export
            )));
        };
        let t = self.spawn(f, &request.args)?;
        // The host joins the instantiation's threads (its start function) before the
        // new thread starts.
        for u in first..t.0 as usize {
            self.happens_before(ThreadId(u as u32), t);
        }
        Ok(t)
    }

    /// The call stack of thread `tid`, innermost frame first: one line per frame, `func 7
    /// $name` (the function index in its module's function index space, and its name from
    /// the module's name section when there is one, [`Module::func_name`]). Empty for a
    /// finished thread.
    pub fn call_stack(&self, tid: ThreadId) -> Vec<String> {
        self.threads[tid.0 as usize]
            .frames
            .iter()
            .rev()
            .map(|f| {
                let index = (f.module.imported_funcs() + f.func as usize) as u32;
                match f.module.func_name(index) {
                    Some(name) => format!("func {index} ${name}"),
                    None => format!("func {index}"),
                }
            })
            .collect()
    }

    /// Invoke `func` with `args` on a new thread and run that thread alone to completion
    /// (other threads do not step). Blocking forever is reported as [`Trap::Deadlock`], an
    /// exception no handler caught as [`Trap::Exception`] (not a trap:
    /// [`Trap::is_exception`]).
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
            pending_byte: None,
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
    /// Where host functions put their thread requests.
    spawns: &'a mut Vec<crate::host::SpawnRequest>,
    /// Who starts requested threads at once, if anyone (else they queue in `spawns`).
    spawn_handler: Option<&'a crate::host::SpawnHandler>,
    /// Set by a host function's spawn: the step ends after the call.
    end_quantum: bool,
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
    let nparams = f.arity.0 as usize;
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

/// The heap type a non-null reference slot has at run time (spec 3.0 *Reference typing*
/// of values): a function's or an object's defined type, `i31`, `any` for a host reference
/// and `extern` for an external one.
fn slot_heap(store: &Store, s: Slot) -> HeapType {
    if s & EXTERN_FLAG != 0 {
        return HeapType::Extern;
    }
    let a = s as u32 as usize;
    match s & TAG_MASK {
        0 => store
            .funcs
            .get(a)
            .map_or(HeapType::NoFunc, |f| HeapType::Concrete(f.type_id())),
        TAG_I31 => HeapType::I31,
        TAG_STRUCT => store
            .structs
            .get(a)
            .map_or(HeapType::None, |o| HeapType::Concrete(o.ty)),
        TAG_ARRAY => store
            .arrays
            .get(a)
            .map_or(HeapType::None, |o| HeapType::Concrete(o.ty)),
        TAG_EXN => HeapType::Exn,
        _ => HeapType::Any,
    }
}

/// Spec 3.0 *ref.test*: does the reference in slot `s` match `rt`, whose concrete heap type
/// is a type index of `instance`'s module?
fn slot_matches(store: &Store, instance: InstanceAddr, s: Slot, rt: RefType) -> bool {
    if s == NULL_REF {
        return rt.nullable;
    }
    let target = match rt.heap {
        HeapType::Concrete(i) => {
            HeapType::Concrete(store.instances[instance.0 as usize].types[i as usize])
        }
        h => h,
    };
    store.types.heap_matches(slot_heap(store, s), target)
}

/// The slot to store in a field of packing `p` (spec 3.0 `pack`): packed fields keep the
/// low 8 or 16 bits of an `i32`.
#[inline]
fn pack(p: Packed, v: Slot) -> Slot {
    match p {
        Packed::No => v,
        Packed::I8 => v & 0xff,
        Packed::I16 => v & 0xffff,
    }
}

/// The operand read from a field of packing `p` (spec 3.0 `unpack`, with `sx` if
/// `signed`).
#[inline]
fn unpack(p: Packed, signed: bool, v: Slot) -> Slot {
    match (p, signed) {
        (Packed::No, _) | (_, false) => v,
        (Packed::I8, true) => from_i32(v as u8 as i8 as i32),
        (Packed::I16, true) => from_i32(v as u16 as i16 as i32),
    }
}

/// The canonical id of type index `idx` of `instance`'s module.
#[inline]
fn type_id(store: &Store, instance: InstanceAddr, idx: u32) -> crate::types::TypeId {
    store.instances[instance.0 as usize].types[idx as usize]
}

/// The fields of struct type `id` (canonical).
fn struct_fields(store: &Store, id: crate::types::TypeId) -> &[crate::types::FieldType] {
    match &store.types.get(id).composite {
        CompositeType::Struct(fs) => fs,
        _ => &[],
    }
}

/// The element storage type of array type `id` (canonical).
fn array_storage(store: &Store, id: crate::types::TypeId) -> StorageType {
    match &store.types.get(id).composite {
        CompositeType::Array(f) => f.storage,
        _ => StorageType::I8,
    }
}

/// The slot of the default value of a storage type (spec `default_t`: zero or null).
fn default_slot(t: StorageType) -> Slot {
    match t {
        StorageType::Val(ValType::Ref(_)) => NULL_REF,
        _ => 0,
    }
}

/// The width in bytes of a storage type (spec 3.0 `|t|`), for `array.new_data` and
/// `array.init_data`.
fn storage_bytes(t: StorageType) -> usize {
    match t {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(ValType::I32 | ValType::F32) => 4,
        StorageType::Val(ValType::I64 | ValType::F64) => 8,
        StorageType::Val(ValType::V128) => 16,
        StorageType::Val(ValType::Ref(_)) => 0,
    }
}

/// Decode `n` elements of `z` bytes each, little-endian, from `bytes` (spec 3.0
/// `array.new_data`: `bytes_t`).
fn data_slots(bytes: &[u8], z: usize) -> Vec<Slot> {
    bytes
        .chunks_exact(z.max(1))
        .map(|c| {
            let mut b = [0u8; 16];
            b[..c.len()].copy_from_slice(c);
            u128::from_le_bytes(b)
        })
        .collect()
}

/// Allocate a structure (spec 3.0 *Execution › Aggregate Reference Instructions*,
/// `struct.new`): objects are never freed (see [`crate::store`]).
fn alloc_struct(
    store: &mut Store,
    ty: crate::types::TypeId,
    fields: Vec<Slot>,
) -> Result<Slot, Trap> {
    gc_room(store, fields.len() as u64)?;
    store.gc_slots += fields.len() as u64 + 1;
    store.structs.push(StructInst { ty, fields });
    Ok(TAG_STRUCT | (store.structs.len() - 1) as Slot)
}

/// The most slots all the objects of a store may hold, counting one more per object: an
/// implementation limit (2^26 slots, 1 GiB; the spec lets allocation fail). Past it,
/// allocation traps instead of exhausting the host's memory (there is no collector).
pub const MAX_GC_SLOTS: u64 = 1 << 26;

/// Check that `n` more slots (and one for the object) fit under [`MAX_GC_SLOTS`].
fn gc_room(store: &Store, n: u64) -> Result<(), Trap> {
    if store.gc_slots.saturating_add(n).saturating_add(1) > MAX_GC_SLOTS {
        return Err(Trap::Host(format!(
            "allocation of {n} slots exceeds the implementation limit of {MAX_GC_SLOTS} slots of GC objects per store"
        )));
    }
    Ok(())
}

/// Allocate an array (spec 3.0 `array.new`). Arrays are limited to
/// [`ExecLimits::max_table_elements`] elements, an implementation limit (allocation may
/// fail, spec 3.0 *Execution › Runtime › Store*): a larger one traps.
fn alloc_array(
    store: &mut Store,
    limits: &ExecLimits,
    ty: crate::types::TypeId,
    elems: Vec<Slot>,
) -> Slot {
    debug_assert!(elems.len() as u64 <= limits.max_table_elements);
    store.gc_slots += elems.len() as u64 + 1;
    store.arrays.push(ArrayInst { ty, elems });
    TAG_ARRAY | (store.arrays.len() - 1) as Slot
}

/// Check an array length against the implementation limit.
fn array_len_ok(store: &Store, limits: &ExecLimits, n: u64) -> Result<usize, Trap> {
    gc_room(store, n)?;
    if n > limits.max_table_elements {
        return Err(Trap::Host(format!(
            "array of {n} elements exceeds the implementation limit of {}",
            limits.max_table_elements
        )));
    }
    Ok(n as usize)
}

/// Execute a GC allocation instruction of a constant expression or a function body:
/// `struct.new*`, `array.new`, `array.new_default`, `array.new_fixed`, with operands on
/// `stack`. `None` for other instructions.
/// `id` is the canonical id of the instruction's type immediate.
pub(crate) fn alloc_instr(
    store: &mut Store,
    limits: &ExecLimits,
    id: crate::types::TypeId,
    instr: Instr,
    stack: &mut Vec<Slot>,
) -> Option<Result<(), Trap>> {
    if !matches!(
        instr,
        Instr::StructNew(_)
            | Instr::StructNewDefault(_)
            | Instr::ArrayNew(_)
            | Instr::ArrayNewDefault(_)
            | Instr::ArrayNewFixed { .. }
    ) {
        return None;
    }
    let popn = |stack: &mut Vec<Slot>, n: usize| stack.split_off(stack.len() - n);
    Some((|| {
        match instr {
            Instr::StructNew(_) => {
                let fields = struct_fields(store, id);
                let n = fields.len();
                let packs: Vec<StorageType> = fields.iter().map(|f| f.storage).collect();
                let mut vals = popn(stack, n);
                for (v, st) in vals.iter_mut().zip(packs) {
                    *v = pack(packing(st), *v);
                }
                let r = alloc_struct(store, id, vals)?;
                stack.push(r);
            }
            Instr::StructNewDefault(_) => {
                let vals = struct_fields(store, id)
                    .iter()
                    .map(|f| default_slot(f.storage))
                    .collect();
                let r = alloc_struct(store, id, vals)?;
                stack.push(r);
            }
            Instr::ArrayNew(_) => {
                let n = array_len_ok(
                    store,
                    limits,
                    u64_of(stack.pop().expect("validated")) as u32 as u64,
                )?;
                let v = pack(
                    packing(array_storage(store, id)),
                    stack.pop().expect("validated"),
                );
                let r = alloc_array(store, limits, id, vec![v; n]);
                stack.push(r);
            }
            Instr::ArrayNewDefault(_) => {
                let n = array_len_ok(
                    store,
                    limits,
                    u32_of(stack.pop().expect("validated")) as u64,
                )?;
                let v = default_slot(array_storage(store, id));
                let r = alloc_array(store, limits, id, vec![v; n]);
                stack.push(r);
            }
            Instr::ArrayNewFixed { len, .. } => {
                let n = array_len_ok(store, limits, u64::from(len))?;
                let p = packing(array_storage(store, id));
                let vals = popn(stack, n).into_iter().map(|v| pack(p, v)).collect();
                let r = alloc_array(store, limits, id, vals);
                stack.push(r);
            }
            _ => unreachable!("checked above"),
        }
        Ok(())
    })())
}

fn packing(t: StorageType) -> Packed {
    match t {
        StorageType::I8 => Packed::I8,
        StorageType::I16 => Packed::I16,
        StorageType::Val(_) => Packed::No,
    }
}

/// Spec 3.0 `ref.i31`, `any.convert_extern`, `extern.convert_any`: the reference
/// conversions, on a slot (also used by constant expressions).
pub(crate) fn convert_ref(instr: Instr, s: Slot) -> Slot {
    match instr {
        Instr::RefI31 => TAG_I31 | (s as u32 & 0x7fff_ffff) as Slot,
        _ if s == NULL_REF => NULL_REF,
        Instr::AnyConvertExtern => s & !EXTERN_FLAG,
        _ => s | EXTERN_FLAG,
    }
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

// ---- Bulk memory on shared memories, byte by byte ----
//
// On a shared memory the spec reduces `memory.fill`, `memory.copy` and `memory.init` to byte
// steps (exec/instructions.rst *memory.fill*, *memory.copy*, *memory.init*): the
// instruction reads the memory's length (`RD len`) and traps if its range does not fit;
// with `n = 0` it is done; otherwise it stores one byte with `i32.store8` (for a copy, one
// byte loaded with `i32.load8_u` first) and executes again on the rest of the range, which
// re-reads the length. Other threads may step between any two of those instructions.
//
// Heddle executes the instruction again in the same way: each step below does one byte and
// then either pops the operands (`Bulk::Done`) or replaces them by the rest of the range
// and leaves the instruction to execute again (`Bulk::Again`). Two of the spec's steps are
// taken as one, which no thread can tell apart because a memory's length never shrinks:
// - the bounds check and the byte's first access (the `i32.store8` of fill and init, the
//   `i32.load8_u` of copy): between them only `memory.grow` could change what the check
//   sees, and a check that passed still passes after it; a schedule that grows the memory
//   before a failing check is another schedule of the same program;
// - the last byte and the re-execution with `n = 0`, whose check then always passes.
// A copy's load and store stay two steps: the loaded byte waits in the thread
// (`Thread::pending_byte`) while other threads step.

/// What one step of a bulk instruction on a shared memory left to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bulk {
    /// The instruction is finished; its operands are popped.
    Done,
    /// The instruction executes again: its operands are the rest of its range.
    Again,
}

/// The bulk instruction's operands `d`, `s` or `val`, `n` on top of the stack (as `u64`).
fn bulk_operands(stack: &[Slot]) -> [u64; 3] {
    let len = stack.len();
    [
        u64_of(stack[len - 3]),
        u64_of(stack[len - 2]),
        u64_of(stack[len - 1]),
    ]
}

/// After a byte: the instruction is done if that was the last one, else its operands
/// become `next` (the spec's pushes before it executes again).
fn bulk_next(stack: &mut Vec<Slot>, n: u64, next: [u64; 3]) -> Bulk {
    let len = stack.len();
    if n <= 1 {
        stack.truncate(len - 3);
        return Bulk::Done;
    }
    for (slot, v) in stack[len - 3..].iter_mut().zip(next) {
        *slot = from_u64(v);
    }
    Bulk::Again
}

/// Spec *memory.fill*, the shared case's bounds check: `RD_unord len l` and trap if
/// `ea + n > l` ([`MemInst::check_bounds`]).
fn check_range(mem: &mut MemInst, tid: ThreadId, ea: u64, n: u64) -> Result<(), Trap> {
    mem.check_bounds(tid, ea.saturating_add(n))
}

/// One step of `memory.fill` on a shared memory (spec *memory.fill*, shared case; operands
/// `d`, `val`, `n` on the stack): check `d + n` against the length, then, if `n > 0`,
/// `i32.store8` of `val` at `d`, and execute again with `d + 1`, `val`, `n - 1`.
#[inline(never)]
fn fill_byte(mem: &mut MemInst, tid: ThreadId, stack: &mut Vec<Slot>) -> Result<Bulk, Trap> {
    let [d, val, n] = bulk_operands(stack);
    check_range(mem, tid, d, n)?;
    if n > 0 {
        mem.write(tid, Ordering::Unord, d, &[val as u8], no_tear(true, 1, d))?;
    }
    Ok(bulk_next(stack, n, [d + 1, val, n.saturating_sub(1)]))
}

/// One step of `memory.copy` on a shared memory (spec *memory.copy*, shared case; operands
/// `d`, `s`, `n` on the stack), from memory `src` to memory `dst` (the same memory but
/// with multi-memory). With no byte pending: check both ranges against the lengths, then,
/// if `n > 0`, `i32.load8_u` of the byte to move, which waits in `pending`. With a byte
/// pending: `i32.store8` of it, and execute again on the rest. The byte moved is the
/// lowest of the range when `d <= s` (then the rest is `d + 1`, `s + 1`, `n - 1`), else the
/// highest (the rest is `d`, `s`, `n - 1`), so that an overlapping copy reads every source
/// byte before writing over it.
#[inline(never)]
fn copy_byte(
    mems: &mut [MemInst],
    tid: ThreadId,
    dst: MemAddr,
    src: MemAddr,
    stack: &mut Vec<Slot>,
    pending: &mut Option<u8>,
) -> Result<Bulk, Trap> {
    let [d, s, n] = bulk_operands(stack);
    let forward = d <= s;
    match pending.take() {
        None => {
            // One read of the length within one memory; between two, the destination's
            // then the source's (docs/model.md, *The length location*).
            if src == dst {
                let end = |a: u64| a.saturating_add(n);
                mems[dst.0 as usize].check_bounds(tid, end(d).max(end(s)))?;
            } else {
                check_range(&mut mems[dst.0 as usize], tid, d, n)?;
                check_range(&mut mems[src.0 as usize], tid, s, n)?;
            }
            if n == 0 {
                return Ok(bulk_next(stack, n, [d, s, n]));
            }
            let from = if forward { s } else { s + n - 1 };
            let mut byte = [0u8];
            let nt = no_tear(true, 1, from);
            mems[src.0 as usize].read(tid, Ordering::Unord, from, &mut byte, nt)?;
            *pending = Some(byte[0]);
            Ok(Bulk::Again)
        }
        Some(byte) => {
            let to = if forward { d } else { d + n - 1 };
            let nt = no_tear(true, 1, to);
            mems[dst.0 as usize].write(tid, Ordering::Unord, to, &[byte], nt)?;
            let rest = if forward {
                [d + 1, s + 1, n - 1]
            } else {
                [d, s, n - 1]
            };
            Ok(bulk_next(stack, n, rest))
        }
    }
}

/// One step of `memory.init` on a shared memory (spec *memory.init*, shared case; operands
/// `d`, `s`, `n` on the stack): check `s + n` against the data segment and `d + n` against
/// the memory's length, then, if `n > 0`, `i32.store8` of the segment's byte `s` at `d`, and
/// execute again with `d + 1`, `s + 1`, `n - 1`.
#[inline(never)]
fn init_byte(
    store: &mut Store,
    tid: ThreadId,
    mem: MemAddr,
    data: DataAddr,
    stack: &mut Vec<Slot>,
) -> Result<Bulk, Trap> {
    let [d, s, n] = bulk_operands(stack);
    let segment = &store.datas[data.0 as usize].bytes;
    if s.checked_add(n)
        .is_none_or(|end| end > segment.len() as u64)
    {
        return Err(Trap::OutOfBoundsMemoryAccess);
    }
    let mem_inst = &mut store.mems[mem.0 as usize];
    check_range(mem_inst, tid, d, n)?;
    if n > 0 {
        let byte = segment[s as usize];
        mem_inst.write(tid, Ordering::Unord, d, &[byte], no_tear(true, 1, d))?;
    }
    Ok(bulk_next(stack, n, [d + 1, s + 1, n.saturating_sub(1)]))
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
fn run(thread: &mut Thread, ctx: &mut StepCtx<'_>, mut budget: u64) -> Result<Exit, Trap> {
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
                    // Most calls and returns stay in one module: no reference count
                    // to move then (an atomic increment and decrement each).
                    if !Arc::ptr_eq(&module, &f.module) {
                        module = f.module.clone();
                    }
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
    // Race detection (crate::race): the code location of the memory instruction being
    // executed, told to the shared memory `$mem` before it is accessed.
    macro_rules! race_site {
        ($mem:expr) => {
            if let crate::memory::MemInst::Shared(sm) = &mut ctx.store.mems[$mem.0 as usize] {
                let site = crate::race::Site {
                    instance: instance.0,
                    func: func_idx,
                    pc: (pc - 1) as u32,
                };
                sm.race_hook(tid, crate::memory::RaceHook::Site(site));
            }
        };
    }
    macro_rules! load {
        ($m:expr, $n:literal, $int:expr, |$b:ident| $conv:expr) => {{
            let ea = effective_address(*top!(), $m.offset());
            let mut $b = [0u8; $n];
            let mem = mem_addr!($m.memory);
            race_site!(mem);
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
            race_site!(mem);
            let bytes = $bytes;
            let nt = no_tear($int, bytes.len() as u64, ea);
            tri!(ctx.store.mems[mem.0 as usize].write(tid, Ordering::Unord, ea, &bytes, nt));
        }};
    }

    let result = 'frames: loop {
        // The current function's body, borrowed once per frame: a call or return changes
        // the frame and re-enters here (`enter_top_frame!`).
        let body: &[Instr] = &module.funcs[func_idx as usize].body;
        // A host function asked for a thread: the quantum ends here, so that the embedder
        // starts the thread before this one goes on (see `Caller::spawn`).
        if ctx.end_quantum {
            ctx.end_quantum = false;
            break Ok(Exit::Yield);
        }
        break loop {
            if remaining == 0 {
                break Ok(Exit::Yield);
            }
            remaining -= 1;
            // Matched where it lies: the arms read only the fields they use.
            let instr = &body[pc];
            pc += 1;
            match *instr {
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
                    let nresults = code!().arity.1 as usize;
                    let len = stack.len();
                    stack.copy_within(len - nresults..len, fp);
                    stack.truncate(fp + nresults);
                    thread.frames.pop();
                    enter_top_frame!('frames);
                }
                // `call_ref` (spec 3.0) shares the arm: one inlined call path.
                Instr::Call(_) | Instr::CallRef(_) => {
                    let addr = match *instr {
                        Instr::Call(idx) => {
                            ctx.store.instances[instance.0 as usize].funcs[idx as usize]
                        }
                        _ => match pop!() {
                            NULL_REF => break Err(Trap::NullFunctionReference),
                            r => FuncAddr(r as u32),
                        },
                    };
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

                // `return_call_ref` (spec 3.0) shares the arm.
                Instr::ReturnCall(_) | Instr::ReturnCallRef(_) => {
                    let addr = match *instr {
                        Instr::ReturnCall(idx) => {
                            ctx.store.instances[instance.0 as usize].funcs[idx as usize]
                        }
                        _ => match pop!() {
                            NULL_REF => break Err(Trap::NullFunctionReference),
                            r => FuncAddr(r as u32),
                        },
                    };
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
                // Spec 3.0 *throw x*: allocate the exception, then *throw_ref* it (unwind
                // to the innermost handler that catches it, see `exn::throw_ref`).
                Instr::Throw(x) => {
                    let tag = ctx.store.instances[instance.0 as usize].tags[x as usize];
                    let exn = crate::exn::alloc_exn(ctx.store, stack, tag);
                    save_pc!();
                    tri!(crate::exn::throw_ref(
                        &mut thread.frames,
                        stack,
                        ctx.store,
                        exn
                    ));
                    enter_top_frame!('frames);
                }
                // Spec 3.0 *throw_ref*: trap on null, else unwind.
                Instr::ThrowRef => {
                    let r = pop!();
                    if r == NULL_REF {
                        break Err(Trap::NullExceptionReference);
                    }
                    save_pc!();
                    tri!(crate::exn::throw_ref(
                        &mut thread.frames,
                        stack,
                        ctx.store,
                        ExnAddr(r as u32)
                    ));
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
                    let v = ctx
                        .store
                        .slot_value(pop!(), ctx.store.globals[g.0 as usize].ty.content);
                    ctx.store.globals[g.0 as usize].value = v;
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
                    let elem = ctx.store.tables[ta.0 as usize].ty.elem;
                    let v = ctx.store.slot_value(pop!(), elem.into());
                    let tab = &mut ctx.store.tables[ta.0 as usize];
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
                    let n = u64_of(pop!());
                    let elem = ctx.store.tables[ta.0 as usize].ty.elem;
                    let init = ctx.store.slot_value(pop!(), elem.into());
                    let tab = &mut ctx.store.tables[ta.0 as usize];
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
                    let n = index_of(pop!());
                    let elem = ctx.store.tables[ta.0 as usize].ty.elem;
                    let v = ctx.store.slot_value(pop!(), elem.into());
                    let tab = &mut ctx.store.tables[ta.0 as usize];
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
                    if let Err(t) = crate::store::table_init(ctx.store, ta, ea, d, s, n) {
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
                    race_site!(mem_addr!(m));
                    if let crate::memory::MemInst::Shared(sm) =
                        &mut ctx.store.mems[mem_addr!(m).0 as usize]
                    {
                        sm.race_hook(tid, crate::memory::RaceHook::Size);
                    }
                    let mem = &mut ctx.store.mems[mem_addr!(m).0 as usize];
                    let pages = mem.size(tid) >> mem.current_type().page_size_log2;
                    stack.push(from_u64(pages));
                }
                Instr::MemoryGrow(m) => {
                    race_site!(mem_addr!(m));
                    let mem = &mut ctx.store.mems[mem_addr!(m).0 as usize];
                    let delta = u64_of(pop!());
                    let addr = mem.current_type().addr;
                    let r = mem.grow(tid, delta);
                    stack.push(r.map_or(minus_one(addr), from_u64));
                }
                // On a shared memory (but a native one, whose OS threads interleave by
                // themselves) a bulk instruction takes the spec's byte steps: one byte, then
                // the instruction executes again on the rest of its range (see
                // `fill_byte`). Elsewhere nothing can observe the steps between: one step.
                Instr::MemoryFill(m) => {
                    let mem = mem_addr!(m);
                    race_site!(mem);
                    if ctx.store.mems[mem.0 as usize].steps_by_bytes() {
                        let mem = &mut ctx.store.mems[mem.0 as usize];
                        if tri!(fill_byte(mem, tid, stack)) == Bulk::Again {
                            pc -= 1;
                        }
                    } else {
                        let n = index_of(pop!());
                        let val = u32_of(pop!()) as u8;
                        let d = u64_of(pop!());
                        // In place: no buffer of n bytes (a fill may cover the whole memory).
                        tri!(ctx.store.mems[mem.0 as usize].fill(tid, d, val, n));
                    }
                }
                Instr::MemoryCopy { dst, src } => {
                    let (dm, sm) = (mem_addr!(dst), mem_addr!(src));
                    race_site!(dm);
                    race_site!(sm);
                    let mems = &mut ctx.store.mems;
                    if mems[dm.0 as usize].steps_by_bytes() || mems[sm.0 as usize].steps_by_bytes()
                    {
                        let pending = &mut thread.pending_byte;
                        if tri!(copy_byte(mems, tid, dm, sm, stack, pending)) == Bulk::Again {
                            pc -= 1;
                        }
                    } else {
                        let n = index_of(pop!());
                        let s = u64_of(pop!());
                        let d = u64_of(pop!());
                        tri!(crate::memory::copy(mems, tid, dm, d, sm, s, n));
                    }
                }
                Instr::MemoryInit { memory, data } => {
                    let inst = &ctx.store.instances[instance.0 as usize];
                    let (mem, da) = (inst.mems[memory as usize], inst.datas[data as usize]);
                    race_site!(mem);
                    if ctx.store.mems[mem.0 as usize].steps_by_bytes() {
                        if tri!(init_byte(ctx.store, tid, mem, da, stack)) == Bulk::Again {
                            pc -= 1;
                        }
                    } else {
                        let n = index_of(pop!());
                        let s = index_of(pop!());
                        let d = u64_of(pop!());
                        tri!(crate::store::memory_init(ctx.store, tid, mem, da, d, s, n));
                    }
                }
                Instr::DataDrop(seg) => {
                    let da = ctx.store.instances[instance.0 as usize].datas[seg as usize];
                    ctx.store.datas[da.0 as usize].bytes = Vec::new();
                }

                // ---- Atomic memory (threads proposal) ----
                Instr::AtomicLoad { ty, width, memarg } => {
                    race_site!(mem_addr!(memarg.memory));
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
                    race_site!(mem);
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
                    race_site!(mem);
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
                    race_site!(mem);
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
                    race_site!(mem);
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
                            // A notify that woke a thread ends the quantum: the scheduler
                            // decides between the notifier and the woken (docs/wasi.md).
                            // (The steps taken stay `budget - remaining`.)
                            if !woken.resume.is_empty() {
                                budget -= remaining;
                                remaining = 0;
                            }
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
                    race_site!(mem);
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
                    let r = if *instr == Instr::I64Add128 {
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

                // ---- Typed function references (spec 3.0 *Execution › Instructions ›
                // Control Instructions* and *Reference Instructions*) ----
                Instr::RefAsNonNull => {
                    if *top!() == NULL_REF {
                        break Err(Trap::NullReference);
                    }
                }
                Instr::BrOnNull(t) => {
                    if *top!() == NULL_REF {
                        pop!();
                        branch_adjust(stack, t);
                        pc = t.pc as usize;
                    }
                }
                Instr::BrOnNonNull(t) => {
                    if *top!() == NULL_REF {
                        pop!();
                    } else {
                        branch_adjust(stack, t);
                        pc = t.pc as usize;
                    }
                }

                // ---- GC (spec 3.0 *Execution › Instructions › Reference Instructions* and
                // *Aggregate Reference Instructions*) ----
                Instr::RefEq => binop!(u128_id, from_bool, |a, b| a == b),
                Instr::BrOnCast(i) => {
                    let c = code!().br_casts[i as usize];
                    if slot_matches(ctx.store, instance, *top!(), c.to) != c.fail {
                        branch_adjust(stack, c.target);
                        pc = c.target.pc as usize;
                    }
                }
                Instr::RefTest(_)
                | Instr::RefCast(_)
                | Instr::RefI31
                | Instr::AnyConvertExtern
                | Instr::ExternConvertAny
                | Instr::I31Get { .. }
                | Instr::StructNew(_)
                | Instr::StructNewDefault(_)
                | Instr::ArrayNew(_)
                | Instr::ArrayNewDefault(_)
                | Instr::ArrayNewFixed { .. }
                | Instr::StructGet { .. }
                | Instr::StructSet { .. }
                | Instr::ArrayNewData { .. }
                | Instr::ArrayNewElem { .. }
                | Instr::ArrayGet { .. }
                | Instr::ArraySet(_)
                | Instr::ArrayLen
                | Instr::ArrayFill(_)
                | Instr::ArrayCopy
                | Instr::ArrayInitData { .. }
                | Instr::ArrayInitElem(_) => {
                    tri!(gc_instr(ctx.store, ctx.limits, instance, *instr, stack))
                }
                // ---- Vector (spec *Vector Instructions*) ----
                Instr::Simd(op) => {
                    let mem = match op.memarg() {
                        Some(m) => {
                            race_site!(mem_addr!(m.memory));
                            Some(&mut ctx.store.mems[mem_addr!(m.memory).0 as usize])
                        }
                        None => None,
                    };
                    tri!(simd_execute(op, stack, &code!().v128s, mem, tid));
                }
            }
        };
    };
    save_pc!();
    ctx.taken += budget - remaining;
    result
}

/// The reference and aggregate instructions of GC (spec 3.0 *Execution › Instructions ›
/// Reference Instructions* and *Aggregate Reference Instructions*) that neither branch nor
/// call: out of the inner loop, so that the scalar instructions keep their code there.
#[inline(never)]
fn gc_instr(
    store: &mut Store,
    limits: &ExecLimits,
    instance: InstanceAddr,
    instr: Instr,
    stack: &mut Vec<Slot>,
) -> Result<(), Trap> {
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
    match instr {
        Instr::RefTest(rt) => {
            let s = *top!();
            *top!() = from_bool(slot_matches(store, instance, s, rt));
        }
        Instr::RefCast(rt) => {
            if !slot_matches(store, instance, *top!(), rt) {
                return Err(Trap::CastFailure);
            }
        }
        Instr::RefI31 | Instr::AnyConvertExtern | Instr::ExternConvertAny => {
            let t = top!();
            *t = convert_ref(instr, *t);
        }
        Instr::I31Get { signed } => {
            let t = top!();
            if *t == NULL_REF {
                return Err(Trap::NullI31Reference);
            }
            let bits = *t as u32 & 0x7fff_ffff;
            *t = if signed {
                from_i32(((bits << 1) as i32) >> 1)
            } else {
                from_u32(bits)
            };
        }
        Instr::StructNew(_)
        | Instr::StructNewDefault(_)
        | Instr::ArrayNew(_)
        | Instr::ArrayNewDefault(_)
        | Instr::ArrayNewFixed { .. } => {
            let (Instr::StructNew(t)
            | Instr::StructNewDefault(t)
            | Instr::ArrayNew(t)
            | Instr::ArrayNewDefault(t)
            | Instr::ArrayNewFixed { ty: t, .. }) = instr
            else {
                unreachable!()
            };
            let id = type_id(store, instance, t);
            if let Some(r) = alloc_instr(store, limits, id, instr, stack) {
                r?;
            }
        }
        Instr::StructGet {
            field,
            packed,
            signed,
            ..
        } => {
            let t = top!();
            if *t == NULL_REF {
                return Err(Trap::NullStructureReference);
            }
            let v = store.structs[*t as u32 as usize].fields[field as usize];
            *t = unpack(packed, signed, v);
        }
        Instr::StructSet { field, packed, .. } => {
            let v = pop!();
            let r = pop!();
            if r == NULL_REF {
                return Err(Trap::NullStructureReference);
            }
            store.structs[r as u32 as usize].fields[field as usize] = pack(packed, v);
        }
        Instr::ArrayNewData { ty, data } => {
            let n = u64::from(u32_of(pop!()));
            let s = u64::from(u32_of(pop!()));
            let id = type_id(store, instance, ty);
            let z = storage_bytes(array_storage(store, id)) as u64;
            let da = store.instances[instance.0 as usize].datas[data as usize];
            let bytes = &store.datas[da.0 as usize].bytes;
            if s + n * z > bytes.len() as u64 {
                return Err(Trap::OutOfBoundsMemoryAccess);
            }
            array_len_ok(store, limits, n)?;
            let elems = data_slots(&bytes[s as usize..(s + n * z) as usize], z as usize);
            let r = alloc_array(store, limits, id, elems);
            stack.push(r);
        }
        Instr::ArrayNewElem { ty, elem } => {
            let n = u64::from(u32_of(pop!()));
            let s = u64::from(u32_of(pop!()));
            let id = type_id(store, instance, ty);
            let ea = store.instances[instance.0 as usize].elems[elem as usize];
            let refs = &store.elems[ea.0 as usize].elems;
            if s + n > refs.len() as u64 {
                return Err(Trap::OutOfBoundsTableAccess);
            }
            array_len_ok(store, limits, n)?;
            let refs = &store.elems[ea.0 as usize].elems;
            let elems = refs[s as usize..(s + n) as usize]
                .iter()
                .map(value_to_slot)
                .collect();
            let r = alloc_array(store, limits, id, elems);
            stack.push(r);
        }
        Instr::ArrayGet { packed, signed } => {
            let i = u32_of(pop!()) as usize;
            let t = top!();
            if *t == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            match store.arrays[*t as u32 as usize].elems.get(i) {
                Some(v) => *t = unpack(packed, signed, *v),
                None => return Err(Trap::OutOfBoundsArrayAccess),
            }
        }
        Instr::ArraySet(packed) => {
            let v = pop!();
            let i = u32_of(pop!()) as usize;
            let r = pop!();
            if r == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            match store.arrays[r as u32 as usize].elems.get_mut(i) {
                Some(e) => *e = pack(packed, v),
                None => return Err(Trap::OutOfBoundsArrayAccess),
            }
        }
        Instr::ArrayLen => {
            let t = top!();
            if *t == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            *t = from_u32(store.arrays[*t as u32 as usize].elems.len() as u32);
        }
        Instr::ArrayFill(packed) => {
            let n = u32_of(pop!()) as usize;
            let v = pack(packed, pop!());
            let d = u32_of(pop!()) as usize;
            let r = pop!();
            if r == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            let a = &mut store.arrays[r as u32 as usize].elems;
            if d + n > a.len() {
                return Err(Trap::OutOfBoundsArrayAccess);
            }
            a[d..d + n].fill(v);
        }
        Instr::ArrayCopy => {
            let n = u32_of(pop!()) as usize;
            let s = u32_of(pop!()) as usize;
            let src = pop!();
            let d = u32_of(pop!()) as usize;
            let dst = pop!();
            if src == NULL_REF || dst == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            let (sa, da) = (src as u32 as usize, dst as u32 as usize);
            if s + n > store.arrays[sa].elems.len() || d + n > store.arrays[da].elems.len() {
                return Err(Trap::OutOfBoundsArrayAccess);
            }
            if sa == da {
                store.arrays[da].elems.copy_within(s..s + n, d);
            } else {
                let items = store.arrays[sa].elems[s..s + n].to_vec();
                store.arrays[da].elems[d..d + n].copy_from_slice(&items);
            }
        }
        Instr::ArrayInitData { ty, data } => {
            let n = u32_of(pop!()) as usize;
            let s = u32_of(pop!()) as usize;
            let d = u32_of(pop!()) as usize;
            let r = pop!();
            if r == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            let id = type_id(store, instance, ty);
            let z = storage_bytes(array_storage(store, id));
            let da = store.instances[instance.0 as usize].datas[data as usize];
            let a = r as u32 as usize;
            if d + n > store.arrays[a].elems.len() {
                return Err(Trap::OutOfBoundsArrayAccess);
            }
            let bytes = &store.datas[da.0 as usize].bytes;
            if s + n * z > bytes.len() {
                return Err(Trap::OutOfBoundsMemoryAccess);
            }
            let vals = data_slots(&bytes[s..s + n * z], z);
            store.arrays[a].elems[d..d + n].copy_from_slice(&vals);
        }
        Instr::ArrayInitElem(elem) => {
            let n = u32_of(pop!()) as usize;
            let s = u32_of(pop!()) as usize;
            let d = u32_of(pop!()) as usize;
            let r = pop!();
            if r == NULL_REF {
                return Err(Trap::NullArrayReference);
            }
            let a = r as u32 as usize;
            if d + n > store.arrays[a].elems.len() {
                return Err(Trap::OutOfBoundsArrayAccess);
            }
            let ea = store.instances[instance.0 as usize].elems[elem as usize];
            let refs = &store.elems[ea.0 as usize].elems;
            if s + n > refs.len() {
                return Err(Trap::OutOfBoundsTableAccess);
            }
            let vals: Vec<Slot> = refs[s..s + n].iter().map(value_to_slot).collect();
            store.arrays[a].elems[d..d + n].copy_from_slice(&vals);
        }

        _ => unreachable!("not a GC instruction: {instr:?}"),
    }
    Ok(())
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
        FuncInst::Host { ty, code, .. } => {
            let ty: FuncType = ty.clone();
            let code = code.clone();
            let n = ty.params.len();
            let args: Vec<Value> = stack[stack.len() - n..]
                .iter()
                .zip(&ty.params)
                .map(|(s, t)| ctx.store.slot_value(*s, *t))
                .collect();
            stack.truncate(stack.len() - n);
            let mut caller = crate::host::Caller {
                store: &mut *ctx.store,
                instance: frames.last().map(|f| f.instance),
                thread: ctx.tid,
                clock: ctx.clock,
                spawns: &mut *ctx.spawns,
                spawn_handler: ctx.spawn_handler,
                spawned: false,
            };
            let results = code(&mut caller, &args);
            ctx.end_quantum |= caller.spawned;
            let results = results?;
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
    // Spec 3.0: the function's defined type must match the expected one (subtyping).
    if !store.types.is_subtype(
        store.funcs[addr.0 as usize].type_id(),
        inst.types[type_idx as usize],
    ) {
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

// ---- Vector instructions (spec *Execution › Vector Instructions*); see [`crate::simd`] ----

use crate::memarg::MemArg;
use crate::simd::{shuffle, Shape, SimdInstr};

/// Execute one vector instruction on a thread's operand stack (spec *Execution › Vector
/// Instructions*). `v128s` is the running function's side table; `mem` is memory 0 of the
/// frame's module instance for the instructions whose [`SimdInstr::memarg`] is `Some`
/// (their memory accesses are plain, unordered actions that may tear).
fn simd_execute(
    instr: SimdInstr,
    stack: &mut Vec<Slot>,
    v128s: &[u128],
    mem: Option<&mut MemInst>,
    thread: ThreadId,
) -> Result<(), Trap> {
    const VALID: &str = "validated code never underflows the stack";
    // Vector accesses never carry the `noTear` flag: the spec's vector loads and stores
    // emit `RD`/`WR` actions without it, and `tearing(t, N, ea)` gives it only to integer
    // types (exec/instructions.rst, exec/runtime.rst).
    const NO_TEAR: bool = false;
    let pop = |stack: &mut Vec<Slot>| stack.pop().expect(VALID);
    let memory = || mem.ok_or_else(|| Trap::Host("vector memory access without a memory".into()));
    let address = |operand: Slot, m: MemArg| crate::runtime::effective_address(operand, m.offset());
    match instr {
        SimdInstr::Op(op) => op.apply(stack),
        SimdInstr::Const(i) => stack.push(v128s.get(i as usize).copied().unwrap_or(0)),
        SimdInstr::Shuffle(i) => {
            let b = pop(stack);
            let a = pop(stack);
            stack.push(shuffle(a, b, v128s.get(i as usize).copied().unwrap_or(0)));
        }
        SimdInstr::JoinHalves => {
            let hi = pop(stack) as u64;
            let lo = pop(stack) as u64;
            stack.push(u128::from(lo) | u128::from(hi) << 64);
        }
        SimdInstr::ExtractLane {
            shape,
            lane,
            signed,
        } => {
            let x = shape.extract(pop(stack), lane.into());
            stack.push(match (signed, shape) {
                (true, Shape::I8x16) => x as u8 as i8 as i32 as u32 as Slot,
                (true, Shape::I16x8) => x as u16 as i16 as i32 as u32 as Slot,
                _ => x,
            });
        }
        SimdInstr::ReplaceLane { shape, lane } => {
            let x = pop(stack);
            let v = pop(stack);
            stack.push(shape.replace(v, lane.into(), x));
        }
        SimdInstr::Load {
            bytes,
            then,
            memarg,
        } => {
            let ea = address(pop(stack), memarg);
            let mut buf = [0u8; 16];
            memory()?.read(
                thread,
                Ordering::Unord,
                ea,
                &mut buf[..usize::from(bytes).min(16)],
                NO_TEAR,
            )?;
            stack.push(u128::from_le_bytes(buf));
            if let Some(op) = then {
                op.apply(stack);
            }
        }
        SimdInstr::Store(memarg) => {
            let v = pop(stack);
            let ea = address(pop(stack), memarg);
            memory()?.write(thread, Ordering::Unord, ea, &v.to_le_bytes(), NO_TEAR)?;
        }
        SimdInstr::LoadLane {
            shape,
            lane,
            memarg,
        } => {
            let v = pop(stack);
            let ea = address(pop(stack), memarg);
            let mut buf = [0u8; 16];
            let n = (shape.lane_bits() / 8) as usize;
            memory()?.read(thread, Ordering::Unord, ea, &mut buf[..n], NO_TEAR)?;
            stack.push(shape.replace(v, lane.into(), u128::from_le_bytes(buf)));
        }
        SimdInstr::StoreLane {
            shape,
            lane,
            memarg,
        } => {
            let v = pop(stack);
            let ea = address(pop(stack), memarg);
            let n = (shape.lane_bits() / 8) as usize;
            let x = shape.extract(v, lane.into()).to_le_bytes();
            memory()?.write(thread, Ordering::Unord, ea, &x[..n], NO_TEAR)?;
        }
    }
    Ok(())
}
