;; Bounds stay exact across growth: large static offsets, bulk operations at
;; the edge, and a failed grow that leaves the memory as it was.

(module
  (memory (export "mem") 1 2000)
  (data (i32.const 0) "\01\02\03\04")
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "load_far") (param i32) (result i32)
    (i32.load offset=33554432 (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2))))

;; 1 page: the far offset is out of bounds for every index.
(assert_trap (invoke "load_far" (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "load_far" (i32.const 0xffffffff)) "out of bounds memory access")

;; 600 pages (37.5 MiB): past a 16 MiB dynamic reservation.
(assert_return (invoke "grow" (i32.const 599)) (i32.const 1))
(assert_return (invoke "load_far" (i32.const 0)) (i32.const 0))
(assert_return (invoke "load_far" (i32.const 5767164)) (i32.const 0))
(assert_trap (invoke "load_far" (i32.const 5767165)) "out of bounds memory access")
(assert_trap (invoke "load_far" (i32.const 0xfffffffc)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 3)) (i32.const 4))

;; Bulk operations right at the end, and one byte past it.
(invoke "fill" (i32.const 39321590) (i32.const 0xab) (i32.const 10))
(assert_return (invoke "load8" (i32.const 39321599)) (i32.const 0xab))
(assert_trap (invoke "fill" (i32.const 39321591) (i32.const 0xcd) (i32.const 10)) "out of bounds memory access")
(assert_return (invoke "load8" (i32.const 39321599)) (i32.const 0xab))
(invoke "copy" (i32.const 39321596) (i32.const 0) (i32.const 4))
(assert_return (invoke "load8" (i32.const 39321599)) (i32.const 4))
(assert_trap (invoke "copy" (i32.const 0) (i32.const 39321597) (i32.const 4)) "out of bounds memory access")

;; A grow past the maximum fails and changes nothing.
(assert_return (invoke "grow" (i32.const 1401)) (i32.const -1))
(assert_return (invoke "size") (i32.const 600))
(assert_return (invoke "load8" (i32.const 39321599)) (i32.const 4))
(assert_trap (invoke "load8" (i32.const 39321600)) "out of bounds memory access")
(assert_return (invoke "grow" (i32.const 1400)) (i32.const 600))
(assert_return (invoke "load8" (i32.const 131071999)) (i32.const 0))
