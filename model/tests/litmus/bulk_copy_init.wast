;; memory.init and an overlapping memory.copy in one thread, and a fill that traps
;; Source: instructions.rst (memory.init: one i32.store8 per byte of the segment;
;; memory.copy: load8_u + store8 per byte, from the high end when d > s; memory.fill:
;; the bounds are checked before any byte is written). Derived by hand:
;; * "init" writes the passive segment's bytes 1 2 3 4 at addresses 0..3, then copies
;;   addresses 0..2 to 1..3 (d = 1 > s = 0: from the high end, so every byte is read
;;   before it is overwritten): memory 1 1 2 3, the i32 0x03020101 = 50462977.
;;   (Copying from the low end would give 1 1 1 1 = 16843009.)
;; * "fill" fills 8 bytes from 65532 in a 1-page memory: out of bounds, it traps before
;;   writing; "peek" then reads the i32 at 65532: 0.
;; allowed: main: [i32:50462977] trap [i32:0]
(module $Mem
  (memory (export "shared") 1 1 shared)
)
(register "mem" $Mem)

(module $M
  (memory (import "mem" "shared") 1 1 shared)
  (data "\01\02\03\04")
  (func (export "init") (result i32)
    (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 4))
    (memory.copy (i32.const 1) (i32.const 0) (i32.const 3))
    (i32.load (i32.const 0)))
  (func (export "fill")
    (memory.fill (i32.const 65532) (i32.const 7) (i32.const 8)))
  (func (export "peek") (result i32)
    (i32.load (i32.const 65532)))
)

(invoke $M "init")
(invoke $M "fill")
(invoke $M "peek")
