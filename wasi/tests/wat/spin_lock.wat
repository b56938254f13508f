;; Two threads add 1 once each to a counter under a lock that spins before it waits, as
;; wasi-libc's (musl's) mutex does: a failed compare-exchange, then at most 3 reads of the
;; lock word, then a `wait32`. The main thread joins the same way: at most 3 reads of the
;; done count, then a wait. It prints "counter = 2" on every schedule. Small enough for the
;; brute-force search (no reduction), which the reductions must agree with.
;; Memory: the lock at 64, counter at 72, done at 76; the ciovec at 0, the message at 100.
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $lock (param $at i32) (local $spins i32)
    (loop $retry
      (if (i32.eqz (i32.atomic.rmw.cmpxchg (local.get $at) (i32.const 0) (i32.const 1)))
        (then (return)))
      (local.set $spins (i32.const 3))
      (block $spun
        (loop $spin
          (br_if $spun (i32.eqz (local.get $spins)))
          (local.set $spins (i32.sub (local.get $spins) (i32.const 1)))
          (br_if $retry (i32.eqz (i32.atomic.load (local.get $at))))
          (br $spin)))
      (drop (memory.atomic.wait32 (local.get $at) (i32.const 1) (i64.const -1)))
      (br $retry)))
  (func $unlock (param $at i32)
    (i32.atomic.store (local.get $at) (i32.const 0))
    (drop (memory.atomic.notify (local.get $at) (i32.const 1))))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $lock (i32.const 64))
    (i32.store (i32.const 72) (i32.add (i32.load (i32.const 72)) (i32.const 1)))
    (call $unlock (i32.const 64))
    (drop (i32.atomic.rmw.add (i32.const 76) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 76) (i32.const 1))))
  (func $_start (export "_start")
    (local $done i32) (local $spins i32)
    (drop (call $thread_spawn (i32.const 0)))
    (drop (call $thread_spawn (i32.const 1)))
    (local.set $spins (i32.const 3))
    (block $all
      (loop $wait
        (local.set $done (i32.atomic.load (i32.const 76)))
        (br_if $all (i32.ge_u (local.get $done) (i32.const 2)))
        (if (local.get $spins)
          (then
            (local.set $spins (i32.sub (local.get $spins) (i32.const 1)))
            (br $wait)))
        (drop (memory.atomic.wait32 (i32.const 76) (local.get $done) (i64.const -1)))
        (br $wait)))
    (i32.store8 (i32.const 110) (i32.add (i32.const 48) (i32.load (i32.const 72))))
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 12))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (data (i32.const 100) "counter = ?\n"))
