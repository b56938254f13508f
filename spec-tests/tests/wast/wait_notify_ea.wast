;; wait and notify are keyed by the effective address (operand + offset):
;; `wait32 offset=4 (i32.const 0)` is woken by `notify (i32.const 4)` from another thread,
;; and not by `notify (i32.const 0)`.

(module $Mem (memory (export "shared") 1 1 shared))

(thread $Waiter (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait32 offset=4 (i32.const 0) (i32.const 0) (i64.const -1)))
  )
  ;; Woken by the notify at address 4.
  (assert_return (invoke "wait") (i32.const 0))
)

(thread $Notifier (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    ;; Notify address 0 up to 1000 times, return how many waiters that woke (none: the
    ;; waiter is queued at address 4).
    (func (export "notify-0") (result i32)
      (local $n i32) (local $woken i32)
      (loop $l
        (local.set $woken
          (i32.add (local.get $woken) (memory.atomic.notify (i32.const 0) (i32.const 1))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $n) (i32.const 1000))))
      (local.get $woken))
    ;; Notify address 4 until one waiter is woken (at most 1 000 000 tries); return the
    ;; number woken.
    (func (export "notify-4") (result i32)
      (local $n i32) (local $woken i32)
      (loop $l
        (local.set $woken (memory.atomic.notify (i32.const 4) (i32.const 1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $l (i32.and (i32.eqz (local.get $woken))
                           (i32.lt_u (local.get $n) (i32.const 1000000)))))
      (local.get $woken))
    ;; The same through `offset`: operand 0, offset 4.
    (func (export "notify-0-offset-4") (result i32)
      (memory.atomic.notify offset=4 (i32.const 0) (i32.const 1)))
  )
  (assert_return (invoke "notify-0") (i32.const 0))
  (assert_return (invoke "notify-4") (i32.const 1))
  ;; No one is left waiting.
  (assert_return (invoke "notify-0-offset-4") (i32.const 0))
)

(wait $Waiter)
(wait $Notifier)

;; A waiter at effective address 4 that nobody notifies at 4 times out, even while
;; address 0 is notified all along.
(thread $TimedWaiter (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "wait") (result i32)
      (memory.atomic.wait32 offset=4 (i32.const 0) (i32.const 0) (i64.const 10_000_000)))
  )
  (assert_return (invoke "wait") (i32.const 2))
)

(thread $WrongNotifier (shared (module $Mem))
  (register "mem" $Mem)
  (module
    (memory (import "mem" "shared") 1 1 shared)
    (func (export "notify-0") (result i32)
      (local $n i32) (local $woken i32)
      (loop $l
        (local.set $woken
          (i32.add (local.get $woken) (memory.atomic.notify (i32.const 0) (i32.const -1))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $n) (i32.const 1000))))
      (local.get $woken))
  )
  (assert_return (invoke "notify-0") (i32.const 0))
)

(wait $TimedWaiter)
(wait $WrongNotifier)
