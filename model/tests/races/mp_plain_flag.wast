;; Message passing with a plain flag: nothing synchronises. The flag's non-atomic store
;; and load race, and so do the data's when T1 sees the flag: data races.
;; expect: data race
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
      (i32.store (i32.const 4) (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $consumer (export "run") (result i32 i32) (local $flag i32)
      (local.set $flag (i32.load (i32.const 4)))
      (local.get $flag)
      (i32.load (i32.sub (i32.const 8) (i32.mul (local.get $flag) (i32.const 8)))))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
