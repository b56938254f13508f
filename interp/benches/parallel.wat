(module
  (memory (import "env" "mem") 4 4 shared)
  ;; Returns the generator's last value; adds 1 to the counter at 0 every 64 iterations.
  (func (export "work") (param $base i32) (param $n i32) (result i32)
    (local $i i32) (local $acc i32) (local $addr i32)
    (loop $l
      (local.set $addr
        (i32.add (local.get $base)
                 (i32.shl (i32.and (local.get $i) (i32.const 1023)) (i32.const 2))))
      (local.set $acc
        (i32.add (i32.mul (local.get $acc) (i32.const 1664525)) (i32.const 1013904223)))
      (i32.store (local.get $addr) (i32.add (i32.load (local.get $addr)) (local.get $acc)))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 63)))
        (then (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $acc)))
