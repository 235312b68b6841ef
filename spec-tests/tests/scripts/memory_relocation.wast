;; Remap's own scripts: a memory that outgrows a dynamic reservation (16 MiB by
;; default) is relocated; every instance that imports it must follow, even
;; when the relocation happens inside a call it made.

(module $owner
  (memory (export "mem") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
(register "owner" $owner)

(module $user
  (import "owner" "mem" (memory 1))
  (import "owner" "grow" (func $grow (param i32) (result i32)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "size") (result i32) (memory.size))
  ;; Grows through the owner, then loads: the base must be reloaded after the call.
  (func (export "grow_then_load") (param i32 i32) (result i32)
    (drop (call $grow (local.get 0)))
    (i32.load (local.get 1)))
  ;; Grows one page at a time, checking a marker after every step.
  (func (export "grow_steps") (param $steps i32) (result i32)
    (local $ok i32)
    (local.set $ok (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $steps)))
        (drop (memory.grow (i32.const 1)))
        (local.set $ok (i32.and (local.get $ok)
          (i32.eq (i32.load (i32.const 100)) (i32.const 0x12345678))))
        (local.set $steps (i32.sub (local.get $steps) (i32.const 1)))
        (br $next)))
    (local.get $ok)))

(invoke $owner "store" (i32.const 100) (i32.const 0x12345678))
(assert_return (invoke $owner "grow" (i32.const 512)) (i32.const 1))
(assert_return (invoke $user "size") (i32.const 513))
(assert_return (invoke $user "load" (i32.const 100)) (i32.const 0x12345678))
(invoke $user "store" (i32.const 33619964) (i32.const 7))
(assert_return (invoke $owner "load" (i32.const 33619964)) (i32.const 7))
(assert_trap (invoke $user "load" (i32.const 33619965)) "out of bounds memory access")
(assert_trap (invoke $owner "load" (i32.const 33619968)) "out of bounds memory access")

(assert_return (invoke $user "grow_then_load" (i32.const 1024) (i32.const 100)) (i32.const 0x12345678))
(assert_return (invoke $user "size") (i32.const 1537))
(assert_return (invoke $user "load" (i32.const 0x6000000)) (i32.const 0))
(assert_return (invoke $owner "load" (i32.const 100728828)) (i32.const 0))
(assert_trap (invoke $user "load" (i32.const 100728832)) "out of bounds memory access")

(assert_return (invoke $user "grow_steps" (i32.const 300)) (i32.const 1))
(assert_return (invoke $owner "grow" (i32.const 0)) (i32.const 1837))
(assert_return (invoke $user "load" (i32.const 33619964)) (i32.const 7))
