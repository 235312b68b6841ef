;; A struct with a custom descriptor (the custom descriptors proposal):
;; `run` makes a descriptor holding 42 and an object it describes, then
;; reads the value back through the object's descriptor.
(module
  (rec
    (type $object (descriptor $vtable) (struct (field i32)))
    (type $vtable (describes $object) (struct (field i32))))
  (func (export "run") (result i32)
    (struct.get $vtable 0
      (ref.get_desc $object
        (struct.new_desc $object (i32.const 7) (struct.new $vtable (i32.const 42)))))))
