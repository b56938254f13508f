//! Random data-race-free threaded programs with loops, spin-waits and `wait`/`notify`: the
//! first kind of program of `heddle fuzz --threads` (docs/fuzz.md, "Threaded campaigns").
//!
//! Every plain (non-atomic) access of a [`DrfProgram`] is ordered by happens-before with
//! every conflicting access of another thread, so by SC-DRF (spec `exec/relaxed.rst`; Watt
//! et al., OOPSLA 2019, §5) each of its executions is sequentially consistent, and the
//! outcomes an exhaustive SC exploration reaches (`heddle explore`) are all the outcomes an
//! engine may show. The program is built from [`Block`]s whose synchronisation makes that so
//! by construction:
//!
//! * a [`Block::Critical`] section runs plain accesses to its lock's data cells only while
//!   holding the lock (a spin lock: `cmpxchg` 0 → 1 in a loop, released by an atomic store
//!   of 0), possibly several times in a counted loop;
//! * a [`Block::Send`] writes its channel's data cells with plain stores, then publishes them
//!   with an atomic store of 1 to the channel's flag and a `notify` of every waiter; each
//!   channel is sent once, by one thread;
//! * a [`Block::Receive`] in another thread waits until the flag is 1 (spinning on an
//!   atomic load, or looping around `memory.atomic.wait32`) and only then reads the data
//!   cells with plain loads; nobody writes them again;
//! * a [`Block::Count`] is an atomic `rmw.add` on a counter (atomic accesses never race).
//!
//! Deadlock freedom, also by construction: blocks are drawn in one global order and handed
//! to threads; a receive is only drawn after its channel's send, and a critical section
//! neither waits nor receives, so by induction on the global order every block finishes.
//!
//! Results: every loaded value, old value and woken count is folded into a result local
//! (`r := r * 31 + v`, starting at 0, so a block run once yields `v`), one local per
//! result-producing operation; `run` returns them in program order.

use crate::diff::generate::Rng;
use std::fmt::Write as _;

/// Byte address of lock `l`'s word.
fn lock_addr(l: u8) -> u32 {
    4 * l as u32
}
/// Byte address of channel `c`'s flag.
fn flag_addr(c: u8) -> u32 {
    16 + 4 * c as u32
}
/// Byte address of counter `k`.
fn counter_addr(k: u8) -> u32 {
    32 + 4 * k as u32
}
/// Byte address of data cell `cell` of lock `l`.
fn lock_cell_addr(l: u8, cell: u8) -> u32 {
    64 + 32 * l as u32 + 4 * cell as u32
}
/// Byte address of data cell `cell` of channel `c`.
fn channel_cell_addr(c: u8, cell: u8) -> u32 {
    192 + 32 * c as u32 + 4 * cell as u32
}

/// Every address a [`DrfProgram`] touches is below this (the harness's reset region).
pub const EXTENT: u32 = 320;

/// Locks, channels and counters that programs draw from (the layout has room for 4 locks
/// and 8 cells per lock or channel).
const LOCKS: u8 = 2;
const CHANNELS: u8 = 4;
const COUNTERS: u8 = 2;

/// A plain access inside a critical section, to one of the lock's data cells (`i32`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataOp {
    /// `i32.load`; the value is a result.
    Load {
        /// Cell index (0..4).
        cell: u8,
    },
    /// `i32.store` of a constant.
    Store {
        /// Cell index.
        cell: u8,
        /// The stored value.
        value: u32,
    },
    /// `cell := cell + 1` by a plain load, add and store; the loaded value is a result.
    Increment {
        /// Cell index.
        cell: u8,
    },
}

/// One synchronisation pattern of a thread (see the module docs for why each is
/// data-race-free).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Block {
    /// Acquire spin lock `lock`, run `body`, release; all of it `times` times.
    Critical {
        /// Lock index (0..2).
        lock: u8,
        /// How many times the section runs (a counted loop when more than once).
        times: u8,
        /// Plain accesses to the lock's cells.
        body: Vec<DataOp>,
    },
    /// Plain stores of `values[i]` to the channel's cell `i`, then the flag set to 1 by an
    /// atomic store and `memory.atomic.notify` of every waiter (the woken count is a result).
    Send {
        /// Channel index (0..4).
        channel: u8,
        /// The payload, one value per cell.
        values: Vec<u32>,
    },
    /// Wait until the channel's flag is 1, then plain loads of its first `cells` cells
    /// (results).
    Receive {
        /// Channel index.
        channel: u8,
        /// Loop around `memory.atomic.wait32` (expected 0, no timeout) rather than spin.
        by_wait: bool,
        /// How many cells to read.
        cells: u8,
    },
    /// `i32.atomic.rmw.add` on a counter (the old value is a result).
    Count {
        /// Counter index (0..2).
        counter: u8,
        /// The operand.
        add: u32,
    },
}

impl Block {
    /// How many results the block contributes.
    fn results(&self) -> usize {
        match self {
            Block::Critical { body, .. } => body
                .iter()
                .filter(|o| !matches!(o, DataOp::Store { .. }))
                .count(),
            Block::Send { .. } | Block::Count { .. } => 1,
            Block::Receive { cells, .. } => *cells as usize,
        }
    }
}

