;; memory.atomic.wait on one thread: a finite timeout expires (returns 2), a zero timeout
;; returns 2 at once, a value that is not the expected one returns 1 ("not-equal").

(module
  (memory 1 1 shared)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "store32") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
  (func (export "store64") (param i32 i64) (i64.atomic.store (local.get 0) (local.get 1)))
)

;; Equal value, finite timeouts: timed out.
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 1000)) (i32.const 2))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 1)) (i32.const 2))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 1_000_000_000)) (i32.const 2))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 0) (i64.const 1000)) (i32.const 2))
;; Zero timeout: timed out immediately.
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 0)) (i32.const 2))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 0) (i64.const 0)) (i32.const 2))
;; Not equal: 1, whatever the timeout (including "forever").
(assert_return (invoke "wait32" (i32.const 0) (i32.const 1) (i64.const -1)) (i32.const 1))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 1) (i64.const 0)) (i32.const 1))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 1) (i64.const -1)) (i32.const 1))
;; The comparison uses the stored value, at the access width.
(invoke "store32" (i32.const 0) (i32.const 7))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 7) (i64.const 10)) (i32.const 2))
(assert_return (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const -1)) (i32.const 1))
(invoke "store64" (i32.const 8) (i64.const 0x1_0000_0000))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 0) (i64.const -1)) (i32.const 1))
(assert_return (invoke "wait64" (i32.const 8) (i64.const 0x1_0000_0000) (i64.const 5)) (i32.const 2))
;; wait32 on the low half sees 0 and times out.
(assert_return (invoke "wait32" (i32.const 8) (i32.const 0) (i64.const 5)) (i32.const 2))
;; Bounds are checked.
(assert_trap (invoke "wait32" (i32.const 65536) (i32.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait64" (i32.const 65536) (i64.const 0) (i64.const 0)) "out of bounds memory access")
(assert_trap (invoke "wait64" (i32.const 65532) (i64.const 0) (i64.const 0)) "unaligned atomic")
(assert_return (invoke "wait64" (i32.const 65528) (i64.const 1) (i64.const 0)) (i32.const 1))
