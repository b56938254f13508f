;; Wait queues are keyed by memory and effective address: a waiter on memory 1 is woken by
;; a notify on memory 1 at its address, never by a notify on memory 0 at the same address.
;; Atomics, wait and notify take any memory index.

(module $M
  (memory $m0 (export "m0") 1 1 shared)
  (memory $m1 (export "m1") 1 1 shared)
  (func (export "wait-m1") (param i32) (result i32)
    (memory.atomic.wait32 $m1 (local.get 0) (i32.const 0) (i64.const -1)))
  (func (export "notify-m0") (param i32) (result i32)
    (memory.atomic.notify $m0 (local.get 0) (i32.const 1)))
  (func (export "notify-m1") (param i32) (result i32)
    (memory.atomic.notify $m1 (local.get 0) (i32.const 1)))
  (func (export "notify-m1-one") (param $addr i32) (result i32)
    (loop $again
      (br_if $again (i32.eqz (memory.atomic.notify $m1 (local.get $addr) (i32.const 1)))))
    (i32.const 1))
  (func (export "rmw") (result i64)
    ;; add on memory 1 does not touch memory 0
    (drop (i32.atomic.rmw.add $m1 (i32.const 8) (i32.const 5)))
    (drop (i32.atomic.rmw.add $m0 (i32.const 8) (i32.const 7)))
    (drop (i32.atomic.rmw.cmpxchg $m1 (i32.const 8) (i32.const 5) (i32.const 6)))
    (i64.or
      (i64.shl (i64.extend_i32_u (i32.atomic.load $m1 (i32.const 8))) (i64.const 32))
      (i64.extend_i32_u (i32.atomic.load $m0 (i32.const 8)))))
)

(assert_return (invoke "rmw") (i64.const 0x6_0000_0007))
(assert_return (invoke "notify-m1" (i32.const 0)) (i32.const 0))
(assert_trap (invoke "notify-m1" (i32.const 2)) "unaligned atomic")
(assert_trap (invoke "notify-m1" (i32.const 65536)) "out of bounds memory access")

(thread $W (shared (module $M))
  (assert_return (invoke $M "wait-m1" (i32.const 16)) (i32.const 0)))
(thread $N (shared (module $M))
  ;; Same address, other memory: wakes no one (whether or not W waits yet).
  (assert_return (invoke $M "notify-m0" (i32.const 16)) (i32.const 0))
  (assert_return (invoke $M "notify-m1-one" (i32.const 16)) (i32.const 1)))
(wait $W)
(wait $N)
