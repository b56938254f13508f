//! wasi-threads programs on wasmtime, in process: the cross-check of `heddle run --wasi`.
//!
//! A wasi-threads program (C with pthreads on wasi-libc, Rust `std::thread` on
//! `wasm32-wasip1-threads`) imports one shared memory (`env.memory`), the host function
//! `wasi.thread-spawn` and `wasi_snapshot_preview1` functions, and exports `_start` and
//! `wasi_thread_start` (the wasi-threads proposal,
//! <https://github.com/WebAssembly/wasi-threads>). wasmtime 47 removed its own wasi-threads
//! support, so the thread-spawn host function is ours:
//!
//! * `thread-spawn(start_arg) -> tid` instantiates the module again, in a new `Store` on a
//!   new OS thread, over the same [`SharedMemory`], and calls `wasi_thread_start(tid,
//!   start_arg)` there. It returns the new thread's id (1, 2, ... up to `0x1FFF_FFFF`), or a
//!   negative number when no thread can be started (the limit of
//!   [`WasiRunOptions::max_threads`] live threads reached, or an instantiation failure).
//! * The preview 1 functions are `wasmtime-wasi`'s, one `WasiP1Ctx` per thread; every
//!   thread's stdout and stderr go to one shared in-memory pipe each, so the output is the
//!   program's, in the order the writes happened.
//! * The program ends at the first of: `_start` returning (exit status 0), `proc_exit(n)` in
//!   any thread (status `n`), a trap in any thread, or the time bound (a *hang*). Then every
//!   thread still running is stopped: epoch interruption traps running code at its next loop
//!   header or call, and threads blocked in `memory.atomic.wait` are woken by notifying every
//!   address of the memory, so they too run into the epoch trap.

use crate::engines::wasmtime::threads_config;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::{
    Caller, Engine, ExternType, InstancePre, Linker, Module, SharedMemory, Store, Trap,
    UpdateDeadline,
};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{I32Exit, WasiCtxBuilder};

/// The largest thread id wasi-threads allows (ids are positive and fit in 29 bits).
const MAX_TID: i32 = 0x1FFF_FFFF;

/// How long the clean-up after the end keeps waking blocked threads before it gives up on
/// them (they are left behind, detached, and counted in [`WasiRun::abandoned_threads`]).
const CLEANUP_BOUND: Duration = Duration::from_secs(5);

/// How to run a wasi-threads program.
#[derive(Clone, Debug)]
pub struct WasiRunOptions {
    /// The program's command line as it sees it, `argv[0]` first.
    pub args: Vec<String>,
    /// Wall-clock bound of the whole run: a program still running after it is reported as
    /// [`WasiExit::Hang`]. Default 60 s.
    pub bound: Duration,
    /// Most threads alive at once, the `_start` thread included; `thread-spawn` beyond it
    /// fails (returns a negative number). Default 256.
    pub max_threads: usize,
    /// Capacity of each of stdout and stderr, in bytes; a write beyond it traps. Default
    /// 16 MiB.
    pub output_capacity: usize,
}

impl Default for WasiRunOptions {
    fn default() -> Self {
        WasiRunOptions {
            args: vec!["main.wasm".into()],
            bound: Duration::from_secs(60),
            max_threads: 256,
            output_capacity: 16 << 20,
        }
    }
}

/// How a wasi-threads program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WasiExit {
    /// `_start` returned (status 0) or a thread called `proc_exit(status)`.
    Exited(i32),
    /// A thread trapped: wasmtime's message (the trap code, or the host error).
    Trap(String),
    /// Still running at the time bound ([`WasiRunOptions::bound`]).
    Hang,
}

/// The result of one run of a wasi-threads program.
#[derive(Clone, Debug)]
pub struct WasiRun {
    /// Everything the program wrote to stdout, until it ended.
    pub stdout: Vec<u8>,
    /// Everything the program wrote to stderr, until it ended.
    pub stderr: Vec<u8>,
    /// How it ended.
    pub exit: WasiExit,
    /// Threads the program started with `thread-spawn` (the `_start` thread not counted).
    pub spawned_threads: usize,
    /// Threads still running after the clean-up bound (5 s) following the end: left
    /// behind, detached (they hold the program's memory until they finish). 0 normally.
    pub abandoned_threads: usize,
}

/// Why a program could not be run at all (its own failures are a [`WasiExit`]).
#[derive(Debug, thiserror::Error)]
pub enum WasiRunError {
    /// wasmtime could not be configured.
    #[error("wasmtime engine: {0}")]
    Engine(String),
    /// The module does not decode, validate or compile.
    #[error("compile: {0}")]
    Compile(String),
    /// The module is not a wasi-threads program (the message says what is missing).
    #[error("not a wasi-threads program: {0}")]
    NotWasiThreads(String),
    /// An import cannot be satisfied, or instantiation failed (a start function trap).
    #[error("link: {0}")]
    Link(String),
}

