;; memory.fill writes byte by byte: T0 fills addresses 0..3 with 1, T1 loads the i32 at 0
;; Source: instructions.rst (memory.fill: one i32.store8 per byte, from low to high) and
;; relaxed.rst (no-tear counts only same-range writes). Derived by hand:
;; * Each byte of T1's load reads the allocation's 0 or T0's one-byte write of 1. The
;;   load is aligned and carries noTear, but the fill's writes are 1 byte wide, not the
;;   load's range, so no-tear does not constrain them: every mix of 0 and 1 bytes, 16
;;   values (0x00 or 0x01 in each byte).
;; allowed: T0: []  T1: [i32:0]
;; allowed: T0: []  T1: [i32:1]
;; allowed: T0: []  T1: [i32:256]
;; allowed: T0: []  T1: [i32:257]
;; allowed: T0: []  T1: [i32:65536]
;; allowed: T0: []  T1: [i32:65537]
;; allowed: T0: []  T1: [i32:65792]
;; allowed: T0: []  T1: [i32:65793]
;; allowed: T0: []  T1: [i32:16777216]
;; allowed: T0: []  T1: [i32:16777217]
;; allowed: T0: []  T1: [i32:16777472]
;; allowed: T0: []  T1: [i32:16777473]
;; allowed: T0: []  T1: [i32:16842752]
;; allowed: T0: []  T1: [i32:16842753]
;; allowed: T0: []  T1: [i32:16843008]
;; allowed: T0: []  T1: [i32:16843009]
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run")
      (memory.fill (i32.const 0) (i32.const 1) (i32.const 4)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "run") (result i32)
      (i32.load (i32.const 0)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
