;; A WASI program: prints a greeting and its argument count through
;; `fd_write`, then exits with status 0.
;;   cargo run --release -p remap-cli -- run cli/examples/hello.wat a b c
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "Hello from Remap! Arguments after the program name: 0\n")

  (func (export "_start")
    ;; argc lands at 0, the buffer size at 4.
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    ;; Patch the last digit with min(argc - 1, 9).
    (i32.store8 (i32.const 116)
      (i32.add (i32.const 48)
        (select (i32.const 9)
                (i32.sub (i32.load (i32.const 0)) (i32.const 1))
                (i32.gt_u (i32.load (i32.const 0)) (i32.const 10)))))
    ;; One iovec at 16: { base = 64, len = 54 }.
    (i32.store (i32.const 16) (i32.const 64))
    (i32.store (i32.const 20) (i32.const 54))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))
