;; Exception handling (Wasm 3.0) on Heddle's flattened control: handlers found by code
;; range, operand stacks cut back to the catching label, unwinding across frames, tail
;; calls, legacy try/delegate/rethrow, exnref kept in globals and tables, and exceptions
;; in script threads next to a shared memory.

(module $M
  (tag $e (export "e") (param i32))
  (tag $pair (param i64 v128))
  (tag $empty)
  (global $saved (mut exnref) (ref.null exn))
  (table $exns 2 exnref)
  (memory (export "mem") 1 1 shared)

  (func $thrower (param i32) (throw $e (local.get 0)))

  ;; A catch that targets a loop: retry until the thrower stops throwing. The loop's
  ;; parameter receives the payload.
  (func (export "retry") (param $n i32) (result i32)
    (local $tries i32)
    (i32.const 0)
    (loop $again (param i32) (result i32)
      (drop)
      (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
      (try_table (catch $e $again)
        (if (i32.lt_u (local.get $tries) (local.get $n))
          (then (call $thrower (local.get $tries)))))
      (local.get $tries)))

  ;; Operands below the catching label survive; those pushed inside it are dropped.
  (func (export "stack-heights") (result i32 i32)
    (i32.const 100)
    (block $h (result i32)
      (i32.const 200)
      (try_table (param i32) (result i32) (catch $e $h)
        (i32.const 300) (drop)
        (call $thrower (i32.const 5)))
      (drop)
      (i32.const -1)))

  ;; Unwinding through recursion: 1000 frames deep, caught at the bottom.
  (func $deep (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e (i32.const 1000))))
    (call $deep (i32.sub (local.get 0) (i32.const 1))))
  (func (export "deep") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $deep (i32.const 1000)))
      (i32.const -1)))

  ;; A tail call leaves the handler of the frame it replaces.
  (func $tail (return_call $thrower (i32.const 9)))
  (func (export "tail-caught") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $tail))
      (i32.const -1)))

  ;; catch_ref, kept in a global and a table, thrown again later from another function.
  (func (export "save") (result i32)
    (block $h (result i64 v128 exnref)
      (try_table (catch_ref $pair $h)
        (throw $pair (i64.const 42) (v128.const i32x4 1 2 3 4)))
      (unreachable))
    (global.set $saved)
    (table.set $exns (i32.const 1) (global.get $saved))
    (drop)
    (i32.wrap_i64))
  (func (export "rethrow-saved")
    (throw_ref (table.get $exns (i32.const 1))))
  (func (export "catch-saved") (result i64 i32)
    (block $h (result i64 v128)
      (try_table (catch $pair $h) (throw_ref (global.get $saved)))
      (unreachable))
    (i32x4.extract_lane 3))
  (func (export "throw-null") (throw_ref (ref.null exn)))

  ;; The first clause that matches wins.
  (func (export "first-match") (result i32)
    (block $none
      (block $all (result exnref)
        (block $one (result i32)
          (try_table (catch $empty $none) (catch $e $one) (catch_all_ref $all)
            (call $thrower (i32.const 11)))
          (unreachable))
        (return))
      (drop)
      (return (i32.const -1)))
    (i32.const -2))

  ;; Legacy: delegate to the caller (the function's label), rethrow from a nested catch.
  (func $delegating
    try
      (call $thrower (i32.const 3))
    delegate 0)
  (func (export "legacy") (result i32)
    (local $r i32)
    try (result i32)
      try
        (call $delegating)
      catch $e
        (local.set $r)
        try
          (throw $empty)
        catch_all
          (rethrow 1)
        end
      end
      (i32.const -1)
    catch $e
      (i32.add (i32.const 10))
    end)

  (func (export "store-then-throw") (param i32)
    (i32.atomic.store (i32.const 0) (local.get 0))
    (throw $e (local.get 0)))
  (func (export "load") (result i32) (i32.atomic.load (i32.const 0)))
)

(assert_return (invoke "retry" (i32.const 5)) (i32.const 5))
(assert_return (invoke "stack-heights") (i32.const 100) (i32.const 5))
(assert_return (invoke "deep") (i32.const 1000))
(assert_return (invoke "tail-caught") (i32.const 9))
(assert_return (invoke "save") (i32.const 42))
(assert_exception (invoke "rethrow-saved"))
(assert_return (invoke "catch-saved") (i64.const 42) (i32.const 4))
(assert_trap (invoke "throw-null") "null exception reference")
(assert_return (invoke "first-match") (i32.const 11))
(assert_return (invoke "legacy") (i32.const 13))

;; An exception ends only its own script thread; the other sees the store it made.
(thread $T1 (shared (module $M))
  (assert_exception (invoke $M "store-then-throw" (i32.const 7))))
(thread $T2 (shared (module $M))
  (assert_return (invoke $M "retry" (i32.const 3)) (i32.const 3)))
(wait $T1)
(wait $T2)
(assert_return (invoke $M "load") (i32.const 7))

;; An imported tag is the same tag: a module that imports "e" catches $M's exceptions.
(register "M" $M)
(module
  (tag $e (import "M" "e") (param i32))
  (func $throw (import "M" "rethrow-saved"))
  (func $store (import "M" "store-then-throw") (param i32))
  (func (export "catch-imported") (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $store (i32.const 21)))
      (i32.const -1)))
  (func (export "other-tag-escapes")
    (block $h (result i32)
      (try_table (catch $e $h) (call $throw))
      (return))
    (drop)))
(assert_return (invoke "catch-imported") (i32.const 21))
(assert_exception (invoke "other-tag-escapes"))
