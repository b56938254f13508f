;; A data race on every schedule, then an ending chosen by the number of arguments: the
;; spawned thread and the main thread both store to address 128 with plain (non-atomic)
;; stores that nothing orders (the spawn orders only what the main thread did before it).
;; Then the main thread waits for the other (done at 64) and, with argc - 1 arguments:
;; 0 returns from _start (exit 0), 1 exits with proc_exit(7), 2 traps (unreachable), 3 or
;; more loops forever (the step bound ends it). For the exit statuses of `--races`.
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (i32.store (i32.const 128) (i32.const 2))
    (i32.atomic.store (i32.const 64) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 64) (i32.const 1))))
  (func $_start (export "_start")
    (local $args i32)
    (drop (call $thread_spawn (i32.const 0)))
    (i32.store (i32.const 128) (i32.const 1))
    (block $done
      (loop $wait
        (br_if $done (i32.atomic.load (i32.const 64)))
        (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1)))
        (br $wait)))
    (drop (call $args_sizes_get (i32.const 96) (i32.const 100)))
    (local.set $args (i32.sub (i32.load (i32.const 96)) (i32.const 1)))
    (if (i32.eq (local.get $args) (i32.const 1)) (then (call $proc_exit (i32.const 7))))
    (if (i32.eq (local.get $args) (i32.const 2)) (then unreachable))
    (if (i32.ge_u (local.get $args) (i32.const 3)) (then (loop $forever (br $forever))))))
