;; wasi-threads: `_start` spawns 4 threads with `wasi::thread-spawn`; thread
;; `arg` sums arg*100000+1 ..= (arg+1)*100000 and adds its sum to the shared
;; total, then counts itself done and notifies. The main thread waits until
;; all are done and prints the total (the sum of 1..=400000).
;; `exit_from_thread` and `trap_in_thread` make every thread call
;; `proc_exit(7)` or trap instead, while the main thread waits for ever.
;; Memory: 0 total (i64), 8 threads done (i32), 12 mode (i32), 32 iovec,
;; 40 bytes written, 100..128 the printed digits.
(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (export "memory" (memory 0))

  (global $threads i32 (i32.const 4))
  (global $per_thread i64 (i64.const 100000))

  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
    (local $i i64) (local $end i64) (local $sum i64)
    (if (i32.eq (i32.atomic.load (i32.const 12)) (i32.const 1))
      (then (call $proc_exit (i32.const 7))))
    (if (i32.eq (i32.atomic.load (i32.const 12)) (i32.const 2))
      (then unreachable))
    (local.set $i (i64.add (i64.mul (i64.extend_i32_u (local.get $arg)) (global.get $per_thread))
                           (i64.const 1)))
    (local.set $end (i64.add (local.get $i) (global.get $per_thread)))
    (loop $next
      (local.set $sum (i64.add (local.get $sum) (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $next (i64.lt_u (local.get $i) (local.get $end))))
    (drop (i64.atomic.rmw.add (i32.const 0) (local.get $sum)))
    (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 8) (i32.const 1))))

  (func $spawn_all
    (local $t i32)
    (loop $next
      (if (i32.lt_s (call $spawn (local.get $t)) (i32.const 1)) (then unreachable))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $t) (global.get $threads)))))

  (func $wait_for_all
    (local $done i32)
    (loop $again
      (local.set $done (i32.atomic.load (i32.const 8)))
      (if (i32.lt_u (local.get $done) (global.get $threads))
        (then
          (drop (memory.atomic.wait32 (i32.const 8) (local.get $done) (i64.const -1)))
          (br $again)))))

  (func $print_total
    (local $n i64) (local $pos i32)
    (local.set $n (i64.atomic.load (i32.const 0)))
    (local.set $pos (i32.const 127))
    (i32.store8 (local.get $pos) (i32.const 10))
    (loop $digit
      (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
      (i32.store8 (local.get $pos)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $n) (i64.const 0))))
    (i32.store (i32.const 32) (local.get $pos))
    (i32.store (i32.const 36) (i32.sub (i32.const 128) (local.get $pos)))
    (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 40))))

  (func (export "_start")
    (call $spawn_all)
    (call $wait_for_all)
    (call $print_total))

  (func (export "exit_from_thread")
    (i32.atomic.store (i32.const 12) (i32.const 1))
    (call $spawn_all)
    (call $wait_for_all))

  (func (export "trap_in_thread")
    (i32.atomic.store (i32.const 12) (i32.const 2))
    (call $spawn_all)
    (call $wait_for_all)))
