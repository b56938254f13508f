;; wasmi 2.0.0 panics ("internal error: entered unreachable code", in
;; FuncTranslator::choose_store_op_vt) when it translates this function, on its first call.
;; A value loaded into a local is stored to memory 1 at the address it gives: address and
;; value are the same register. With memory 0 and an offset below 2^16 there is no panic.
;; Heddle and wasmtime 48.0.8 store 0 at address 0 of memory 1. docs/findings.md, finding 4.
(module
  (memory 1)
  (memory 1)
  (func (export "run") (local i32)
    i32.const 0
    i32.load
    local.set 0
    local.get 0
    local.get 0
    i32.store 1))
