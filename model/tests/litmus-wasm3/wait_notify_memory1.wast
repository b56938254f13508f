;; A waiter on memory 1 and a notifier of memory 1 at the same address; a notify of memory
;; 0 at that address wakes no one. The waiter is woken (0) or finds the value changed (1).
(module $Mem
  (memory (export "m0") 1 1 shared)
  (memory (export "m1") 1 1 shared)
)
(register "mem" $Mem)

(thread $W (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory $m0 (import "mem" "m0") 1 1 shared)
    (memory $m1 (import "mem" "m1") 1 1 shared)
    (func (export "run") (result i32)
      (memory.atomic.wait32 $m1 (i32.const 4) (i32.const 0) (i64.const -1)))
  )
  (invoke "run")
)

(thread $N (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory $m0 (import "mem" "m0") 1 1 shared)
    (memory $m1 (import "mem" "m1") 1 1 shared)
    (func (export "run") (result i32 i32)
      (memory.atomic.notify $m0 (i32.const 4) (i32.const 1))
      (i32.atomic.store $m1 (i32.const 4) (i32.const 1))
      (memory.atomic.notify $m1 (i32.const 4) (i32.const 1)))
  )
  (invoke "run")
)

(wait $W)
(wait $N)
