;; notify wakes at most `count` waiters, returns how many it woke, and wakes them in the
;; order they started waiting (FIFO).
;;
;; Ordering is made deterministic with timeouts: virtual time only jumps to a deadline when
;; no thread can run, so waiter k, which first sleeps k ms, starts waiting on address 0
;; after waiters 1..k-1 do, and the notifier's 10 ms sleep ends after all three wait.
;; After waking, each waiter records the notifier's "generation" (address 64) in its slot
;; (address 128 + 4k).

(module $Code
  (memory (import "spectest" "shared_memory") 1 1 shared)
  (func $sleep (param $ns i64)
    ;; Address 256 always holds 0 and is never notified: this times out.
    (drop (memory.atomic.wait32 (i32.const 256) (i32.const 0) (local.get $ns))))
  (func (export "waiter") (param $k i32) (result i32)
    (local $r i32)
    (call $sleep (i64.mul (i64.extend_i32_u (local.get $k)) (i64.const 1_000_000)))
    (local.set $r (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
    (i32.atomic.store
      (i32.add (i32.const 128) (i32.mul (local.get $k) (i32.const 4)))
      (i32.atomic.load (i32.const 64)))
    (local.get $r))
  (func (export "notifier") (result i32)
    (local $first i32) (local $second i32)
    (call $sleep (i64.const 10_000_000))
    (i32.atomic.store (i32.const 64) (i32.const 1))
    (local.set $first (memory.atomic.notify (i32.const 0) (i32.const 2)))
    (call $sleep (i64.const 10_000_000))
    (i32.atomic.store (i32.const 64) (i32.const 2))
    (local.set $second (memory.atomic.notify (i32.const 0) (i32.const 5)))
    ;; first * 10 + second: 2 woken, then the 1 left.
    (i32.add (i32.mul (local.get $first) (i32.const 10)) (local.get $second)))
  (func (export "slot") (param $k i32) (result i32)
    (i32.atomic.load (i32.add (i32.const 128) (i32.mul (local.get $k) (i32.const 4)))))
  (func (export "notify-none") (result i32)
    (memory.atomic.notify (i32.const 0) (i32.const 0)))
)

(thread $W1 (shared (module $Code))
  (assert_return (invoke $Code "waiter" (i32.const 1)) (i32.const 0)))
(thread $W2 (shared (module $Code))
  (assert_return (invoke $Code "waiter" (i32.const 2)) (i32.const 0)))
(thread $W3 (shared (module $Code))
  (assert_return (invoke $Code "waiter" (i32.const 3)) (i32.const 0)))
(thread $N (shared (module $Code))
  (assert_return (invoke $Code "notifier") (i32.const 21)))

(wait $W1)
(wait $W2)
(wait $W3)
(wait $N)

;; W1 and W2 (the first two to wait) were woken by the first notify, W3 by the second.
(assert_return (invoke $Code "slot" (i32.const 1)) (i32.const 1))
(assert_return (invoke $Code "slot" (i32.const 2)) (i32.const 1))
(assert_return (invoke $Code "slot" (i32.const 3)) (i32.const 2))
;; count 0 wakes no one.
(assert_return (invoke $Code "notify-none") (i32.const 0))
