;; Two threads print five letters each, one fd_write per letter: the main thread "a", the
;; spawned thread "b". The order of the letters is the schedule's; the main thread waits
;; for the other (done at 64), then exits with the number of its arguments (argc - 1, by
;; proc_exit), so that a run given arguments fails and prints its schedule.
(module
  (import "wasi" "thread-spawn" (func $thread_spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  ;; Print the letter at `at` five times; the ciovec at `iov`.
  (func $print5 (param $at i32) (param $iov i32)
    (local $i i32)
    (i32.store (local.get $iov) (local.get $at))
    (i32.store (i32.add (local.get $iov) (i32.const 4)) (i32.const 1))
    (loop $more
      (drop (call $fd_write (i32.const 1) (local.get $iov) (i32.const 1) (i32.add (local.get $iov) (i32.const 8))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 5)))))
  (func $wasi_thread_start (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (call $print5 (i32.const 201) (i32.const 32))
    (i32.atomic.store (i32.const 64) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 64) (i32.const 1))))
  (func $_start (export "_start")
    (drop (call $thread_spawn (i32.const 0)))
    (call $print5 (i32.const 200) (i32.const 0))
    (block $done
      (loop $wait
        (br_if $done (i32.atomic.load (i32.const 64)))
        (drop (memory.atomic.wait32 (i32.const 64) (i32.const 0) (i64.const -1)))
        (br $wait)))
    (drop (call $args_sizes_get (i32.const 96) (i32.const 100)))
    (call $proc_exit (i32.sub (i32.load (i32.const 96)) (i32.const 1))))
  (data (i32.const 200) "ab"))
