;; An atomic store against a plain load of the same bytes: a race (unordered), but not a
;; data race: no non-atomic write.
;; expect: race
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $writer (export "run")
      (i32.atomic.store (i32.const 0) (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $reader (export "run") (result i32)
      (i32.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
