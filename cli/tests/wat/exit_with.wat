;; `exit N` calls WASI `proc_exit(N)`: any status, valid or not, reaches the host.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "exit") (param $status i32)
    (call $proc_exit (local.get $status))))
