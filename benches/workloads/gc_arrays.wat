;; An allocation-heavy array workload in Wasm GC: each round allocates an
;; i32 array and an f64 array of a length between 16 and 4095, fills both,
;; sums them and drops them, except that the newest 64 i32 arrays stay
;; alive (a sliding window the collector must trace). `run` returns a
;; checksum of every sum, which both runtimes must agree on.
(module
  (type $ints (array (mut i32)))
  (type $floats (array (mut f64)))
  (type $window (array (mut (ref null $ints))))

  (func (export "run") (param $rounds i32) (result i64)
    (local $window (ref $window))
    (local $round i32)
    (local $len i32)
    (local $i i32)
    (local $ints (ref $ints))
    (local $floats (ref $floats))
    (local $int_sum i64)
    (local $float_sum f64)
    (local $checksum i64)
    (local.set $window (array.new_default $window (i32.const 64)))
    (block $rounds_done
      (loop $rounds
        (br_if $rounds_done (i32.ge_u (local.get $round) (local.get $rounds)))
        (local.set $len
          (i32.add (i32.const 16)
            (i32.rem_u (i32.mul (local.get $round) (i32.const 7919)) (i32.const 4080))))
        (local.set $ints (array.new_default $ints (local.get $len)))
        (local.set $floats (array.new_default $floats (local.get $len)))
        (local.set $i (i32.const 0))
        (loop $fill
          (array.set $ints (local.get $ints) (local.get $i)
            (i32.xor (local.get $i) (local.get $round)))
          (array.set $floats (local.get $floats) (local.get $i)
            (f64.mul (f64.convert_i32_u (local.get $i)) (f64.const 0.5)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $fill (i32.lt_u (local.get $i) (local.get $len))))
        (local.set $int_sum (i64.const 0))
        (local.set $float_sum (f64.const 0))
        (local.set $i (i32.const 0))
        (loop $sum
          (local.set $int_sum
            (i64.add (local.get $int_sum)
              (i64.extend_i32_u (array.get $ints (local.get $ints) (local.get $i)))))
          (local.set $float_sum
            (f64.add (local.get $float_sum)
              (array.get $floats (local.get $floats) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $sum (i32.lt_u (local.get $i) (array.len (local.get $floats)))))
        ;; The window's oldest array is checked before it is replaced.
        (if (i32.eqz (ref.is_null
              (array.get $window (local.get $window) (i32.and (local.get $round) (i32.const 63)))))
          (then
            (local.set $int_sum
              (i64.add (local.get $int_sum)
                (i64.extend_i32_u
                  (array.get $ints
                    (ref.as_non_null
                      (array.get $window (local.get $window)
                        (i32.and (local.get $round) (i32.const 63))))
                    (i32.const 15)))))))
        (array.set $window (local.get $window)
          (i32.and (local.get $round) (i32.const 63)) (local.get $ints))
        (local.set $checksum
          (i64.add
            (i64.mul (local.get $checksum) (i64.const 31))
            (i64.add (local.get $int_sum)
              (i64.trunc_f64_s (local.get $float_sum)))))
        (local.set $round (i32.add (local.get $round) (i32.const 1)))
        (br $rounds)))
    (local.get $checksum)))