/// A generated data-race-free program: `threads[t]` is thread `$Tt`'s blocks in program
/// order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DrfProgram {
    /// The threads' blocks.
    pub threads: Vec<Vec<Block>>,
}

/// A planted fault for testing the campaign (never on by default): the program as the
/// oracle sees it gets one instruction wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every counter's `i32.atomic.rmw.add` is an `i32.atomic.rmw.sub`.
    CountSubtracts,
}

impl DrfProgram {
    /// Draws a program from `seed`: 2 or 3 threads, 1–3 blocks each (in one global order, so
    /// that every receive comes after its send), critical sections of 1–3 operations run
    /// once or twice.
    pub fn generate(seed: u64) -> DrfProgram {
        let mut rng = Rng::new(seed);
        let n = 2 + rng.below(2) as usize;
        let mut threads: Vec<Vec<Block>> = vec![Vec::new(); n];
        let total = n + rng.below(2 * n as u64 + 1) as usize;
        // Channels sent so far, with their sender; receivers per channel.
        let mut sent: Vec<(u8, usize, Vec<usize>)> = Vec::new();
        for _ in 0..total {
            let t = rng.below(n as u64) as usize;
            if threads[t].len() >= 3 {
                continue;
            }
            let receivable: Vec<usize> = (0..sent.len())
                .filter(|&i| sent[i].1 != t && !sent[i].2.contains(&t))
                .collect();
            let block = match rng.below(10) {
                0..=3 => {
                    let lock = rng.below(LOCKS as u64) as u8;
                    let times = 1 + (rng.below(3) == 0) as u8;
                    let len = 1 + rng.below(3) as usize;
                    let body = (0..len)
                        .map(|_| {
                            let cell = rng.below(2) as u8;
                            match rng.below(3) {
                                0 => DataOp::Load { cell },
                                1 => DataOp::Store {
                                    cell,
                                    value: 1 + rng.below(9) as u32,
                                },
                                _ => DataOp::Increment { cell },
                            }
                        })
                        .collect();
                    Block::Critical { lock, times, body }
                }
                4..=5 if sent.len() < CHANNELS as usize => {
                    let channel = sent.len() as u8;
                    sent.push((channel, t, Vec::new()));
                    let len = 1 + rng.below(2) as usize;
                    Block::Send {
                        channel,
                        values: (0..len).map(|_| 1 + rng.below(99) as u32).collect(),
                    }
                }
                6..=8 if !receivable.is_empty() => {
                    let i = receivable[rng.below(receivable.len() as u64) as usize];
                    sent[i].2.push(t);
                    Block::Receive {
                        channel: sent[i].0,
                        by_wait: rng.below(2) == 0,
                        cells: 1 + rng.below(2) as u8,
                    }
                }
                _ => Block::Count {
                    counter: rng.below(COUNTERS as u64) as u8,
                    add: 1 + rng.below(3) as u32,
                },
            };
            threads[t].push(block);
        }
        for th in &mut threads {
            if th.is_empty() {
                th.push(Block::Count { counter: 0, add: 1 });
            }
        }
        DrfProgram { threads }
    }

    /// Smaller programs for shrinking a finding: each one without one block (a send taken
    /// out with every receive of its channel), without one thread (and the receives of its
    /// channels), with a critical section run once, or without one of its operations.
    /// Programs whose threads would all be empty are left out.
    pub fn shrink_candidates(&self) -> Vec<DrfProgram> {
        let mut out = Vec::new();
        let without_channels = |p: &DrfProgram, chans: &[u8]| {
            DrfProgram {
            threads: p
                .threads
                .iter()
                .map(|th| {
                    th.iter()
                        .filter(|b| {
                            !matches!(b, Block::Receive { channel, .. } | Block::Send { channel, .. }
                                if chans.contains(channel))
                        })
                        .cloned()
                        .collect()
                })
                .collect(),
        }
        };
        for t in 0..self.threads.len() {
            let chans: Vec<u8> = self.threads[t]
                .iter()
                .filter_map(|b| match b {
                    Block::Send { channel, .. } => Some(*channel),
                    _ => None,
                })
                .collect();
            let mut p = without_channels(self, &chans);
            p.threads.remove(t);
            out.push(p);
            for (i, b) in self.threads[t].iter().enumerate() {
                let mut p = match b {
                    Block::Send { channel, .. } => without_channels(self, &[*channel]),
                    _ => {
                        let mut p = self.clone();
                        p.threads[t].remove(i);
                        p
                    }
                };
                if !matches!(b, Block::Send { .. }) || p.threads[t].len() < self.threads[t].len() {
                    p.threads.retain(|th| !th.is_empty());
                    out.push(p);
                }
                if let Block::Critical { lock, times, body } = b {
                    if *times > 1 {
                        let mut p = self.clone();
                        p.threads[t][i] = Block::Critical {
                            lock: *lock,
                            times: 1,
                            body: body.clone(),
                        };
                        out.push(p);
                    }
                    for k in 0..body.len() {
                        if body.len() > 1 {
                            let mut body = body.clone();
                            body.remove(k);
                            let mut p = self.clone();
                            p.threads[t][i] = Block::Critical {
                                lock: *lock,
                                times: *times,
                                body,
                            };
                            out.push(p);
                        }
                    }
                }
            }
        }
        out.retain(|p| !p.threads.is_empty() && p.threads.iter().all(|t| !t.is_empty()));
        out
    }

