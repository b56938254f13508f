;; grow vs size: T0 grows the memory by one page, T1 reads memory.size
;; Source: relaxed.rst (Consistency, note: the length location) and instructions.rst
;; (memory.size: RD_seqcst a.len; memory.grow: RMW a.len l (l+k), or RD_seqcst a.len l
;; and -1). Derived by hand:
;; * T0's grow reads the length 1 page (the allocation's write, the only length write
;;   before it) and either writes 2 pages, returning 1, or fails, returning -1
;;   (4294967295): a grow of a shared memory may always fail (--grow-fails-only-at-max
;;   drops the failure).
;; * T1's memory.size reads the length: the allocation's 1 page, or 2 pages from T0's RMW
;;   if there is one (both reads from a same-range seq-cst write; the read may be
;;   tot-before or tot-after the RMW).
;; * After a failed grow no event writes 2 pages, so T1 cannot see 2 (C5).
;; allowed: T0: [i32:1]  T1: [i32:1]
;; allowed: T0: [i32:1]  T1: [i32:2]
;; allowed: T0: [i32:4294967295]  T1: [i32:1]
;; forbidden (C5 value-consistency): T0: [i32:4294967295]  T1: [i32:2]
;; Sequentially consistent outcomes (any grow may fail), derived by hand: T0's grow (success or failure) and T1's memory.size interleave: size before the
;; grow reads 1 page; after a successful one 2, after a failed one 1.
;; SC: T0: [i32:1]  T1: [i32:1]
;; SC: T0: [i32:1]  T1: [i32:2]
;; SC: T0: [i32:4294967295]  T1: [i32:1]
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
      (memory.size))
  )
  (invoke "run")
)

(wait $T0)
(wait $T1)
