//! Generated litmus programs that scale: store-buffering rings and message-passing chains of
//! any number of threads and accesses, the programs of issue 13 and of the exploration
//! figures in BENCHMARKS.md (`cargo run --release -p heddle-explore --example rings`
//! writes them as `.wast` files).
//!
//! All accesses are plain (non-atomic) `i32` loads and stores on one shared memory; cell `c`
//! of an array is at byte `4·c`. Each thread's `run` returns the values it loaded, in program
//! order (a thread that loads nothing returns nothing).

/// Store-buffering ring of `threads` threads with `accesses` accesses each: thread `t`
/// repeats, `accesses / 2` times (rounding up), "store `j + 1` to `x[t]`; load
/// `x[(t + 1) mod threads]`" for round `j = 0, 1, …` (an odd `accesses` ends with a store).
/// Every load may read 0 or any value its neighbour stores, so the relaxed model allows
/// `(rounds + 1)^(threads · rounds)` outcomes (4,096 for 2 × 6).
pub fn sb_ring(threads: usize, accesses: usize) -> String {
    let x = 0;
    program("SB ring", threads, accesses, |t, i| {
        let round = i / 2;
        if i % 2 == 0 {
            Access::Store {
                addr: x + 4 * t,
                value: round + 1,
            }
        } else {
            Access::Load {
                addr: x + 4 * ((t + 1) % threads),
            }
        }
    })
}

/// Message-passing chain of `threads` threads with `accesses` accesses each, data array `x`
/// (cells `0..threads`) and flag array `y` (cells `threads..2·threads`). Accesses come in
/// pairs, numbered `j = 0, 1, …`. Thread 0 only sends: pair `j` is "store `j + 1` to `x[0]`;
/// store `j + 1` to `y[0]`" (data, then flag). Thread `t > 0` alternates receiving (even `j`:
/// "load `y[t − 1]`; load `x[t − 1]`", flag then data) and sending (odd `j`: "store `j + 1`
/// to `x[t]`; store `j + 1` to `y[t]`"), so the message travels down the chain. An odd
/// `accesses` ends with the first access of a pair.
pub fn mp_chain(threads: usize, accesses: usize) -> String {
    let x = |t: usize| 4 * t;
    let y = |t: usize| 4 * (threads + t);
    program("MP chain", threads, accesses, |t, i| {
        let (pair, second) = (i / 2, i % 2 == 1);
        if t == 0 || pair % 2 == 1 {
            Access::Store {
                addr: if second { y(t) } else { x(t) },
                value: pair + 1,
            }
        } else {
            Access::Load {
                addr: if second { x(t - 1) } else { y(t - 1) },
            }
        }
    })
}

enum Access {
    Store { addr: usize, value: usize },
    Load { addr: usize },
}

/// The litmus file: a memory module, one `thread` block per thread with a `run` of
/// `accesses` accesses given by `access(thread, index)`, and `wait`s.
fn program(
    title: &str,
    threads: usize,
    accesses: usize,
    access: impl Fn(usize, usize) -> Access,
) -> String {
    let mut s = format!(
        ";; {title}: {threads} threads x {accesses} accesses (heddle_spec_tests::explore::rings)\n\
         (module $Mem\n  (memory (export \"shared\") 1 1 shared)\n)\n(register \"mem\" $Mem)\n"
    );
    for t in 0..threads {
        let mut body = String::new();
        let mut loads = 0;
        for i in 0..accesses {
            match access(t, i) {
                Access::Store { addr, value } => body.push_str(&format!(
                    "      (i32.store (i32.const {addr}) (i32.const {value}))\n"
                )),
                Access::Load { addr } => {
                    body.push_str(&format!(
                        "      (local.set $r{loads} (i32.load (i32.const {addr})))\n"
                    ));
                    loads += 1;
                }
            }
        }
        let results = " i32".repeat(loads);
        let locals: String = (0..loads).map(|r| format!(" (local $r{r} i32)")).collect();
        let gets: String = (0..loads).map(|r| format!(" (local.get $r{r})")).collect();
        let result = if loads > 0 {
            format!(" (result{results})")
        } else {
            String::new()
        };
        s.push_str(&format!(
            "\n(thread $T{t} (shared (module $Mem))\n  (register \"mem\" $Mem)\n  (module\n    \
             (memory (import \"mem\" \"shared\") 1 1 shared)\n    \
             (func (export \"run\"){result}{locals}\n{body}     {gets})\n  )\n  (invoke \"run\")\n)\n"
        ));
    }
    s.push('\n');
    for t in 0..threads {
        s.push_str(&format!("(wait $T{t})\n"));
    }
    s
}
