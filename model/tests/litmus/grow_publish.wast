;; grow, then publish with a seq-cst flag: T0 grows by one page, then stores flag = 1
;; (seq-cst); T1 reads the flag (seq-cst, first invoke), then loads from the new page
;; (address 65536, second invoke)
;; Source: relaxed.rst (Consistency; note: bounds checks are non-atomic reads of the
;; length location) and instructions.rst (t.load step 13: RD a.len n, trap if
;; ea + N/8 > n; memory.grow). Derived by hand:
;; * T1 reads flag 1: from T0's same-range seq-cst store, so the store happens before
;;   T1's load (sync), and T0's grow (RMW of the length to 2 pages) happens before T1's
;;   bounds check. C6(3) forbids the bounds check to read the allocation's length
;;   (1 page) past the grow: it reads 2 pages and the load does not trap. The load reads
;;   the grow's zeros (the only write of address 65536): T1 returns [1] then [0].
;; * T1 reads flag 0: nothing orders the grow before the bounds check, which may read
;;   1 page (trap) or 2 pages (then the load reads the grow's zeros, 0).
;; * T0's grow fails (-1 = 4294967295): no event writes 2 pages, every bounds check
;;   reads 1 page and the load traps, whatever the flag.
;; "Saw the flag, then trapped" is the forbidden shape when the grow succeeded.
;; allowed: T0: [i32:1]  T1: [i32:0] [i32:0]
;; allowed: T0: [i32:1]  T1: [i32:0] trap
;; allowed: T0: [i32:1]  T1: [i32:1] [i32:0]
;; allowed: T0: [i32:4294967295]  T1: [i32:0] trap
;; allowed: T0: [i32:4294967295]  T1: [i32:1] trap
;; forbidden (C6(3) hb-consistency: hb-intervening write): T0: [i32:1]  T1: [i32:1] trap
;; Sequentially consistent outcomes (any grow may fail), derived by hand: T1 reads flag 1 only after T0's store, so after the grow: its
;; load reads the zeros. With flag 0 the load is before the grow (trap) or after it (0).
;; A failed grow leaves every load out of bounds.
;; SC: T0: [i32:1]  T1: [i32:0] [i32:0]
;; SC: T0: [i32:1]  T1: [i32:0] trap
;; SC: T0: [i32:1]  T1: [i32:1] [i32:0]
;; SC: T0: [i32:4294967295]  T1: [i32:0] trap
;; SC: T0: [i32:4294967295]  T1: [i32:1] trap
(module $Mem
  (memory (export "shared") 1 2 shared)
)
(register "mem" $Mem)

(thread $T0 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func (export "run") (result i32) (local $r i32)
      (local.set $r (memory.grow (i32.const 1)))
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (local.get $r))
  )
  (invoke "run")
)

(thread $T1 (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 2 shared)
    (func (export "flag") (result i32)
      (i32.atomic.load (i32.const 0)))
    (func (export "access") (result i32)
      (i32.load (i32.const 65536)))
  )
  (invoke "flag")
  (invoke "access")
)

(wait $T0)
(wait $T1)
