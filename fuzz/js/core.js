// Heddle litmus harness core: environment-neutral (node/bun worker_threads, Web Workers).
//
// The coordinator (`runTest`) sets up one test, starts one worker per script thread plus a
// watchdog worker, and returns the test's result object:
//   {"name", "histogram": [{"results": [R_thread0, ...], "count": N}], "iterations",
//    "discarded", "discard_reasons": {KEY: N}, "seconds"}
// or {"name", "error": {"kind": "compile"|"crash"|"hang"|"harness", "message"}}.
// Workers run `workerMain(data, post)`. The environment shims (node.js, browser_*.js) give
// `runTest` an `env` with `spawnWorker(data) -> {onMessage(cb), terminate()}` and
// `progress(obj)`, which sends a heartbeat {"name", "progress": completed iterations,
// "bound_ms": the per-iteration hang bound} to Heddle about every second.
// docs/xcheck.md ("The JavaScript harness") describes the design; the wasmtime harness in Rust
// follows the same one.
"use strict";

// ---- Control block layout (Int32 words of a SharedArrayBuffer) ----
// Words written often by different workers live on different 64-byte cache lines.
const C_BAR_COUNT = 0; // arrivals at the current barrier
const C_BAR_GEN = 16; // barrier generation (bumped by the last arriver)
const C_BAR_SLEEPERS = 17; // workers sleeping in Atomics.wait on C_BAR_GEN
const C_ITER = 32; // current iteration number (1-based), set in the start barrier
const C_COMPLETED = 33; // last iteration whose results were assembled
const C_LOCK = 34; // watchdog lock: 0 free, 1 watchdog, 2 assembler
const C_DISCARD = 35; // iteration number of a discarded iteration
const C_STOP = 36; // non-zero: stop everything (a failure was reported)
const C_DISCARD_WHY = 37; // why C_DISCARD's iteration was discarded (an index of DISCARD_KEYS)
const C_BOUND_MS = 38; // the watchdog's current per-iteration hang bound, ms
const C_WD_SLEEP = 48; // the watchdog sleeps on this word (never notified)
const C_THREADS = 64; // per-thread blocks start here
const T_WORDS = 16; // words per thread block (one cache line)
const T_STATE = 0; // RUNNING / WAIT_SPAWN / WAIT_JOIN / DONE / IDLE
const T_K = 1; // index of the invoke the thread is in (or last was in)
const T_SPAWN = 2; // iteration number of the last spawn of this thread (+1: sleepers)
const T_DONE = 4; // iteration number of the last completion of this thread (+1: sleepers)
const T_BLOCKED_ITER = 6; // iteration in which the watchdog found the thread blocked
const T_BLOCKED_K = 7; // ... at this invoke index
const T_RESULT_ID = 8; // the thread's result-list id (interned per worker) this iteration
const T_JOINING = 10; // the thread it is joining (in state WAIT_JOIN)
const T_SEQ = 9; // bumped when the thread starts an invoke (the watchdog's consistency check)

const S_IDLE = 0;
const S_RUNNING = 1;
const S_WAIT_SPAWN = 2;
const S_WAIT_JOIN = 3;
const S_DONE = 4;

// Why an iteration was discarded, by code (Rust: DiscardReason::key).
const DISCARD_AMBIGUOUS = 1; // the watchdog woke a thread another might have woken
const DISCARD_FINITE = 2; // the watchdog woke a wait with a finite timeout (not yet run)
const DISCARD_KEYS = [null, "ambiguous_wake", "finite_wait_woken"];

// The coordinator's heartbeat period, and how long past the hang bound it waits for the
// watchdog's own report before ending a stalled test itself.
const HEARTBEAT_MS = 1000;
const BACKSTOP_GRACE_MS = 5000;

// Spins before falling back to Atomics.wait (workers may outnumber cores), adapted per
// worker: doubled when a spin succeeds, halved when it runs out (then sleeping was needed).
const SPIN_MIN = 1024;
const SPIN_MAX = 1 << 16;
let spin = 1024;

function spinWorked() {
  if (spin < SPIN_MAX) spin *= 2;
}

function spinFailed() {
  if (spin > SPIN_MIN) spin >>= 1;
}

function threadBase(t) {
  return C_THREADS + t * T_WORDS;
}

// ---- The delay PRNG (mulberry32) ----

