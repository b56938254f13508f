//! The native backend's parallel speed-up as one command that also reports CPU time: the
//! workload of `benches/workload/parallel.rs` (a fixed amount of work split over 1 or 2
//! Wasm threads on OS threads, each on its own region plus a shared atomic counter), best
//! of `ROUNDS` runs each, with the wall time and, on Linux, the threads' CPU time (from
//! `/proc/thread-self/schedstat`). On a loaded machine the wall-clock speed-up says little;
//! CPU time per iteration that does not grow with 2 threads shows that the threads do not
//! slow each other down.
//!
//! Run: `cargo run -p heddle-interp --release --example parallel`.

#[path = "../benches/workload/parallel.rs"]
mod workload;

use workload::TOTAL;

/// Runs per thread count; the best is reported.
const ROUNDS: usize = 5;

fn main() {
    let module = workload::module();
    let mut best = Vec::new();
    for threads in [1u32, 2] {
        let runs: Vec<_> = (0..ROUNDS)
            .map(|_| workload::run(&module, threads))
            .collect();
        let wall = runs.iter().map(|r| r.0).min().expect("runs");
        let cpu = runs.iter().filter_map(|r| r.1).min();
        println!(
            "{threads} thread(s): best wall {:.3} s; CPU {} ({TOTAL} iterations in total)",
            wall.as_secs_f64(),
            cpu.map_or("n/a".into(), |c| format!(
                "{:.3} s, {:.1} ns per iteration",
                c.as_secs_f64(),
                c.as_nanos() as f64 / f64::from(TOTAL)
            )),
        );
        best.push(wall);
    }
    println!(
        "speed-up (best wall, 1 thread / 2 threads): {:.2}x",
        best[0].as_secs_f64() / best[1].as_secs_f64()
    );
}
