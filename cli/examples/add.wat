;; The first thing to try:
;;   cargo run -p remap-cli -- run --invoke add cli/examples/add.wat 1 2
;; prints 3.
(module
  (func (export "add") (param $a i32) (param $b i32) (result i32)
    local.get $a
    local.get $b
    i32.add))