/** mulberry32 PRNG: returns a function giving unsigned 32-bit values. */
function mulberry32(a) {
  a = a >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The per-thread delay generator: seed (a Number, reduced mod 2^32 with its high part
 * folded in) and thread index. Delay d (busy-loop iterations): 0 with probability 1/2, else uniform in 0..255. */
function delayGenerator(seed, thread) {
  const lo = seed % 4294967296 >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const next = mulberry32((lo ^ Math.imul(hi, 0x85ebca6b) ^ Math.imul(thread + 1, 0x9e3779b9)) >>> 0);
  return function () {
    const r = next();
    return r & 1 ? 0 : (r >>> 1) & 255;
  };
}

/** The first `n` delays of thread `thread` for `seed` (exposed for tests). */
function delays(seed, thread, n) {
  const g = delayGenerator(seed, thread);
  const out = [];
  for (let i = 0; i < n; i++) out.push(g());
  return out;
}

// ---- Waiting primitives on the control block ----

/** Waits until ctl[idx] === v; ctl[idx+1] counts sleepers. Returns false if stopped. */
function awaitEq(ctl, idx, v) {
  for (let i = 0; i < spin; i++)
    if (Atomics.load(ctl, idx) === v) {
      spinWorked();
      return true;
    }
  spinFailed();
  Atomics.add(ctl, idx + 1, 1);
  for (;;) {
    const cur = Atomics.load(ctl, idx);
    if (cur === v) break;
    if (Atomics.load(ctl, C_STOP) !== 0) {
      Atomics.sub(ctl, idx + 1, 1);
      return false;
    }
    Atomics.wait(ctl, idx, cur, 50);
  }
  Atomics.sub(ctl, idx + 1, 1);
  return true;
}

/** Stores v in ctl[idx] and wakes its sleepers. */
function signal(ctl, idx, v) {
  Atomics.store(ctl, idx, v);
  if (Atomics.load(ctl, idx + 1) > 0) Atomics.notify(ctl, idx);
}

/** A barrier of n workers; the last arriver runs `last()` before releasing the others.
 * Returns false if the test was stopped while waiting. */
function barrier(ctl, n, last) {
  const gen = Atomics.load(ctl, C_BAR_GEN);
  if (Atomics.add(ctl, C_BAR_COUNT, 1) === n - 1) {
    Atomics.store(ctl, C_BAR_COUNT, 0);
    last();
    Atomics.add(ctl, C_BAR_GEN, 1);
    if (Atomics.load(ctl, C_BAR_SLEEPERS) > 0) Atomics.notify(ctl, C_BAR_GEN);
    return true;
  }
  for (let i = 0; i < spin; i++)
    if (Atomics.load(ctl, C_BAR_GEN) !== gen) {
      spinWorked();
      return true;
    }
  spinFailed();
  Atomics.add(ctl, C_BAR_SLEEPERS, 1);
  let ok = true;
  while (Atomics.load(ctl, C_BAR_GEN) === gen) {
    if (Atomics.load(ctl, C_STOP) !== 0) {
      ok = false;
      break;
    }
    Atomics.wait(ctl, C_BAR_GEN, gen, 50);
  }
  Atomics.sub(ctl, C_BAR_SLEEPERS, 1);
  return ok;
}

// ---- Values ----

const scratch = new DataView(new ArrayBuffer(8));

/** An argument in the outcome format ("i32:N", ...) to a JS value for a wasm call. */
function argToJs(s) {
  const i = s.indexOf(":");
  const ty = s.slice(0, i);
  const n = BigInt(s.slice(i + 1));
  switch (ty) {
    case "i32":
      return Number(BigInt.asIntN(32, n));
    case "i64":
      return BigInt.asIntN(64, n);
    case "f32":
      scratch.setUint32(0, Number(n));
      return scratch.getFloat32(0);
    case "f64":
      scratch.setBigUint64(0, n);
      return scratch.getFloat64(0);
    default:
      throw new Error("bad argument " + s);
  }
}

/** A wasm result to the outcome format. */
function resultToString(ty, v) {
  switch (ty) {
    case "i32":
      return "i32:" + (v >>> 0);
    case "i64":
      return "i64:" + BigInt.asUintN(64, v);
    case "f32":
      scratch.setFloat32(0, v);
      return "f32:" + scratch.getUint32(0);
    case "f64":
      scratch.setFloat64(0, v);
      return "f64:" + scratch.getBigUint64(0);
    default:
      throw new Error("bad result type " + ty);
  }
}

function importObject(module, memory) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "memory") continue;
    (imports[imp.module] = imports[imp.module] || {})[imp.name] = memory;
  }
  return imports;
}

// ---- Fresh memories (a test that grows its memory) ----

// A grown memory stays grown, so every iteration of a test that grows its memory
// (test.memory.grows) runs on a fresh memory, with fresh instances. The coordinator makes
// the memories in pools of consecutive iterations, {start (first iteration), memories}: the
// first pool comes with each worker's data, the next ones as messages {pool} that a worker
// takes synchronously with its environment's `receive` (node and bun:
// receiveMessageOnPort). An environment without `receive` (the browsers, env.feedsPools
// unset) runs such a test in rounds of POOL_SIZE iterations, each round on new workers with
// one pool (runTest).
const POOL_SIZE = 64;

