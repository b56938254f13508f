;; Prints its arguments and its environment, one per line (args_sizes_get, args_get,
;; environ_sizes_get, environ_get), then "rc=<errno of fd_write to fd 9>".
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  ;; Write the `size` bytes at `buf` to stdout, each NUL as a newline.
  (func $print_strings (param $buf i32) (param $size i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $size)))
        (if (i32.eqz (i32.load8_u (i32.add (local.get $buf) (local.get $i))))
          (then (i32.store8 (i32.add (local.get $buf) (local.get $i)) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (i32.const 0) (local.get $buf))
    (i32.store (i32.const 4) (local.get $size))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $_start (export "_start")
    ;; argc at 16, argv_buf_size at 20; argv at 1024, argv_buf at 2048.
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 2048)))
    (call $print_strings (i32.const 2048) (i32.load (i32.const 20)))
    (drop (call $environ_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $environ_get (i32.const 1024) (i32.const 4096)))
    (call $print_strings (i32.const 4096) (i32.load (i32.const 20)))
    ;; fd 9 is not open: EBADF (8), printed as "rc=8\n" from 97.
    (i32.store (i32.const 97) (i32.const 0x003d6372)) ;; "rc=" (and a 0 at 100)
    (i32.store8 (i32.const 100) (i32.add (i32.const 48)
      (call $fd_write (i32.const 9) (i32.const 0) (i32.const 1) (i32.const 8))))
    (i32.store8 (i32.const 101) (i32.const 10))
    (i32.store (i32.const 0) (i32.const 97))
    (i32.store (i32.const 4) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
