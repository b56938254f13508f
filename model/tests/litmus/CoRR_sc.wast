;; CoRR+sc
;; Source: MODEL.md §6.6. Each thread's `run` returns the values it loaded.
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.atomic.store (i32.const 0) (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32 i32) (local $r0 i32) (local $r1 i32)
      (local.set $r0 (i32.atomic.load (i32.const 0)))
      (local.set $r1 (i32.atomic.load (i32.const 0)))
      (local.get $r0) (local.get $r1))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
