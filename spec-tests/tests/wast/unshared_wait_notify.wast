;; wait on an unshared memory traps; notify on an unshared memory wakes no one and
;; returns 0 (after the alignment and bounds checks).

(module
  (memory 1 1)
  (func (export "wait32") (param i32 i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "wait64") (param i32 i64 i64) (result i32)
    (memory.atomic.wait64 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify (local.get 0) (local.get 1)))
)

(assert_trap (invoke "wait32" (i32.const 0) (i32.const 0) (i64.const 0)) "expected shared memory")
(assert_trap (invoke "wait32" (i32.const 0) (i32.const 1) (i64.const -1)) "expected shared memory")
(assert_trap (invoke "wait64" (i32.const 0) (i64.const 0) (i64.const 0)) "expected shared memory")
(assert_return (invoke "notify" (i32.const 0) (i32.const 1)) (i32.const 0))
(assert_return (invoke "notify" (i32.const 0) (i32.const 0)) (i32.const 0))
(assert_return (invoke "notify" (i32.const 65532) (i32.const -1)) (i32.const 0))
(assert_trap (invoke "notify" (i32.const 2) (i32.const 1)) "unaligned atomic")
(assert_trap (invoke "notify" (i32.const 65536) (i32.const 1)) "out of bounds memory access")
