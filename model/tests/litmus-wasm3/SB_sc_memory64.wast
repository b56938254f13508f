;; SB+sc on a shared 64-bit memory (i64 addresses, an offset): (0,0) forbidden.
(module $Mem
  (memory (export "shared") i64 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") i64 1 1 shared)
    (func (export "run") (result i32)
      (i32.atomic.store offset=16 (i64.const 0) (i32.const 1))
      (i32.atomic.load (i64.const 32)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") i64 1 1 shared)
    (func (export "run") (result i32)
      (i32.atomic.store offset=32 (i64.const 0) (i32.const 1))
      (i32.atomic.load (i64.const 16)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
