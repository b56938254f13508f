;; Growing a shared 64-bit memory: i64 operands and results, the maximum respected, -1 on
;; failure, the new pages zero and visible to another thread.

(module $M
  (memory (export "mem") i64 1 4 shared)
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0)))
  (func (export "size") (result i64) (memory.size))
  (func (export "load") (param i64) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "store") (param i64 i32) (i32.atomic.store (local.get 0) (local.get 1)))
)

(assert_return (invoke "size") (i64.const 1))
(assert_trap (invoke "load" (i64.const 65536)) "out of bounds memory access")
(assert_return (invoke "grow" (i64.const 1)) (i64.const 1))
(assert_return (invoke "size") (i64.const 2))
(assert_return (invoke "load" (i64.const 65536)) (i32.const 0))
(assert_return (invoke "grow" (i64.const 3)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 0x1_0000_0000)) (i64.const -1))
(assert_return (invoke "grow" (i64.const -1)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 0)) (i64.const 2))

(thread $T (shared (module $M))
  (register "m" $M)
  (module
    (memory (import "m" "mem") i64 1 4 shared)
    (func (export "grow-and-store") (result i64)
      (local $old i64)
      (local.set $old (memory.grow (i64.const 2)))
      (i32.atomic.store (i64.const 0x3_fffc) (i32.const 7))
      (local.get $old)))
  (assert_return (invoke "grow-and-store") (i64.const 2)))
(wait $T)
(assert_return (invoke "size") (i64.const 4))
(assert_return (invoke "load" (i64.const 0x3_fffc)) (i32.const 7))
(assert_return (invoke "grow" (i64.const 1)) (i64.const -1))

;; Sharedness and address type must both match when importing.
(register "m" $M)
(assert_unlinkable
  (module (memory (import "m" "mem") 1 4 shared))
  "incompatible import type")
(assert_unlinkable
  (module (memory (import "m" "mem") i64 1 4))
  "incompatible import type")
