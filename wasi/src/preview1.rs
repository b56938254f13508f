//! The WASI preview1 functions (module `wasi_snapshot_preview1`; specification: WASI
//! Preview 1, `WebAssembly/WASI` `legacy/preview1/docs.md`, types in `typenames.witx`), and
//! wasi-threads' `thread-spawn` (`WebAssembly/wasi-threads`, README *API*), over Heddle's
//! host interface ([`heddle_interp::Caller`]).
//!
//! Pointers are byte addresses in the calling instance's memory 0 (the program's memory);
//! an access out of its bounds returns `errno::FAULT`. Reads and writes of that memory are
//! non-atomic accesses by the calling thread ([`heddle_interp::Caller::read`]).
//!
//! Determinism: there is no real clock, no real randomness and no filesystem. Time is the
//! [`WasiCtx`]'s virtual clock: every `clock_time_get` call advances it by
//! [`WasiCtx::CLOCK_TICK_NS`], and a `poll_oneoff` sleep advances it to the sleep's end
//! (the sleep itself takes no steps). Every clock reads this one time. `random_get` draws
//! from the project's seeded generator [`heddle_interp::rng::SplitMix64`].

use heddle_interp::rng::SplitMix64;
use heddle_interp::{Caller, ExternVal, FuncType, Module, SpawnRequest, Trap, ValType, Value};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Where a program's stdout or stderr goes: any writer, shared (e.g. an
/// `Arc<Mutex<Vec<u8>>>` to capture it, or `std::io::stdout()` to pass it through).
pub type Sink = Arc<Mutex<dyn Write + Send>>;

/// Error numbers (`errno`, preview1 `typenames.witx`), the ones these functions return.
pub mod errno {
    /// No error occurred.
    pub const SUCCESS: i32 = 0;
    /// Resource unavailable, or operation would block (also: no more threads).
    pub const AGAIN: i32 = 6;
    /// Bad file descriptor.
    pub const BADF: i32 = 8;
    /// Bad address (a pointer out of the memory's bounds).
    pub const FAULT: i32 = 21;
    /// Invalid argument.
    pub const INVAL: i32 = 28;
    /// Not supported.
    pub const NOTSUP: i32 = 58;
    /// Invalid seek (stdin, stdout and stderr are not seekable).
    pub const SPIPE: i32 = 70;
}

/// The most threads `thread-spawn` starts in one run; past it, it returns `-errno::AGAIN`.
pub const MAX_THREADS: u32 = 1024;

/// The state of one WASI program run: what the program sees of the outside world. Shared
/// by all its threads (and OS threads: it is behind a mutex).
pub struct WasiCtx {
    args: Vec<String>,
    env: Vec<String>,
    stdin: Vec<u8>,
    /// The seed of `random_get`.
    seed: u64,
    stdout: Sink,
    stderr: Sink,
    state: Mutex<State>,
    /// The module and imports a `thread-spawn` instantiates again (set by [`crate::link`]).
    program: OnceLock<(Arc<Module>, Vec<ExternVal>)>,
    /// Calls of WASI functions (`thread-spawn` included) so far.
    host_calls: AtomicU64,
    /// Calls of `thread-spawn` so far.
    spawn_calls: AtomicU64,
}

/// The mutable part of a [`WasiCtx`].
#[derive(Clone, Debug)]
struct State {
    stdin_read: usize,
    clock_ns: u64,
    rng: SplitMix64,
    /// The thread id the next `thread-spawn` returns.
    next_tid: u32,
}

impl WasiCtx {
    /// How far the virtual clock advances at each `clock_time_get`, in nanoseconds (1 µs).
    pub const CLOCK_TICK_NS: u64 = 1_000;

