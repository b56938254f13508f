;; no-tear: a read never mixes two same-range tear-free writes (init aside)
;; Source: MODEL.md §6.7 (derived from the rules of §4).
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") 
      (i32.store (i32.const 0) (i32.const 0x01010101)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") 
      (i32.store (i32.const 0) (i32.const 0x02020202)))
  )
  (invoke "run")
)

(thread $T2 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (i32.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
(wait $T2)
