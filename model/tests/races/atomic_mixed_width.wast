;; Atomics of different widths on the same bytes: an i32 atomic store and a 16-bit atomic
;; RMW do not synchronise (different ranges), so they race; neither is a non-atomic
;; write: a race, not a data race.
;; expect: race
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $wide (export "run")
      (i32.atomic.store (i32.const 0) (i32.const 0x01010101)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $narrow (export "run") (result i32)
      (i32.atomic.rmw16.add_u (i32.const 0) (i32.const 1)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