    /// A context: `args` as the program's arguments (the first is conventionally the
    /// program's name), `env` as `KEY=VALUE` strings (empty by default in the CLI), `stdin`
    /// as its whole standard input, `seed` for `random_get`, output to the two sinks.
    pub fn new(
        args: Vec<String>,
        env: Vec<String>,
        stdin: Vec<u8>,
        seed: u64,
        stdout: Sink,
        stderr: Sink,
    ) -> Self {
        WasiCtx {
            args,
            env,
            stdin,
            seed,
            stdout,
            stderr,
            state: Mutex::new(State {
                stdin_read: 0,
                clock_ns: 0,
                rng: SplitMix64::new(seed),
                next_tid: 1,
            }),
            program: OnceLock::new(),
            host_calls: AtomicU64::new(0),
            spawn_calls: AtomicU64::new(0),
        }
    }

    /// A fresh context as [`WasiCtx::new`] made this one (the same arguments, environment,
    /// standard input and seed, nothing read, the clock at 0) whose output goes nowhere: for
    /// a run made only to measure the program (PCT's run length).
    pub fn silent_copy(&self) -> WasiCtx {
        let sink = || Arc::new(Mutex::new(std::io::sink())) as Sink;
        WasiCtx::new(
            self.args.clone(),
            self.env.clone(),
            self.stdin.clone(),
            self.seed,
            sink(),
            sink(),
        )
    }

    /// How many times the program has called `thread-spawn` so far (successful or not).
    pub fn spawn_calls(&self) -> u64 {
        self.spawn_calls.load(Ordering::SeqCst)
    }

    /// How many WASI functions (`thread-spawn` included) the program has called so far: the
    /// explorer ([`crate::explore()`]) treats a step that called one as a visible step that
    /// touches everything (the output, the clock, the memory the function reads or writes).
    pub fn host_calls(&self) -> u64 {
        self.host_calls.load(Ordering::SeqCst)
    }

