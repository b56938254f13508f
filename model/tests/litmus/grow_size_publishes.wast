;; memory.size is a seq-cst read of the length: T0 stores 42 at address 0 (non-atomic),
;; then grows by one page; T1 reads memory.size (first invoke), then loads address 0
;; (second invoke)
;; Source: instructions.rst (memory.size: RD_seqcst a.len n; memory.grow: RMW a.len) and
;; relaxed.rst (Consistency). Derived by hand:
;; * T1 sees 2 pages: its read of the length reads T0's RMW, a same-range seq-cst write,
;;   so the grow happens before it (sync) and so does T0's store of 42, which is then the
;;   only write T1's load may read (C6(3) rules out the allocation's 0).
;; * T1 sees 1 page: nothing orders T0's store before T1's load: 0 or 42.
;; * T0's grow fails (-1 = 4294967295): T1 sees 1 page; 0 or 42.
;; (A bounds check, an unord read of the length, does not synchronise:
;; grow_bounds_no_sync.wast.)
;; allowed: T0: [i32:1]  T1: [i32:1] [i32:0]
;; allowed: T0: [i32:1]  T1: [i32:1] [i32:42]
;; allowed: T0: [i32:1]  T1: [i32:2] [i32:42]
;; allowed: T0: [i32:4294967295]  T1: [i32:1] [i32:0]
;; allowed: T0: [i32:4294967295]  T1: [i32:1] [i32:42]
;; forbidden (C6(3) hb-consistency: hb-intervening write): T0: [i32:1]  T1: [i32:2] [i32:0]
;; Sequentially consistent outcomes (any grow may fail), derived by hand: memory.size reads 2 pages only after the grow, so after the
;; store of 42, which the load then reads; 1 page before the grow (or after a failed one),
;; and the load reads 0 or 42 by where it falls.
;; SC: T0: [i32:1]  T1: [i32:1] [i32:0]
;; SC: T0: [i32:1]  T1: [i32:1] [i32:42]
;; SC: T0: [i32:1]  T1: [i32:2] [i32:42]
;; SC: T0: [i32:4294967295]  T1: [i32:1] [i32:0]
;; SC: T0: [i32:4294967295]  T1: [i32:1] [i32:42]
(module $Mem
  (memory (export "shared") 1 2 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func (export "run") (result i32)
      (i32.store (i32.const 0) (i32.const 42))
      (memory.grow (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func (export "size") (result i32)
      (memory.size))
    (func (export "old") (result i32)
      (i32.load (i32.const 0)))
  )
  (invoke "size")
  (invoke "old")
)

(wait $T0)
(wait $T1)
