;; Lane 0 of a relaxed swizzle with index 16: 0 in the deterministic
;; profile, 7 (index 16 wraps to lane 0) where the CPU's pshufb is used.
(module
  (func (export "swizzled") (result i32)
    (i8x16.extract_lane_u 0
      (i8x16.relaxed_swizzle
        (v128.const i8x16 7 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15)
        (v128.const i8x16 16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))))
