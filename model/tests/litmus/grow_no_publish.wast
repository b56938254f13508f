;; an access to the new page without publication: T0 grows by one page, T1 loads from
;; address 65536
;; Source: relaxed.rst (Consistency; note: bounds checks are non-atomic reads of the
;; length location) and instructions.rst (t.load step 13, memory.grow). Derived by hand:
;; * T0's grow succeeds (returns 1): T1's bounds check is an unord read of the length,
;;   which may read the allocation's 1 page (trap) or T0's 2 pages (no hb is needed to
;;   read a write); in bounds, the load reads the grow's zeros, the only write of
;;   address 65536.
;; * T0's grow fails (-1 = 4294967295): only 1 page is ever written, T1 traps.
;; allowed: T0: [i32:1]  T1: [i32:0]
;; allowed: T0: [i32:1]  T1: trap
;; allowed: T0: [i32:4294967295]  T1: trap
;; forbidden (C5 value-consistency): T0: [i32:4294967295]  T1: [i32:0]
;; Sequentially consistent outcomes (any grow may fail), derived by hand: T1's load before the grow traps, after a successful one reads
;; its zeros; after a failed one it traps.
;; SC: T0: [i32:1]  T1: [i32:0]
;; SC: T0: [i32:1]  T1: trap
;; SC: T0: [i32:4294967295]  T1: trap
(module $Mem
  (memory (export "shared") 1 2 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func (export "run") (result i32)
      (memory.grow (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func (export "run") (result i32)
      (i32.load (i32.const 65536)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