    /// Record the module and imports that `thread-spawn` instantiates again (the first
    /// call wins: every instance of a program shares its imports).
    pub(crate) fn set_program(&self, module: Arc<Module>, imports: Vec<ExternVal>) {
        let _ = self.program.set((module, imports));
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state inconsistent (each update
        // is one assignment), so a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The virtual clock, in nanoseconds.
    pub fn clock_ns(&self) -> u64 {
        self.state().clock_ns
    }

    /// Feed what the program will see of the outside world from now on to `h`: how much
    /// input it has read, the virtual clock, the state of `random_get`'s generator and the
    /// thread id the next `thread-spawn` returns. The arguments and environment are fixed;
    /// the output written so far is the sinks' (the caller's) to feed. For the explorer's
    /// state caching ([`crate::explore()`]): equal configurations with equal contexts have the
    /// same futures.
    pub fn hash_state(&self, mut h: &mut dyn std::hash::Hasher) {
        use std::hash::Hash;
        let st = self.state();
        (st.stdin_read, st.clock_ns, &st.rng, st.next_tid).hash(&mut h);
    }

    /// A copy of the state [`WasiCtx::hash_state`] feeds, for [`WasiCtx::restore`] (the
    /// explorer restarts runs from saved configurations).
    pub fn save(&self) -> WasiState {
        WasiState(self.state().clone())
    }

    /// Go back to a state [`WasiCtx::save`] returned. The output is the sinks' (the
    /// caller's) to restore.
    pub fn restore(&self, saved: &WasiState) {
        *self.state() = saved.0.clone();
    }
}

/// The mutable state of a [`WasiCtx`] at some point ([`WasiCtx::save`]).
#[derive(Clone, Debug)]
pub struct WasiState(State);

/// The type of a preview1 function, if this module implements it: (parameters, results).
pub fn signature(name: &str) -> Option<FuncType> {
    use ValType::{I32, I64};
    let (params, results): (&[ValType], &[ValType]) = match name {
        "args_get" | "args_sizes_get" | "environ_get" | "environ_sizes_get" => {
            (&[I32, I32], &[I32])
        }
        "clock_res_get" => (&[I32, I32], &[I32]),
        "clock_time_get" => (&[I32, I64, I32], &[I32]),
        "fd_close" => (&[I32], &[I32]),
        "fd_fdstat_get" | "fd_prestat_get" => (&[I32, I32], &[I32]),
        "fd_prestat_dir_name" => (&[I32, I32, I32], &[I32]),
        "fd_seek" => (&[I32, I64, I32, I32], &[I32]),
        "fd_tell" => (&[I32, I32], &[I32]),
        "fd_read" | "fd_write" => (&[I32, I32, I32, I32], &[I32]),
        "poll_oneoff" => (&[I32, I32, I32, I32], &[I32]),
        "proc_exit" => (&[I32], &[]),
        "random_get" => (&[I32, I32], &[I32]),
        "sched_yield" => (&[], &[I32]),
        _ => return None,
    };
    Some(FuncType {
        params: params.to_vec(),
        results: results.to_vec(),
    })
}

/// The type of wasi-threads' `thread-spawn`: `(start_arg: i32) -> i32`.
pub fn thread_spawn_type() -> FuncType {
    FuncType {
        params: vec![ValType::I32],
        results: vec![ValType::I32],
    }
}

/// A function's result: an errno, or a trap (bad memory of the caller, `proc_exit`).
type Res = Result<i32, Trap>;

fn i32_arg(args: &[Value], i: usize) -> u32 {
    match args.get(i) {
        Some(Value::I32(v)) => *v as u32,
        _ => 0,
    }
}

/// Memory access for the functions: memory 0 of the caller, pointers as `u32`. An access
/// out of bounds is `Err(errno::FAULT)`; any other trap passes through.
struct Mem<'c, 'a> {
    caller: &'c mut Caller<'a>,
    mem: heddle_interp::MemAddr,
}

/// `Ok(errno)` to return, or a trap.
type MemResult<T> = Result<T, Result<i32, Trap>>;

fn fault(t: Trap) -> Result<i32, Trap> {
    match t {
        Trap::OutOfBoundsMemoryAccess => Ok(errno::FAULT),
        t => Err(t),
    }
}

impl<'c, 'a> Mem<'c, 'a> {
    fn of(caller: &'c mut Caller<'a>) -> Result<Self, Trap> {
        let mem = caller.memory(0)?;
        Ok(Mem { caller, mem })
    }
    fn read(&mut self, ptr: u32, len: u64) -> MemResult<Vec<u8>> {
        self.caller
            .read(self.mem, u64::from(ptr), len)
            .map_err(fault)
    }
    fn write(&mut self, ptr: u32, data: &[u8]) -> MemResult<()> {
        self.caller
            .write(self.mem, u64::from(ptr), data)
            .map_err(fault)
    }
    fn write_u32(&mut self, ptr: u32, v: u32) -> MemResult<()> {
        self.write(ptr, &v.to_le_bytes())
    }
    fn write_u64(&mut self, ptr: u32, v: u64) -> MemResult<()> {
        self.write(ptr, &v.to_le_bytes())
    }
    /// The `iovec`/`ciovec` array at `iovs` (`iovs_len` entries of `{buf: u32, len: u32}`).
    fn iovecs(&mut self, iovs: u32, iovs_len: u32) -> MemResult<Vec<(u32, u32)>> {
        let raw = self.read(iovs, u64::from(iovs_len) * 8)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                (
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect())
    }
}

/// Run `body`; an errno or trap from a memory access ends it.
fn errno_of(body: impl FnOnce() -> MemResult<i32>) -> Res {
    match body() {
        Ok(e) => Ok(e),
        Err(r) => r,
    }
}

impl WasiCtx {
    /// Call preview1 function `name` (one [`signature`] knows) for `caller` with `args`.
    /// Functions this module does not implement trap with "unsupported WASI function NAME".
    pub fn call(
        &self,
        name: &str,
        caller: &mut Caller<'_>,
        args: &[Value],
    ) -> Result<Vec<Value>, Trap> {
        self.host_calls.fetch_add(1, Ordering::SeqCst);
        let errno = match name {
            "args_get" => self.strings_get(&self.args, caller, args),
            "args_sizes_get" => self.strings_sizes_get(&self.args, caller, args),
            "environ_get" => self.strings_get(&self.env, caller, args),
            "environ_sizes_get" => self.strings_sizes_get(&self.env, caller, args),
            "clock_res_get" => self.clock_res_get(caller, args),
            "clock_time_get" => self.clock_time_get(caller, args),
            "fd_close" => Ok(self.fd_close(args)),
            "fd_fdstat_get" => self.fd_fdstat_get(caller, args),
            "fd_prestat_get" | "fd_prestat_dir_name" => Ok(errno::BADF),
            "fd_seek" | "fd_tell" => Ok(match i32_arg(args, 0) {
                0..=2 => errno::SPIPE,
                _ => errno::BADF,
            }),
            "fd_read" => self.fd_read(caller, args),
            "fd_write" => self.fd_write(caller, args),
            "poll_oneoff" => self.poll_oneoff(caller, args),
            "proc_exit" => return Err(caller.exit(i32_arg(args, 0) as i32)),
            "random_get" => self.random_get(caller, args),
            // Spec `sched_yield`: "Temporarily yield execution of the calling thread": the
            // scheduler decides who runs anyway; nothing to do.
            "sched_yield" => Ok(errno::SUCCESS),
            _ => return Err(unsupported(name)),
        }?;
        Ok(vec![Value::I32(errno)])
    }

    /// Preview1 `args_get(argv, argv_buf)` / `environ_get(environ, environ_buf)`: write a
    /// pointer to each string at `argv[i]`, and the strings, NUL-terminated, from
    /// `argv_buf`.
    fn strings_get(&self, strings: &[String], caller: &mut Caller<'_>, args: &[Value]) -> Res {
        let (mut ptrs, mut buf) = (i32_arg(args, 0), i32_arg(args, 1));
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            for s in strings {
                mem.write_u32(ptrs, buf)?;
                let mut bytes = s.as_bytes().to_vec();
                bytes.push(0);
                mem.write(buf, &bytes)?;
                ptrs = ptrs.wrapping_add(4);
                buf = buf.wrapping_add(bytes.len() as u32);
            }
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `args_sizes_get` / `environ_sizes_get`: the number of strings and the bytes
    /// they take with their NULs.
    fn strings_sizes_get(
        &self,
        strings: &[String],
        caller: &mut Caller<'_>,
        args: &[Value],
    ) -> Res {
        let (count, size) = (i32_arg(args, 0), i32_arg(args, 1));
        let bytes: usize = strings.iter().map(|s| s.len() + 1).sum();
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            mem.write_u32(count, strings.len() as u32)?;
            mem.write_u32(size, bytes as u32)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `clock_res_get(id, resolution)`: every clock ticks by
    /// [`WasiCtx::CLOCK_TICK_NS`]. Clock ids: realtime 0, monotonic 1, process and thread
    /// CPU time 2, 3; others `INVAL`.
    fn clock_res_get(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        if i32_arg(args, 0) > 3 {
            return Ok(errno::INVAL);
        }
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            mem.write_u64(i32_arg(args, 1), Self::CLOCK_TICK_NS)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `clock_time_get(id, precision, time)`: the virtual clock, which then
    /// advances by one tick (all four clocks read the same time; realtime's zero is the
    /// epoch, so a program sees 1970-01-01).
    fn clock_time_get(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        if i32_arg(args, 0) > 3 {
            return Ok(errno::INVAL);
        }
        let now = {
            let mut st = self.state();
            let now = st.clock_ns;
            st.clock_ns = now.saturating_add(Self::CLOCK_TICK_NS);
            now
        };
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            mem.write_u64(i32_arg(args, 2), now)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `fd_close(fd)`: stdin, stdout and stderr close (and stay usable: there is
    /// nothing to release); any other descriptor is `BADF` (there are no files).
    fn fd_close(&self, args: &[Value]) -> i32 {
        match i32_arg(args, 0) {
            0..=2 => errno::SUCCESS,
            _ => errno::BADF,
        }
    }

    /// Preview1 `fd_fdstat_get(fd, stat)`: stdin, stdout and stderr are character devices
    /// (filetype 2), no flags, rights `fd_read` (bit 1) for stdin and `fd_write` (bit 6)
    /// for the others. The `fdstat` layout: filetype u8 at 0, flags u16 at 2, rights base
    /// u64 at 8, rights inheriting u64 at 16 (24 bytes).
    fn fd_fdstat_get(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        let rights: u64 = match i32_arg(args, 0) {
            0 => 1 << 1,
            1 | 2 => 1 << 6,
            _ => return Ok(errno::BADF),
        };
        let mut stat = [0u8; 24];
        stat[0] = 2;
        stat[8..16].copy_from_slice(&rights.to_le_bytes());
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            mem.write(i32_arg(args, 1), &stat)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `fd_read(fd, iovs, iovs_len, nread)`: from the context's stdin (fd 0),
    /// filling the buffers in order; 0 bytes at its end. Other descriptors: `BADF`.
    fn fd_read(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        if i32_arg(args, 0) != 0 {
            return Ok(errno::BADF);
        }
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            let iovs = mem.iovecs(i32_arg(args, 1), i32_arg(args, 2))?;
            let mut total = 0u32;
            for (buf, len) in iovs {
                let chunk = {
                    let mut st = self.state();
                    let start = st.stdin_read;
                    let end = (start + len as usize).min(self.stdin.len());
                    st.stdin_read = end;
                    self.stdin[start..end].to_vec()
                };
                mem.write(buf, &chunk)?;
                total += chunk.len() as u32;
                if (chunk.len() as u32) < len {
                    break;
                }
            }
            mem.write_u32(i32_arg(args, 3), total)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `fd_write(fd, iovs, iovs_len, nwritten)`: the buffers, in order, to stdout
    /// (fd 1) or stderr (fd 2); other descriptors `BADF`. A sink that fails is `IO` (29).
    fn fd_write(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        let sink = match i32_arg(args, 0) {
            1 => &self.stdout,
            2 => &self.stderr,
            _ => return Ok(errno::BADF),
        };
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            let iovs = mem.iovecs(i32_arg(args, 1), i32_arg(args, 2))?;
            let mut bytes = Vec::new();
            for (buf, len) in iovs {
                bytes.extend(mem.read(buf, u64::from(len))?);
            }
            let mut out = sink.lock().unwrap_or_else(|e| e.into_inner());
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                return Ok(29);
            }
            drop(out);
            mem.write_u32(i32_arg(args, 3), bytes.len() as u32)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `poll_oneoff(in, out, nsubscriptions, nevents)`. Subscriptions are 48
    /// bytes (userdata u64 at 0, tag u8 at 8: 0 clock, 1 fd_read, 2 fd_write; a clock's id
    /// u32 at 16, timeout u64 at 24, precision at 32, flags u16 at 40, bit 0 absolute);
    /// events 32 bytes (userdata u64 at 0, error u16 at 8, type u8 at 10, nbytes u64 at
    /// 16, flags u16 at 24). Stdin, stdout and stderr are always ready: if any fd
    /// subscription is there, those fire at once (`nbytes` 0) and the clock stays.
    /// Otherwise the earliest clock deadline fires: the virtual clock moves to it (a sleep
    /// takes no steps), and every clock subscription due by then fires. No subscription:
    /// `INVAL`.
    fn poll_oneoff(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        let (input, output, n, nevents) = (
            i32_arg(args, 0),
            i32_arg(args, 1),
            i32_arg(args, 2),
            i32_arg(args, 3),
        );
        if n == 0 {
            return Ok(errno::INVAL);
        }
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            let raw = mem.read(input, u64::from(n) * 48)?;
            let u64_at = |s: &[u8], at: usize| {
                u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"))
            };
            let subs: Vec<&[u8]> = raw.chunks_exact(48).collect();
            let any_fd = subs.iter().any(|s| s[8] != 0);
            let mut st = self.state();
            let deadline = |s: &[u8], now: u64| {
                let timeout = u64_at(s, 24);
                if u16::from_le_bytes([s[40], s[41]]) & 1 != 0 {
                    timeout
                } else {
                    now.saturating_add(timeout)
                }
            };
            let now = st.clock_ns;
            let fire_at = subs
                .iter()
                .filter(|s| s[8] == 0)
                .map(|s| deadline(s, now))
                .min()
                .unwrap_or(now);
            if !any_fd {
                st.clock_ns = st.clock_ns.max(fire_at);
            }
            drop(st);
            let mut events = Vec::new();
            for s in &subs {
                let fires = match s[8] {
                    0 => !any_fd && deadline(s, now) <= fire_at,
                    1 | 2 => true,
                    _ => false,
                };
                if fires {
                    let mut e = [0u8; 32];
                    e[0..8].copy_from_slice(&s[0..8]);
                    let error: u16 = match s[8] {
                        0 if u32::from_le_bytes([s[16], s[17], s[18], s[19]]) > 3 => {
                            errno::INVAL as u16
                        }
                        _ => 0,
                    };
                    e[8..10].copy_from_slice(&error.to_le_bytes());
                    e[10] = s[8];
                    events.push(e);
                }
            }
            for (i, e) in events.iter().enumerate() {
                mem.write(output.wrapping_add(32 * i as u32), e)?;
            }
            mem.write_u32(nevents, events.len() as u32)?;
            Ok(errno::SUCCESS)
        })
    }

    /// Preview1 `random_get(buf, buf_len)`: bytes of the seeded generator (SplitMix64,
    /// little-endian words).
    fn random_get(&self, caller: &mut Caller<'_>, args: &[Value]) -> Res {
        let (buf, len) = (i32_arg(args, 0), i32_arg(args, 1));
        let mut mem = Mem::of(caller)?;
        errno_of(|| {
            // Bounds first, so a huge length neither allocates nor draws.
            mem.read(buf, u64::from(len))?;
            let bytes: Vec<u8> = {
                let mut st = self.state();
                (0..len.div_ceil(8))
                    .flat_map(|_| st.rng.next_u64().to_le_bytes())
                    .take(len as usize)
                    .collect()
            };
            mem.write(buf, &bytes)?;
            Ok(errno::SUCCESS)
        })
    }

    /// wasi-threads `thread-spawn(start_arg) -> tid`: a new thread id (1, 2, ... in call
    /// order; at most [`MAX_THREADS`], then `-AGAIN`), and a request to instantiate the
    /// program again with the same imports (so the same shared memory) and invoke
    /// `wasi_thread_start(tid, start_arg)` on a new thread, once the current step is over.
    pub fn thread_spawn(
        &self,
        caller: &mut Caller<'_>,
        args: &[Value],
    ) -> Result<Vec<Value>, Trap> {
        self.host_calls.fetch_add(1, Ordering::SeqCst);
        self.spawn_calls.fetch_add(1, Ordering::SeqCst);
        let Some((module, imports)) = self.program.get() else {
            return Err(Trap::Host("thread-spawn: the program is not linked".into()));
        };
        let tid = {
            let mut st = self.state();
            if st.next_tid > MAX_THREADS {
                return Ok(vec![Value::I32(-errno::AGAIN)]);
            }
            st.next_tid += 1;
            st.next_tid - 1
        };
        caller.spawn(SpawnRequest {
            module: module.clone(),
            imports: imports.clone(),
            export: "wasi_thread_start".into(),
            args: vec![Value::I32(tid as i32), Value::I32(i32_arg(args, 0) as i32)],
            spawner: None, // set by `Caller::spawn`
        });
        Ok(vec![Value::I32(tid as i32)])
    }
}

/// The trap of a preview1 function Heddle does not implement.
pub fn unsupported(name: &str) -> Trap {
    Trap::Host(format!("unsupported WASI function {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_function_has_a_signature() {
        for name in [
            "args_get",
            "args_sizes_get",
            "environ_get",
            "environ_sizes_get",
            "clock_res_get",
            "clock_time_get",
            "fd_close",
            "fd_fdstat_get",
            "fd_prestat_get",
            "fd_prestat_dir_name",
            "fd_seek",
            "fd_tell",
            "fd_read",
            "fd_write",
            "poll_oneoff",
            "proc_exit",
            "random_get",
            "sched_yield",
        ] {
            assert!(signature(name).is_some(), "{name}");
        }
        assert!(signature("path_open").is_none());
    }
}
