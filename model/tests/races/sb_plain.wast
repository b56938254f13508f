;; Store buffering with plain accesses: each store races with the other thread's load.
;; expect: data race
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $left (export "run") (result i32)
      (i32.store (i32.const 0) (i32.const 1))
      (i32.load (i32.const 4)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $right (export "run") (result i32)
      (i32.store (i32.const 4) (i32.const 1))
      (i32.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