/** A fresh shared memory of the test's size (throws on failure). */
function freshMemory(test) {
  return new WebAssembly.Memory({ initial: test.memory.initial, maximum: test.memory.maximum, shared: true });
}

/** The pool of iterations start..start+n-1 (n at most `size`, none past the last). */
function makePool(test, start, size) {
  const memories = [];
  for (let it = start; it < start + size && it <= test.iterations; it++) memories.push(freshMemory(test));
  return { start, memories };
}

/** A worker's view of the pools: `memory(it)` takes every pool that has arrived, drops the
 * pools of iterations before it, and returns iteration it's memory (undefined when its pool
 * has not arrived yet). A shared memory's backing store is freed only once every isolate
 * that holds it has collected its wrapper, and pools live long enough to reach the old
 * generation, which a worker that allocates little rarely collects (node at 20,000
 * iterations: "could not allocate memory"): so `collect`, when the environment has one, runs
 * a full collection each time a pool is dropped. */
function poolReader(first, receive, collect) {
  const pools = [first];
  return function memory(it) {
    for (let m = receive && receive(); m !== undefined; m = receive()) if (m.pool) pools.push(m.pool);
    let dropped = false;
    while (pools.length > 1 && it >= pools[0].start + pools[0].memories.length) {
      pools.shift();
      dropped = true;
    }
    if (dropped && collect) collect();
    for (const p of pools) if (it >= p.start && it < p.start + p.memories.length) return p.memories[it - p.start];
    return undefined;
  };
}

// ---- Workers ----

class HarnessError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/**
 * A worker's body. data = {role: "thread"|"watchdog", test, thread (index), memory, ctl (SAB),
 * pool (the first pool of fresh memories, for a test that grows its memory)}. `receive()`,
 * if the environment has it, returns the next message from the coordinator or undefined.
 * Posts {done: true, ...} or {error: {kind, message}}.
 */
function workerMain(data, post, receive, collect) {
  const ctl = new Int32Array(data.ctl);
  try {
    if (data.role === "watchdog") watchdogMain(data, ctl, post, receive, collect);
    else threadMain(data, ctl, post, receive, collect);
  } catch (e) {
    Atomics.store(ctl, C_STOP, 1);
    const kind = e instanceof HarnessError ? e.kind : "harness";
    post({ error: { kind, message: String((e && e.stack) || e) } });
  }
}

/**
 * How the workers run the script threads, with fewer hand-offs and the same behaviour:
 * - pre: the threads spawned by `main`'s leading spawn steps, and recursively by theirs
 *   (`main` included); the start barrier's serial section spawns them all;
 * - lead[t], tail[t]: thread t's steps (instantiates left out) that run per iteration are
 *   lead[t]..tail[t]: a pre-spawned thread's leading spawns are done by the start barrier,
 *   and every thread's joins after its last invoke are implied by the end barrier (every
 *   thread arrives there after finishing);
 * - active[t]: whether thread t does anything per iteration (has steps left, or some thread
 *   joins it in its steps left, or it is not pre-spawned); only active threads meet at the
 *   barriers; an inactive thread's results are constant (it has no invokes).
 */
function schedule(test) {
  const n = test.threads.length;
  const steps = test.threads.map((th) => th.steps.filter((s) => s.instantiate === undefined));
  const pre = new Set([0]);
  const todo = [0];
  while (todo.length > 0) {
    const u = todo.pop();
    for (const s of steps[u]) {
      if (s.spawn === undefined) break;
      if (!pre.has(s.spawn)) {
        pre.add(s.spawn);
        todo.push(s.spawn);
      }
    }
  }
  const lead = [];
  const tail = [];
  for (let t = 0; t < n; t++) {
    let l = 0;
    if (pre.has(t)) while (l < steps[t].length && steps[t][l].spawn !== undefined) l++;
    let e = steps[t].length;
    while (e > l && steps[t][e - 1].join !== undefined) e--;
    lead.push(l);
    tail.push(e);
  }
  const active = [];
  for (let t = 0; t < n; t++) active.push(!pre.has(t) || tail[t] > lead[t]);
  for (let t = 0; t < n; t++)
    for (let i = lead[t]; i < tail[t]; i++) if (steps[t][i].join !== undefined) active[steps[t][i].join] = true;
  if (!active.some((x) => x)) active[0] = true;
  return { pre, lead, tail, active };
}

function parts0(k) {
  return new Array(k).fill("null").join(",");
}

