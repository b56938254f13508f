;; bulk_fill_forward: `memory.fill` on a shared memory writes byte by byte, low to high
;; Source: issue 24; spec exec/instructions.rst *memory.fill*: on a shared memory the
;; instruction checks its range, stores one byte at d with `i32.store8`, then executes again
;; on d+1 with n-1. Other threads may step between the two byte stores.
;;
;; T0 fills bytes 0 and 1 with 1: its steps are W0 (byte 0 := 1) then W1 (byte 1 := 1).
;; T1 returns byte 0 then byte 1, read with seq-cst loads: R0 then R1.
;;
;; Sequentially consistent outcomes (T1's (byte 0, byte 1)), derived by hand:
;;   R0 before W0: byte 0 is 0; R1 is before W1 (0) or after it (1)   -> (0,0) (0,1)
;;   R0 after W0:  byte 0 is 1; R1 is before W1 (0) or after it (1)   -> (1,0) (1,1)
;; SC set: {(0,0), (0,1), (1,0), (1,1)}.
;; (1,0) is reached only between the two byte stores: a fill taken as one indivisible step
;; misses it, and so does a fill that stores the high byte first.
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 2)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32 i32) (local $r0 i32) (local $r1 i32)
      (local.set $r0 (i32.atomic.load8_u (i32.const 0)))
      (local.set $r1 (i32.atomic.load8_u (i32.const 1)))
      (local.get $r0) (local.get $r1))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
