;; binary-trees (the Computer Language Benchmarks Game) in Wasm GC: a
;; stretch tree of depth max+1, a long-lived tree of depth max, then for
;; each depth d = 4, 6, ..., max, 2^(max - d + 4) short-lived trees of depth
;; d, each built bottom-up and checked (its nodes counted). `run` returns a
;; checksum of every check, which both runtimes must agree on.
(module
  (type $tree (struct (field $left (ref null $tree)) (field $right (ref null $tree))))

  (func $bottom_up (param $depth i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.gt_s (local.get $depth) (i32.const 0))
      (then
        (struct.new $tree
          (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))
          (call $bottom_up (i32.sub (local.get $depth) (i32.const 1)))))
      (else (struct.new $tree (ref.null $tree) (ref.null $tree)))))

  ;; The number of nodes of $tree.
  (func $check (param $tree (ref $tree)) (result i32)
    (local $left (ref null $tree))
    (local.set $left (struct.get $tree $left (local.get $tree)))
    (if (result i32) (ref.is_null (local.get $left))
      (then (i32.const 1))
      (else
        (i32.add
          (i32.add (i32.const 1) (call $check (ref.as_non_null (local.get $left))))
          (call $check
            (ref.as_non_null (struct.get $tree $right (local.get $tree))))))))

  (func (export "run") (param $n i32) (result i64)
    (local $max i32)
    (local $depth i32)
    (local $iterations i32)
    (local $i i32)
    (local $sum i64)
    (local $checksum i64)
    (local $long_lived (ref null $tree))
    (local.set $max
      (select (local.get $n) (i32.const 6) (i32.gt_s (local.get $n) (i32.const 6))))
    ;; stretch tree
    (local.set $checksum
      (i64.extend_i32_u
        (call $check (call $bottom_up (i32.add (local.get $max) (i32.const 1))))))
    (local.set $long_lived (call $bottom_up (local.get $max)))
    (local.set $depth (i32.const 4))
    (block $depths_done
      (loop $depths
        (br_if $depths_done (i32.gt_s (local.get $depth) (local.get $max)))
        (local.set $iterations
          (i32.shl (i32.const 1)
            (i32.add (i32.sub (local.get $max) (local.get $depth)) (i32.const 4))))
        (local.set $sum (i64.const 0))
        (local.set $i (i32.const 0))
        (block $trees_done
          (loop $trees
            (br_if $trees_done (i32.ge_u (local.get $i) (local.get $iterations)))
            (local.set $sum
              (i64.add (local.get $sum)
                (i64.extend_i32_u (call $check (call $bottom_up (local.get $depth))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $trees)))
        ;; Mix the depth into the checksum so that a wrong line shows.
        (local.set $checksum
          (i64.add
            (i64.mul (local.get $checksum) (i64.const 31))
            (local.get $sum)))
        (local.set $depth (i32.add (local.get $depth) (i32.const 2)))
        (br $depths)))
    (i64.add
      (i64.mul (local.get $checksum) (i64.const 31))
      (i64.extend_i32_u (call $check (ref.as_non_null (local.get $long_lived)))))))
