;; `boom` traps two calls deep, so the backtrace has named frames.
(module
  (func $inner (export "inner") unreachable)
  (func $outer (export "boom") (call $inner))
  (func (export "divide") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))
