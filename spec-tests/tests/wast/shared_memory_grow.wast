;; memory.grow on a shared memory respects its maximum, and every importer sees the size.

(module $M
  (memory (export "m") 1 3 shared)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
)
(register "M" $M)
(module $N
  (memory (import "M" "m") 1 3 shared)
  (func (export "size") (result i32) (memory.size))
  (func (export "load_last") (result i32) (i32.atomic.load (i32.const 131068)))
)

(assert_return (invoke $M "grow" (i32.const 3)) (i32.const -1))
(assert_return (invoke $M "size") (i32.const 1))
(assert_trap (invoke $N "load_last") "out of bounds memory access")
(assert_return (invoke $M "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke $N "size") (i32.const 2))
(assert_return (invoke $N "load_last") (i32.const 0))
(assert_return (invoke $M "grow" (i32.const 2)) (i32.const -1))
(assert_return (invoke $M "grow" (i32.const 1)) (i32.const 2))
(assert_return (invoke $M "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke $M "grow" (i32.const 0)) (i32.const 3))
(assert_return (invoke $N "size") (i32.const 3))

;; A shared memory whose maximum is its minimum cannot grow at all.
(module
  (memory 1 1 shared)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))
(assert_return (invoke "grow" (i32.const 0)) (i32.const 1))
