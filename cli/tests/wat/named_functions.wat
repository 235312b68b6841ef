;; Two named functions, for profiler maps: `twice` calls `double`.
(module
  (func $double (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
  (func $twice (export "twice") (param i32) (result i32) (call $double (local.get 0))))
