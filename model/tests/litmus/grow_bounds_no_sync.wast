;; a bounds check that sees the grown length does not synchronise: T0 stores 42 at
;; address 0 (non-atomic), then grows by one page; T1 loads from the new page (address
;; 65536, first invoke), then from address 0 (second invoke)
;; Source: relaxed.rst (Consistency; note: "Most bounds checks are non-atomic") and
;; MODEL.md §7.1 ("memory growth observed via a successful access does not publish the
;; grower's earlier writes", paper Figs. 12-14). Derived by hand:
;; * T1's first load may trap (its bounds check reads 1 page) or, if the grow succeeded,
;;   read 0 from the grow's zeros (its bounds check reads 2 pages).
;; * Either way no event of T0 happens before T1's second load: the bounds check is an
;;   unord read (no sync) and the load of the new page reads an unord write. That load
;;   may read 0 (the allocation's write) or 42: both in every case.
;; * A failed grow (-1 = 4294967295) leaves the first load no length but 1 page: trap.
;; allowed: T0: [i32:1]  T1: [i32:0] [i32:0]
;; allowed: T0: [i32:1]  T1: [i32:0] [i32:42]
;; allowed: T0: [i32:1]  T1: trap [i32:0]
;; allowed: T0: [i32:1]  T1: trap [i32:42]
;; allowed: T0: [i32:4294967295]  T1: trap [i32:0]
;; allowed: T0: [i32:4294967295]  T1: trap [i32:42]
;; Sequentially consistent outcomes (any grow may fail), derived by hand: T1's first load is in bounds only after the grow, so
;; after T0's store of 42, which its second load then reads; a first load before the grow
;; traps, and the second reads 0 or 42 by where it falls. So SC misses the allowed
;; T0: [i32:1]  T1: [i32:0] [i32:0] (a bounds check that saw the grow does not publish).
;; SC: T0: [i32:1]  T1: [i32:0] [i32:42]
;; SC: T0: [i32:1]  T1: trap [i32:0]
;; SC: T0: [i32:1]  T1: trap [i32:42]
;; SC: T0: [i32:4294967295]  T1: trap [i32:0]
;; SC: T0: [i32:4294967295]  T1: trap [i32:42]
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
    (func (export "new") (result i32)
      (i32.load (i32.const 65536)))
    (func (export "old") (result i32)
      (i32.load (i32.const 0)))
  )
  (invoke "new")
  (invoke "old")
)

(wait $T0)
(wait $T1)
