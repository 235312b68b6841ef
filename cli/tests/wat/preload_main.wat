;; Imports `double` from the module preloaded as `lib`.
(module
  (import "lib" "double" (func $double (param i32) (result i32)))
  (func (export "quadruple") (param i32) (result i32)
    (call $double (call $double (local.get 0)))))
