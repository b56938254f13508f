;; Tail calls: a host callee's results (none here) replace the caller's frame; deep tail
;; recursion runs in constant frame space, also on two threads that count on a shared
;; memory with atomics (each thread 100,000 tail calls deep).

(module $M
  (import "spectest" "print_i32" (func $print (param i32)))
  (memory (export "mem") 1 1 shared)
  (func $tail-to-host (param i32) (return_call $print (local.get 0)))
  (func (export "host-then-value") (result i32)
    (call $tail-to-host (i32.const 1))
    (i32.const 7))
  (func $count (export "count") (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.atomic.load (i32.const 0)))))
    (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
    (return_call $count (i32.sub (local.get $n) (i32.const 1))))
  (type $t (func (param i32) (result i32)))
  (table funcref (elem $count))
  (func (export "count-indirect") (param i32) (result i32)
    (return_call_indirect (type $t) (local.get 0) (i32.const 0)))
  (func (export "total") (result i32) (i32.atomic.load (i32.const 0)))
)

(assert_return (invoke "host-then-value") (i32.const 7))
(thread $A (shared (module $M))
  (invoke $M "count" (i32.const 100000)))
(thread $B (shared (module $M))
  (invoke $M "count-indirect" (i32.const 100000)))
(wait $A)
(wait $B)
(assert_return (invoke "total") (i32.const 200000))
