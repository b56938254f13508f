;; bulk_copy_forward: overlapping `memory.copy` with d < s copies from the low end
;; Source: issue 24; spec exec/instructions.rst *memory.copy*: on a shared memory, when
;; d <= s the instruction loads the byte at s (`i32.load8_u`), stores it at d (`i32.store8`),
;; then executes again on d+1, s+1, n-1. Other threads may step between any two of these.
;;
;; T0 stores bytes 1 and 2 := 1, 2 (one `i32.store16`: S), then copies the 2 bytes at 1 to 0:
;;   L1 (load byte 1 = 1), W0 (byte 0 := 1), L2 (load byte 2 = 2), W1 (byte 1 := 2).
;;   Final memory: byte 0 = 1, byte 1 = 2, byte 2 = 2.
;; T1 returns byte 0 then byte 1, read with seq-cst loads: R0 then R1.
;;
;; Byte 0 is 0 until W0, then 1. Byte 1 is 0 until S, 1 from S until W1, then 2.
;; In program order S < W0 < W1 and R0 < R1.
;; Sequentially consistent outcomes (T1's (byte 0, byte 1)), derived by hand:
;;   R0 before W0: 0; R1 before S (0), between S and W1 (1), after W1 (2) -> (0,0) (0,1) (0,2)
;;   R0 after W0:  1; R1 is after S: before W1 (1) or after it (2)       -> (1,1) (1,2)
;; SC set: {(0,0), (0,1), (0,2), (1,1), (1,2)}.
;; (1,1) is reached only between the two byte stores (a copy as one step misses it); a copy
;; from the high end would write byte 1 first and then byte 0 := 2, giving (2,_).
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (i32.store16 (i32.const 1) (i32.const 0x0201))
      (memory.copy (i32.const 0) (i32.const 1) (i32.const 2)))
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
