;; bulk_copy_backward: overlapping `memory.copy` with d > s copies from the high end
;; Source: issue 24; spec exec/instructions.rst *memory.copy*: on a shared memory, when
;; d > s the instruction loads the byte at s+n-1 (`i32.load8_u`), stores it at d+n-1
;; (`i32.store8`), then executes again on d, s, n-1. Other threads may step between any two
;; of these.
;;
;; T0 stores bytes 0 and 1 := 1, 2 (one `i32.store16`: S), then copies the 2 bytes at 0 to 1:
;;   L1 (load byte 1 = 2), W2 (byte 2 := 2), L0 (load byte 0 = 1), W1 (byte 1 := 1).
;;   Final memory: byte 0 = 1, byte 1 = 1, byte 2 = 2.
;; T1 returns byte 2 then byte 1, read with seq-cst loads: R2 then R1.
;;
;; Byte 2 is 0 until W2, then 2. Byte 1 is 0 until S, 2 from S until W1, then 1.
;; In program order S < W2 < W1 and R2 < R1.
;; Sequentially consistent outcomes (T1's (byte 2, byte 1)), derived by hand:
;;   R2 before W2: 0; R1 before S (0), between S and W1 (2), after W1 (1) -> (0,0) (0,2) (0,1)
;;   R2 after W2:  2; R1 is after S: before W1 (2) or after it (1)       -> (2,2) (2,1)
;; SC set: {(0,0), (0,1), (0,2), (2,1), (2,2)}.
;; (2,2) is reached only between the two byte stores (a copy as one step misses it); a copy
;; from the low end would read byte 1 after overwriting it and store 1 at byte 2: (1,_).
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.store16 (i32.const 0) (i32.const 0x0201))
      (memory.copy (i32.const 1) (i32.const 0) (i32.const 2)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32 i32) (local $r0 i32) (local $r1 i32)
      (local.set $r0 (i32.atomic.load8_u (i32.const 2)))
      (local.set $r1 (i32.atomic.load8_u (i32.const 1)))
      (local.get $r0) (local.get $r1))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