/// What every thread of one run shares.
struct Program {
    engine: Engine,
    /// The module, linked (set once, before the first thread starts).
    pre: OnceLock<InstancePre<ThreadData>>,
    memory: SharedMemory,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    args: Vec<String>,
    max_threads: usize,
    /// The last thread id handed out.
    last_tid: AtomicI32,
    /// Threads started by `thread-spawn`.
    spawned: AtomicUsize,
    /// OS threads running wasm code of this program now (the `_start` thread included).
    live: AtomicUsize,
    /// How the program ended: the first ending event (or the hang at the bound) wins;
    /// `ended` is notified when it is set.
    ending: Mutex<Option<WasiExit>>,
    ended: Condvar,
}

/// The `Store` data of one thread.
struct ThreadData {
    wasi: WasiP1Ctx,
    program: Arc<Program>,
}

impl Program {
    /// Records `ending` unless the program has already ended (the first event wins).
    fn end(&self, ending: WasiExit) {
        let mut first = self.ending.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(ending);
            self.ended.notify_all();
        }
    }

    fn has_ended(&self) -> bool {
        self.ending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// A store for a new thread: its own WASI context over the shared pipes, and an epoch
    /// deadline that traps it once the program has ended.
    fn new_store(self: &Arc<Self>) -> Store<ThreadData> {
        let wasi = WasiCtxBuilder::new()
            .args(self.args.as_slice())
            .stdout(self.stdout.clone())
            .stderr(self.stderr.clone())
            .build_p1();
        let mut store = Store::new(
            &self.engine,
            ThreadData {
                wasi,
                program: Arc::clone(self),
            },
        );
        // The epoch only moves when a run ends (`stop_threads`); another run on the same
        // engine would be no reason to stop this one.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|store| {
            if store.data().program.has_ended() {
                Err(Trap::Interrupt.into())
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        store
    }

    /// Records how a thread's wasm call ended: an error is the end of the program (an
    /// `I32Exit` from `proc_exit` is an exit status, anything else a trap).
    fn thread_result(&self, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            match e.downcast_ref::<I32Exit>() {
                Some(exit) => self.end(WasiExit::Exited(exit.0)),
                None => self.end(WasiExit::Trap(trap_message(&e))),
            }
        }
    }

    /// `wasi.thread-spawn(start_arg)`: a new OS thread instantiates the module over the
    /// same memory and calls `wasi_thread_start(tid, start_arg)`; returns `tid`, or -1.
    fn spawn(self: &Arc<Self>, start_arg: i32) -> i32 {
        if self.has_ended() {
            return -1;
        }
        // Reserve a live slot first, so `max_threads` holds under concurrent spawns.
        if self.live.fetch_add(1, SeqCst) >= self.max_threads {
            self.live.fetch_sub(1, SeqCst);
            return -1;
        }
        let tid = match self
            .last_tid
            .fetch_update(SeqCst, SeqCst, |t| (t < MAX_TID).then_some(t + 1))
        {
            Ok(previous) => previous + 1,
            Err(_) => {
                self.live.fetch_sub(1, SeqCst);
                return -1;
            }
        };
        let program = Arc::clone(self);
        let started = std::thread::Builder::new()
            .name(format!("wasi-thread-{tid}"))
            .spawn(move || {
                let mut store = program.new_store();
                let result = program
                    .linked()
                    .and_then(|pre| pre.instantiate(&mut store))
                    .and_then(|instance| {
                        instance
                            .get_typed_func::<(i32, i32), ()>(&mut store, "wasi_thread_start")?
                            .call(&mut store, (tid, start_arg))
                    });
                program.thread_result(result);
                program.live.fetch_sub(1, SeqCst);
            });
        match started {
            Ok(_) => {
                self.spawned.fetch_add(1, SeqCst);
                tid
            }
            Err(_) => {
                self.live.fetch_sub(1, SeqCst);
                -1
            }
        }
    }

    /// The linked module.
    fn linked(&self) -> wasmtime::Result<&InstancePre<ThreadData>> {
        self.pre
            .get()
            .ok_or_else(|| wasmtime::Error::msg("the module is not linked yet"))
    }

    /// Stops every thread still running after the end: moves the epoch (running code
    /// traps at its next check) and wakes every waiter of the memory (so it returns to
    /// code that checks), until no thread is live or [`CLEANUP_BOUND`] has passed.
    /// Returns the threads still live.
    fn stop_threads(&self) -> usize {
        let deadline = Instant::now() + CLEANUP_BOUND;
        loop {
            self.engine.increment_epoch();
            if self.live.load(SeqCst) == 0 {
                return 0;
            }
            let size = u64::try_from(self.memory.data_size()).unwrap_or(u64::MAX);
            for address in (0..size).step_by(4) {
                if self.live.load(SeqCst) == 0 {
                    return 0;
                }
                // A notify wakes `wait32` and `wait64` alike; addresses are 4-aligned.
                let _ = self.memory.atomic_notify(address, u32::MAX);
            }
            if Instant::now() >= deadline {
                return self.live.load(SeqCst);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// The message of a thread's error: the trap code when it is a trap, else the error with
/// its causes.
fn trap_message(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{e:#}"),
    }
}

/// Runs the wasi-threads program `wasm` (a binary module) on wasmtime, on real threads,
/// until it ends or `options.bound` passes.
///
/// The engine is [`threads_config`]'s (threads, shared memory, epoch interruption).
/// Threads are OS threads; the run ends as the [module docs](self) say, and the caller
/// gets the output written until then.
///
/// # Errors
/// [`WasiRunError`] when the program cannot start: it does not compile, it imports no
/// shared memory or does not export `_start` and `wasi_thread_start`, or an import is not
/// one of wasi-threads' and preview 1's.
pub fn run_wasi_threads(wasm: &[u8], options: &WasiRunOptions) -> Result<WasiRun, WasiRunError> {
    let engine =
        Engine::new(&threads_config()).map_err(|e| WasiRunError::Engine(format!("{e:#}")))?;
    let module = Module::new(&engine, wasm).map_err(|e| WasiRunError::Compile(format!("{e:#}")))?;
    let (memory_module, memory_name, memory_type) = module
        .imports()
        .find_map(|i| match i.ty() {
            ExternType::Memory(m) => Some((i.module().to_string(), i.name().to_string(), m)),
            _ => None,
        })
        .ok_or_else(|| WasiRunError::NotWasiThreads("it imports no memory".into()))?;
    if !memory_type.is_shared() {
        return Err(WasiRunError::NotWasiThreads(format!(
            "its memory import {memory_module}.{memory_name} is not shared"
        )));
    }
    for export in ["_start", "wasi_thread_start"] {
        if module.get_export(export).is_none() {
            return Err(WasiRunError::NotWasiThreads(format!(
                "it does not export `{export}`"
            )));
        }
    }
    let memory = SharedMemory::new(&engine, memory_type)
        .map_err(|e| WasiRunError::Link(format!("shared memory: {e:#}")))?;
    let program = Arc::new(Program {
        engine: engine.clone(),
        pre: OnceLock::new(),
        memory: memory.clone(),
        stdout: MemoryOutputPipe::new(options.output_capacity),
        stderr: MemoryOutputPipe::new(options.output_capacity),
        args: options.args.clone(),
        max_threads: options.max_threads.max(1),
        last_tid: AtomicI32::new(0),
        spawned: AtomicUsize::new(0),
        live: AtomicUsize::new(1),
        ending: Mutex::new(None),
        ended: Condvar::new(),
    });

    // The `_start` thread's store; `Linker::define` wants a store, though a shared memory
    // belongs to the engine, not to a store, and serves every thread's store alike.
    let mut store = program.new_store();
    let mut linker: Linker<ThreadData> = Linker::new(&engine);
    let link = |e: wasmtime::Error| WasiRunError::Link(format!("{e:#}"));
    p1::add_to_linker_sync(&mut linker, |data| &mut data.wasi).map_err(link)?;
    linker
        .define(&store, &memory_module, &memory_name, memory)
        .map_err(link)?;
    linker
        .func_wrap(
            "wasi",
            "thread-spawn",
            |caller: Caller<'_, ThreadData>, start_arg: i32| -> i32 {
                let program = Arc::clone(&caller.data().program);
                program.spawn(start_arg)
            },
        )
        .map_err(link)?;
    let instance = linker
        .instantiate_pre(&module)
        .and_then(|pre| pre.instantiate(&mut store).map(|instance| (pre, instance)));
    let instance = match instance {
        Ok((pre, instance)) => {
            let _ = program.pre.set(pre);
            instance
        }
        Err(e) => return Err(link(e)),
    };

    // The `_start` thread.
    let main = Arc::clone(&program);
    let start = Instant::now();
    std::thread::Builder::new()
        .name("wasi-start".into())
        .spawn(move || {
            let result = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .and_then(|start| start.call(&mut store, ()));
            match result {
                Ok(()) => main.end(WasiExit::Exited(0)),
                Err(e) => main.thread_result(Err(e)),
            }
            main.live.fetch_sub(1, SeqCst);
        })
        .map_err(|e| WasiRunError::Link(format!("cannot start a thread: {e}")))?;

    let exit = {
        let ending = program.ending.lock().unwrap_or_else(|e| e.into_inner());
        let remaining = options.bound.saturating_sub(start.elapsed());
        let (mut ending, _) = program
            .ended
            .wait_timeout_while(ending, remaining, |e| e.is_none())
            .unwrap_or_else(|e| e.into_inner());
        // At the bound, the hang is the end: threads that exit or trap later change nothing.
        ending.get_or_insert(WasiExit::Hang).clone()
    };
    let stdout = program.stdout.contents().to_vec();
    let stderr = program.stderr.contents().to_vec();
    let abandoned_threads = program.stop_threads();
    Ok(WasiRun {
        stdout,
        stderr,
        exit,
        spawned_threads: program.spawned.load(SeqCst),
        abandoned_threads,
    })
}
