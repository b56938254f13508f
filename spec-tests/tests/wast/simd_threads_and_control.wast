;; v128 values where the official SIMD suite does not put them: on a shared memory written
;; by one thread and read by another, across branches that drop operands beneath a v128
;; result, in br_table and select, in a mutable global, and across a module boundary.

(module $Mem (memory (export "shared") 1 1 shared))

;; The writer stores a v128 and then releases a flag; the reader waits for the flag and
;; loads the vector whole, by lane and by splat.
(thread $Writer (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "publish")
      (v128.store offset=16 (i32.const 0)
        (v128.const i32x4 0x01020304 0x05060708 0x090a0b0c 0x0d0e0f10))
      (i32.atomic.store (i32.const 0) (i32.const 1))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))))
  (invoke "publish")
)

(thread $Reader (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func $await
      (loop $l
        (if (i32.eqz (i32.atomic.load (i32.const 0)))
          (then
            (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
            (br $l)))))
    (func (export "whole") (result v128)
      (call $await)
      (v128.load (i32.const 16)))
    (func (export "lane") (result v128)
      (call $await)
      (v128.load16_lane 7 (i32.const 18) (v128.const i64x2 0 0)))
    (func (export "splat") (result v128)
      (call $await)
      (v128.load32_splat (i32.const 28))))
  (assert_return (invoke "whole")
    (v128.const i32x4 0x01020304 0x05060708 0x090a0b0c 0x0d0e0f10))
  (assert_return (invoke "lane") (v128.const i16x8 0 0 0 0 0 0 0 0x0102))
  (assert_return (invoke "splat") (v128.const i32x4 0x0d0e0f10 0x0d0e0f10 0x0d0e0f10 0x0d0e0f10))
)

(wait $Writer)
(wait $Reader)

(module $Lib
  (func (export "swap") (param v128 i32) (result i32 v128)
    (local.get 1)
    (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get 0) (local.get 0))))
(register "lib" $Lib)

(module
  (import "lib" "swap" (func $swap (param v128 i32) (result i32 v128)))
  (global $g (mut v128) (v128.const f32x4 1 2 3 4))

  ;; A branch out of a block that has scalars beneath its v128 result drops them.
  (func (export "br-drops") (param i32) (result v128)
    (block (result v128)
      (i32.const 7) (i64.const 8) (f64.const 9)
      (v128.const i64x2 -1 1)
      (br_if 1 (local.get 0))
      (drop) (drop) (drop) (drop)
      (v128.const i64x2 2 2)))

  (func (export "br_table") (param i32) (result v128)
    (block $b (result v128)
      (block $a (result v128)
        (v128.const i16x8 1 1 1 1 1 1 1 1)
        (br_table $a $b (local.get 0)))
      (i16x8.add (v128.const i16x8 1 2 3 4 5 6 7 8))))

  (func (export "select") (param i32) (result v128)
    (select (result v128)
      (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)
      (global.get $g)
      (local.get 0)))

  (func (export "call-host") (result v128 i32)
    (local $r i32)
    (call $swap (v128.const i64x2 1 2) (i32.const 42))
    (global.set $g)
    (local.set $r)
    (global.get $g)
    (local.get $r))
)

(assert_return (invoke "br-drops" (i32.const 1)) (v128.const i64x2 -1 1))
(assert_return (invoke "br-drops" (i32.const 0)) (v128.const i64x2 2 2))
(assert_return (invoke "br_table" (i32.const 0)) (v128.const i16x8 2 3 4 5 6 7 8 9))
(assert_return (invoke "br_table" (i32.const 1)) (v128.const i16x8 1 1 1 1 1 1 1 1))
(assert_return (invoke "br_table" (i32.const 9)) (v128.const i16x8 1 1 1 1 1 1 1 1))
(assert_return (invoke "select" (i32.const 1)) (v128.const i8x16 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1))
(assert_return (invoke "select" (i32.const 0)) (v128.const f32x4 1 2 3 4))
(assert_return (invoke "call-host") (v128.const i64x2 2 1) (i32.const 42))
(assert_return (invoke "select" (i32.const 0)) (v128.const i64x2 2 1))
