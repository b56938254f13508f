;; Message passing with an atomic flag: T1 reads the data only if it saw the flag (the
;; load's address is 0 after the flag, 8, never written, before it).
;; The flag's atomic store and atomic load are unordered when T1 reads 0: a race between
;; two atomic accesses, not a data race. Reading 1 synchronises (same range, both seq-cst),
;; so the data's non-atomic store happens before its non-atomic load.
;; expect: race
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $producer (export "run")
      (i32.store (i32.const 0) (i32.const 42))
      (i32.atomic.store (i32.const 4) (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $consumer (export "run") (result i32 i32) (local $flag i32)
      (local.set $flag (i32.atomic.load (i32.const 4)))
      (local.get $flag)
      (i32.load (i32.sub (i32.const 8) (i32.mul (local.get $flag) (i32.const 8)))))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
