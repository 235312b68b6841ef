;; The layout some packaged WASI tools ship: `_initialize` and a default
;; export named "" but no `_start`. Prints what ran, in order.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "initialize\n")
  (data (i32.const 80) "default\n")
  (func $print (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_initialize") (call $print (i32.const 64) (i32.const 11)))
  (func (export "") (call $print (i32.const 80) (i32.const 8))))
