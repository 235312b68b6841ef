(module
  (import "spectest" "print_i32" (func $print (param i32)))
  (func (export "shout") (call $print (i32.const 42))))
(assert_return (invoke "shout"))
