;; no lost wake-up when the waker stores before notifying
;; Source: MODEL.md §6.7 (derived from the rules of §4).
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (memory.atomic.notify (i32.const 0) (i32.const 1)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
