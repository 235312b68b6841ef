;; Grows a 64-bit linear memory one 64 KiB page at a time from 1 page to
;; 8 GiB (131072 pages), writing a word into each new page so every move must
;; carry data; then checks every word and traps (unreachable) on a mismatch.
;; A 64-bit memory is always bounds-checked and movable in both runtimes.
(module
  (memory i64 1)
  (func (export "_start")
    (local $page i64)
    (local.set $page (i64.const 1))
    (block $grown
      (loop $grow
        (br_if $grown (i64.ge_u (local.get $page) (i64.const 131072)))
        (if (i64.eq (memory.grow (i64.const 1)) (i64.const -1))
          (then unreachable))
        (i64.store (i64.shl (local.get $page) (i64.const 16)) (local.get $page))
        (local.set $page (i64.add (local.get $page) (i64.const 1)))
        (br $grow)))
    (local.set $page (i64.const 1))
    (block $checked
      (loop $check
        (br_if $checked (i64.ge_u (local.get $page) (i64.const 131072)))
        (if (i64.ne (i64.load (i64.shl (local.get $page) (i64.const 16))) (local.get $page))
          (then unreachable))
        (local.set $page (i64.add (local.get $page) (i64.const 1)))
        (br $check)))
    ;; 1 initial page + 131071 grown = 131072 pages = 8 GiB.
    (if (i64.ne (memory.size) (i64.const 131072))
      (then unreachable))))
