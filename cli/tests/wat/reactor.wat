;; A WASI-style reactor: `_initialize` must run before `value` is called.
(module
  (global $value (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $value (i32.const 42)))
  (func (export "value") (result i32) (global.get $value)))
