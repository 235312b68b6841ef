;; Loops, recursion and a trap, for running with epoch checks compiled in.
(module
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $total i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $total))
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "spin_then_trap") (param $n i32)
    (loop $next
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $next (local.get $n)))
    unreachable))
(assert_return (invoke "sum" (i32.const 100000)) (i32.const 705082704))
(assert_return (invoke "fib" (i32.const 20)) (i32.const 6765))
(assert_trap (invoke "spin_then_trap" (i32.const 1000)) "unreachable")
