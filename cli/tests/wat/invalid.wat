;; Well-formed text, but the function returns nothing where it promises an i32.
(module
  (func (export "f") (result i32)))
