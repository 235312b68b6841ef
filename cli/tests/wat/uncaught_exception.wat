;; Throws an exception nothing catches, two frames deep.
(module
  (tag $oops (param i32 f64))
  (func $inner (export "inner") (throw $oops (i32.const 7) (f64.const 2.5)))
  (func (export "run") (call $inner)))
