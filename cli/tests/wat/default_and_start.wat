;; Exports both a default function "" and `_start`: "" is the one to run.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "default\n")
  (data (i32.const 80) "_start\n")
  (func $print (param $at i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $at))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "") (call $print (i32.const 64) (i32.const 8)))
  (func (export "_start") (call $print (i32.const 80) (i32.const 7))))
