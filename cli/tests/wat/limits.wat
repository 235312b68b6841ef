;; One memory of one page and one table of one element, each growable by
;; the invoked function: for the -W max-* limits.
(module
  (memory 1)
  (table 1 funcref)
  (func (export "grow_memory") (param $pages i32) (result i32)
    (memory.grow (local.get $pages)))
  (func (export "grow_table") (param $elements i32) (result i32)
    (table.grow (ref.null func) (local.get $elements))))
