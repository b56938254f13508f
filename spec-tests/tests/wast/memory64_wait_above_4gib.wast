;; memory.atomic.wait64 / notify on a shared 64-bit memory, at effective addresses above
;; 4 GiB: in bounds (the memory is 65537 pages, 4 GiB + 64 KiB) and out of bounds. The
;; memory is allocated zeroed by the operating system; only the pages touched cost memory.

(module $M
  (memory (export "mem") i64 65537 65537 shared)
  (func (export "wait64") (param i64 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait32") (param i64 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i64 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
  (func (export "store64") (param i64 i64) (i64.atomic.store (local.get 0) (local.get 1)))
  ;; Notify `addr` until one waiter was woken (the waiter may not be waiting yet).
  (func (export "notify-one") (param $addr i64) (result i32)
    (loop $again
      (br_if $again (i32.eqz (memory.atomic.notify (local.get $addr) (i32.const 1)))))
    (i32.const 1))
)

;; In bounds above 4 GiB: not equal (1), timed out (2).
(assert_return (invoke "wait64" (i64.const 0x1_0000_0008) (i64.const 1) (i64.const 0)) (i32.const 1))
(assert_return (invoke "wait64" (i64.const 0x1_0000_0008) (i64.const 0) (i64.const 0)) (i32.const 2))
(invoke "store64" (i64.const 0x1_0000_fff8) (i64.const 0x1122334455667788))
(assert_return (invoke "wait64" (i64.const 0x1_0000_fff8) (i64.const 0x1122334455667788) (i64.const 10)) (i32.const 2))
(assert_return (invoke "wait32" (i64.const 0x1_0000_fffc) (i32.const 0x11223344) (i64.const 0)) (i32.const 2))
;; No waiters: notify returns 0.
(assert_return (invoke "notify" (i64.const 0x1_0000_0008) (i32.const 1)) (i32.const 0))

;; Out of bounds, past the end (the last 8 bytes end at 0x1_0001_0000) and past 2^63.
(assert_trap (invoke "wait64" (i64.const 0x1_0001_0000) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait64" (i64.const 0x1_0000_fffc) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_trap (invoke "wait64" (i64.const 0x8000_0000_0000_0000) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "notify" (i64.const 0x1_0001_0000) (i32.const 1)) "out of bounds memory access")
;; An address that is only 4-byte aligned: unaligned for wait64 (checked before bounds).
(assert_trap (invoke "wait64" (i64.const 0x2_0000_0004) (i64.const 0) (i64.const 0)) "unaligned atomic")

;; A waiter above 4 GiB is woken by a notify of the same effective address, not by one of
;; the address 4 GiB lower (which a 32-bit truncation would confuse it with).
(thread $W (shared (module $M))
  (assert_return (invoke $M "wait64" (i64.const 0x1_0000_0010) (i64.const 0) (i64.const -1)) (i32.const 0)))
(thread $N (shared (module $M))
  (assert_return (invoke $M "notify" (i64.const 0x10) (i32.const 1)) (i32.const 0))
  (assert_return (invoke $M "notify-one" (i64.const 0x1_0000_0010)) (i32.const 1)))
(wait $W)
(wait $N)
