;; Bulk memory on shared memories, which Heddle executes byte by byte as the spec reduces it
;; (exec/instructions.rst *memory.fill*, *memory.copy*, *memory.init*): the results of one
;; thread alone are those of the unshared rules. Overlapping copies in both directions, the
;; bounds check before anything is written, n = 0 at the end of memory and past it, a 64-bit
;; shared memory, and a copy between a shared and an unshared memory.

(module
  (memory $m 1 1 shared)
  (data $d "\0a\0b\0c\0d")
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32)
    (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
)

;; fill
(invoke "fill" (i32.const 8) (i32.const 0x1ff) (i32.const 3))
(assert_return (invoke "load32" (i32.const 8)) (i32.const 0x00ffffff))
;; init: the segment's bytes 1..3 at 16
(invoke "init" (i32.const 16) (i32.const 1) (i32.const 3))
(assert_return (invoke "load32" (i32.const 16)) (i32.const 0x000d0c0b))
;; overlapping copy, d < s (low to high): 0b 0c 0d at 16 moved down by one
(invoke "copy" (i32.const 15) (i32.const 16) (i32.const 3))
(assert_return (invoke "load32" (i32.const 15)) (i32.const 0x0d0d0c0b))
;; overlapping copy, d > s (high to low): 0b 0c 0d 0d at 15 moved up by two
(invoke "copy" (i32.const 17) (i32.const 15) (i32.const 4))
(assert_return (invoke "load32" (i32.const 17)) (i32.const 0x0d0d0c0b))
(assert_return (invoke "load32" (i32.const 15)) (i32.const 0x0c0b0c0b))
;; out of bounds: trap before the first byte, nothing written
(assert_trap (invoke "fill" (i32.const 65534) (i32.const 7) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 65534)) (i32.const 0))
(assert_trap (invoke "copy" (i32.const 65534) (i32.const 15) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 65534)) (i32.const 0))
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65534) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 0)) (i32.const 0))
(assert_trap (invoke "init" (i32.const 65534) (i32.const 0) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 65534)) (i32.const 0))
(assert_trap (invoke "init" (i32.const 0) (i32.const 2) (i32.const 3)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 0)) (i32.const 0))
;; n = 0: at the end of memory is fine, past it traps
(invoke "fill" (i32.const 65536) (i32.const 7) (i32.const 0))
(invoke "copy" (i32.const 65536) (i32.const 65536) (i32.const 0))
(invoke "init" (i32.const 65536) (i32.const 4) (i32.const 0))
(assert_trap (invoke "fill" (i32.const 65537) (i32.const 7) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 65537) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "init" (i32.const 65537) (i32.const 0) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "init" (i32.const 0) (i32.const 5) (i32.const 0)) "out of bounds memory access")
;; the whole memory
(invoke "fill" (i32.const 0) (i32.const 0x5a) (i32.const 65536))
(assert_return (invoke "load32" (i32.const 65532)) (i32.const 0x5a5a5a5a))
(invoke "copy" (i32.const 1) (i32.const 0) (i32.const 65535))
(assert_return (invoke "load32" (i32.const 0)) (i32.const 0x5a5a5a5a))

;; A 64-bit shared memory: i64 operands, the same byte steps.
(module
  (memory $m i64 1 1 shared)
  (func (export "fill") (param i64 i32 i64)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load32") (param i64) (result i32) (i32.load (local.get 0)))
)
(invoke "fill" (i64.const 4) (i32.const 0x11) (i64.const 2))
(invoke "copy" (i64.const 5) (i64.const 4) (i64.const 2))
(assert_return (invoke "load32" (i64.const 4)) (i32.const 0x00111111))
(assert_trap (invoke "fill" (i64.const 0xffff_ffff_ffff_ffff) (i32.const 0) (i64.const 2)) "out of bounds memory access")
(assert_trap (invoke "copy" (i64.const 0) (i64.const 1) (i64.const 0xffff_ffff_ffff_ffff)) "out of bounds memory access")

;; A copy from an unshared memory to a shared one and back.
(module
  (memory $s 1 1 shared)
  (memory $u 1)
  (data (memory $u) (i32.const 0) "\01\02\03")
  (func (export "to-shared") (memory.copy $s $u (i32.const 10) (i32.const 0) (i32.const 3)))
  (func (export "back") (memory.copy $u $s (i32.const 1) (i32.const 10) (i32.const 3)))
  (func (export "shared32") (param i32) (result i32) (i32.load $s (local.get 0)))
  (func (export "unshared32") (param i32) (result i32) (i32.load $u (local.get 0)))
)
(invoke "to-shared")
(assert_return (invoke "shared32" (i32.const 10)) (i32.const 0x00030201))
(invoke "back")
(assert_return (invoke "unshared32" (i32.const 0)) (i32.const 0x03020101))
