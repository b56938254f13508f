;; A shared memory never links to an unshared memory import, and vice versa.

(module $Shared (memory (export "m") 1 1 shared))
(register "shared" $Shared)
(module $Unshared (memory (export "m") 1 1))
(register "unshared" $Unshared)

(module (memory (import "shared" "m") 1 1 shared))
(module (memory (import "unshared" "m") 1 1))
(module (memory (import "unshared" "m") 1))

(assert_unlinkable (module (memory (import "unshared" "m") 1 1 shared)) "incompatible import type")
(assert_unlinkable (module (memory (import "shared" "m") 1 1)) "incompatible import type")
(assert_unlinkable (module (memory (import "shared" "m") 1 2)) "incompatible import type")

;; The spectest memories.
(module (memory (import "spectest" "memory") 1 2))
(module (memory (import "spectest" "shared_memory") 1 1 shared))
(assert_unlinkable (module (memory (import "spectest" "memory") 1 2 shared)) "incompatible import type")
(assert_unlinkable (module (memory (import "spectest" "shared_memory") 1 1)) "incompatible import type")

;; Limits still apply to shared memories.
(assert_unlinkable (module (memory (import "shared" "m") 2 2 shared)) "incompatible import type")
(module (memory (import "shared" "m") 0 1 shared))
(module (memory (import "shared" "m") 1 2 shared))

(assert_unlinkable (module (memory (import "shared" "nope") 1 1 shared)) "unknown import")
