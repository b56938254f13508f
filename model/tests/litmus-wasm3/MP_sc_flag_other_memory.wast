;; MP with the data in memory 1 and the flag in memory 0, seq-cst accesses: a reader that
;; sees the flag sees the data (the outcome 1 0 is forbidden).
(module $Mem
  (memory (export "flag") 1 1 shared)
  (memory (export "data") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory $flag (import "mem" "flag") 1 1 shared)
    (memory $data (import "mem" "data") 1 1 shared)
    (func (export "run")
      (i32.atomic.store $data (i32.const 8) (i32.const 42))
      (i32.atomic.store $flag (i32.const 8) (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory $flag (import "mem" "flag") 1 1 shared)
    (memory $data (import "mem" "data") 1 1 shared)
    (func (export "run") (result i32 i32)
      (i32.atomic.load $flag (i32.const 8))
      (i32.atomic.load $data (i32.const 8)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
