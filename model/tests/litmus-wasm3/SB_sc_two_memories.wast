;; SB across two shared memories, seq-cst accesses: T0 stores to memory 0 and loads from
;; memory 1, T1 the reverse. Locations of different memories never overlap, even at the
;; same address: (0,0) is forbidden, as in SB+sc on one memory.
(module $Mem
  (memory (export "m0") 1 1 shared)
  (memory (export "m1") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory $a (import "mem" "m0") 1 1 shared)
    (memory $b (import "mem" "m1") 1 1 shared)
    (func (export "run") (result i32)
      (i32.atomic.store $a (i32.const 0) (i32.const 1))
      (i32.atomic.load $b (i32.const 0)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory $a (import "mem" "m0") 1 1 shared)
    (memory $b (import "mem" "m1") 1 1 shared)
    (func (export "run") (result i32)
      (i32.atomic.store $b (i32.const 0) (i32.const 1))
      (i32.atomic.load $a (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
