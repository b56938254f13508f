//! Litmus fixtures shared by the engine tests.

/// A litmus source with one script thread, `$T0`, which instantiates a module with the
/// shared memory (1 page) and the functions `funcs` (text), then invokes its `run` export.
pub fn one_thread(funcs: &str) -> String {
    format!(
        r#"(module $Mem (memory (export "shared") 1 1 shared))
(register "mem" $Mem)
(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    {funcs})
  (invoke "run"))
(wait $T0)
"#
    )
}

/// A lone waiter: `$T0` waits on address 0 (which holds 0) with `timeout` ns (negative:
/// no timeout); nothing notifies it.
pub fn lone_wait_source(timeout: i64) -> String {
    one_thread(&format!(
        r#"(func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const {timeout})))"#
    ))
}
