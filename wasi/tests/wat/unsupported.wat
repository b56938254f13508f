;; Calls path_open, which Heddle's WASI does not implement (there is no filesystem).
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func $_start (export "_start")
    (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 1)
      (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0)))))
