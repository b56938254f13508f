;; A non-atomic 16-bit store against an atomic i32 load of the same bytes: a data race.
;; expect: data race
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $narrow (export "run")
      (i32.store16 (i32.const 2) (i32.const 7)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $wide (export "run") (result i32)
      (i32.atomic.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