    /// The program as a threaded `.wast` script in the shape of
    /// [`crate::generate::LitmusProgram::to_wast`]: a `$Mem` module exporting the shared
    /// memory; one `(thread $Ti …)` per thread whose module imports it and exports `run`,
    /// invoked once; then `(wait $Ti)` for each. With `fault`, the program as a faulty
    /// oracle would read it (test-only).
    pub fn to_wast(&self, fault: Option<Fault>) -> String {
        let threads = self.threads.iter().map(|blocks| {
            let n: usize = blocks.iter().map(Block::results).sum();
            let mut body = String::new();
            let mut k = 0;
            for b in blocks {
                block_wat(b, &mut k, fault, &mut body);
            }
            (
                vec!["i32"; n],
                " (local $i i32) (local $v i32)".to_string(),
                body,
            )
        });
        super::thread_script(
            "heddle_fuzz::generate::drf (data-race-free: SC exploration decides)",
            threads,
        )
    }
}

/// `$r{k} := $r{k} * 31 + (value)`, and the next result local.
fn fold(k: &mut usize, value: &str, out: &mut String) {
    let _ = writeln!(
        out,
        "      (local.set $r{k} (i32.add (i32.mul (local.get $r{k}) (i32.const 31)) {value}))"
    );
    *k += 1;
}

/// Appends the instructions of `b` to `out`, its results folded into `$r{k}`, `$r{k+1}`, ….
fn block_wat(b: &Block, k: &mut usize, fault: Option<Fault>, out: &mut String) {
    match b {
        Block::Critical { lock, times, body } => {
            let l = lock_addr(*lock);
            let first = *k;
            let _ = writeln!(
                out,
                "      (local.set $i (i32.const {times}))\n      (loop $again"
            );
            let _ = writeln!(
                out,
                "      (block $held (loop $spin\n        \
                 (br_if $held (i32.eqz (i32.atomic.rmw.cmpxchg (i32.const {l}) (i32.const 0) (i32.const 1))))\n        \
                 (br $spin)))"
            );
            *k = first;
            for op in body {
                match *op {
                    DataOp::Load { cell } => {
                        let a = lock_cell_addr(*lock, cell);
                        fold(k, &format!("(i32.load (i32.const {a}))"), out);
                    }
                    DataOp::Store { cell, value } => {
                        let a = lock_cell_addr(*lock, cell);
                        let _ =
                            writeln!(out, "      (i32.store (i32.const {a}) (i32.const {value}))");
                    }
                    DataOp::Increment { cell } => {
                        let a = lock_cell_addr(*lock, cell);
                        let _ = writeln!(out, "      (local.set $v (i32.load (i32.const {a})))");
                        let _ = writeln!(
                            out,
                            "      (i32.store (i32.const {a}) (i32.add (local.get $v) (i32.const 1)))"
                        );
                        fold(k, "(local.get $v)", out);
                    }
                }
            }
            let _ = writeln!(
                out,
                "      (i32.atomic.store (i32.const {l}) (i32.const 0))\n      \
                 (br_if $again (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))"
            );
        }
        Block::Send { channel, values } => {
            for (cell, v) in values.iter().enumerate() {
                let a = channel_cell_addr(*channel, cell as u8);
                let _ = writeln!(out, "      (i32.store (i32.const {a}) (i32.const {v}))");
            }
            let f = flag_addr(*channel);
            let _ = writeln!(
                out,
                "      (i32.atomic.store (i32.const {f}) (i32.const 1))"
            );
            fold(
                k,
                &format!("(memory.atomic.notify (i32.const {f}) (i32.const -1))"),
                out,
            );
        }
        Block::Receive {
            channel,
            by_wait,
            cells,
        } => {
            let f = flag_addr(*channel);
            let wait = if *by_wait {
                format!(
                    "\n        (drop (memory.atomic.wait32 (i32.const {f}) (i32.const 0) (i64.const -1)))"
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "      (block $got (loop $spin\n        \
                 (br_if $got (i32.atomic.load (i32.const {f}))){wait}\n        (br $spin)))"
            );
            for cell in 0..*cells {
                let a = channel_cell_addr(*channel, cell);
                fold(k, &format!("(i32.load (i32.const {a}))"), out);
            }
        }
        Block::Count { counter, add } => {
            let a = counter_addr(*counter);
            let op = match fault {
                Some(Fault::CountSubtracts) => "sub",
                None => "add",
            };
            fold(
                k,
                &format!("(i32.atomic.rmw.{op} (i32.const {a}) (i32.const {add}))"),
                out,
            );
        }
    }
}
