;; Two threads add 1 twice each to a counter under a lock (wait/notify); the main thread
;; waits for both and prints "counter = 4" on every schedule.
;; Memory: lock A at 64, lock B at 68, counter at 72, done at 76; the ciovec at 0, the
;; message "counter = N\n" at 100 (a passive segment: a thread's instantiation writes
;; nothing).
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  ;; A lock: 0 free, 1 held; a thread that finds it held waits (futex style) and retries.
  (func $lock (param $at i32)
    (loop $retry
      (if (i32.atomic.rmw.cmpxchg (local.get $at) (i32.const 0) (i32.const 1))
        (then
          (drop (memory.atomic.wait32 (local.get $at) (i32.const 1) (i64.const -1)))
          (br $retry)))))
  (func $unlock (param $at i32)
    (i32.atomic.store (local.get $at) (i32.const 0))
    (drop (memory.atomic.notify (local.get $at) (i32.const 1))))
  ;; counter = counter + 1, with a plain (non-atomic) load and store.
  (func $increment
    (i32.store (i32.const 72) (i32.add (i32.load (i32.const 72)) (i32.const 1))))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $lock (i32.const 64)) (call $increment) (call $unlock (i32.const 64))
    (call $lock (i32.const 64)) (call $increment) (call $unlock (i32.const 64))
    (drop (i32.atomic.rmw.add (i32.const 76) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 76) (i32.const 1))))
  (func $_start (export "_start")
    (local $done i32)
    (drop (call $thread_spawn (i32.const 0)))
    (drop (call $thread_spawn (i32.const 1)))
    (block $all
      (loop $wait
        (local.set $done (i32.atomic.load (i32.const 76)))
        (br_if $all (i32.ge_u (local.get $done) (i32.const 2)))
        (drop (memory.atomic.wait32 (i32.const 76) (local.get $done) (i64.const -1)))
        (br $wait)))
    (memory.init $message (i32.const 100) (i32.const 0) (i32.const 12))
    (i32.store8 (i32.const 110) (i32.add (i32.const 48) (i32.load (i32.const 72))))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (data $message "counter = ?\n"))
