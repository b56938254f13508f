;; memory.fill against an atomic load: the fill writes byte by byte, non-atomically
;; (instructions.rst memory.fill), and each byte it writes races with the load: a data
;; race.
;; expect: data race
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $filler (export "run")
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 4)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $reader (export "run") (result i32)
      (i32.atomic.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
