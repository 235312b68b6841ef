;; Reads one byte of stdin, then polls stdin (with a 10 s timeout) and says
;; whether the rest of the input was reported ready. The host's stdin stays
;; open, so only bytes already written can make it ready.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 600) "ready\0a")
  (data (i32.const 610) "timeout\0a")
  (func (export "_start")
    ;; iovec at 0: one byte into 100.
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 1))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    ;; Subscription 1 at 200: fd_read on fd 0.
    (i64.store (i32.const 200) (i64.const 1))
    (i32.store8 (i32.const 208) (i32.const 1))
    (i32.store (i32.const 216) (i32.const 0))
    ;; Subscription 2 at 248: monotonic clock, 10 s relative.
    (i64.store (i32.const 248) (i64.const 2))
    (i32.store8 (i32.const 256) (i32.const 0))
    (i32.store (i32.const 264) (i32.const 1))
    (i64.store (i32.const 272) (i64.const 10000000000))
    (drop (call $poll_oneoff (i32.const 200) (i32.const 400) (i32.const 2) (i32.const 12)))
    ;; The first event's userdata says which subscription fired.
    (i32.store (i32.const 16) (i32.const 600))
    (i32.store (i32.const 20) (i32.const 6))
    (if (i64.ne (i64.load (i32.const 400)) (i64.const 1))
      (then
        (i32.store (i32.const 16) (i32.const 610))
        (i32.store (i32.const 20) (i32.const 8))))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))
