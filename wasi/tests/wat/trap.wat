;; A spawned thread traps (unreachable) while the main thread waits for it forever: the
;; trap ends the whole program.
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    unreachable)
  (func $_start (export "_start")
    (drop (call $thread_spawn (i32.const 0)))
    (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1)))))
