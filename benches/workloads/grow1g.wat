;; Grows a linear memory one 64 KiB page at a time from 1 page to 1 GiB
;; (16384 pages), writing a word into each new page so every move must
;; carry data; then checks every word and traps (unreachable) on a mismatch.
(module
  (memory 1)
  (func (export "_start")
    (local $page i32)
    (local.set $page (i32.const 1))
    (block $grown
      (loop $grow
        (br_if $grown (i32.ge_u (local.get $page) (i32.const 16384)))
        (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
          (then unreachable))
        (i32.store (i32.shl (local.get $page) (i32.const 16)) (local.get $page))
        (local.set $page (i32.add (local.get $page) (i32.const 1)))
        (br $grow)))
    (local.set $page (i32.const 1))
    (block $checked
      (loop $check
        (br_if $checked (i32.ge_u (local.get $page) (i32.const 16384)))
        (if (i32.ne (i32.load (i32.shl (local.get $page) (i32.const 16))) (local.get $page))
          (then unreachable))
        (local.set $page (i32.add (local.get $page) (i32.const 1)))
        (br $check)))))
