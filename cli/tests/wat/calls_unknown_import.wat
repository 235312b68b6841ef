;; Calls an import nothing defines: for -W unknown-imports-trap.
(module
  (import "env" "host_log" (func $log (param i32)))
  (func (export "_start")
    (call $log (i32.const 7))))
