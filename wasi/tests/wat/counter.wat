;; 4 threads (wasi-threads thread-spawn) each add 1 to a shared counter 1000 times with
;; i32.atomic.rmw.add, then add 1 to `done` and notify it; the main thread waits until
;; done = 4 (memory.atomic.wait32 on `done`) and prints "counter N".
;; Memory: counter at 256, done at 260, digits at 300, ciovec at 0.
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (local $i i32)
    (loop $more
      (drop (i32.atomic.rmw.add (i32.const 256) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (local.get $arg))))
    (drop (i32.atomic.rmw.add (i32.const 260) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 260) (i32.const 1))))
  (func $_start (export "_start")
    (local $n i32) (local $done i32) (local $p i32) (local $v i32)
    (loop $spawn
      ;; A negative thread id is an error: exit 1.
      (if (i32.lt_s (call $thread_spawn (i32.const 1000)) (i32.const 0))
        (then (call $proc_exit (i32.const 1))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $spawn (i32.lt_u (local.get $n) (i32.const 4))))
    (block $all
      (loop $wait
        (local.set $done (i32.atomic.load (i32.const 260)))
        (br_if $all (i32.ge_u (local.get $done) (i32.const 4)))
        (drop (memory.atomic.wait32 (i32.const 260) (local.get $done) (i64.const -1)))
        (br $wait)))
    ;; "counter " then the decimal digits of the counter, written backwards from 319.
    (local.set $v (i32.atomic.load (i32.const 256)))
    (local.set $p (i32.const 319))
    (i32.store8 (local.get $p) (i32.const 10))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digit (i32.ne (local.get $v) (i32.const 0))))
    (local.set $p (i32.sub (local.get $p) (i32.const 8)))
    (i64.store (local.get $p) (i64.const 0x207265746e756f63)) ;; "counter "
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 320) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
