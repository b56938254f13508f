;; Wait and notify publish: T1 stores, then notifies; T0, woken, loads. The woken wait
;; happens after the notify (suspension events of a location are ordered by the total
;; order, relaxed.rst), so the store happens before the load. If T1 notifies first, T0
;; waits forever and never loads. No write is unordered with an access: no race.
;; expect: none
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $waiter (export "run") (result i32 i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1))
      (i32.load (i32.const 4)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $notifier (export "run") (result i32)
      (i32.store (i32.const 4) (i32.const 42))
      (memory.atomic.notify (i32.const 0) (i32.const 1)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
