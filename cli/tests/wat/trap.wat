;; `boom` traps two calls deep, so the backtrace has named frames;
;; `recurse` and `ping` exhaust the stack (directly, and through two functions).
(module
  (func $inner (export "inner") unreachable)
  (func $outer (export "boom") (call $inner))
  (func (export "divide") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1)))
  (func $recurse (export "recurse") (call $recurse))
  (func $ping (export "ping") (call $pong))
  (func $pong (call $ping)))
