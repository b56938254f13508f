;; A deadlock: the main thread starts one thread, then both wait forever (no timeout) on
;; cells nobody notifies, each in a function of its own.
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $wait_for_worker (param $addr i32)
    (drop (memory.atomic.wait32 (local.get $addr) (i32.const 0) (i64.const -1))))
  (func $wait_for_main (param $addr i32)
    (drop (memory.atomic.wait32 (local.get $addr) (i32.const 0) (i64.const -1))))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $wait_for_main (i32.const 68)))
  (func $_start (export "_start")
    (drop (call $thread_spawn (i32.const 0)))
    (call $wait_for_worker (i32.const 64))))
