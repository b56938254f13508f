;; SB + rmw.or z,0 as fence, same z
;; Source: MODEL.md §6.1. Each thread's `run` returns the values it loaded.
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32) (local $r0 i32)
      (i32.store (i32.const 0) (i32.const 1))
      (drop (i32.atomic.rmw.or (i32.const 8) (i32.const 0)))
      (local.set $r0 (i32.load (i32.const 4)))
      (local.get $r0))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32) (local $r0 i32)
      (i32.store (i32.const 4) (i32.const 1))
      (drop (i32.atomic.rmw.or (i32.const 8) (i32.const 0)))
      (local.set $r0 (i32.load (i32.const 0)))
      (local.get $r0))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
