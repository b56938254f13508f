//! Write a generated litmus program of issue 13 (`heddle_explore::rings`) to
//! standard output, for the exploration figures in BENCHMARKS.md:
//!
//! ```sh
//! cargo run --release -p heddle-explore --example rings -- sb 4 6 > sb_4x6.wast
//! cargo run --release -p heddle-explore --example rings -- mp 4 6 > mp_4x6.wast
//! ```
//!
//! Arguments: `sb` (store-buffering ring) or `mp` (message-passing chain), the number of
//! threads (1 to 64) and of accesses per thread (1 to 64).

use heddle_explore::rings::{mp_chain, sb_ring};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |s: &String| s.parse::<usize>().ok().filter(|n| (1..=64).contains(n));
    match args.as_slice() {
        [kind, t, a] if matches!(kind.as_str(), "sb" | "mp") => match (parse(t), parse(a)) {
            (Some(t), Some(a)) => {
                print!(
                    "{}",
                    if kind == "sb" {
                        sb_ring(t, a)
                    } else {
                        mp_chain(t, a)
                    }
                );
                ExitCode::SUCCESS
            }
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: rings sb|mp THREADS ACCESSES   (each 1 to 64)");
    ExitCode::from(2)
}
