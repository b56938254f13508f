;; bulk_init_forward: `memory.init` on a shared memory writes byte by byte, low to high
;; Source: issue 24; spec exec/instructions.rst *memory.init*: on a shared memory the
;; instruction checks both ranges, stores the segment's byte s at d with `i32.store8`, then
;; executes again on d+1, s+1, n-1. Other threads may step between the two byte stores.
;;
;; T0 copies its passive data segment "\01\02" to bytes 0 and 1: W0 (byte 0 := 1) then
;; W1 (byte 1 := 2).
;; T1 returns byte 0 then byte 1, read with seq-cst loads: R0 then R1.
;;
;; Sequentially consistent outcomes (T1's (byte 0, byte 1)), derived by hand:
;;   R0 before W0: 0; R1 before W1 (0) or after it (2)   -> (0,0) (0,2)
;;   R0 after W0:  1; R1 before W1 (0) or after it (2)   -> (1,0) (1,2)
;; SC set: {(0,0), (0,2), (1,0), (1,2)}.
;; (1,0) is reached only between the two byte stores: an init taken as one indivisible step
;; misses it, and so does one that stores the high byte first.
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (data $d "\01\02")
    (func (export "run")
      (memory.init $d (i32.const 0) (i32.const 0) (i32.const 2)))
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