function threadMain(data, ctl, post, receive, collect) {
  const { test, thread: t } = data;
  const steps = test.threads[t].steps;
  const base = threadBase(t);
  // Compile the thread's modules once.
  const modules = [];
  for (const s of steps) {
    if (s.instantiate === undefined) continue;
    try {
      modules.push(new WebAssembly.Module(new Uint8Array(test.modules[s.instantiate])));
    } catch (e) {
      throw new HarnessError("compile", "thread " + test.threads[t].name + ": " + e);
    }
  }
  // The steps as a plan; an invoke's function `f` is bound to the instances by `bind`.
  const plan = [];
  let invokes = 0;
  for (const s of steps) {
    if (s.invoke) {
      const inv = s.invoke;
      const args = inv.args.map(argToJs);
      plan.push({ kind: 0, inv, f: null, args, results: inv.results, k: invokes++ });
    } else if (s.spawn !== undefined) plan.push({ kind: 1, c: s.spawn });
    else if (s.join !== undefined) plan.push({ kind: 2, c: s.join });
  }
  // Instantiates the modules on `memory` and binds every invoke to its function: once, or
  // every iteration on its fresh memory when the test grows its memory.
  const bind = (memory) => {
    const instances = [];
    for (const m of modules) {
      try {
        instances.push(new WebAssembly.Instance(m, importObject(m, memory)));
      } catch (e) {
        throw new HarnessError("compile", "thread " + test.threads[t].name + ": " + e);
      }
    }
    for (const p of plan) {
      if (p.kind !== 0) continue;
      const i = instances[p.inv.instance];
      p.f = i && i.exports[p.inv.export];
      if (typeof p.f !== "function")
        throw new HarnessError("harness", "no export " + p.inv.export + " in instance " + p.inv.instance);
    }
  };
  const grows = test.memory.grows === true;
  const poolMemory = grows ? poolReader(data.pool, receive, collect) : null;
  // The memory of iteration `it`, waiting for its pool if need be (undefined: stopped).
  const memoryOf = (it) => {
    if (!grows) return data.memory;
    for (;;) {
      const m = poolMemory(it);
      if (m !== undefined) return m;
      if (!receive) throw new HarnessError("harness", "no fresh memory for iteration " + it);
      if (Atomics.load(ctl, C_STOP) !== 0) return undefined;
      Atomics.wait(ctl, C_WD_SLEEP, 0, 1);
    }
  };
  bind(memoryOf(1));
  const sched = schedule(test);
  const body = plan.slice(sched.lead[t], sched.tail[t]);
  const preSpawnWords = Array.from(sched.pre)
    .filter((u) => u !== 0)
    .map((u) => threadBase(u) + T_SPAWN);
  const active = sched.active;
  if (!active[t]) {
    // Nothing to do per iteration: its result list is always the same.
    post({ done: true, thread: t, table: ["[" + parts0(invokes) + "]"], counts: [], discards: {}, seconds: 0, sink: 0 });
    return;
  }
  const n = active.filter((x) => x).length;
  let mem8 = new Uint8Array(memoryOf(1).buffer);
  const initial = new Uint8Array(test.memory.reset_len);
  for (const [a, b] of test.memory.init) if (a < initial.length) initial[a] = b;
  const nextDelay = delayGenerator(test.seed, t);
  const iterations = test.iterations;
  const parts = new Array(invokes);
  // Interning of this thread's result lists, and the counts this worker assembled.
  const ids = new Map();
  const table = [];
  const counts = new Map();
  const discards = {}; // reason key -> count
  let sink = 0;
  let it = 0;

  const startSerial = () => {
    mem8.set(initial, 0);
    for (let u = 0; u < active.length; u++) if (active[u]) Atomics.store(ctl, threadBase(u) + T_STATE, S_IDLE);
    for (const w of preSpawnWords) Atomics.store(ctl, w, it);
    Atomics.store(ctl, C_ITER, it);
  };
  const endSerial = () => {
    while (Atomics.compareExchange(ctl, C_LOCK, 0, 2) !== 0) {
      /* the watchdog holds the lock briefly */
    }
    if (Atomics.load(ctl, C_DISCARD) === it) {
      const key = DISCARD_KEYS[Atomics.load(ctl, C_DISCARD_WHY)] || "ambiguous_wake";
      discards[key] = (discards[key] || 0) + 1;
    } else {
      let key = "";
      for (let u = 0; u < active.length; u++) {
        const b = threadBase(u);
        key += Atomics.load(ctl, b + T_RESULT_ID) + ",";
        if (Atomics.load(ctl, b + T_BLOCKED_ITER) === it) key += "b" + Atomics.load(ctl, b + T_BLOCKED_K) + ",";
      }
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    Atomics.store(ctl, C_COMPLETED, it);
    Atomics.store(ctl, C_LOCK, 0);
  };

  let t0 = 0;
  for (it = 1; it <= iterations; it++) {
    if (grows && it > 1) {
      const memory = memoryOf(it);
      if (memory === undefined) return;
      bind(memory);
      mem8 = new Uint8Array(memory.buffer);
    }
    if (!barrier(ctl, n, startSerial)) return;
    if (it === 1) t0 = performance.now();
    if (!sched.pre.has(t)) {
      Atomics.store(ctl, base + T_STATE, S_WAIT_SPAWN);
      if (!awaitEq(ctl, base + T_SPAWN, it)) return;
    }
    let first = true;
    for (let i = 0; i < body.length; i++) {
      const p = body[i];
      if (p.kind === 0) {
        if (first) {
          first = false;
          const d = nextDelay();
          for (let j = 0; j < d; j++) sink = (sink + j) | 0;
        }
        Atomics.store(ctl, base + T_K, p.k);
        Atomics.add(ctl, base + T_SEQ, 1);
        Atomics.store(ctl, base + T_STATE, S_RUNNING);
        let r;
        try {
          r = p.f.apply(null, p.args);
        } catch (e) {
          Atomics.store(ctl, base + T_STATE, S_IDLE);
          if (e instanceof WebAssembly.RuntimeError) {
            parts[p.k] = '"trap"';
            continue;
          }
          throw new HarnessError("crash", "thread " + test.threads[t].name + ": " + ((e && e.stack) || e));
        }
        Atomics.store(ctl, base + T_STATE, S_IDLE);
        const rs = p.results;
        if (rs.length === 0) parts[p.k] = "[]";
        else if (rs.length === 1) parts[p.k] = '["' + resultToString(rs[0], r) + '"]';
        else {
          const vs = Array.from(r);
          parts[p.k] = "[" + rs.map((ty, j) => '"' + resultToString(ty, vs[j]) + '"').join(",") + "]";
        }
      } else if (p.kind === 1) {
        signal(ctl, threadBase(p.c) + T_SPAWN, it);
      } else {
        Atomics.store(ctl, base + T_JOINING, p.c);
        Atomics.store(ctl, base + T_STATE, S_WAIT_JOIN);
        if (!awaitEq(ctl, threadBase(p.c) + T_DONE, it)) return;
      }
    }
    const s = "[" + parts.join(",") + "]";
    let id = ids.get(s);
    if (id === undefined) {
      id = table.length;
      ids.set(s, id);
      table.push(s);
    }
    Atomics.store(ctl, base + T_RESULT_ID, id);
    Atomics.store(ctl, base + T_STATE, S_DONE);
    signal(ctl, base + T_DONE, it);
    if (!barrier(ctl, n, endSerial)) return;
  }
  const seconds = (performance.now() - t0) / 1000;
  post({ done: true, thread: t, table, counts: Array.from(counts), discards, seconds, sink });
}

/** Whether a module of the test may contain `memory.atomic.wait32/64` (opcodes 0xFE 0x01 and
 * 0xFE 0x02; a byte scan, so it may say yes wrongly, which only costs watchdog wake-ups). */
function mayWait(test) {
  return test.modules.some((m) => {
    for (let i = 0; i + 1 < m.length; i++) if (m[i] === 0xfe && (m[i + 1] === 1 || m[i + 1] === 2)) return true;
    return false;
  });
}

function watchdogMain(data, ctl, post, receive, collect) {
  const { test } = data;
  const n = test.threads.length;
  // The memory whose waiters it notifies: the iteration's own when the test grows it.
  const poolMemory = test.memory.grows === true ? poolReader(data.pool, receive, collect) : null;
  let mem32 = new Int32Array(data.memory.buffer);
  const addrs = test.wait_addresses.map((a) => a >>> 2);
  // Without a wait instruction no thread can block: then the watchdog only looks for hangs.
  const active = schedule(test).active;
  const period = mayWait(test) ? Math.max(test.watchdog_ms, 0.05) : 20;
  const waitsPerInvoke = test.threads.map((th) =>
    th.steps.filter((s) => s.invoke).map((s) => s.invoke.waits || 0));
  // Whether no wait of an invoke can time out: only a thread in such an invoke may be
  // called blocked (a wait with a finite timeout ends by itself, however late it runs).
  const untimedPerInvoke = test.threads.map((th) =>
    th.steps.filter((s) => s.invoke).map((s) => s.invoke.untimed === true));
  const now = () => performance.now();
  // The per-iteration hang bound (Rust: HangBound): the larger of the floor and
  // hang_factor times the slowest of the first hang_calibration iterations (each iteration
  // completed between two polls took at most the time between them).
  let slowest = 0;
  let calibrated = 0;
  const bound = () => Math.max(test.timeout_ms, test.hang_factor * slowest);
  Atomics.store(ctl, C_BOUND_MS, Math.min(0x7fffffff, Math.ceil(bound())));
  let last = Atomics.load(ctl, C_COMPLETED);
  let lastProgress = now();
  let decided = 0; // iteration already decided (blocked marks committed, or discarded)
  let prevIt = 0; // the iteration in progress at the previous poll
  const prevSeq = new Array(n).fill(-1); // the threads' invoke sequence numbers then
  const notifyAll = () => {
    if (poolMemory) {
      const m = poolMemory(Atomics.load(ctl, C_ITER));
      if (m === undefined) return 0;
      mem32 = new Int32Array(m.buffer);
    }
    let sum = 0;
    for (const a of addrs) sum += Atomics.notify(mem32, a, Infinity);
    return sum;
  };
  for (;;) {
    if (Atomics.load(ctl, C_STOP) !== 0) return;
    Atomics.wait(ctl, C_WD_SLEEP, 0, period);
    if (poolMemory) poolMemory(Atomics.load(ctl, C_ITER)); // take the pools that came
    const c = Atomics.load(ctl, C_COMPLETED);
    if (c >= test.iterations) break;
    if (c !== last) {
      if (calibrated < test.hang_calibration) {
        calibrated += c - last;
        slowest = Math.max(slowest, now() - lastProgress);
        Atomics.store(ctl, C_BOUND_MS, Math.min(0x7fffffff, Math.ceil(bound())));
      }
      last = c;
      lastProgress = now();
      continue;
    }
    const stalled = now() - lastProgress;
    if (stalled > bound()) {
      Atomics.store(ctl, C_STOP, 1);
      const how = "the larger of the floor " + test.timeout_ms + " ms and " + test.hang_factor +
        " x the slowest of the first " + Math.min(calibrated, test.hang_calibration) + " iterations, " +
        slowest.toFixed(1) + " ms";
      post({ error: { kind: "hang", message: "iteration " + (c + 1) + " made no progress for " +
        (stalled / 1000).toFixed(1) + " s (bound " + (bound() / 1000).toFixed(1) + " s: " + how + "); " +
        c + " of " + test.iterations + " iterations completed" } });
      return;
    }
    const it = Atomics.load(ctl, C_ITER);
    if (it === c) continue; // between iterations: everyone is at the start barrier
    // Judge only threads that have been in the same invoke of the same iteration since the
    // previous poll, i.e. for at least one period (the watchdog time of the test).
    let same = it === prevIt;
    for (let t = 0; t < n; t++) {
      const q = Atomics.load(ctl, threadBase(t) + T_SEQ);
      if (q !== prevSeq[t]) same = false;
      prevSeq[t] = q;
    }
    prevIt = it;
    if (!same) continue;
    if (Atomics.compareExchange(ctl, C_LOCK, 0, 1) !== 0) continue;
    if (Atomics.load(ctl, C_COMPLETED) !== it) {
      if (decided === it) {
        notifyAll(); // a woken thread may have waited again
      } else {
        // Snapshot which threads are in an invoke, notify every address, and check that no
        // thread started an invoke meanwhile (else we cannot tell whom we woke).
        // A thread between steps (state IDLE, or spawned but not yet noticed) is making
        // progress: judge later.
        const running = [];
        const seq = [];
        let progressing = false;
        for (let t = 0; t < n; t++) {
          const b = threadBase(t);
          seq.push(Atomics.load(ctl, b + T_SEQ));
          if (!active[t] || Atomics.load(ctl, b + T_DONE) === it) continue;
          const st = Atomics.load(ctl, b + T_STATE);
          if (st === S_RUNNING) running.push([t, Atomics.load(ctl, b + T_K)]);
          else if (st === S_WAIT_JOIN && Atomics.load(ctl, threadBase(Atomics.load(ctl, b + T_JOINING)) + T_DONE) !== it)
            continue;
          else if (st === S_WAIT_SPAWN && Atomics.load(ctl, b + T_SPAWN) !== it) continue;
          else progressing = true;
        }
        if (progressing || running.length === 0) {
          Atomics.store(ctl, C_LOCK, 0);
          continue;
        }
        const sum = notifyAll();
        // A thread whose invoke has two waits may have been woken and counted twice.
        let stable = running.every(([t, k]) => (waitsPerInvoke[t][k] || 0) <= 1);
        for (let t = 0; t < n; t++) if (Atomics.load(ctl, threadBase(t) + T_SEQ) !== seq[t]) stable = false;
        if (sum !== 0) {
          // We woke someone: this iteration is decided (Rust: watchdog::verdict).
          decided = it;
          const untimed = running.every(([t, k]) => untimedPerInvoke[t][k] === true);
          if (!untimed) {
            // A running thread's waits may time out: if it was queued, the OS had not run
            // it yet; it is never blocked, and waking it was the watchdog's doing.
            Atomics.store(ctl, C_DISCARD_WHY, DISCARD_FINITE);
            Atomics.store(ctl, C_DISCARD, it);
          } else if (stable && sum === running.length) {
            // Every running thread was waiting with nothing left to wake it: blocked.
            for (const [t, k] of running) {
              Atomics.store(ctl, threadBase(t) + T_BLOCKED_K, k);
              Atomics.store(ctl, threadBase(t) + T_BLOCKED_ITER, it);
            }
          } else {
            // We woke a thread that another, still running, thread might have woken.
            Atomics.store(ctl, C_DISCARD_WHY, DISCARD_AMBIGUOUS);
            Atomics.store(ctl, C_DISCARD, it);
          }
        }
      }
    }
    Atomics.store(ctl, C_LOCK, 0);
  }
  post({ done: true, watchdog: true });
}

// ---- The coordinator ----

function errorResult(name, kind, message) {
  return { name, error: { kind, message: String(message) } };
}

/** Runs one test (the JSON object Rust wrote) and resolves to its result object. */
/** runTest, with an exception of the harness itself turned into a "harness" error result. */
async function runTestReporting(test, env) {
  try {
    return await runTest(test, env);
  } catch (e) {
    return { name: test.name, error: { kind: "harness", message: String((e && e.stack) || e) } };
  }
}

async function runTest(test, env) {
  if (test.memory.grows !== true || env.feedsPools) return runTestOnce(test, env);
  // A test that grows its memory, and workers that cannot take more pools: rounds.
  let merged;
  for (let start = 1; start <= test.iterations; start += POOL_SIZE) {
    const round = Object.assign({}, test, {
      iterations: Math.min(POOL_SIZE, test.iterations - start + 1),
      seed: test.seed + start - 1,
    });
    const roundEnv = Object.assign({}, env, {
      progress: (o) => env.progress && env.progress(Object.assign({}, o, { progress: o.progress + start - 1 })),
    });
    // The previous rounds' memories are garbage, but a browser may not have collected them
    // yet (Chromium: "could not allocate memory" after about 128): wait for it, up to 10 s.
    let pool;
    for (let tries = 0; pool === undefined; tries++) {
      try {
        pool = makePool(round, 1, round.iterations);
      } catch (e) {
        if (tries === 100) return errorResult(test.name, "harness", "cannot create the fresh memories: " + e);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const r = await runTestOnce(round, roundEnv, pool);
    if (r.error) {
      r.error.message = "in the round of iterations " + start + ".." + (start + round.iterations - 1) + ": " + r.error.message;
      return r;
    }
    merged = merged === undefined ? r : mergeResults(merged, r);
  }
  merged.iterations = test.iterations;
  return merged;
}

/** The result object of two rounds of one test. */
function mergeResults(a, b) {
  const hist = new Map();
  for (const h of a.histogram.concat(b.histogram)) {
    const key = JSON.stringify(h.results);
    const prev = hist.get(key);
    if (prev) prev.count += h.count;
    else hist.set(key, { results: h.results, count: h.count });
  }
  const reasons = Object.assign({}, a.discard_reasons);
  for (const [k, n] of Object.entries(b.discard_reasons)) reasons[k] = (reasons[k] || 0) + n;
  return {
    name: a.name,
    histogram: Array.from(hist.values()),
    iterations: a.iterations + b.iterations,
    discarded: a.discarded + b.discarded,
    discard_reasons: reasons,
    seconds: a.seconds + b.seconds,
  };
}

/** Runs one test, or one round of it (with its `roundPool` of fresh memories), on new
 * workers. */
async function runTestOnce(test, env, roundPool) {
  const name = test.name;
  let memory;
  try {
    memory = new WebAssembly.Memory({ initial: test.memory.initial, maximum: test.memory.maximum, shared: true });
  } catch (e) {
    return errorResult(name, "harness", "cannot create the shared memory: " + e);
  }
  for (let i = 0; i < test.modules.length; i++) {
    try {
      await WebAssembly.compile(new Uint8Array(test.modules[i]));
    } catch (e) {
      return errorResult(name, "compile", "module " + i + ": " + e);
    }
  }
  // A test that grows its memory: pools of fresh memories, the first now (every iteration's
  // if the environment cannot feed more later).
  const grows = test.memory.grows === true;
  const poolSize = env.feedsPools ? POOL_SIZE : test.iterations;
  let pool;
  try {
    pool = grows ? roundPool || makePool(test, 1, poolSize) : undefined;
  } catch (e) {
    return errorResult(name, "harness", "cannot create the fresh memories: " + e);
  }
  const n = test.threads.length;
  const ctlBuf = new SharedArrayBuffer(4 * (C_THREADS + n * T_WORDS));
  const ctl = new Int32Array(ctlBuf);
  Atomics.store(ctl, C_BOUND_MS, Math.min(0x7fffffff, test.timeout_ms));
  const workers = [];
  return await new Promise((resolve) => {
    let finished = false;
    const parts = [];
    let pending = n + 1;
    const finish = (r) => {
      if (finished) return;
      finished = true;
      clearInterval(heartbeat);
      if (feeder !== undefined) clearInterval(feeder);
      Atomics.store(ctl, C_STOP, 1);
      for (const w of workers) {
        try {
          w.terminate();
        } catch (_) {
          /* already gone */
        }
      }
      resolve(r);
    };
    // Heartbeats to Heddle, and a backstop if the watchdog itself cannot report: no
    // iteration completed for the watchdog's bound and BACKSTOP_GRACE_MS more.
    let lastCompleted = -1;
    let lastChange = performance.now();
    const heartbeat = setInterval(() => {
      const c = Atomics.load(ctl, C_COMPLETED);
      const b = Atomics.load(ctl, C_BOUND_MS);
      if (c !== lastCompleted) {
        lastCompleted = c;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > b + BACKSTOP_GRACE_MS) {
        return finish(errorResult(name, "hang", "iteration " + (c + 1) + " made no progress for " +
          ((performance.now() - lastChange) / 1000).toFixed(1) + " s, and the watchdog did not report (bound " + b + " ms)"));
      }
      if (env.progress) env.progress({ name, progress: c, bound_ms: b });
    }, HEARTBEAT_MS);
    const onMessage = (m) => {
      if (finished) return;
      if (m.error) return finish({ name, error: m.error });
      if (!m.watchdog) parts.push(m);
      if (--pending === 0) finish(assemble(test, parts));
    };
    const onError = (e) => finish(errorResult(name, "crash", "worker error: " + ((e && e.message) || e)));
    // The next pool goes out as soon as the workers start on the latest one.
    let nextStart = pool ? pool.start + pool.memories.length : Infinity;
    let feedFailingSince;
    const feeder = grows && env.feedsPools ? setInterval(() => {
      if (nextStart > test.iterations) return clearInterval(feeder);
      if (Atomics.load(ctl, C_COMPLETED) + 1 < nextStart - POOL_SIZE) return;
      let next;
      try {
        next = makePool(test, nextStart, POOL_SIZE);
        feedFailingSince = undefined;
      } catch (e) {
        // The dropped pools may not be collected yet (poolReader): collect, and try again
        // on the next ticks for up to 10 s, as the browsers' rounds do.
        if (env.collect) env.collect();
        feedFailingSince = feedFailingSince === undefined ? Date.now() : feedFailingSince;
        if (Date.now() - feedFailingSince < 10000) return;
        return finish(errorResult(name, "harness", "cannot create the fresh memories: " + e));
      }
      for (const w of workers) w.post({ pool: next });
      nextStart += next.memories.length;
    }, 2) : undefined;
    for (let t = 0; t <= n; t++) {
      const data = { role: t < n ? "thread" : "watchdog", test, thread: t, memory, ctl: ctlBuf, pool };
      try {
        workers.push(env.spawnWorker(data, onMessage, onError));
      } catch (e) {
        return finish(errorResult(name, "harness", "cannot start a worker: " + e));
      }
    }
  });
}

/** Merges the workers' counts into the result object. */
function assemble(test, parts) {
  const n = test.threads.length;
  const tables = new Array(n);
  for (const p of parts) tables[p.thread] = p.table;
  const hist = new Map();
  let discarded = 0;
  const discardReasons = {};
  let seconds = 0;
  for (const p of parts) {
    for (const [key, count] of Object.entries(p.discards)) {
      discarded += count;
      discardReasons[key] = (discardReasons[key] || 0) + count;
    }
    seconds = Math.max(seconds, p.seconds);
    for (const [key, count] of p.counts) hist.set(key, (hist.get(key) || 0) + count);
  }
  const histogram = [];
  for (const [key, count] of hist) {
    const fields = key.split(",");
    const results = [];
    let t = -1;
    for (const f of fields) {
      if (f === "") continue;
      if (f[0] === "b") {
        const k = Number(f.slice(1));
        const r = results[t];
        for (let j = k; j < r.length; j++) r[j] = j === k ? "blocked" : null;
      } else {
        t++;
        results.push(JSON.parse(tables[t][Number(f)]));
      }
    }
    histogram.push({ results, count });
  }
  return { name: test.name, histogram, iterations: test.iterations, discarded, discard_reasons: discardReasons, seconds };
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { mulberry32, delayGenerator, delays, runTest, runTestReporting, workerMain, argToJs, resultToString };
}
