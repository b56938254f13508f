;; memory.grow against a load's bounds check: the grow is a seq-cst RMW of the length
;; location, the bounds check a non-atomic read of it (relaxed.rst, note on bounds
;; checks): a race, not a data race. The grow's new zero bytes lie beyond the load.
;; expect: race
(module $Mem
  (memory (export "shared") 1 2 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func $grower (export "run") (result i32)
      (memory.grow (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func $reader (export "run") (result i32)
      (i32.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
