;; grow vs grow: T0 and T1 each grow the memory by one page (maximum 3 pages)
;; Source: relaxed.rst (Consistency, note: "changes to the length (e.g. memory.grow) are
;; modelled as atomic read-modify-write accesses") and instructions.rst (memory.grow).
;; Derived by hand:
;; * Both succeed: the RMWs cannot both read the allocation's length (1 page). If they
;;   did, each would sync with the allocation's seq-cst write, which happens before the
;;   other RMW, a same-range seq-cst write: (†) of sc-last-visible puts each RMW
;;   tot-before the other, a cycle. So one returns 1 and the other reads its 2 pages and
;;   returns 2.
;; * One fails (-1 = 4294967295): the other reads 1 page and returns 1 (the failing grow
;;   only reads the length, whatever it sees).
;; * Both fail.
;; With a non-atomic grow (read, then write) both could read 1 page: (1, 1) is what the
;; RMW forbids.
;; allowed: T0: [i32:1]  T1: [i32:2]
;; allowed: T0: [i32:1]  T1: [i32:4294967295]
;; allowed: T0: [i32:2]  T1: [i32:1]
;; allowed: T0: [i32:4294967295]  T1: [i32:1]
;; allowed: T0: [i32:4294967295]  T1: [i32:4294967295]
;; forbidden (C7(†) sc-last-visible): T0: [i32:1]  T1: [i32:1]
;; Sequentially consistent outcomes (any grow may fail), derived by hand: the first grow to run returns 1 (or fails); the second reads what
;; the first left: 2 pages after a success (returns 2), 1 after a failure (returns 1), or
;; fails.
;; SC: T0: [i32:1]  T1: [i32:2]
;; SC: T0: [i32:1]  T1: [i32:4294967295]
;; SC: T0: [i32:2]  T1: [i32:1]
;; SC: T0: [i32:4294967295]  T1: [i32:1]
;; SC: T0: [i32:4294967295]  T1: [i32:4294967295]
(module $Mem
  (memory (export "shared") 1 3 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 3 shared)
    (func (export "run") (result i32)
      (memory.grow (i32.const 1)))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 3 shared)
    (func (export "run") (result i32)
      (memory.grow (i32.const 1)))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
