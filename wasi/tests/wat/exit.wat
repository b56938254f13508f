;; proc_exit(42): the program ends there (the unreachable is never reached).
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $_start (export "_start")
    (call $proc_exit (i32.const 42))
    unreachable))
