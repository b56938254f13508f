;; Narrow cmpxchg wraps the expected and replacement values to the access width before
;; comparing and storing; the result is the loaded value, zero-extended.

(module
  (memory 1 1 shared)
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "cmpxchg8") (param i32 i32 i32) (result i32)
    (i32.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "cmpxchg16") (param i32 i32 i32) (result i32)
    (i32.atomic.rmw16.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i64.cmpxchg8") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw8.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
  (func (export "i64.cmpxchg32") (param i32 i64 i64) (result i64)
    (i64.atomic.rmw32.cmpxchg_u (local.get 0) (local.get 1) (local.get 2)))
)

;; Stored 0; expected 0x100 wraps to 0x00: equal, so 0x211 (wrapped to 0x11) is written.
(assert_return (invoke "cmpxchg8" (i32.const 0) (i32.const 0x100) (i32.const 0x211)) (i32.const 0))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x11))
;; Expected 0x111 wraps to 0x11: equal again.
(assert_return (invoke "cmpxchg8" (i32.const 0) (i32.const 0x111) (i32.const 0x22)) (i32.const 0x11))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x22))
;; Not equal: nothing written.
(assert_return (invoke "cmpxchg8" (i32.const 0) (i32.const 0x23) (i32.const 0x33)) (i32.const 0x22))
(assert_return (invoke "load64" (i32.const 0)) (i64.const 0x22))
;; The neighbours are untouched.
(invoke "store64" (i32.const 8) (i64.const 0x7777_7777_7777_ffff))
(assert_return (invoke "cmpxchg16" (i32.const 8) (i32.const 0x1ffff) (i32.const 0xabcd_1234)) (i32.const 0xffff))
(assert_return (invoke "load64" (i32.const 8)) (i64.const 0x7777_7777_7777_1234))
(assert_return (invoke "cmpxchg16" (i32.const 8) (i32.const 0xffff) (i32.const 0)) (i32.const 0x1234))
(assert_return (invoke "load64" (i32.const 8)) (i64.const 0x7777_7777_7777_1234))
;; i64 narrow forms.
(invoke "store64" (i32.const 16) (i64.const 0x1_0000_0005))
(assert_return (invoke "i64.cmpxchg32" (i32.const 16) (i64.const 0xffff_ffff_0000_0005) (i64.const 0x9_0000_0007)) (i64.const 5))
(assert_return (invoke "load64" (i32.const 16)) (i64.const 0x1_0000_0007))
(assert_return (invoke "i64.cmpxchg8" (i32.const 16) (i64.const 0x107) (i64.const -1)) (i64.const 7))
(assert_return (invoke "load64" (i32.const 16)) (i64.const 0x1_0000_00ff))
(assert_return (invoke "i64.cmpxchg8" (i32.const 16) (i64.const 0x7) (i64.const 0)) (i64.const 0xff))
(assert_return (invoke "load64" (i32.const 16)) (i64.const 0x1_0000_00ff))
